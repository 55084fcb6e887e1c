import BoardModel
import Foundation
import Host
import Initramfs
import Pipeline
import QEMU

/// One measurement of `bspgen bench`: bspgen's time (or size) beside the same step by hand.
public struct BenchRow: Sendable, Equatable {
    public var step: String
    public var bspgen: Double?
    public var byHand: Double?
    public var note: String
    /// Sizes in bytes rather than seconds: no ratio is worth printing.
    public var integers: Bool

    public init(step: String, bspgen: Double?, byHand: Double? = nil, note: String = "", integers: Bool = false) {
        self.step = step
        self.bspgen = bspgen
        self.byHand = byHand
        self.note = note
        self.integers = integers
    }
}

/// The scratch folder of a bench run under the cache, with a copy of the boards folder to edit: stage keys go by
/// content, so builds from the copy reuse the board's results, and the user's files are never touched.
public struct BenchFolder: Sendable {
    public let folder: URL
    public let boardsCopy: URL

    public init(cacheDirectory: URL, boardsDirectory: URL) throws {
        folder = cacheDirectory.appendingPathComponent("bench", isDirectory: true)
        boardsCopy = folder.appendingPathComponent("boards")
        try? FileManager.default.removeItem(at: folder)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: boardsDirectory, to: boardsCopy)
        } catch {
            throw HostError.fileSystem(path: boardsCopy.path, message: "cannot copy the boards for the bench: \(ErrorText.reason(error))")
        }
    }

    /// Where the by-hand side of `board` works.
    public func byHand(_ board: String) -> URL { folder.appendingPathComponent("by-hand-\(board)") }

    public func remove() { try? FileManager.default.removeItem(at: folder) }
}

/// The measurements of one board: bspgen's cold build, no-op rebuild, one changed initramfs file, one changed
/// kernel fragment line, time to banner, then the same steps by hand (`HandBuild`), the packer against
/// `find | cpio | gzip` on the same tree, and sizes. Edits go into the files of the board `build` builds, which
/// must be a copy (`BenchFolder`); they are reverted before `run` returns.
public struct BoardBench: Sendable {
    public typealias Build = @Sendable () async throws -> (BuildEnvironment, BoardBuildResult)

    /// Builds the board from the copy of the boards folder.
    public let build: Build
    /// The by-hand side's own folder.
    public let byHandFolder: URL
    public var skipCold = false
    public var skipByHand = false

    public init(byHandFolder: URL, skipCold: Bool = false, skipByHand: Bool = false, build: @escaping Build) {
        self.build = build
        self.byHandFolder = byHandFolder
        self.skipCold = skipCold
        self.skipByHand = skipByHand
    }

    public func run() async throws -> [BenchRow] {
        var rows: [BenchRow] = []
        func timedBuild() async throws -> (Double, BoardBuildResult) {
            let start = Date()
            let (_, result) = try await build()
            return (Date().timeIntervalSince(start), result)
        }
        // Sources unpacked, everything built once.
        let (environment, _) = try await build()
        let board = environment.board

        if !skipCold {
            try? FileManager.default.removeItem(at: environment.buildDirectory)
            let (seconds, result) = try await timedBuild()
            rows.append(BenchRow(step: "cold build (s)", bspgen: seconds, note: Self.stagesThatRan(result)))
        }
        let (warm, warmResult) = try await timedBuild()
        rows.append(BenchRow(step: "no-op rebuild (s)", bspgen: warm, note: Self.stagesThatRan(warmResult)))

        // One file of the initramfs: a file in the first overlay, or /init for boards without overlays.
        let edited = board.overlays.first.map { $0.appendingPathComponent("etc/bspgen-bench") } ?? board.initScript
        let original = try? Data(contentsOf: edited)
        try FileManager.default.createDirectory(at: edited.deletingLastPathComponent(), withIntermediateDirectories: true)
        try ((original ?? Data()) + Data("\n# bspgen bench \(UUID().uuidString)\n".utf8)).write(to: edited)
        let (overlay, overlayResult) = try await timedBuild()
        rows.append(BenchRow(step: board.overlays.isEmpty ? "one initramfs file (s)" : "one overlay file (s)", bspgen: overlay,
                             note: Self.stagesThatRan(overlayResult)))

        // One kernel fragment line: a local version string, which few files depend on.
        guard let fragment = board.kernelFragments.last else { return rows }
        let fragmentText = try String(contentsOf: fragment, encoding: .utf8)
        try (fragmentText + (fragmentText.hasSuffix("\n") ? "" : "\n") + "CONFIG_LOCALVERSION=\"-bench\"\n").write(to: fragment, atomically: true, encoding: .utf8)
        let (line, lineResult) = try await timedBuild()
        rows.append(BenchRow(step: "one fragment line (s)", bspgen: line, note: Self.stagesThatRan(lineResult)))

        if board.qemuBootable {
            let report = try await BoardTest.bootTest(lineResult.plan.boot(.kernel), result: lineResult, environment: environment, timeout: nil)
            rows.append(BenchRow(step: "time to banner (s)", bspgen: report.secondsToBanner, note: report.passed ? "boot test passed" : "boot test FAILED"))
        }

        // The board's files as they were; the build goes back to them (Kbuild rebuilds what the line touched).
        try fragmentText.write(to: fragment, atomically: true, encoding: .utf8)
        if let original { try original.write(to: edited) } else { try? FileManager.default.removeItem(at: edited) }
        let (revert, revertResult) = try await timedBuild()
        rows.append(BenchRow(step: "edits reverted (s)", bspgen: revert, note: Self.stagesThatRan(revertResult)))

        let output = revertResult.outputDirectory
        let kernelSize = Self.fileSize(output.appendingPathComponent(revertResult.names.kernel))
        let initramfsSize = Self.fileSize(output.appendingPathComponent(revertResult.names.initramfs))
        guard !skipByHand else {
            rows.append(BenchRow(step: "kernel image (bytes)", bspgen: kernelSize, integers: true))
            rows.append(BenchRow(step: "initramfs (bytes)", bspgen: initramfsSize, integers: true))
            return rows
        }

        // By hand, in the same run on the same machine.
        let folder = byHandFolder
        // The same trees bspgen builds, patches included.
        let kernelSource = try await environment.preparedSource("kernel", board.board.kernel.resolvedSource, patches: board.kernelPatches)
        let busyboxSource = try await environment.preparedSource("busybox", board.board.busybox.resolvedSource, patches: board.busyboxPatches)
        let hand = HandBuild(environment: environment, folder: folder, kernelSource: kernelSource, busyboxSource: busyboxSource)
        if !skipCold {
            let cold = try await hand.cold()
            rows[0].byHand = cold
            rows[rows.firstIndex { $0.step == "no-op rebuild (s)" } ?? 1].byHand = try await hand.noOp()
            let overlayIndex = rows.firstIndex { $0.step.hasPrefix("one ") && !$0.step.contains("fragment") }
            if let overlayIndex { rows[overlayIndex].byHand = try await hand.pack() }
            try (fragmentText + "\nCONFIG_LOCALVERSION=\"-bench\"\n").write(to: fragment, atomically: true, encoding: .utf8)
            let byHandLine = try await hand.fragmentLine(board.kernelFragments)
            try fragmentText.write(to: fragment, atomically: true, encoding: .utf8)
            if let index = rows.firstIndex(where: { $0.step == "one fragment line (s)" }) { rows[index].byHand = byHandLine }
        } else {
            // The packer comparison needs a tree: BusyBox's install from the cache.
            try? FileManager.default.removeItem(at: folder)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let busybox = try await BusyBoxBuilder(environment: environment).build()
            try FileManager.default.copyItem(at: busybox.stagingTree, to: hand.rootfs)
            _ = try await hand.pack()
        }

        // The packer alone on the same tree: ours (gzip -9 equivalent, threaded) against find | cpio | gzip.
        let ours = folder.appendingPathComponent("ours.cpio.gz")
        var packSeconds: [Double] = []
        for _ in 0..<3 {
            let start = Date()
            _ = try InitramfsPacker(sourceDateEpoch: environment.sourceDateEpoch).pack([.directory(hand.rootfs)], to: ours, compression: .gzip)
            packSeconds.append(Date().timeIntervalSince(start))
        }
        var nine: [Double] = []
        var six: [Double] = []
        for _ in 0..<3 {
            nine.append(try await hand.packOnly(gzipLevel: "-9", to: folder.appendingPathComponent("hand9.cpio.gz")))
            six.append(try await hand.packOnly(gzipLevel: "-6", to: folder.appendingPathComponent("hand6.cpio.gz")))
        }
        let oursBest = packSeconds.min() ?? 0
        func bytes(_ url: URL) -> Int { Self.fileSize(url).map { Int($0) } ?? 0 }
        rows.append(BenchRow(step: "pack vs | gzip -9 (s)", bspgen: oursBest, byHand: nine.min(),
                             note: "same tree, best of 3; \(bytes(ours)) vs \(bytes(folder.appendingPathComponent("hand9.cpio.gz"))) bytes"))
        rows.append(BenchRow(step: "pack vs | gzip (s)", bspgen: oursBest, byHand: six.min(),
                             note: "gzip's default level 6: \(bytes(folder.appendingPathComponent("hand6.cpio.gz"))) bytes"))
        rows.append(BenchRow(step: "kernel image (bytes)", bspgen: kernelSize, byHand: skipCold ? nil : Self.fileSize(hand.kernelImage), integers: true))
        rows.append(BenchRow(step: "initramfs (bytes)", bspgen: initramfsSize, byHand: Self.fileSize(hand.initramfs), integers: true))
        return rows
    }

    /// The stages a build ran, with ccache's hit rate where a stage reports one.
    static func stagesThatRan(_ result: BoardBuildResult) -> String {
        let stages = result.stages.filter(\.ran)
        guard !stages.isEmpty else { return "all stages skipped" }
        return "ran: " + stages.map { stage in
            let hits = stage.detail.flatMap { detail in
                detail.contains("hits") ? " (\(detail.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""))" : nil
            }
            return stage.stage + (hits ?? "")
        }.joined(separator: ", ")
    }

    static func fileSize(_ url: URL) -> Double? {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.doubleValue
    }
}

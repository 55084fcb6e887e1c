import BoardModel
import Foundation
import Host
import Initramfs
import Pipeline
import QEMU

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

    /// The private cache of a cold build (`name`: a board, or a run of several).
    public func cold(_ name: String) -> URL { folder.appendingPathComponent("cold-\(name)") }

    public func remove() { try? FileManager.default.removeItem(at: folder) }
}

/// The measurements of one board: bspgen's cold build (wall, CPU, utilisation) in an empty private cache, no-op
/// rebuild, one changed initramfs file, one changed kernel fragment line, the boot, then the same steps by hand
/// (`HandBuild`, QEMU with the by-hand kernel and initramfs), the packer against `find | cpio | gzip` on the same
/// tree, and sizes. Edits go into the files of the board `build` builds, which must be a copy (`BenchFolder`);
/// they are reverted before `run` returns.
public struct BoardBench: Sendable {
    public typealias Build = @Sendable () async throws -> (BuildEnvironment, BoardBuildResult)
    /// Builds the board with the environment changed by the argument (`BoardBench.cold`).
    public typealias ColdBuild = @Sendable (_ adjust: @escaping @Sendable (inout BuildEnvironment) -> Void) async throws -> BoardBuildResult

    /// Builds the board from the copy of the boards folder.
    public let build: Build
    public let coldBuild: ColdBuild
    /// The by-hand side's own folder.
    public let byHandFolder: URL
    /// The cold build's private cache, removed afterwards.
    public let coldFolder: URL
    public var skipCold = false
    public var skipByHand = false

    public init(byHandFolder: URL, coldFolder: URL, skipCold: Bool = false, skipByHand: Bool = false,
                build: @escaping Build, coldBuild: @escaping ColdBuild) {
        self.build = build
        self.coldBuild = coldBuild
        self.byHandFolder = byHandFolder
        self.coldFolder = coldFolder
        self.skipCold = skipCold
        self.skipByHand = skipByHand
    }

    /// How a cold build differs from an ordinary one: its own empty build cache under `folder` (board builds,
    /// BusyBox and U-Boot builds, output; the unpacked sources stay shared) and no ccache, so every compile runs.
    public static func cold(in folder: URL) -> @Sendable (inout BuildEnvironment) -> Void {
        { environment in
            environment.workspace = environment.workspace.isolated(in: folder)
            environment.compilers.ccache = false
        }
    }

    public func run() async throws -> BoardBenchReport {
        let load = HostLoad.oneMinute()
        var rows: [BenchRow] = []
        func timedBuild() async throws -> (Double, BoardBuildResult) {
            let start = Date()
            let (_, result) = try await build()
            return (Date().timeIntervalSince(start), result)
        }
        func setByHand(_ step: String, _ value: Double?) {
            if let index = rows.firstIndex(where: { $0.step == step }) { rows[index].byHand = value }
        }
        // Sources unpacked (and patched), everything built once.
        let (environment, _) = try await build()
        let board = environment.board
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let conditions = BenchConditions(bspgenCold: skipCold ? nil : BenchConditions.coldBuild,
                                         bspgenWarm: BenchConditions.warm(ccache: environment.compilers.ccache),
                                         byHand: skipByHand ? nil : BenchConditions.byHand(jobs: environment.jobs),
                                         jobs: environment.jobs, cores: cores, loadAverage: load)

        if !skipCold {
            try? FileManager.default.removeItem(at: coldFolder)
            let (result, cold) = try await StepMeasurement.of(cores: cores) { try await coldBuild(Self.cold(in: coldFolder)) }
            try? FileManager.default.removeItem(at: coldFolder)
            rows += Self.coldRows(cold, note: Self.longestStages(result))
        }
        let (warm, warmResult) = try await timedBuild()
        rows.append(BenchRow(step: "no-op rebuild (s)", bspgen: warm, note: Self.stagesThatRan(warmResult)))

        // One file of the initramfs: a file in the first overlay, or /init for boards without overlays.
        let edited = board.overlays.first.map { $0.appendingPathComponent("etc/bspgen-bench") } ?? board.initScript
        let original = try? Data(contentsOf: edited)
        try FileManager.default.createDirectory(at: edited.deletingLastPathComponent(), withIntermediateDirectories: true)
        try ((original ?? Data()) + Data("\n# bspgen bench \(UUID().uuidString)\n".utf8)).write(to: edited)
        let (overlay, overlayResult) = try await timedBuild()
        let fileStep = board.overlays.isEmpty ? "one initramfs file (s)" : "one overlay file (s)"
        rows.append(BenchRow(step: fileStep, bspgen: overlay, note: Self.stagesThatRan(overlayResult)))

        // One kernel fragment line: a local version string, which few files depend on.
        guard let fragment = board.kernelFragments.last else { return BoardBenchReport(board: board.name, conditions: conditions, rows: rows) }
        let fragmentText = try String(contentsOf: fragment, encoding: .utf8)
        try (fragmentText + (fragmentText.hasSuffix("\n") ? "" : "\n") + "CONFIG_LOCALVERSION=\"-bench\"\n").write(to: fragment, atomically: true, encoding: .utf8)
        let (line, lineResult) = try await timedBuild()
        rows.append(BenchRow(step: "one fragment line (s)", bspgen: line, note: Self.stagesThatRan(lineResult)))

        let kernelBoot = board.qemuBootable ? try lineResult.plan.boot(.kernel) : nil
        if let kernelBoot {
            let start = Date()
            let report = try await BoardTest.bootTest(kernelBoot, result: lineResult, environment: environment, timeout: nil)
            let wall = Date().timeIntervalSince(start)
            rows.append(BenchRow(step: "time to banner (s)", bspgen: report.secondsToBanner,
                                 note: "from QEMU's start; boot test \(report.passed ? "passed" : "FAILED")"))
            rows.append(BenchRow(step: "boot test to poweroff (s)", bspgen: wall,
                                 note: "bspgen: accelerator probe + QEMU; by hand: the QEMU line alone"))
        }

        // The board's files as they were; the build goes back to them (Kbuild rebuilds what the line touched).
        try fragmentText.write(to: fragment, atomically: true, encoding: .utf8)
        if let original { try original.write(to: edited) } else { try? FileManager.default.removeItem(at: edited) }
        let (revert, revertResult) = try await timedBuild()
        rows.append(BenchRow(step: "edits reverted (s)", bspgen: revert, note: Self.stagesThatRan(revertResult)))

        let output = revertResult.outputDirectory
        let kernelSize = Self.fileSize(output.appendingPathComponent(revertResult.names.kernel))
        let initramfsSize = Self.fileSize(output.appendingPathComponent(revertResult.names.initramfs))
        let busybox = try await BusyBoxBuilder(environment: environment).build()
        let busyboxSize = Self.fileSize(busybox.binary)
        guard !skipByHand else {
            rows += Self.sizeRows(kernel: (kernelSize, nil), initramfs: (initramfsSize, nil), busybox: (busyboxSize, nil), compressor: "")
            return BoardBenchReport(board: board.name, conditions: conditions, rows: rows)
        }

        // By hand, in the same run on the same machine.
        let folder = byHandFolder
        // The same trees bspgen builds, patches included.
        let kernelSource = try await environment.preparedSource("kernel", board.board.kernel.resolvedSource, patches: board.kernelPatches)
        let busyboxSource = try await environment.preparedSource("busybox", board.board.busybox.resolvedSource, patches: board.busyboxPatches)
        let hand = HandBuild(environment: environment, folder: folder, kernelSource: kernelSource, busyboxSource: busyboxSource)
        if !skipCold {
            let (_, cold) = try await StepMeasurement.of(cores: cores) { try await hand.cold() }
            for row in Self.coldRows(cold, note: "") {
                setByHand(row.step, row.bspgen)
            }
            if let index = rows.firstIndex(where: { $0.step == "cold build utilisation" }) {
                rows[index].note += cold.meanLoad.map { String(format: ", by hand %.1f", $0) } ?? ""
            }
            if let kernelBoot {
                let (report, wall) = try await hand.boot(kernelBoot, log: environment.log("by-hand-boot"))
                setByHand("time to banner (s)", report.secondsToBanner)
                setByHand("boot test to poweroff (s)", wall)
                if let index = rows.firstIndex(where: { $0.step == "time to banner (s)" }) {
                    rows[index].note += "; by hand \(report.passed ? "passed" : "FAILED: \(report.failure.map { "\($0)" } ?? "")") (\(report.log))"
                }
            }
            setByHand("no-op rebuild (s)", try await hand.noOp())
            setByHand(fileStep, try await hand.pack())
            try (fragmentText + "\nCONFIG_LOCALVERSION=\"-bench\"\n").write(to: fragment, atomically: true, encoding: .utf8)
            let byHandLine = try await hand.fragmentLine(board.kernelFragments)
            try fragmentText.write(to: fragment, atomically: true, encoding: .utf8)
            setByHand("one fragment line (s)", byHandLine)
        } else {
            // The packer comparison needs a tree: BusyBox's install from the cache.
            try? FileManager.default.removeItem(at: folder)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: busybox.stagingTree, to: hand.rootfs)
            _ = try await hand.pack()
        }

        // The packer alone on the same tree: ours (gzip -9, threaded) against find | cpio | gzip.
        let ours = folder.appendingPathComponent("ours.cpio.gz")
        var packSeconds: [Double] = []
        for _ in 0..<3 {
            let start = Date()
            _ = try InitramfsPacker(sourceDateEpoch: environment.sourceDateEpoch).pack([.directory(hand.rootfs)], to: ours, compression: .gzip)
            packSeconds.append(Date().timeIntervalSince(start))
        }
        var nine: [Double] = []
        var six: [Double] = []
        let handNine = folder.appendingPathComponent("hand9.cpio.gz")
        let handSix = folder.appendingPathComponent("hand6.cpio.gz")
        for _ in 0..<3 {
            nine.append(try await hand.packOnly(compressor: "gzip -9", to: handNine))
            six.append(try await hand.packOnly(compressor: "gzip -6", to: handSix))
        }
        let oursBest = packSeconds.min() ?? 0
        rows.append(BenchRow(step: "pack vs | gzip -9 (s)", bspgen: oursBest, byHand: nine.min(), note: "same tree, best of 3"))
        rows.append(BenchRow(step: "pack vs | gzip -6 (s)", bspgen: oursBest, byHand: six.min(), note: "gzip's default level"))
        rows.append(BenchRow(step: "same tree packed (bytes)", unit: .bytes, bspgen: Self.fileSize(ours), byHand: Self.fileSize(handNine),
                             note: "bspgen's packer vs find | cpio -o -H newc | gzip -9; | gzip -6: "
                                + (Self.fileSize(handSix).map { BenchTable.grouped(Int($0)) } ?? "-")))
        rows += Self.sizeRows(kernel: (kernelSize, skipCold ? nil : Self.fileSize(hand.kernelImage)),
                              initramfs: (initramfsSize, Self.fileSize(hand.initramfs)),
                              busybox: (busyboxSize, Self.fileSize(hand.busyboxBinary)), compressor: hand.compressor)
        // What the two archives hold differently (bspgen's base list, board info, the kernel's modules).
        if let index = rows.firstIndex(where: { $0.step == "initramfs (bytes)" }) {
            let difference = try ArchiveDifference(first: output.appendingPathComponent(revertResult.names.initramfs), second: hand.initramfs)
            rows[index].note = difference.summary(first: "bspgen", second: "by hand")
        }
        return BoardBenchReport(board: board.name, conditions: conditions, rows: rows)
    }

    /// The cold build's wall time, CPU seconds and utilisation, as rows with `measurement` in bspgen's column.
    static func coldRows(_ measurement: StepMeasurement, note: String) -> [BenchRow] {
        [BenchRow(step: "cold build (s)", bspgen: measurement.wallSeconds, note: note),
         BenchRow(step: "cold build CPU (s)", bspgen: measurement.cpuSeconds,
                  note: String(format: "user + system of every process; bspgen's own %.1f s", measurement.ownCPUSeconds)),
         BenchRow(step: "cold build utilisation", unit: .utilisation, bspgen: measurement.utilisation,
                  note: "CPU / (\(measurement.cores) cores × wall)" + loadNote(measurement.meanLoad))]
    }

    /// The machine's mean load during a step, when other work competed with it.
    static func loadNote(_ load: Double?) -> String {
        load.map { String(format: "; mean load %.1f", $0) } ?? ""
    }

    /// The artifacts' sizes, and the two the issue's target adds up (kernel + initramfs).
    static func sizeRows(kernel: (Double?, Double?), initramfs: (Double?, Double?), busybox: (Double?, Double?), compressor: String) -> [BenchRow] {
        func sum(_ first: Double?, _ second: Double?) -> Double? { first.flatMap { a in second.map { a + $0 } } }
        return [BenchRow(step: "kernel image (bytes)", unit: .bytes, bspgen: kernel.0, byHand: kernel.1),
                BenchRow(step: "initramfs (bytes)", unit: .bytes, bspgen: initramfs.0, byHand: initramfs.1,
                         note: compressor.isEmpty ? "" : "by hand: find | cpio | \(compressor) of BusyBox's install, /init and the overlays"),
                BenchRow(step: "busybox binary (bytes)", unit: .bytes, bspgen: busybox.0, byHand: busybox.1, note: "static, stripped"),
                BenchRow(step: "kernel + initramfs (bytes)", unit: .bytes, bspgen: sum(kernel.0, initramfs.0), byHand: sum(kernel.1, initramfs.1))]
    }

    /// A cold build's longest stages and the sum of all stage times: a sum above the wall time means stages overlapped.
    static func longestStages(_ result: BoardBuildResult) -> String {
        let ran = result.stages.filter(\.ran)
        let longest = ran.sorted { $0.seconds > $1.seconds }.prefix(3).map { String(format: "%@ %.0f s", $0.stage, $0.seconds) }
        return "\(ran.count) stages ran: " + longest.joined(separator: ", ")
            + String(format: "; stage times add up to %.0f s", ran.map(\.seconds).reduce(0, +))
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

import ArgumentParser
import BoardModel
import Pipeline
import Foundation
import Host
import Initramfs
import QEMU

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench",
        abstract: "Time bspgen's builds (cold, no-op, one overlay file, one fragment line), the boot, the packer and sizes, beside the same steps by hand.",
        discussion: """
            Edits are made in a copy of the boards folder under the cache, never in your files; the board's own \
            state is rebuilt at the end. "Cold" empties the board's build folder (the source stays unpacked; ccache, \
            when used, stays warm). The by-hand side runs a tutorial's commands with plain compilers in a folder \
            of its own. A full run takes tens of minutes per board; --no-cold skips both cold builds.
            """)

    @OptionGroup var options: BuildOptions

    @Argument(help: "Board names (default: bench_board in bspgen.yaml).")
    var boards: [String] = []

    @Flag(help: "Skip the cold builds (and the by-hand kernel and BusyBox, which need one).")
    var noCold = false

    @Flag(help: "Skip the by-hand side.")
    var noByHand = false

    struct Row {
        var step: String
        var bspgen: Double?
        var byHand: Double?
        var note = ""
        var integers = false
    }

    func run() async throws {
        let names = try options.project.boardNames(boards, default: .bench)
        let workspace = options.workspaceOptions.workspace
        let benchFolder = workspace.cacheDirectory.appendingPathComponent("bench", isDirectory: true)
        try? FileManager.default.removeItem(at: benchFolder)
        try FileManager.default.createDirectory(at: benchFolder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: benchFolder) }
        // A copy of the boards to edit; stage keys go by content, so the copy reuses the board's results.
        let boardsCopy = benchFolder.appendingPathComponent("boards")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: options.project.boardsDirectory), to: boardsCopy)
        var benchOptions = options
        benchOptions.project.boardsDirectory = boardsCopy.path

        print("board            step                        bspgen     by hand   ratio  note")
        for name in names {
            let rows = try await bench(name, benchOptions: benchOptions, folder: benchFolder.appendingPathComponent("by-hand-\(name)"))
            for row in rows { print(format(name, row)) }
            // Back to the board's own files: the next build of it must not see the bench's edits.
            _ = try await buildBoard(name, options: options)
        }
    }

    func bench(_ name: String, benchOptions: BuildOptions, folder: URL) async throws -> [Row] {
        var rows: [Row] = []
        func build() async throws -> (Double, BoardBuildResult) {
            let start = Date()
            let (_, result) = try await buildBoard(name, options: benchOptions)
            return (Date().timeIntervalSince(start), result)
        }
        func ran(_ result: BoardBuildResult) -> String {
            let stages = result.stages.filter(\.ran)
            guard !stages.isEmpty else { return "all stages skipped" }
            return "ran: " + stages.map { $0.stage + ($0.detail.flatMap { $0.contains("hits") ? " (\($0.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""))" : nil } ?? "") }
                .joined(separator: ", ")
        }
        let environment = try await benchOptions.environment(name)
        let board = environment.board
        _ = try await build()  // sources unpacked, everything built once

        if !noCold {
            try? FileManager.default.removeItem(at: environment.buildDirectory)
            let (seconds, result) = try await build()
            rows.append(Row(step: "cold build (s)", bspgen: seconds, note: ran(result)))
        }
        let (warm, warmResult) = try await build()
        rows.append(Row(step: "no-op rebuild (s)", bspgen: warm, note: ran(warmResult)))

        // One file of the initramfs: a file in the first overlay, or /init for boards without overlays.
        let edited = board.overlays.first.map { $0.appendingPathComponent("etc/bspgen-bench") } ?? board.initScript
        let original = try? Data(contentsOf: edited)
        try FileManager.default.createDirectory(at: edited.deletingLastPathComponent(), withIntermediateDirectories: true)
        try ((original ?? Data()) + Data("\n# bspgen bench \(UUID().uuidString)\n".utf8)).write(to: edited)
        let (overlay, overlayResult) = try await build()
        rows.append(Row(step: board.overlays.isEmpty ? "one initramfs file (s)" : "one overlay file (s)", bspgen: overlay,
                        note: ran(overlayResult)))

        // One kernel fragment line: a local version string, which few files depend on.
        guard let fragment = board.kernelFragments.last else { return rows }
        let fragmentText = try String(contentsOf: fragment, encoding: .utf8)
        try (fragmentText + (fragmentText.hasSuffix("\n") ? "" : "\n") + "CONFIG_LOCALVERSION=\"-bench\"\n").write(to: fragment, atomically: true, encoding: .utf8)
        let (line, lineResult) = try await build()
        rows.append(Row(step: "one fragment line (s)", bspgen: line, note: ran(lineResult)))

        var banner: Double?
        if board.qemuBootable {
            let report = try await BoardTest.bootTest(lineResult.plan.boot(.kernel), result: lineResult, environment: environment, timeout: nil)
            banner = report.secondsToBanner
            rows.append(Row(step: "time to banner (s)", bspgen: banner, note: report.passed ? "boot test passed" : "boot test FAILED"))
        }

        // The board's files as they were; the build goes back to them (Kbuild rebuilds what the line touched).
        try fragmentText.write(to: fragment, atomically: true, encoding: .utf8)
        if let original { try original.write(to: edited) } else { try? FileManager.default.removeItem(at: edited) }
        let (revert, revertResult) = try await build()
        rows.append(Row(step: "edits reverted (s)", bspgen: revert, note: ran(revertResult)))

        let output = revertResult.outputDirectory
        let kernelSize = fileSize(output.appendingPathComponent(revertResult.names.kernel))
        let initramfsSize = fileSize(output.appendingPathComponent(revertResult.names.initramfs))
        guard !noByHand else {
            rows.append(Row(step: "kernel image (bytes)", bspgen: kernelSize, integers: true))
            rows.append(Row(step: "initramfs (bytes)", bspgen: initramfsSize, integers: true))
            return rows
        }

        // By hand, in the same run on the same machine.
        let kernelSource = try await KernelBuilder(environment: environment).fetchSource()
        let busyboxSource = try await SourceFetcher(workspace: environment.workspace)
            .fetch(board.board.busybox.resolvedSource, relativeTo: board.folder, log: environment.log("busybox-source"))
        let hand = HandBuild(environment: environment, folder: folder, kernelSource: kernelSource, busyboxSource: busyboxSource)
        if !noCold {
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
        rows.append(Row(step: "pack vs | gzip -9 (s)", bspgen: oursBest, byHand: nine.min(),
                        note: "same tree, best of 3; \(fileSize(ours).map { Int($0) } ?? 0) vs \(fileSize(folder.appendingPathComponent("hand9.cpio.gz")).map { Int($0) } ?? 0) bytes"))
        rows.append(Row(step: "pack vs | gzip (s)", bspgen: oursBest, byHand: six.min(),
                        note: "gzip's default level 6: \(fileSize(folder.appendingPathComponent("hand6.cpio.gz")).map { Int($0) } ?? 0) bytes"))
        rows.append(Row(step: "kernel image (bytes)", bspgen: kernelSize, byHand: noCold ? nil : fileSize(hand.kernelImage), integers: true))
        rows.append(Row(step: "initramfs (bytes)", bspgen: initramfsSize, byHand: fileSize(hand.initramfs), integers: true))
        return rows
    }

    func fileSize(_ url: URL) -> Double? {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.doubleValue
    }

    func format(_ board: String, _ row: Row) -> String {
        func value(_ number: Double?) -> String {
            guard let number else { return "-" }
            return row.integers ? String(Int(number)) : String(format: "%.2f", number)
        }
        let ratio = row.integers ? "-" : (row.bspgen.flatMap { ours in row.byHand.map { String(format: "%.2f", ours / max($0, 0.001)) } } ?? "-")
        return board.padding(toLength: 16, withPad: " ", startingAt: 0) + " "
            + row.step.padding(toLength: 26, withPad: " ", startingAt: 0)
            + value(row.bspgen).leftPadded(10) + value(row.byHand).leftPadded(12) + ratio.leftPadded(8) + "  " + row.note
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

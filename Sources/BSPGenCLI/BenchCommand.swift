import ArgumentParser
import Bench
import Foundation

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

    @Flag(help: "Print JSON: per board and step, bspgen's figure, the by-hand one and the note (seconds, or bytes for sizes).")
    var json = false

    struct Measurement: Encodable {
        var board: String
        var step: String
        var bspgen: Double?
        var byHand: Double?
        var unit: String
        var note: String
    }

    func run() async throws {
        let names = try options.project.boardNames(boards, default: .bench)
        let workspace = options.workspaceOptions.workspace
        let scratch = try BenchFolder(cacheDirectory: workspace.cacheDirectory,
                                      boardsDirectory: URL(fileURLWithPath: options.project.boardsDirectory))
        defer { scratch.remove() }
        var benchOptions = options
        benchOptions.project.boardsDirectory = scratch.boardsCopy.path

        var measurements: [Measurement] = []
        if !json { print("board            step                        bspgen     by hand   ratio  note") }
        for name in names {
            let bench = BoardBench(byHandFolder: scratch.byHand(name), skipCold: noCold, skipByHand: noByHand) { [benchOptions] in
                try await buildBoard(name, options: benchOptions)
            }
            for row in try await bench.run() {
                measurements.append(Measurement(board: name, step: row.step, bspgen: row.bspgen, byHand: row.byHand,
                                                unit: row.integers ? "bytes" : "seconds", note: row.note))
                if !json { print(format(name, row)) }
            }
            // Back to the board's own files: the next build of it must not see the bench's edits.
            _ = try await buildBoard(name, options: options)
        }
        if json { try printJSON(measurements) }
    }

    func format(_ board: String, _ row: BenchRow) -> String {
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

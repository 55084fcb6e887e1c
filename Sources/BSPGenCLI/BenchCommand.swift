import ArgumentParser
import Bench
import Foundation

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench",
        abstract: "Time bspgen's builds (cold with CPU time and utilisation, no-op, one overlay file, one fragment line), the boot, the packer and sizes, beside the same steps by hand.",
        discussion: """
            Cold means cold on both sides: bspgen builds in an empty private cache (no shared BusyBox or U-Boot \
            build) without ccache, and the by-hand side compiles everything with plain gcc; both start from the \
            unpacked sources. The other steps use the board's cache (and ccache unless --no-ccache). Edits are made \
            in a copy of the boards folder under the cache, never in your files; the board's own state is rebuilt \
            at the end. With several boards (or --all), the boards are then built cold one after another and all at \
            once under the same -j budget; with --no-by-hand that run gives the cold figures and the boards' own \
            cold builds are left out. A full run takes tens of minutes per board; --no-cold skips every cold build.
            """)

    @OptionGroup var options: BuildOptions

    @Argument(help: "Board names (default: bench_board in bspgen.yaml).")
    var boards: [String] = []

    @Flag(help: "Every board.")
    var all = false

    @Flag(help: "Skip the cold builds (and the by-hand kernel and BusyBox, which need one).")
    var noCold = false

    @Flag(help: "Skip the by-hand side.")
    var noByHand = false

    @Flag(help: "Print the results as JSON (progress stays on stderr).")
    var json = false

    func run() async throws {
        let names = try options.project.boardNames(boards, all: all, default: .bench)
        let workspace = options.workspaceOptions.workspace
        let scratch = try BenchFolder(cacheDirectory: workspace.cacheDirectory,
                                      boardsDirectory: URL(fileURLWithPath: options.project.boardsDirectory))
        defer { scratch.remove() }
        var benchOptions = options
        benchOptions.project.boardsDirectory = scratch.boardsCopy.path
        let several = names.count > 1
        let json = self.json

        var report = BenchReport(boards: [])
        for name in names {
            let bench = BoardBench(byHandFolder: scratch.byHand(name), coldFolder: scratch.cold(name),
                                   skipCold: noCold || (several && noByHand), skipByHand: noByHand,
                                   build: { [benchOptions] in try await buildBoard(name, options: benchOptions) },
                                   coldBuild: { [benchOptions] adjust in try await buildBoard(name, options: benchOptions, adjust: adjust).1 })
            let boardReport = try await bench.run()
            report.boards.append(boardReport)
            if !json { print(BenchTable.text(boardReport)) }
            // Back to the board's own files: the next build of it must not see the bench's edits.
            _ = try await buildBoard(name, options: options)
        }
        if several && !noCold {
            // One budget for the run: without -j, `build` of several boards would build them one at a time.
            var budget = options
            budget.jobs = options.jobs ?? ProcessInfo.processInfo.activeProcessorCount
            let jobs = budget.jobs ?? 1
            let run = SeveralBoardsBench(boards: names, jobs: jobs, folder: scratch.cold("boards"),
                buildOne: { [budget] name, adjust in try await buildBoard(name, options: budget, adjust: adjust).1 },
                buildAll: { [budget] names, adjust in try await buildBoards(names, options: budget, adjust: adjust) { _, _ in } })
            let several = try await run.run()
            report.severalBoards = several
            if !json { print(BenchTable.text(several)) }
        }
        if json { try printJSON(report) }
    }
}

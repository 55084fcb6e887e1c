import ArgumentParser
import BoardModel
import Pipeline
import Foundation
import Host
import QEMU

/// Builds a board (stages whose inputs did not change are skipped); the output folder gets the `run-qemu*.sh` of
/// its boot plans. `adjust` may change the environment first (e.g. a scratch workspace for a build from nothing).
func buildBoard(_ name: String, options: BuildOptions, images: Bool = false, jobs: Int? = nil, jobserver: Jobserver? = nil,
                progressPrefix: String? = nil, adjust: (inout BuildEnvironment) -> Void = { _ in }) async throws -> (BuildEnvironment, BoardBuildResult) {
    var environment = try await options.environment(name, jobs: jobs, jobserver: jobserver, progressPrefix: progressPrefix)
    adjust(&environment)
    return (environment, try await BoardBuild(environment: environment, includeImages: images).runReporting())
}

/// `--boot METHOD` and `--rootfs ext4`, declared once for the commands that boot.
struct BootPathOptions: ParsableArguments {
    @Option(help: "Boot through one of the board's boot methods (firmware and a disk image), e.g. uboot or disk.")
    var boot: String?

    @Option(help: "Boot the kernel with the root file system image attached and switched to: ext4.")
    var rootfs: String?

    func selection() throws -> BootSelection { try BootSelection(method: boot, rootfs: rootfs) }
}

struct BootCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "boot",
        abstract: "Build a board if needed, then boot it in QEMU with the console on this terminal (Ctrl-A X quits).")

    @OptionGroup var options: BuildOptions
    @OptionGroup var path: BootPathOptions

    @Argument(help: "Board name (default: default_board in bspgen.yaml).")
    var board: String?

    func run() async throws {
        let name = try board ?? options.project.catalog().defaultBoardName(for: .general)
        let selection = try path.selection()
        let plan = try BoardPlan(board: options.project.board(name)).boot(selection)
        let (_, result) = try await buildBoard(name, options: options, images: plan.needsImages)
        let commandLine = try await BoardTest.commandLine(for: plan, folder: result.outputDirectory)
        FileHandle.standardError.write(Data("bspgen: booting \(name) (\(commandLine.accelerator.rawValue)); Ctrl-A X quits QEMU\n".utf8))
        let status = try await QEMURunner.interactive(commandLine)
        guard status.succeeded else { throw CommandFailure(message: "QEMU ended with \(status.statusText)") }
    }
}

struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "test",
        abstract: "Build boards and check their artifacts; boot those QEMU can emulate headless and check the console.",
        discussion: """
            Every board's output is checked first: manifest checksums, kernel image header, device trees (compatible, \
            /chosen), initramfs (/init, BusyBox's architecture) and boot files. A board with a qemu section then \
            passes only when the banner appears, the console checks answer right and poweroff ends QEMU.
            """)

    @OptionGroup var options: BuildOptions

    @Argument(help: "Board names (default: default_board in bspgen.yaml).")
    var boards: [String] = []

    @Flag(help: "Test every board: QEMU boards by a boot, the others by their artifacts.")
    var all = false

    @Option(help: "Seconds a boot may take (default: the board's qemu.timeout, else 300 under TCG).")
    var timeout: Int?

    @Flag(help: "Print the results as JSON.")
    var json = false

    @Flag(help: "Also make the disk images and check them (partition tables, every file of their FAT partitions).")
    var images = false

    @OptionGroup var path: BootPathOptions

    func run() async throws {
        let selection = try path.selection()
        let names = try options.project.boardNames(boards, all: all)
        var reports: [BoardTestReport] = []
        let (options, images, timeout, json) = (self.options, self.images, self.timeout, self.json)
        // As `build`: with -j N, up to N boards at once, their makes and boots sharing N jobs.
        let scheduler = BoardScheduler(boards: names, totalJobs: options.jobs)
        try await scheduler.run({ name, slot in
            let environment = try await options.environment(name, jobs: slot.jobs, jobserver: scheduler.jobserver, progressPrefix: slot.progressPrefix)
            return try await BoardTest(environment: environment, selection: selection, includeImages: images, timeout: timeout).run()
        }, deliver: { _, report in
            reports.append(report)
            if !json { printReport(report) }
            // Into a log too, each board's result comes right after its progress lines.
            fflush(nil)
        })
        if json { try printJSON(reports) }
        let failed = reports.filter { !$0.passed }.map(\.board)
        let summary = "\(reports.count - failed.count) passed, \(failed.count) failed"
        // With --json, standard output carries the JSON document only.
        if json { FileHandle.standardError.write(Data((summary + "\n").utf8)) } else { print(summary) }
        if !failed.isEmpty { throw CommandFailure(message: "test failed: \(failed.joined(separator: ", "))") }
    }

    private func printReport(_ report: BoardTestReport) {
        // Build errors quote the board's files and the console lines come from the guest: neither reaches the
        // terminal raw.
        func print(_ text: String) { Swift.print(DescriptionText.forTerminal(text)) }
        var headline = "\(report.board): \(report.passed ? "PASS" : "FAIL")"
        if report.buildError != nil {
            headline += " — not built"
        } else if let boot = report.boot {
            let banner = boot.secondsToBanner.map { String(format: "banner after %.1f s", $0) } ?? "no banner"
            headline += " — \(banner), total \(String(format: "%.1f", boot.totalSeconds)) s, \(boot.accelerator.rawValue)"
        } else {
            headline += " — artifacts checked (QEMU cannot emulate this board)"
        }
        print(headline)
        if let buildError = report.buildError {
            print("  build failed: " + buildError.replacingOccurrences(of: "\n", with: "\n  "))
        }
        for check in report.artifactChecks {
            print("  \(check.passed ? "ok  " : "FAIL") \(check.name): \(check.detail)")
        }
        guard let boot = report.boot else { return }
        for check in boot.checks {
            print("  \(check.passed ? "ok  " : "FAIL") \(check.name): expected \(check.expected.debugDescription), got \((check.obtained ?? "nothing").debugDescription)")
        }
        if let failure = boot.failure {
            print("  cause: \(failure)")
            print(boot.lastConsoleLines.map { "  | " + $0 }.joined(separator: "\n"))
            print("  full console log: \(boot.log)")
        }
        for refusal in report.refusals {
            let time = String(format: "%.1f s", refusal.totalSeconds)
            if refusal.passed {
                print("  ok   refused, \(refusal.name) (\(time)): " + refusal.seen.map(\.debugDescription).joined(separator: ", "))
            } else {
                print("  FAIL refused, \(refusal.name) (\(time)): \(refusal.failure ?? "")")
                print("       expected: \(refusal.expected)")
                print(refusal.lastConsoleLines.map { "  | " + $0 }.joined(separator: "\n"))
                print("  full console log: \(refusal.log)")
            }
        }
    }
}

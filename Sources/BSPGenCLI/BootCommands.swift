import ArgumentParser
import BoardModel
import Build
import Foundation
import Host
import QEMU

/// The QEMU command line for a built board, from the artifacts in its output folder.
func qemuCommandLine(for board: ResolvedBoard, names: ArtifactNames, in folder: URL) async throws -> QEMUCommandLine {
    guard let qemu = board.board.qemu else { throw QEMUError.notEmulated(board: board.name) }
    let accelerator = await Accelerator.choose(for: qemu, guestArch: board.board.arch)
    let artifacts = BootArtifacts(kernel: folder.appendingPathComponent(names.kernel),
                                  initramfs: folder.appendingPathComponent(names.initramfs),
                                  deviceTree: names.deviceTrees.first.map { folder.appendingPathComponent($0) })
    return try QEMUCommandLine(board: board.board, artifacts: artifacts, accelerator: accelerator)
}

/// Builds (stages whose inputs did not change are skipped), adding `run-qemu.sh` for boards QEMU can boot.
func buildWithRunScript(_ name: String, options: BuildOptions) async throws -> (BuildEnvironment, BoardBuildResult) {
    let environment = try await options.environment(name)
    var build = BoardBuild(environment: environment)
    let names = ArtifactNames(board: environment.board.board)
    let output = environment.workspace.output(name)
    if environment.board.qemuBootable {
        let commandLine = try await qemuCommandLine(for: environment.board, names: names, in: output)
        build.extraFiles.append((name: "run-qemu.sh", text: commandLine.runScript(in: output), executable: true))
    }
    let start = Date()
    let result = try await build.run()
    let summary = result.stageSeconds.map { String(format: "%@ %.1fs", $0.stage, $0.seconds) }.joined(separator: ", ")
    environment.progress.note(String(format: "[%@] built in %.1f s (%@)", name, Date().timeIntervalSince(start), summary))
    return (environment, result)
}

struct BootCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "boot",
        abstract: "Build a board if needed, then boot it in QEMU with the console on this terminal (Ctrl-A X quits).")

    @OptionGroup var options: BuildOptions

    @Argument(help: "Board name (default: qemu-x86_64).")
    var board = "qemu-x86_64"

    func run() async throws {
        let (environment, result) = try await buildWithRunScript(board, options: options)
        guard environment.board.qemuBootable else {
            throw CommandFailure(message: "\(board) has no QEMU model; its artifacts are in \(result.outputDirectory.path)")
        }
        let commandLine = try await qemuCommandLine(for: environment.board, names: result.names, in: result.outputDirectory)
        FileHandle.standardError.write(Data("bspgen: booting \(board) (\(commandLine.accelerator.rawValue)); Ctrl-A X quits QEMU\n".utf8))
        let status = try await QEMURunner.interactive(commandLine)
        guard status.succeeded else { throw CommandFailure(message: "QEMU ended with \(status.statusText)") }
    }
}

struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "test",
        abstract: "Build and boot boards headless; pass only when the banner appears, console checks answer right and poweroff ends QEMU.")

    @OptionGroup var options: BuildOptions

    @Argument(help: "Board names (default: qemu-x86_64).")
    var boards: [String] = []

    @Flag(help: "Test every board that QEMU can boot.")
    var all = false

    @Option(help: "Seconds a boot may take (default: the board's qemu.timeout, else 300 under TCG).")
    var timeout: Int?

    @Flag(help: "Print the results as JSON.")
    var json = false

    func run() async throws {
        let catalog = options.project.catalog()
        let names = all ? catalog.boardNames.filter { catalog.boards[$0]?.qemuBootable == true } : (boards.isEmpty ? ["qemu-x86_64"] : boards)
        var reports: [BootReport] = []
        for name in names {
            let (environment, result) = try await buildWithRunScript(name, options: options)
            guard environment.board.qemuBootable else {
                throw CommandFailure(message: "\(name) has no QEMU model; artifact checks for such boards are not implemented yet")
            }
            let commandLine = try await qemuCommandLine(for: environment.board, names: result.names, in: result.outputDirectory)
            environment.progress.begin("boot \(name)", "\(commandLine.spec.binary) (\(commandLine.accelerator.rawValue))")
            let report = try await QEMURunner.bootTest(commandLine, expectedMachine: environment.board.toolchain.expectedUnameMachine,
                                                       log: environment.log("boot-test"),
                                                       options: BootTestOptions(timeout: timeout.map { .seconds($0) }))
            environment.progress.end(report.passed ? "passed" : "FAILED")
            reports.append(report)
            if !json { printReport(report) }
        }
        if json { try printJSON(reports) }
        let failed = reports.filter { !$0.passed }.map(\.board)
        let summary = "\(reports.count - failed.count) passed, \(failed.count) failed"
        // With --json, standard output carries the JSON document only.
        if json { FileHandle.standardError.write(Data((summary + "\n").utf8)) } else { print(summary) }
        if !failed.isEmpty { throw CommandFailure(message: "boot test failed: \(failed.joined(separator: ", "))") }
    }

    private func printReport(_ report: BootReport) {
        let banner = report.secondsToBanner.map { String(format: "banner after %.1f s", $0) } ?? "no banner"
        print("\(report.board): \(report.passed ? "PASS" : "FAIL") — \(banner), total \(String(format: "%.1f", report.totalSeconds)) s, \(report.accelerator.rawValue)")
        for check in report.checks {
            print("  \(check.passed ? "ok  " : "FAIL") \(check.name): expected \(check.expected.debugDescription), got \((check.obtained ?? "nothing").debugDescription)")
        }
        if let failure = report.failure {
            print("  cause: \(failure)")
            print(report.lastConsoleLines.map { "  | " + $0 }.joined(separator: "\n"))
            print("  full console log: \(report.log)")
        }
    }
}

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
func buildWithRunScript(_ name: String, options: BuildOptions, jobs: Int? = nil,
                        progressPrefix: String? = nil) async throws -> (BuildEnvironment, BoardBuildResult) {
    let environment = try await options.environment(name, jobs: jobs, progressPrefix: progressPrefix)
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

/// One board's result in `bspgen test`: its artifact checks, and its boot when QEMU can run it.
struct BoardTestReport: Encodable {
    var board: String
    /// `qemu` for boards proven by a boot, `artifacts` for boards QEMU cannot emulate.
    var method: String
    /// Why the board could not be built; its checks and boot were then not run.
    var buildError: String?
    var artifactChecks: [ArtifactCheck] = []
    var boot: BootReport?
    var passed: Bool { buildError == nil && artifactChecks.allSatisfy(\.passed) && (boot?.passed ?? true) }

    enum CodingKeys: String, CodingKey { case board, method, buildError = "build_error", artifactChecks = "artifact_checks", boot, passed }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(board, forKey: .board)
        try container.encode(method, forKey: .method)
        try container.encodeIfPresent(buildError, forKey: .buildError)
        try container.encode(artifactChecks, forKey: .artifactChecks)
        try container.encodeIfPresent(boot, forKey: .boot)
        try container.encode(passed, forKey: .passed)
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

    @Argument(help: "Board names (default: qemu-x86_64).")
    var boards: [String] = []

    @Flag(help: "Test every board: QEMU boards by a boot, the others by their artifacts.")
    var all = false

    @Option(help: "Seconds a boot may take (default: the board's qemu.timeout, else 300 under TCG).")
    var timeout: Int?

    @Flag(help: "Print the results as JSON.")
    var json = false

    func run() async throws {
        let names = all ? options.project.catalog().boardNames : (boards.isEmpty ? ["qemu-x86_64"] : boards)
        var reports: [BoardTestReport] = []
        for name in names {
            let board = try options.project.board(name)
            var report = BoardTestReport(board: name, method: board.qemuBootable ? "qemu" : "artifacts")
            let environment: BuildEnvironment, result: BoardBuildResult
            do {
                (environment, result) = try await buildWithRunScript(name, options: options)
            } catch let error as any UserFacingError {
                // One board that does not build must not hide the verdicts of the others.
                report.buildError = error.description
                reports.append(report)
                if !json { printReport(report) }
                continue
            }
            report.artifactChecks = ArtifactChecker(board: board, folder: result.outputDirectory).run()
            if board.qemuBootable {
                let commandLine = try await qemuCommandLine(for: board, names: result.names, in: result.outputDirectory)
                environment.progress.begin("boot \(name)", "\(commandLine.spec.binary) (\(commandLine.accelerator.rawValue))")
                let boot = try await QEMURunner.bootTest(commandLine, expectedMachine: board.toolchain.expectedUnameMachine,
                                                         log: environment.log("boot-test"),
                                                         options: BootTestOptions(timeout: timeout.map { .seconds($0) },
                                                                                  extraChecks: result.guestChecks))
                environment.progress.end(boot.passed ? "passed" : "FAILED")
                report.boot = boot
            }
            reports.append(report)
            if !json { printReport(report) }
            // Into a log too, each board's result comes right after its progress lines.
            fflush(nil)
        }
        if json { try printJSON(reports) }
        let failed = reports.filter { !$0.passed }.map(\.board)
        let summary = "\(reports.count - failed.count) passed, \(failed.count) failed"
        // With --json, standard output carries the JSON document only.
        if json { FileHandle.standardError.write(Data((summary + "\n").utf8)) } else { print(summary) }
        if !failed.isEmpty { throw CommandFailure(message: "test failed: \(failed.joined(separator: ", "))") }
    }

    private func printReport(_ report: BoardTestReport) {
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
    }
}

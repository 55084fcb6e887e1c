import ArgumentParser
import BoardModel
import Build
import Foundation
import Host
import QEMU

/// How QEMU starts a board: its kernel directly (the default), through firmware from a disk image (a named
/// `boot` method), or its kernel directly with the ext4 root file system attached and switched to.
enum BootSelection: Equatable {
    case kernel
    case method(String)
    case rootfs

    init(method: String?, rootfs: String?) throws {
        switch (method, rootfs) {
        case (nil, nil), ("kernel"?, nil): self = .kernel
        case (let name?, nil): self = .method(name)
        case (nil, "ext4"?): self = .rootfs
        case (nil, let other?): throw ValidationError("--rootfs \(other): the only root file system image is 'ext4'")
        default: throw ValidationError("--boot and --rootfs cannot be combined: a firmware boot uses the disk image's own files")
        }
    }

    /// Whether the boot needs the disk images or the root file system image.
    var needsImages: Bool { self != .kernel }

    var label: String {
        switch self {
        case .kernel: "kernel"
        case .method(let name): name
        case .rootfs: "rootfs-ext4"
        }
    }
}

/// The QEMU command line for a built board, from the artifacts in its output folder.
func qemuCommandLine(for board: ResolvedBoard, names: ArtifactNames, in folder: URL, boot: BootSelection = .kernel) async throws -> QEMUCommandLine {
    guard let qemu = board.board.qemu else { throw QEMUError.notEmulated(board: board.name) }
    let accelerator = await Accelerator.choose(for: qemu, guestArch: board.board.arch, kvmCPUFlags: board.architecture.kvmCPUFlags ?? [])
    let artifacts = BootArtifacts(kernel: folder.appendingPathComponent(names.kernel),
                                  initramfs: folder.appendingPathComponent(names.initramfs),
                                  deviceTree: names.deviceTrees.first.map { folder.appendingPathComponent($0) })
    switch boot {
    case .kernel:
        return try QEMUCommandLine(board: board.board, artifacts: artifacts, accelerator: accelerator)
    case .method(let name):
        let methods = board.board.boot ?? [:]
        guard let method = methods[name] else {
            throw ValidationError("board \(board.name) has no boot method '\(name)'; it has: "
                                  + (["kernel"] + methods.keys.sorted()).joined(separator: ", "))
        }
        try HostRequirements.requireFile(method.firmware, package: method.package)
        return try QEMUCommandLine(board: board.board, artifacts: artifacts, accelerator: accelerator,
                                   firmware: URL(fileURLWithPath: method.firmware),
                                   disks: [QEMUDisk(image: folder.appendingPathComponent(method.disk), attachment: method.attach)],
                                   cmdline: (method.cmdlinePrefix ?? "") + board.board.cmdline)
    case .rootfs:
        guard let rootfs = board.board.rootfs, let attachment = rootfs.attach else {
            throw ValidationError("board \(board.name) has no 'rootfs' section with 'attach': it has no ext4 root file system to boot")
        }
        return try QEMUCommandLine(board: board.board, artifacts: artifacts, accelerator: accelerator,
                                   disks: [QEMUDisk(image: folder.appendingPathComponent(RootFilesystemSpec.imageName), attachment: attachment)],
                                   cmdline: board.board.cmdline + " bspgen.root=" + rootfs.resolvedDevice)
    }
}

/// Console checks that prove the boot took the path it was asked to.
func bootPathChecks(for board: ResolvedBoard, boot: BootSelection) -> [GuestCheck] {
    guard boot == .rootfs, let rootfs = board.board.rootfs else { return [] }
    return [GuestCheck(name: "root file system", command: "awk '$2 == \"/\" { r = $1 \" \" $3 } END { print r }' /proc/mounts",
                       expected: "\(rootfs.resolvedDevice) ext4")]
}

/// The build's device tree checks for this boot: /chosen/bootargs is what the kernel was given (QEMU's -append
/// or the boot loader replace the tree's), so it is expected to equal the command line of this boot.
func guestChecks(_ checks: [GuestCheck], _ commandLine: QEMUCommandLine) -> [GuestCheck] {
    checks.map { check in
        var check = check
        if check.name == "dt /chosen/bootargs" { check.expected = commandLine.cmdline }
        return check
    }
}

/// Builds (stages whose inputs did not change are skipped), adding `run-qemu.sh` for boards QEMU can boot, and
/// with images a `run-qemu-METHOD.sh` per firmware boot method.
/// `adjust` may change the environment first (e.g. a scratch workspace for a build from nothing).
func buildWithRunScript(_ name: String, options: BuildOptions, images: Bool = false, jobs: Int? = nil, progressPrefix: String? = nil,
                        adjust: (inout BuildEnvironment) -> Void = { _ in }) async throws -> (BuildEnvironment, BoardBuildResult) {
    var environment = try await options.environment(name, jobs: jobs, progressPrefix: progressPrefix)
    adjust(&environment)
    var build = BoardBuild(environment: environment)
    build.includeImages = images
    let names = ArtifactNames(board: environment.board.board)
    let output = environment.workspace.output(name)
    if environment.board.qemuBootable {
        let commandLine = try await qemuCommandLine(for: environment.board, names: names, in: output)
        build.extraFiles.append((name: "run-qemu.sh", text: commandLine.runScript(in: output), executable: true))
        if images {
            for method in (environment.board.board.boot ?? [:]).keys.sorted() {
                let firmware = try await qemuCommandLine(for: environment.board, names: names, in: output, boot: .method(method))
                build.extraFiles.append((name: "run-qemu-\(method).sh", text: firmware.runScript(in: output), executable: true))
            }
        }
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

    @Argument(help: "Board name (default: default_board in bspgen.yaml).")
    var boardName: String?

    @Option(help: "Boot through one of the board's boot methods (firmware and a disk image), e.g. uboot or disk.")
    var boot: String?

    @Option(help: "Boot the kernel with the root file system image attached and switched to: ext4.")
    var rootfs: String?

    func run() async throws {
        let selection = try BootSelection(method: boot, rootfs: rootfs)
        let board = try boardName ?? options.project.catalog().defaultBoardName(for: .general)
        let (environment, result) = try await buildWithRunScript(board, options: options, images: selection.needsImages)
        guard environment.board.qemuBootable else {
            throw CommandFailure(message: "\(board) has no QEMU model; its artifacts are in \(result.outputDirectory.path)")
        }
        let commandLine = try await qemuCommandLine(for: environment.board, names: result.names, in: result.outputDirectory, boot: selection)
        FileHandle.standardError.write(Data("bspgen: booting \(board) (\(commandLine.accelerator.rawValue)); Ctrl-A X quits QEMU\n".utf8))
        let status = try await QEMURunner.interactive(commandLine)
        guard status.succeeded else { throw CommandFailure(message: "QEMU ended with \(status.statusText)") }
    }
}

/// One board's result in `bspgen test`: its artifact checks, and its boot when QEMU can run it.
struct BoardTestReport: Encodable {
    var board: String
    /// `qemu` for boards proven by a direct boot, `qemu-METHOD` (`qemu-uboot`, `qemu-rootfs-ext4`…) for another
    /// boot path, `artifacts` for boards QEMU cannot emulate.
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

    @Option(help: "Boot through one of the board's boot methods (firmware and a disk image), e.g. uboot or disk.")
    var boot: String?

    @Option(help: "Boot the kernel with the root file system image attached and switched to: ext4.")
    var rootfs: String?

    func run() async throws {
        let selection = try BootSelection(method: boot, rootfs: rootfs)
        let names = try options.project.boardNames(boards, all: all)
        var reports: [BoardTestReport] = []
        for name in names {
            let board = try options.project.board(name)
            var report = BoardTestReport(board: name, method: board.qemuBootable ? "qemu" : "artifacts")
            let environment: BuildEnvironment, result: BoardBuildResult
            do {
                (environment, result) = try await buildWithRunScript(name, options: options, images: images || selection.needsImages)
            } catch let error as any UserFacingError {
                // One board that does not build must not hide the verdicts of the others.
                report.buildError = error.description
                reports.append(report)
                if !json { printReport(report) }
                continue
            }
            let checker = ArtifactChecker(board: board, folder: result.outputDirectory)
            report.artifactChecks = checker.run() + (await checker.checkImageContents())
            if board.qemuBootable {
                let commandLine = try await qemuCommandLine(for: board, names: result.names, in: result.outputDirectory, boot: selection)
                report.method = selection == .kernel ? "qemu" : "qemu-\(selection.label)"
                environment.progress.begin("boot \(name)", "\(commandLine.spec.binary) (\(commandLine.accelerator.rawValue), \(selection.label))")
                let boot = try await QEMURunner.bootTest(commandLine, expectedMachine: board.toolchain.expectedUnameMachine,
                                                         log: environment.log(selection == .kernel ? "boot-test" : "boot-test-\(selection.label)"),
                                                         options: BootTestOptions(timeout: timeout.map { .seconds($0) },
                                                                                  extraChecks: guestChecks(result.guestChecks, commandLine)
                                                                                    + bootPathChecks(for: board, boot: selection)))
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

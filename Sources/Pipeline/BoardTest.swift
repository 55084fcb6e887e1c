import BoardModel
import DeviceTree
import DiskImage
import Foundation
import UserInput
import Host
import Initramfs
import Kconfig
import QEMU

/// Errors whose description is the whole message for the user: file, line, field, what was expected, how to fix
/// it, and the log to read. Every module's errors conform, so any of them is shown the same way.
public protocol UserFacingError: Error, CustomStringConvertible {}
extension DiagnosticList: UserFacingError {}
extension HostError: UserFacingError {}
extension BuildError: UserFacingError {}
extension KconfigError: UserFacingError {}
extension InitramfsError: UserFacingError {}
extension QEMUError: UserFacingError {}
extension DeviceTreeError: UserFacingError {}
extension DiskImageError: UserFacingError {}
extension PlanError: UserFacingError {}
extension UserFileError: UserFacingError {}

/// One board's result in `bspgen test`: its artifact checks, and its boot when QEMU can run it.
public struct BoardTestReport: Encodable, Sendable {
    public var board: String
    /// `qemu` for boards proven by a direct boot, `qemu-METHOD` (`qemu-uboot`, `qemu-rootfs-ext4`…) for another
    /// boot path, `artifacts` for boards QEMU cannot emulate.
    public var method: String
    /// Why the board could not be built; its checks and boot were then not run.
    public var buildError: String?
    public var artifactChecks: [ArtifactCheck] = []
    public var boot: BootReport?
    /// Boots of tampered images that the board's U-Boot must refuse (signing boards, `fit_image.signing`).
    public var refusals: [RefusalReport] = []
    public var passed: Bool {
        buildError == nil && artifactChecks.allSatisfy(\.passed) && (boot?.passed ?? true) && refusals.allSatisfy(\.passed)
    }

    enum CodingKeys: String, CodingKey { case board, method, buildError = "build_error", artifactChecks = "artifact_checks", boot, refusals, passed }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(board, forKey: .board)
        try container.encode(method, forKey: .method)
        try container.encodeIfPresent(buildError, forKey: .buildError)
        try container.encode(artifactChecks, forKey: .artifactChecks)
        try container.encodeIfPresent(boot, forKey: .boot)
        if !refusals.isEmpty { try container.encode(refusals, forKey: .refusals) }
        try container.encode(passed, forKey: .passed)
    }
}

/// `bspgen test` for one board: build, check the artifacts, boot the selected path headless when QEMU can.
public struct BoardTest: Sendable {
    public let environment: BuildEnvironment
    public let selection: BootSelection
    public let includeImages: Bool
    /// Seconds a boot may take; nil: the board's own limit.
    public let timeout: Int?

    public init(environment: BuildEnvironment, selection: BootSelection = .kernel, includeImages: Bool = false, timeout: Int? = nil) {
        self.environment = environment
        self.selection = selection
        self.includeImages = includeImages
        self.timeout = timeout
    }

    /// A board that does not build gets a report saying why, so that it does not hide the verdicts of others.
    public func run() async throws -> BoardTestReport {
        let board = environment.board
        var report = BoardTestReport(board: board.name, method: board.qemuBootable ? "qemu" : "artifacts")
        // Asking for a boot path the board does not have is the user's mistake, told before anything is built.
        let boot = board.qemuBootable ? try BoardPlan(board: board).boot(selection) : nil
        let result: BoardBuildResult
        do {
            result = try await BoardBuild(environment: environment, includeImages: includeImages || (boot?.needsImages ?? false)).runReporting()
        } catch let error as any UserFacingError {
            report.buildError = error.description
            return report
        }
        let checker = ArtifactChecker(board: board, folder: result.outputDirectory)
        report.artifactChecks = checker.run() + (await checker.checkImageContents())
            + (await checker.checkSBOM(validators: ArtifactChecker.sbomValidators(cache: environment.workspace.cacheDirectory)))
        // Verified boot: the signature checked offline, and tampered images to be refused, offline and in QEMU.
        let verifiedBoot = VerifiedBootTest(environment: environment, result: result)
        var tampered: [VerifiedBootPlan.Tampering: URL]?
        if let verifiedBoot {
            do {
                tampered = try await verifiedBoot.tamperedImages()
            } catch {
                report.artifactChecks.append(ArtifactCheck(name: "tampered FIT images", passed: false, detail: "\(error)"))
            }
            report.artifactChecks += await verifiedBoot.artifactChecks(tampered: tampered)
        }
        if let boot {
            report.method = selection == .kernel ? "qemu" : "qemu-\(selection.label)"
            // A guest keeps a host CPU busy as a compile does: while it boots, it holds one of the run's jobs.
            try await environment.withJob {
                report.boot = try await Self.bootTest(boot, result: result, environment: environment, timeout: timeout)
                if let plan = boot.verifiedBoot, let verifiedBoot, let tampered {
                    report.refusals = try await verifiedBoot.refusals(boot, plan: plan, tampered: tampered, timeout: timeout)
                }
            }
        }
        // The page shows this test's verdicts and boot beside the build's; a page that cannot be written (a full disk)
        // is said, and does not hide the verdicts.
        do {
            try ReportStage.record(report, method: selection == .kernel ? "kernel" : selection.label, output: result.outputDirectory)
        } catch {
            environment.progress.warning("\(board.name): report.html not updated with the test's verdicts: \(error)")
        }
        return report
    }

    /// Boots `boot` headless from the output folder and checks the console: the banner, `uname -m`, /proc/cmdline,
    /// the plan's checks and the device tree's.
    public static func bootTest(_ boot: BootPlan, result: BoardBuildResult, environment: BuildEnvironment, timeout: Int?) async throws -> BootReport {
        let commandLine = try await commandLine(for: boot, folder: result.outputDirectory)
        environment.progress.begin("boot \(boot.board)", "\(commandLine.spec.binary) (\(commandLine.accelerator.rawValue), \(boot.name))")
        let report = try await QEMURunner.bootTest(commandLine, expectedMachine: boot.expectedMachine, log: environment.log(boot.logName),
                                                   options: BootTestOptions(timeout: timeout.map { .seconds($0) },
                                                                            extraChecks: boot.checks + result.guestChecks,
                                                                            consoleExpectations: boot.verifiedBoot.map { [$0.verified] } ?? [],
                                                                            refusalLines: boot.verifiedBoot?.refusalLines ?? []))
        environment.progress.end(report.passed ? "passed" : "FAILED")
        return report
    }

    /// The QEMU command line of `boot` on this host: its firmware must be installed, and the accelerator is
    /// chosen here, at run time.
    public static func commandLine(for boot: BootPlan, folder: URL) async throws -> QEMUCommandLine {
        if let firmware = boot.firmware, let package = firmware.package, !firmware.isArtifact {
            try HostRequirements.requireFile(firmware.path, package: package)
        }
        let accelerator = await Accelerator.choose(for: boot.qemu, guestArch: boot.arch, kvmCPUFlags: boot.kvmCPUFlags)
        return try QEMUCommandLine(plan: boot, folder: folder, accelerator: accelerator)
    }
}

extension BoardBuild {
    /// `run`, then one line with the build's time and each stage that ran, for logs such as CI's.
    public func runReporting() async throws -> BoardBuildResult {
        let start = Date()
        let result = try await run()
        let ran = result.stages.filter(\.ran).map { String(format: "%@ %.1fs", $0.stage, $0.seconds) }
        environment.progress.note(String(format: "[%@] built in %.1f s (%@)", board.name, Date().timeIntervalSince(start),
                                         ran.isEmpty ? "every stage skipped" : ran.joined(separator: ", ")))
        return result
    }
}

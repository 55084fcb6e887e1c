import BoardModel
import Foundation
import Host
import Initramfs
import QEMU

/// One file of `out/<board>/` as the manifest lists it.
public struct ManifestArtifact: Codable, Equatable, Sendable {
    public var path: String
    public var size: Int
    public var sha256: String
}

/// `manifest.json`: what went into a board's output and what came out. It holds no build time or host name,
/// so the same inputs give the same bytes.
public struct Manifest: Codable, Equatable, Sendable {
    public struct Source: Codable, Equatable, Sendable {
        public var source: String
        public var version: String
        public var sha256: String?
    }

    public var board: String
    public var arch: String
    public var bspgenVersion: String
    public var toolchain: String
    public var sourceDateEpoch: Int64
    public var kernel: Source
    public var busybox: Source
    public var cmdline: String
    public var artifacts: [ManifestArtifact]
    /// The Debian packages the board's firmware files come from.
    public var firmware: [Source]? = nil
    /// The boot loader's source, for boards that build one.
    public var bootloader: Source? = nil
}

public struct BoardBuildResult: Sendable {
    public var outputDirectory: URL
    public var manifest: Manifest
    public var plan: BoardPlan
    /// Console checks that a booted guest runs with bspgen's device tree (its model, the overlays' properties).
    public var deviceTreeChecks: [GuestCheck]
    /// Each stage: run or skipped, why, and how long it took.
    public var stages: [StageReport]

    public var names: ArtifactNames { plan.names }
}

/// Executes a `BoardPlan`: every stage through the one runner (`BuildEnvironment.run`), in order, each reading
/// the results of the ones before; the output folder last, which appears complete or not at all.
public struct BoardBuild: Sendable {
    public let environment: BuildEnvironment
    public let plan: BoardPlan

    public init(environment: BuildEnvironment, includeImages: Bool = false) {
        self.environment = environment
        plan = BoardPlan(board: environment.board, includeImages: includeImages)
    }

    var board: ResolvedBoard { environment.board }

    /// Two builds of one board (two bspgen processes, or one listed twice) take turns: the second finds the
    /// first one's results and skips what it can.
    public func run() async throws -> BoardBuildResult {
        try await environment.withBoardLock { try await runLocked() }
    }

    private func runLocked() async throws -> BoardBuildResult {
        // What needs no build is checked before anything runs: a fragment's typo fails now, not minutes in.
        let problems = BoardInputChecks.problems(board)
        if !problems.isEmpty { throw DiagnosticList(problems) }
        let names = plan.names
        // First: a firmware package or file that does not exist is an error before the kernel's minutes of work.
        let firmware = try await FirmwareStage(environment: environment).build()
        let kernelBuilder = KernelBuilder(environment: environment)
        let configuration = try await kernelBuilder.configure()
        let kernel = try await kernelBuilder.build(configuration)
        let busybox = try await BusyBoxBuilder(environment: environment).build()
        let bootloader = try await BootloaderBuilder(environment: environment).build()
        let bootloaderFiles = bootloader?.files ?? []
        let initramfs = initramfsDestination
        try await initramfsStage(busybox: busybox, to: initramfs)
        let initramfsSize = (try FileManager.default.attributesOfItem(atPath: initramfs.path)[.size] as? NSNumber)?.intValue ?? 0
        let deviceTrees = try await DeviceTreeBuilder(environment: environment, builtFiles: Dictionary(bootloaderFiles, uniquingKeysWith: { first, _ in first }))
            .build(kernelDeviceTrees: kernel.deviceTrees, initramfsSize: initramfsSize)
        let bootFiles = try await BootFilesBuilder(environment: environment).build(names: names)
        let images = ImageBuilder(environment: environment)
        try? FileManager.default.removeItem(at: images.log)
        var imageFiles: [(name: String, url: URL)] = []
        if let fit = board.board.fitImage {
            imageFiles += try await images.fitImage(fit, kernel: kernel.image, deviceTree: deviceTrees.firmwareTree ?? deviceTrees.files.first,
                                                    initramfs: initramfs, names: names)
        }
        if plan.includeImages {
            if let grub = board.board.grub { imageFiles.append(try await images.grub(grub)) }
            if let rootfs = board.board.rootfs {
                let sources = try initramfsSources(busybox: busybox).0
                imageFiles.append(try await images.rootFilesystem(rootfs, sources: sources, sourceNames: initramfsSourceNames))
            }
            var artifacts: [String: URL] = [names.kernel: kernel.image, names.initramfs: initramfs,
                                            "linux.config": configuration.config, "linux.defconfig": configuration.defconfig]
            for (name, url) in deviceTrees.files + bootloaderFiles + bootFiles + imageFiles + firmware.files { artifacts[name] = url }
            for spec in board.board.diskImages ?? [] {
                let image = try await images.diskImage(spec, artifacts: artifacts)
                imageFiles.append(image)
                imageFiles.append(images.bmapFile(of: spec))
                artifacts[image.name] = image.url
            }
        }

        let files: [(String, URL)] = [(names.kernel, kernel.image), (names.initramfs, initramfs),
                                      ("linux.config", configuration.config), ("linux.defconfig", configuration.defconfig)]
            + deviceTrees.files + (deviceTrees.firmwareTree.map { [$0] } ?? []) + bootloaderFiles + bootFiles + imageFiles + firmware.files
        let output = environment.workspace.output(board.name)
        let runScripts = try plan.runScriptBoots.map { boot in
            (name: boot.runScript, text: try RunScript.text(for: boot, folder: output), executable: true)
        }
        // Images are large and made fresh by each build: a hard link costs no copy.
        let (outputDirectory, manifest) = try await outputStage(files: files, extraFiles: runScripts, linking: Set(imageFiles.map(\.name)),
                                                                configuration: configuration, busybox: busybox, bootloader: bootloader,
                                                                firmware: firmware.packages)
        return BoardBuildResult(outputDirectory: outputDirectory, manifest: manifest, plan: plan,
                                deviceTreeChecks: deviceTrees.guestChecks, stages: environment.journal.reports)
    }

    /// Where the build packs the initramfs: in the board's build folder, from which the output stage copies it.
    /// Never in `out/<board>/`, which only the output stage writes, whole and with its manifest.
    public var initramfsDestination: URL {
        environment.buildDirectory.appendingPathComponent(plan.names.initramfs)
    }

    /// BusyBox's tree, the board's overlays and lists, `/init`, and `/etc/bspgen/board` naming the board, packed
    /// into `initramfsDestination` unless the inputs are unchanged.
    public func initramfs(busybox: BusyBoxArtifacts) async throws {
        try await initramfsStage(busybox: busybox, to: initramfsDestination)
    }
}

/// `run-qemu*.sh`: made from the boot plan alone, so nothing of the machine that built it goes into the output.
enum RunScript {
    static func text(for boot: BootPlan, folder: URL) throws -> String {
        // The script chooses the accelerator where it runs: the one given here is not written into it.
        try QEMUCommandLine(plan: boot, folder: folder, accelerator: .tcg).runScript(in: folder)
    }
}

public let bspgenLibraryVersion = "0.1.0"

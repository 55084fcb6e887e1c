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
        /// The board's patches on this source, in the order they were applied.
        public var patches: [PatchRecord]? = nil

        init(source: String, version: String, sha256: String?, patches: [PatchRecord]? = nil) {
            self.source = source
            self.version = version
            self.sha256 = sha256
            self.patches = patches
        }

        init(_ tree: SourceTree) {
            self.init(source: tree.source, version: tree.version, sha256: tree.sha256, patches: tree.patches.isEmpty ? nil : tree.patches)
        }
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
    /// The key the FIT image is signed with, for boards that sign it (`fit_image.signing`).
    public var signing: Signing? = nil

    public struct Signing: Codable, Equatable, Sendable {
        public var algorithm: String
        public var keyName: String
        public var required: String
        /// sha256 of the public key (DER); the key itself is in `u-boot-pubkey.dtb`.
        public var publicKeySHA256: String
        /// Made by bspgen in its cache: for testing only.
        public var developmentKey: Bool
    }
}

public struct BoardBuildResult: Sendable {
    public var outputDirectory: URL
    public var manifest: Manifest
    public var plan: BoardPlan
    /// Console checks that come from the build: the guest runs with bspgen's device tree (its model, the
    /// overlays' properties) and has loaded the board's modules with their dependencies.
    public var guestChecks: [GuestCheck]
    /// Each stage: run or skipped, why, and how long it took.
    public var stages: [StageReport]
    /// The key and U-Boot's tree holding it, for a board that signs its FIT image.
    public var verifiedBoot: VerifiedBootArtifacts? = nil

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
        let signingKey = try await SigningKey.resolve(for: environment)
        let (configuration, kernel, modules, busybox, bootloader) = try await compiledComponents()
        var bootloaderFiles = bootloader?.files ?? []
        let initramfs = initramfsDestination
        try await initramfsStage(busybox: busybox, modules: modules, to: initramfs)
        let initramfsSize = (try FileManager.default.attributesOfItem(atPath: initramfs.path)[.size] as? NSNumber)?.intValue ?? 0
        let deviceTrees = try await DeviceTreeBuilder(environment: environment, builtFiles: Dictionary(bootloaderFiles, uniquingKeysWith: { first, _ in first }))
            .build(kernelDeviceTrees: kernel.deviceTrees, initramfsSize: initramfsSize)
        var verifiedBoot: VerifiedBootArtifacts?
        if let signingKey, let bootloader {
            let keyed = try await VerifiedBootStage(environment: environment)
                .build(key: signingKey, bootloader: bootloader, firmwareBaseTree: deviceTrees.firmwareBaseTree)
            bootloaderFiles = keyed.bootloaderFiles + [(VerifiedBootNames.publicKeyTree, keyed.publicKeyTree)]
            verifiedBoot = keyed
        }
        let bootFiles = try await BootFilesBuilder(environment: environment).build(names: names)
        let images = ImageBuilder(environment: environment)
        try? FileManager.default.removeItem(at: images.log)
        var imageFiles: [(name: String, url: URL)] = []
        if let fit = board.board.fitImage {
            imageFiles += try await images.fitImage(fit, kernel: kernel.image, deviceTree: deviceTrees.firmwareTree ?? deviceTrees.files.first,
                                                    initramfs: initramfs, names: names, signing: verifiedBoot)
        }
        if plan.includeImages {
            if let grub = board.board.grub { imageFiles.append(try await images.grub(grub)) }
            if let rootfs = board.board.rootfs {
                imageFiles.append(try await images.rootFilesystem(rootfs, sources: try initramfsSources(busybox: busybox, modules: modules)))
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
            + (modules.map { [(KernelModulesBuilder.archiveName, $0.archive)] } ?? [])
        let output = environment.workspace.output(board.name)
        let runScripts = try plan.runScriptBoots.map { boot in
            (name: boot.runScript, text: try RunScript.text(for: boot, folder: output), executable: true)
        }
        // The SBOMs describe every file above; they go into the output with it.
        let sbom = try await SBOMStage(environment: environment).build(SBOMInputs(
            files: files, extraFiles: runScripts, configuration: configuration, kernel: kernel, busybox: busybox, bootloader: bootloader,
            firmware: firmware, modules: modules))
        // What the build keeps in the cache is written before the output folder, so that a full cache disk fails the
        // build before out/BOARD changes: the kernel's sizes for the report, and the shared folders this build used.
        let report = ReportStage(environment: environment)
        let kernelSizes = try await report.kernelSizes(configuration, kernel)
        try environment.cacheUses.write(to: environment.buildDirectory)
        // Images are large and made fresh by each build: a hard link costs no copy.
        let (outputDirectory, manifest) = try await outputStage(files: files + sbom, extraFiles: runScripts, linking: Set(imageFiles.map(\.name)),
                                                                configuration: configuration, busybox: busybox, bootloader: bootloader,
                                                                firmware: firmware.packages, signing: verifiedBoot.flatMap(manifestSigning))
        try report.write(ReportInputs(
            configuration: configuration, kernel: kernelSizes, initramfs: initramfs, initramfsSources: try initramfsSources(busybox: busybox, modules: modules),
            output: outputDirectory, manifest: manifest))
        return BoardBuildResult(outputDirectory: outputDirectory, manifest: manifest, plan: plan,
                                guestChecks: deviceTrees.guestChecks + (modules?.guestChecks ?? []), stages: environment.journal.reports, verifiedBoot: verifiedBoot)
    }

    /// The kernel (config, image, modules), BusyBox and the boot loader: independent of each other, they build at
    /// the same time, each in a progress lane of its own, their makes sharing the build's jobserver. The first
    /// failure stops the others.
    private func compiledComponents() async throws
        -> (KernelConfiguration, KernelArtifacts, KernelModules?, BusyBoxArtifacts, BootloaderArtifacts?) {
        enum Component: Sendable {
            case kernel(KernelConfiguration, KernelArtifacts, KernelModules?)
            case busybox(BusyBoxArtifacts)
            case bootloader(BootloaderArtifacts?)
        }
        let environment = self.environment
        return try await withThrowingTaskGroup(of: Component.self) { group in
            group.addTask {
                try await ProgressLine.inLane("kernel") {
                    let builder = KernelBuilder(environment: environment)
                    // Another board sharing the kernel folder does not reconfigure it between these steps.
                    return try await builder.withFolderLock {
                        let configuration = try await builder.configure()
                        let kernel = try await builder.build(configuration)
                        return .kernel(configuration, kernel, try await KernelModulesBuilder(environment: environment).build(configuration, kernel: kernel))
                    }
                }
            }
            group.addTask { try await ProgressLine.inLane("busybox") { .busybox(try await BusyBoxBuilder(environment: environment).build()) } }
            group.addTask { try await ProgressLine.inLane("bootloader") { .bootloader(try await BootloaderBuilder(environment: environment).build()) } }
            var kernel: (KernelConfiguration, KernelArtifacts, KernelModules?)?
            var busybox: BusyBoxArtifacts?
            var bootloader: BootloaderArtifacts?
            for try await component in group {
                switch component {
                case let .kernel(configuration, image, modules): kernel = (configuration, image, modules)
                case let .busybox(artifacts): busybox = artifacts
                case let .bootloader(artifacts): bootloader = artifacts
                }
            }
            guard let kernel, let busybox else { throw CancellationError() }
            return (kernel.0, kernel.1, kernel.2, busybox, bootloader)
        }
    }

    func manifestSigning(_ verifiedBoot: VerifiedBootArtifacts) -> Manifest.Signing? {
        board.board.fitImage?.signing.map {
            Manifest.Signing(algorithm: $0.algorithm.rawValue, keyName: $0.keyName, required: $0.required.rawValue,
                             publicKeySHA256: verifiedBoot.key.publicKeySHA256, developmentKey: verifiedBoot.key.isDevelopmentKey)
        }
    }

    /// Where the build packs the initramfs: in the board's build folder, from which the output stage copies it.
    /// Never in `out/<board>/`, which only the output stage writes, whole and with its manifest.
    public var initramfsDestination: URL {
        environment.buildDirectory.appendingPathComponent(plan.names.initramfs)
    }

    /// BusyBox's tree, the kernel's modules (built first when the config has module support), the board's
    /// overlays and lists, `/init`, and `/etc/bspgen/board` naming the board, packed into
    /// `initramfsDestination` unless the inputs are unchanged.
    public func initramfs() async throws {
        let kernelBuilder = KernelBuilder(environment: environment)
        let configuration = try await kernelBuilder.configure()
        var modules: KernelModules?
        if try KernelModulesBuilder.hasModuleSupport(configuration) {
            let kernel = try await kernelBuilder.build(configuration)
            modules = try await KernelModulesBuilder(environment: environment).build(configuration, kernel: kernel)
        }
        let busybox = try await BusyBoxBuilder(environment: environment).build()
        try await initramfsStage(busybox: busybox, modules: modules, to: initramfsDestination)
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

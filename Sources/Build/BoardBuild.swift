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
}

public struct BoardBuildResult: Sendable {
    public var outputDirectory: URL
    public var manifest: Manifest
    public var names: ArtifactNames
    /// Console checks that a booted guest runs with bspgen's device tree.
    public var guestChecks: [GuestCheck]
    public var stageSeconds: [(stage: String, seconds: Double)]
    /// Each stage: run or skipped, and why.
    public var stages: [StageReport]
}

/// The whole pipeline for one board: kernel config and image, BusyBox, initramfs, then the output folder,
/// which appears complete or not at all.
public struct BoardBuild: Sendable {
    public let environment: BuildEnvironment
    /// Extra text files for the output folder (e.g. `run-qemu.sh`), with their permissions.
    public var extraFiles: [(name: String, text: String, executable: Bool)] = []
    /// Also make the board's disk images, its GRUB loader and its ext4 root file system (`bspgen image`).
    public var includeImages = false

    public init(environment: BuildEnvironment) { self.environment = environment }

    var board: ResolvedBoard { environment.board }

    /// Two builds of one board (two bspgen processes, or one listed twice) take turns: the second finds the
    /// first one's results and skips what it can.
    public func run() async throws -> BoardBuildResult {
        try await environment.withBoardLock { try await runLocked() }
    }

    private func runLocked() async throws -> BoardBuildResult {
        var times: [(String, Double)] = []
        func timed<T>(_ stage: String, _ body: () async throws -> T) async rethrows -> T {
            let start = Date()
            let value = try await body()
            times.append((stage, Date().timeIntervalSince(start)))
            return value
        }
        let kernelBuilder = KernelBuilder(environment: environment)
        let configuration = try await timed("kernel config") { try await kernelBuilder.configure() }
        let kernel = try await timed("kernel build") { try await kernelBuilder.build(configuration) }
        let busybox = try await timed("busybox") { try await BusyBoxBuilder(environment: environment).build() }
        let names = ArtifactNames(board: board.board)
        let initramfs = initramfsDestination
        try await timed("initramfs") { try initramfsStage(busybox: busybox, to: initramfs) }
        let initramfsSize = (try FileManager.default.attributesOfItem(atPath: initramfs.path)[.size] as? NSNumber)?.intValue ?? 0
        let deviceTrees = try await timed("device trees") {
            try await DeviceTreeBuilder(environment: environment).build(kernelDeviceTrees: kernel.deviceTrees, initramfsSize: initramfsSize)
        }
        let bootFiles = try await timed("boot files") { try await BootFilesBuilder(environment: environment).build(names: names) }
        let images = ImageBuilder(environment: environment)
        try? FileManager.default.removeItem(at: images.log)
        var imageFiles: [(name: String, url: URL)] = []
        if let fit = board.board.fitImage {
            imageFiles += try await timed("FIT image") {
                try await images.fitImage(fit, kernel: kernel.image, deviceTree: deviceTrees.firmwareTree ?? deviceTrees.files.first,
                                          initramfs: initramfs, names: names)
            }
        }
        if includeImages {
            if let grub = board.board.grub { imageFiles.append(try await timed("GRUB") { try await images.grub(grub) }) }
            if let rootfs = board.board.rootfs {
                imageFiles.append(try await timed("root file system") {
                    try await images.rootFilesystem(rootfs, sources: initramfsSources(busybox: busybox).0)
                })
            }
            var artifacts: [String: URL] = [names.kernel: kernel.image, names.initramfs: initramfs,
                                            "linux.config": configuration.config, "linux.defconfig": configuration.defconfig]
            for (name, url) in deviceTrees.files + bootFiles + imageFiles { artifacts[name] = url }
            for spec in board.board.diskImages ?? [] {
                let image = try await timed("disk image \(spec.name)") { try await images.diskImage(spec, artifacts: artifacts) }
                imageFiles.append(image)
                artifacts[image.name] = image.url
            }
        }

        let files: [(String, URL)] = [(names.kernel, kernel.image), (names.initramfs, initramfs),
                                      ("linux.config", configuration.config), ("linux.defconfig", configuration.defconfig)]
            + deviceTrees.files + (deviceTrees.firmwareTree.map { [$0] } ?? []) + bootFiles + imageFiles
        let (output, manifest) = try await timed("output folder") {
            // Images are large and made fresh by each build: a hard link costs no copy.
            try outputStage(files: files, linking: Set(imageFiles.map(\.name)), configuration: configuration, busybox: busybox)
        }
        return BoardBuildResult(outputDirectory: output, manifest: manifest, names: names, guestChecks: deviceTrees.guestChecks,
                                stageSeconds: times, stages: environment.journal.reports)
    }

    /// Where the build packs the initramfs: in the board's build folder, from which the output stage copies it.
    /// Never in `out/<board>/`, which only the output stage writes, whole and with its manifest.
    public var initramfsDestination: URL {
        environment.buildDirectory.appendingPathComponent(ArtifactNames(board: board.board).initramfs)
    }

    /// BusyBox's tree, the board's overlays and lists, `/init`, and `/etc/bspgen/board` naming the board, packed
    /// into `initramfsDestination` unless the inputs are unchanged.
    public func initramfs(busybox: BusyBoxArtifacts) throws {
        try initramfsStage(busybox: busybox, to: initramfsDestination)
    }
}

public let bspgenLibraryVersion = "0.1.0"

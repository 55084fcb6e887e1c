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

/// The names of a board's artifacts in its output folder.
public struct ArtifactNames: Sendable {
    public var kernel: String
    public var initramfs: String
    public var deviceTrees: [String]

    public init(board: Board) {
        kernel = board.kernel.image.rawValue
        let compression = board.initramfsSpec.compression ?? .gzip
        initramfs = "initramfs.cpio" + [CompressionName.gzip: ".gz", .xz: ".xz", .zstd: ".zst", .none: ""][compression, default: ""]
        switch (board.deviceTree?.resolvedOrigin ?? .kernel, board.qemu?.machine) {
        case let (.qemu, machine?): deviceTrees = ["qemu-\(machine).dtb"]
        default: deviceTrees = (board.kernel.deviceTrees ?? []).map { URL(fileURLWithPath: $0).lastPathComponent }
        }
    }
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
        let initramfs = environment.buildDirectory.appendingPathComponent(names.initramfs)
        try await timed("initramfs") { try initramfsStage(busybox: busybox, to: initramfs) }
        let initramfsSize = (try FileManager.default.attributesOfItem(atPath: initramfs.path)[.size] as? NSNumber)?.intValue ?? 0
        let deviceTrees = try await timed("device trees") {
            try await DeviceTreeBuilder(environment: environment).build(kernelDeviceTrees: kernel.deviceTrees, initramfsSize: initramfsSize)
        }
        let bootFiles = try await timed("boot files") { try await BootFilesBuilder(environment: environment).build(names: names) }

        let files: [(String, URL)] = [(names.kernel, kernel.image), (names.initramfs, initramfs),
                                      ("linux.config", configuration.config), ("linux.defconfig", configuration.defconfig)]
            + deviceTrees.files + bootFiles
        let (output, manifest) = try await timed("output folder") {
            try outputStage(files: files, configuration: configuration, busybox: busybox)
        }
        return BoardBuildResult(outputDirectory: output, manifest: manifest, names: names, guestChecks: deviceTrees.guestChecks,
                                stageSeconds: times, stages: environment.journal.reports)
    }

    /// BusyBox's tree, the board's overlays and lists, `/init`, and `/etc/bspgen/board` naming the board.
    public func packInitramfs(busybox: BusyBoxArtifacts, to destination: URL) throws {
        let (sources, compression) = try initramfsSources(busybox: busybox)
        try pack(sources, compression: compression, to: destination)
    }
}

public let bspgenLibraryVersion = "0.1.0"

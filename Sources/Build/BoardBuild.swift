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

    public func run() async throws -> BoardBuildResult {
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
        try await timed("initramfs") { try packInitramfs(busybox: busybox, to: initramfs) }
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
                    try await images.rootFilesystem(rootfs, sources: initramfsSources(busybox: busybox))
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

        let output = environment.workspace.output(board.name)
        let temporary = try AtomicFile.temporaryDirectory(beside: output)
        var files: [(String, URL)] = [(names.kernel, kernel.image), (names.initramfs, initramfs),
                                      ("linux.config", configuration.config), ("linux.defconfig", configuration.defconfig)]
        files += deviceTrees.files + (deviceTrees.firmwareTree.map { [$0] } ?? []) + bootFiles + imageFiles
        for (name, source) in files {
            do {
                // Images are large and made fresh by each build: a hard link costs no copy.
                if imageFiles.contains(where: { $0.url == source }),
                   (try? FileManager.default.linkItem(at: source, to: temporary.appendingPathComponent(name))) != nil { continue }
                try FileManager.default.copyItem(at: source, to: temporary.appendingPathComponent(name))
            } catch {
                throw HostError.fileSystem(path: source.path, message: "cannot copy into the output: \(error.localizedDescription)")
            }
        }
        for file in extraFiles {
            let url = temporary.appendingPathComponent(file.name)
            try AtomicFile.write(file.text, to: url)
            if file.executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path) }
        }
        let artifacts = try ((try FileManager.default.contentsOfDirectory(atPath: temporary.path))).sorted().map { name in
            let url = temporary.appendingPathComponent(name)
            let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
            return ManifestArtifact(path: name, size: size, sha256: try Checksum.sha256(of: url))
        }
        let manifest = Manifest(
            board: board.name, arch: board.board.arch, bspgenVersion: bspgenLibraryVersion,
            toolchain: environment.toolchain.versionLine, sourceDateEpoch: environment.sourceDateEpoch,
            kernel: .init(source: configuration.source.source, version: configuration.source.version, sha256: configuration.source.sha256),
            busybox: .init(source: busybox.source.source, version: busybox.source.version, sha256: busybox.source.sha256),
            cmdline: board.board.cmdline, artifacts: artifacts)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(manifest) + Data("\n".utf8), to: temporary.appendingPathComponent("manifest.json"))
        try AtomicFile.replace(output, with: temporary)
        return BoardBuildResult(outputDirectory: output, manifest: manifest, names: names, guestChecks: deviceTrees.guestChecks,
                                stageSeconds: times)
    }

    /// BusyBox's tree, the board's overlays and lists, `/init`, and `/etc/bspgen/board` naming the board.
    public func packInitramfs(busybox: BusyBoxArtifacts, to destination: URL) throws {
        environment.progress.begin("initramfs", destination.lastPathComponent)
        let sources = try initramfsSources(busybox: busybox)
        let compression = InitramfsCompression(rawValue: (board.board.initramfsSpec.compression ?? .gzip).rawValue) ?? .gzip
        let summary = try InitramfsPacker(sourceDateEpoch: environment.sourceDateEpoch).pack(sources, to: destination, compression: compression)
        environment.progress.end("\(summary.entryCount) entries, \(summary.compressedSize / 1024) KiB \(compression.rawValue)")
    }

    /// What the initramfs (and the root file system image) is made of, in order.
    func initramfsSources(busybox: BusyBoxArtifacts) throws -> [InitramfsSource] {
        let boardInfo = environment.buildDirectory.appendingPathComponent("bspgen-board")
        try AtomicFile.write("BSPGEN_BOARD=\(board.name)\nBSPGEN_ARCH=\(board.board.arch)\n", to: boardInfo)
        let generated = """
            dir /etc/bspgen 0755 0 0
            file /etc/bspgen/board \(boardInfo.path) 0644 0 0
            file /init \(board.initScript.path) 0755 0 0
            """
        return [.directory(busybox.stagingTree)] + board.overlays.map { .directory($0) }
            + board.lists.map { .list($0) } + [.listText(generated, name: "bspgen (generated)", baseDirectory: environment.buildDirectory)]
    }
}

public let bspgenLibraryVersion = "0.1.0"

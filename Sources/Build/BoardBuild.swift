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

    /// `out/<board>/`, written again only when one of its files or the manifest's facts changed (or the folder
    /// was edited); it appears complete or not at all.
    func outputStage(files: [(String, URL)], configuration: KernelConfiguration, busybox: BusyBoxArtifacts) throws -> (URL, Manifest) {
        let output = environment.workspace.output(board.name)
        var artifacts: [ManifestArtifact] = []
        for (name, source) in files {
            let size = (try FileManager.default.attributesOfItem(atPath: source.path)[.size] as? NSNumber)?.intValue ?? 0
            artifacts.append(ManifestArtifact(path: name, size: size, sha256: try Checksum.sha256(of: source)))
        }
        for file in extraFiles {
            artifacts.append(ManifestArtifact(path: file.name, size: file.text.utf8.count, sha256: Checksum.sha256(file.text)))
        }
        artifacts.sort { $0.path < $1.path }
        let manifest = Manifest(
            board: board.name, arch: board.board.arch, bspgenVersion: bspgenLibraryVersion,
            toolchain: environment.toolchain.versionLine, sourceDateEpoch: environment.sourceDateEpoch,
            kernel: .init(source: configuration.source.source, version: configuration.source.version, sha256: configuration.source.sha256),
            busybox: .init(source: busybox.source.source, version: busybox.source.version, sha256: busybox.source.sha256),
            cmdline: board.board.cmdline, artifacts: artifacts)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let manifestData = try encoder.encode(manifest) + Data("\n".utf8)

        var key = StageKey()
        key.add("stage", "output-1")
        key.add("output folder", output.path)
        for artifact in artifacts { key.add("artifact \(artifact.path)", artifact.sha256) }
        key.add("manifest", Checksum.sha256(manifestData))
        key.add("executable", extraFiles.filter(\.executable).map(\.name).joined(separator: " "))
        let recordURL = environment.buildDirectory.appendingPathComponent(".bspgen-output.json")
        let outputs = artifacts.map { output.appendingPathComponent($0.path) } + [output.appendingPathComponent("manifest.json")]
        guard let stale = StageRecord.staleness(of: recordURL, for: key, required: outputs) else {
            environment.progress.skip("output", "\(output.path) up to date")
            environment.journal.skipped("output folder", "every file unchanged")
            return (output, manifest)
        }
        let start = Date()
        try? FileManager.default.removeItem(at: recordURL)
        let temporary = try AtomicFile.temporaryDirectory(beside: output)
        for (name, source) in files {
            do {
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
        try AtomicFile.write(manifestData, to: temporary.appendingPathComponent("manifest.json"))
        try AtomicFile.replace(output, with: temporary)
        try StageRecord(key: key, outputs: outputs).write(recordURL)
        environment.journal.ran("output folder", because: stale, since: start)
        return (output, manifest)
    }

    /// The initramfs in the build folder, packed again only when something that goes into it changed: any
    /// entry of BusyBox's tree, the overlays, the lists and the files they name, `/init`, the epoch or the
    /// compression.
    func initramfsStage(busybox: BusyBoxArtifacts, to destination: URL) throws {
        let (sources, compression) = try initramfsSources(busybox: busybox)
        var key = StageKey()
        key.add("stage", "initramfs-1")
        key.add("packer", InitramfsPacker.formatVersion)
        key.add("epoch", String(environment.sourceDateEpoch))
        key.add("compression", compression.rawValue)
        for (name, source) in zip(initramfsSourceNames, sources) {
            var lines = ""
            for item in try source.contentDescription(sourceDateEpoch: environment.sourceDateEpoch) {
                lines += item.line + (try item.file.map { " " + (try Checksum.sha256(of: URL(fileURLWithPath: $0))) } ?? "") + "\n"
            }
            key.add(name, Checksum.sha256(lines))
        }
        let recordURL = environment.buildDirectory.appendingPathComponent(".bspgen-initramfs.json")
        guard let stale = StageRecord.staleness(of: recordURL, for: key, required: [destination]) else {
            environment.progress.skip("initramfs", "inputs unchanged")
            environment.journal.skipped("initramfs", "inputs unchanged")
            return
        }
        let start = Date()
        try? FileManager.default.removeItem(at: recordURL)
        try pack(sources, compression: compression, to: destination)
        try StageRecord(key: key, outputs: [destination]).write(recordURL)
        environment.journal.ran("initramfs", because: stale, since: start)
    }

    /// What the stage key calls each of `initramfsSources`, in the same order.
    var initramfsSourceNames: [String] {
        ["busybox tree"] + board.overlays.map { "overlay \($0.lastPathComponent)" } + board.lists.map { "list \($0.lastPathComponent)" }
            + ["init and board info"]
    }

    func initramfsSources(busybox: BusyBoxArtifacts) throws -> ([InitramfsSource], InitramfsCompression) {
        let boardInfo = environment.buildDirectory.appendingPathComponent("bspgen-board")
        let info = "BSPGEN_BOARD=\(board.name)\nBSPGEN_ARCH=\(board.board.arch)\n"
        if (try? String(contentsOf: boardInfo, encoding: .utf8)) != info { try AtomicFile.write(info, to: boardInfo) }
        let generated = """
            dir /etc/bspgen 0755 0 0
            file /etc/bspgen/board \(boardInfo.path) 0644 0 0
            file /init \(board.initScript.path) 0755 0 0
            """
        let sources: [InitramfsSource] = [.directory(busybox.stagingTree)] + board.overlays.map { .directory($0) }
            + board.lists.map { .list($0) } + [.listText(generated, name: "bspgen (generated)", baseDirectory: environment.buildDirectory)]
        let compression = InitramfsCompression(rawValue: (board.board.initramfsSpec.compression ?? .gzip).rawValue) ?? .gzip
        return (sources, compression)
    }

    func pack(_ sources: [InitramfsSource], compression: InitramfsCompression, to destination: URL) throws {
        environment.progress.begin("initramfs", destination.lastPathComponent)
        let summary = try InitramfsPacker(sourceDateEpoch: environment.sourceDateEpoch).pack(sources, to: destination, compression: compression)
        environment.progress.end("\(summary.entryCount) entries, \(summary.compressedSize / 1024) KiB \(compression.rawValue)")
    }

    /// BusyBox's tree, the board's overlays and lists, `/init`, and `/etc/bspgen/board` naming the board.
    public func packInitramfs(busybox: BusyBoxArtifacts, to destination: URL) throws {
        let (sources, compression) = try initramfsSources(busybox: busybox)
        try pack(sources, compression: compression, to: destination)
    }
}

public let bspgenLibraryVersion = "0.1.0"

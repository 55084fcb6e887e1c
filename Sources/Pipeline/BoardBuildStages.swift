import BoardModel
import Foundation
import Host
import Initramfs
import UserInput

/// The stages of `BoardBuild.run` after the kernel and BusyBox, each keyed by its inputs.
extension BoardBuild {
    /// `out/<board>/`, written again only when one of its files or the manifest's facts changed (or the folder
    /// was edited); it appears complete or not at all.
    /// `linking`: names of files hard-linked into the output instead of copied.
    func outputStage(files: [(String, URL)], extraFiles: [(name: String, text: String, executable: Bool)], linking: Set<String> = [],
                     configuration: KernelConfiguration, busybox: BusyBoxArtifacts, bootloader: BootloaderArtifacts? = nil,
                     firmware: [Manifest.Source] = [], signing: Manifest.Signing? = nil) async throws -> (URL, Manifest) {
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
            kernel: .init(configuration.source), busybox: .init(busybox.source),
            cmdline: board.board.cmdline, artifacts: artifacts, firmware: firmware.isEmpty ? nil : firmware,
            bootloader: bootloader.map { .init($0.source) }, signing: signing)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let manifestData = try encoder.encode(manifest) + Data("\n".utf8)

        var key = StageKey()
        key.add("stage", "output-1")
        key.add("output folder", output.path)
        for artifact in artifacts { key.add("artifact \(artifact.path)", artifact.sha256) }
        key.add("manifest", Checksum.sha256(manifestData))
        key.add("executable", extraFiles.filter(\.executable).map(\.name).joined(separator: " "))
        let outputs = artifacts.map { output.appendingPathComponent($0.path) } + [output.appendingPathComponent("manifest.json")]
        var stage = Stage("output folder", key: key, record: environment.buildDirectory.appendingPathComponent(".bspgen-output.json"),
                          outputs: outputs)
        stage.skipNote = "every file unchanged"
        try await environment.run(stage) {
            // out/BOARD is replaced whole: a link or a file under that name is refused, not replaced (see OutputPath).
            // The folder it is in (--out) may be a link to a folder elsewhere: it is written into, not replaced.
            do throws(UserFileError) {
                try OutputPath.checkFolder(output.path)
                try OutputPath.checkFolder(output.deletingLastPathComponent().path, linkAllowed: true)
            } catch {
                throw HostError.fileSystem(path: error.path, message: error.reason)
            }
            let temporary = try AtomicFile.temporaryDirectory(beside: output)
            do {
                for (name, source) in files {
                    try Task.checkCancellation()
                    do {
                        if name.contains("/") {
                            try FileManager.default.createDirectory(at: temporary.appendingPathComponent(name).deletingLastPathComponent(),
                                                                    withIntermediateDirectories: true)
                        }
                        if linking.contains(name), (try? FileManager.default.linkItem(at: source, to: temporary.appendingPathComponent(name))) != nil {
                            continue
                        }
                        try FileManager.default.copyItem(at: source, to: temporary.appendingPathComponent(name))
                    } catch {
                        throw HostError.fileSystem(path: output.appendingPathComponent(name).path,
                                                   message: "cannot copy \(source.path) into the output: \(UserFile.reason(of: error))")
                    }
                }
                for file in extraFiles {
                    let url = temporary.appendingPathComponent(file.name)
                    try AtomicFile.write(file.text, to: url)
                    if file.executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path) }
                }
                try AtomicFile.write(manifestData, to: temporary.appendingPathComponent("manifest.json"))
                try AtomicFile.replace(output, with: temporary)
            } catch {
                // A full disk or an interruption leaves no half-made folder beside out/BOARD: the next try starts clean.
                try? FileManager.default.removeItem(at: temporary)
                throw error
            }
            return StageWork()
        }
        return (output, manifest)
    }

    /// The initramfs in the build folder, packed again only when something that goes into it changed: any
    /// entry of BusyBox's tree, the modules, the overlays, the lists and the files they name, `/init`, the epoch
    /// or the compression.
    func initramfsStage(busybox: BusyBoxArtifacts, modules: KernelModules?, to destination: URL) async throws {
        let sources = try initramfsSources(busybox: busybox, modules: modules)
        let compression = InitramfsCompression(board.board.initramfsSpec.resolvedCompression)
        var key = try InitramfsContent.key(sources, sourceDateEpoch: environment.sourceDateEpoch)
        key.add("stage", "initramfs-1")
        key.add("packer", InitramfsPacker.formatVersion)
        key.add("compression", compression.rawValue)
        if let filter = board.board.initramfsSpec.xzBCJ { key.add("xz branch filter", filter.rawValue) }
        try await environment.run(Stage("initramfs", key: key, record: environment.buildDirectory.appendingPathComponent(".bspgen-initramfs.json"),
                                        outputs: [destination])) {
            try pack(sources.map(\.source), compression: compression, to: destination)
            return StageWork()
        }
    }

    /// The initramfs's tree in the order its parts are applied, each with the name the stage key gives it:
    /// BusyBox, the kernel's modules, the board's overlays and lists, then `/init`, the board's name and the
    /// modules to load at boot.
    func initramfsSources(busybox: BusyBoxArtifacts, modules: KernelModules?) throws -> [(name: String, source: InitramfsSource)] {
        let boardInfo = environment.buildDirectory.appendingPathComponent("bspgen-board")
        let info = "BSPGEN_BOARD=\(board.name)\nBSPGEN_ARCH=\(board.board.arch)\n"
        if (try? String(contentsOf: boardInfo, encoding: .utf8)) != info { try AtomicFile.write(info, to: boardInfo) }
        var generated = """
            dir /etc/bspgen 0755 0 0
            file /etc/bspgen/board \(boardInfo.path) 0644 0 0
            file /init \(board.initScript.path) 0755 0 0
            """
        if let loads = board.board.kernel.loadModules, !loads.isEmpty {
            let list = environment.buildDirectory.appendingPathComponent("bspgen-modules")
            let text = loads.joined(separator: "\n") + "\n"
            if (try? String(contentsOf: list, encoding: .utf8)) != text { try AtomicFile.write(text, to: list) }
            generated += "\nfile /etc/bspgen/modules \(list.path) 0644 0 0"
        }
        return [("busybox tree", .directory(busybox.stagingTree))] + (modules.map { [("kernel modules", .directory($0.stagingRoot))] } ?? [])
            + board.overlays.map { ("overlay \($0.lastPathComponent)", .directory($0)) }
            + board.lists.map { ("list \($0.lastPathComponent)", .list($0)) }
            + [("init and board info", .listText(generated, name: "bspgen (generated)", baseDirectory: environment.buildDirectory))]
    }

    func pack(_ sources: [InitramfsSource], compression: InitramfsCompression, to destination: URL) throws {
        environment.progress.begin("initramfs", destination.lastPathComponent)
        // The guest holds the compressed archive and the unpacked tree at once: half its memory is the most it can take.
        var packer = InitramfsPacker(sourceDateEpoch: environment.sourceDateEpoch, sizeLimit: board.initramfsSizeLimit)
        packer.xzBranchFilter = board.board.initramfsSpec.xzBCJ.map(XzBranchFilter.init)
        let summary = try packer.pack(sources, to: destination, compression: compression)
        environment.progress.end("\(summary.entryCount) entries, \(summary.compressedSize / 1024) KiB \(compression.rawValue)")
    }
}

/// The initramfs's tree as key parts: every entry of each source with its file's sha256, and the epoch that stamps
/// them. The initramfs and the root file system image are made from the same tree.
enum InitramfsContent {
    static func key(_ sources: [(name: String, source: InitramfsSource)], sourceDateEpoch: Int64) throws -> StageKey {
        var key = StageKey()
        key.add("epoch", String(sourceDateEpoch))
        for (name, source) in sources {
            var lines = ""
            for item in try source.contentDescription(sourceDateEpoch: sourceDateEpoch) {
                lines += item.line + (try item.file.map { " " + (try Checksum.sha256(of: URL(fileURLWithPath: $0))) } ?? "") + "\n"
            }
            key.add(name, Checksum.sha256(lines))
        }
        return key
    }
}

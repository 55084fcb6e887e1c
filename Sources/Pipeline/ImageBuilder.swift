import BoardModel
import DiskImage
import Foundation
import Host
import Initramfs

/// Images made from the board's other artifacts: the FIT image, the GRUB EFI loader, the ext4 root file
/// system and the disk/SD-card images. Everything is made without root and without loop devices, with fixed
/// identifiers and times, so the same inputs give the same bytes.
public struct ImageBuilder: Sendable {
    public let environment: BuildEnvironment

    public init(environment: BuildEnvironment) { self.environment = environment }

    var board: ResolvedBoard { environment.board }
    var directory: URL { environment.buildDirectory.appendingPathComponent("images", isDirectory: true) }
    var log: URL { environment.log("images") }
    var epoch: String { String(environment.sourceDateEpoch) }

    /// The environment every image tool runs with: times from SOURCE_DATE_EPOCH, UTC for FAT's local times.
    var toolEnvironment: [String: String?] {
        ["SOURCE_DATE_EPOCH": epoch, "E2FSPROGS_FAKE_TIME": epoch, "TZ": "UTC", "MTOOLS_SKIP_CHECK": "1", "MTOOLSRC": "/dev/null"]
    }

    func prepare() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func run(_ program: String, _ arguments: [String], in folder: URL? = nil) async throws {
        try HostRequirements.require(program)
        try await ProcessRunner.logged(Command(program, arguments, environment: toolEnvironment, workingDirectory: folder), log: log)
    }

    // MARK: FIT

    /// `mkimage -f` on the generated `.its`, in a folder holding links to the inputs under their output names.
    public func fitImage(_ spec: FITImageSpec, kernel: URL, deviceTree: (name: String, url: URL)?, initramfs: URL,
                         names: ArtifactNames) async throws -> [(name: String, url: URL)] {
        let output = directory.appendingPathComponent(spec.name)
        let its = directory.appendingPathComponent(spec.sourceName)
        var key = StageKey()
        key.add("stage", "fit-image-1")
        key.add("fit_image section", key.encodable(spec))
        key.add("arch", board.toolchain.kernelArch)
        key.add("epoch", epoch)
        try key.addFile("kernel", kernel)
        try key.addFile("initramfs", initramfs)
        if let deviceTree { try key.addFile("device tree", deviceTree.url) }
        try await environment.run(Stage("FIT image", key: key, record: directory.appendingPathComponent(".bspgen-fit.json"),
                                        outputs: [output, its], logName: "images")) {
            try await makeFITImage(spec, kernel: kernel, deviceTree: deviceTree, initramfs: initramfs, names: names)
            return StageWork()
        }
        return [(spec.name, output), (spec.sourceName, its)]
    }

    func makeFITImage(_ spec: FITImageSpec, kernel: URL, deviceTree: (name: String, url: URL)?, initramfs: URL,
                      names: ArtifactNames) async throws {
        try prepare()
        environment.progress.begin("FIT image", spec.name)
        let folder = directory.appendingPathComponent("fit", isDirectory: true)
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var inputs = [(names.kernel, kernel), (names.initramfs, initramfs)]
        if let deviceTree { inputs.append((deviceTree.name, deviceTree.url)) }
        for (name, url) in inputs {
            do {
                try FileManager.default.linkItem(at: url, to: folder.appendingPathComponent(name))
            } catch {
                try FileManager.default.copyItem(at: url, to: folder.appendingPathComponent(name))
            }
        }
        let source = FITSource.render(FITSource.Inputs(description: "\(board.name): Linux, device tree and initramfs by bspgen",
                                                      arch: board.toolchain.kernelArch, kernel: names.kernel,
                                                      deviceTree: deviceTree?.name, ramdisk: names.initramfs, spec: spec))
        let its = directory.appendingPathComponent(spec.sourceName)
        try AtomicFile.write(source, to: its)
        try AtomicFile.write(source, to: folder.appendingPathComponent(spec.sourceName))
        let temporary = directory.appendingPathComponent(".\(spec.name).tmp")
        try await run("mkimage", ["-f", spec.sourceName, temporary.path], in: folder)
        let output = directory.appendingPathComponent(spec.name)
        try AtomicFile.replace(output, with: temporary)
        environment.progress.end(sizeNote(output))
    }

    // MARK: GRUB

    /// A GRUB EFI executable with its modules built in and `prefix` set: it reads `prefix/grub.cfg` from the
    /// partition it was started from.
    public func grub(_ spec: GRUBSpec) async throws -> (name: String, url: URL) {
        let moduleDirectory = URL(fileURLWithPath: "/usr/lib/grub/\(spec.format)")
        guard FileManager.default.fileExists(atPath: moduleDirectory.appendingPathComponent("normal.mod").path) else {
            throw HostError.missingTool("GRUB modules for \(spec.format) (\(moduleDirectory.path))", install: aptInstallCommand([spec.package]))
        }
        let output = directory.appendingPathComponent(spec.name)
        var key = StageKey()
        key.add("stage", "grub-1")
        key.add("grub section", key.encodable(spec))
        // grub-mkimage copies the named modules and those they depend on: any change in the installed GRUB counts.
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: moduleDirectory.path)) ?? []).sorted()
        key.add("grub files", Checksum.sha256(try files.map { "\($0) \(try Checksum.sha256(of: moduleDirectory.appendingPathComponent($0)))" }
                                                .joined(separator: "\n")))
        try await environment.run(Stage("GRUB", key: key, record: directory.appendingPathComponent(".bspgen-grub.json"),
                                        outputs: [output], logName: "images")) {
            try prepare()
            environment.progress.begin("GRUB", "\(spec.name) (\(spec.format))")
            let temporary = directory.appendingPathComponent(".\(spec.name).tmp")
            try await run("grub-mkimage", ["-O", spec.format, "-d", moduleDirectory.path, "-p", spec.prefix, "-o", temporary.path] + spec.modules)
            try AtomicFile.replace(output, with: temporary)
            environment.progress.end(sizeNote(output))
            return StageWork()
        }
        return (spec.name, output)
    }

    // MARK: ext4 root file system

    /// The initramfs's tree as an ext4 image: staged into a folder, copied in by `mke2fs -d`, then device
    /// nodes, owners and change times set by `debugfs -w` (none of which needs root). The tree also gets
    /// `/etc/bspgen/rootfs`, by which /init knows it already runs from the disk.
    /// `sourceNames` name the sources in the key, so that `--explain` says which one changed.
    public func rootFilesystem(_ spec: RootFilesystemSpec, sources: [InitramfsSource], sourceNames: [String]? = nil) async throws -> (name: String, url: URL) {
        var key = try InitramfsContent.key(sources, names: sourceNames ?? sources.indices.map { "source \($0 + 1)" },
                                           sourceDateEpoch: environment.sourceDateEpoch)
        key.add("stage", "rootfs-1")
        key.add("rootfs section", key.encodable(spec))
        key.add("board", board.name)
        let output = directory.appendingPathComponent(RootFilesystemSpec.imageName)
        try await environment.run(Stage("root file system", key: key, record: directory.appendingPathComponent(".bspgen-rootfs.json"),
                                        outputs: [output], logName: "images")) {
            try await makeRootFilesystem(spec, sources: sources)
            return StageWork()
        }
        return (RootFilesystemSpec.imageName, output)
    }

    func makeRootFilesystem(_ spec: RootFilesystemSpec, sources: [InitramfsSource]) async throws {
        try prepare()
        environment.progress.begin("root file system", "\(RootFilesystemSpec.imageName) (\(spec.size))")
        let tree = directory.appendingPathComponent("rootfs-tree", isDirectory: true)
        try? removeTree(tree)
        let marker = directory.appendingPathComponent("rootfs-marker")
        try AtomicFile.write("ext4\n", to: marker)
        let extra = InitramfsSource.listText("file /etc/bspgen/rootfs \(marker.path) 0644 0 0",
                                             name: "bspgen (root file system)", baseDirectory: directory)
        let staged = try InitramfsPacker(sourceDateEpoch: environment.sourceDateEpoch).stage(sources + [extra], into: tree)
        let output = directory.appendingPathComponent(RootFilesystemSpec.imageName)
        let temporary = directory.appendingPathComponent(".\(RootFilesystemSpec.imageName).tmp")
        try? FileManager.default.removeItem(at: temporary)
        let seed = "\(board.name)/rootfs"
        try await run("mke2fs", ["-q", "-F", "-t", "ext4", "-d", tree.path, "-L", "rootfs",
                                 "-U", Self.derivedUUID(seed + "/uuid"), "-E", "root_owner=0:0,hash_seed=" + Self.derivedUUID(seed + "/hash"),
                                 temporary.path, spec.size])
        let commands = Self.debugfsCommands(staged, epoch: environment.sourceDateEpoch)
        let script = directory.appendingPathComponent("rootfs.debugfs")
        try AtomicFile.write(commands.joined(separator: "\n") + "\n", to: script)
        try HostRequirements.require("debugfs")
        let debugfs = Command("debugfs", ["-w", "-f", script.path, temporary.path], environment: toolEnvironment)
        let result = try await ProcessRunner.capture(debugfs)
        appendToLog("$ \(debugfs)\n" + result.output + "# \(result.statusText)\n")
        let problems = Self.debugfsProblems(result.output)
        guard result.succeeded, problems.isEmpty else {
            throw BuildError.image(name: RootFilesystemSpec.imageName, message: "debugfs could not apply \(script.path):\n"
                                   + problems.prefix(10).map { "    " + $0 }.joined(separator: "\n") + "\n    log: \(log.path)")
        }
        try AtomicFile.replace(output, with: temporary)
        try? removeTree(tree)
        environment.progress.end("\(staged.paths.count) entries, \(staged.fixups.count) set by debugfs")
    }

    /// A version-4-style UUID from the sha256 of `seed`: fixed per board, so the image is reproducible.
    static func derivedUUID(_ seed: String) -> String {
        let hex = Array(Checksum.sha256(seed))
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 32, by: 2) { bytes.append(UInt8(String(hex[index...index + 1]), radix: 16) ?? 0) }
        return GUID(derivedFrom: bytes).description.lowercased()
    }

    /// debugfs commands that finish a `mke2fs -d` image: special files, owners, and every inode's change
    /// time (mke2fs copies the host's, which is the time of staging).
    static func debugfsCommands(_ staged: StagedTree, epoch: Int64) -> [String] {
        func quoted(_ path: String) -> String { "\"/\(path)\"" }
        var commands: [String] = []
        var nodes = Set<String>()
        for fixup in staged.fixups {
            switch fixup {
            case let .owner(path, uid, gid):
                commands += ["sif \(quoted(path)) uid \(uid)", "sif \(quoted(path)) gid \(gid)"]
            case let .node(path, mode, major, minor, uid, gid):
                nodes.insert(path)
                let parent = path.split(separator: "/").dropLast().joined(separator: "/")
                let name = path.split(separator: "/").last.map(String.init) ?? path
                let type: String = switch mode & 0o170000 {
                case 0o020000: "c \(major) \(minor)"
                case 0o060000: "b \(major) \(minor)"
                default: "p"
                }
                commands += ["cd \(quoted(parent))", "mknod \"\(name)\" \(type)", "cd /",
                             "sif \(quoted(path)) mode 0\(String(mode, radix: 8))",
                             "sif \(quoted(path)) uid \(uid)", "sif \(quoted(path)) gid \(gid)"]
                for field in ["atime", "mtime", "crtime"] { commands.append("sif \(quoted(path)) \(field) @\(epoch)") }
            }
        }
        for path in [""] + ["lost+found"] + staged.paths {
            commands.append("sif \(path.isEmpty ? "/" : quoted(path)) ctime @\(epoch)")
        }
        return commands
    }

    /// debugfs reports a failed command on its own line (`sif: File not found by ext2_lookup`) and exits 0;
    /// besides the echoed commands, only mknod's "Allocated inode" note is not an error.
    static func debugfsProblems(_ output: String) -> [String] {
        output.split(separator: "\n").map(String.init).filter { line in
            !line.hasPrefix("debugfs") && !line.hasPrefix("Allocated inode:") && !line.trimmingCharacters(in: .whitespaces).isEmpty
        }
    }

    // MARK: disk images

    /// One disk image: each FAT partition made with mkfs.vfat and filled by mcopy, each `image` partition the
    /// artifact itself, then the table and partitions put together by `DiskImageWriter`.
    public func diskImage(_ spec: DiskImageSpec, artifacts: [String: URL]) async throws -> (name: String, url: URL) {
        var key = StageKey()
        key.add("stage", "disk-image-1")
        key.add("disk image section", key.encodable(spec))
        key.add("board", board.name)
        key.add("epoch", epoch)
        let contents = spec.partitions.flatMap { partition in partition.image.map { [$0] } ?? (partition.files ?? []).map(\.from) }
        for name in Set(contents).sorted() {
            guard let url = artifacts[name] else {
                throw BuildError.image(name: spec.name, message: "it wants \(name), which this build did not make")
            }
            try key.addFile("artifact", url)
        }
        let output = directory.appendingPathComponent(spec.name)
        try await environment.run(Stage("disk image \(spec.name)", key: key, record: directory.appendingPathComponent(".bspgen-\(spec.name).json"),
                                        outputs: [output], logName: "images")) {
            try await makeDiskImage(spec, artifacts: artifacts)
            return StageWork()
        }
        return (spec.name, output)
    }

    func makeDiskImage(_ spec: DiskImageSpec, artifacts: [String: URL]) async throws {
        try prepare()
        environment.progress.begin("disk image", "\(spec.name) (\(spec.table.rawValue), \(spec.partitions.count) partitions)")
        let work = directory.appendingPathComponent("\(spec.name).parts", isDirectory: true)
        try? removeTree(work)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        var requests: [(name: String, kind: PartitionKind, size: Int, bootable: Bool)] = []
        var contents: [URL] = []
        for (index, partition) in spec.partitions.enumerated() {
            let kind: PartitionKind = switch partition.type {
            case .efiSystem: .efiSystem
            case .fat: .fat
            case .linux: .linux
            }
            if let source = partition.image {
                guard let url = artifacts[source] else {
                    throw BuildError.image(name: spec.name, message: "partition \(partition.label) wants \(source), which this build did not make")
                }
                let size = try fileSize(url)
                let wanted = partition.size.flatMap(ByteSize.parse) ?? size
                guard size <= wanted else {
                    throw BuildError.image(name: spec.name, message: "\(source) (\(size) bytes) is larger than partition \(partition.label) (\(partition.size ?? ""))")
                }
                requests.append((partition.label, kind, wanted, partition.bootable ?? false))
                contents.append(url)
            } else if let filesystem = partition.filesystem, let size = partition.size.flatMap(ByteSize.parse) {
                let file = work.appendingPathComponent("partition-\(index + 1).vfat")
                try await fatPartition(file, filesystem: filesystem, size: size, label: partition.label,
                                       volumeID: "\(board.name)/\(spec.name)/\(index)", files: partition.files ?? [], artifacts: artifacts,
                                       staging: work.appendingPathComponent("partition-\(index + 1)", isDirectory: true))
                requests.append((partition.label, kind, size, partition.bootable ?? false))
                contents.append(file)
            } else {
                throw BuildError.image(name: spec.name, message: "partition \(partition.label) has neither a file system with a size nor an image")
            }
        }
        let table: PartitionTable
        do {
            table = try PartitionTable.plan(spec.table == .gpt ? .gpt : .mbr, partitions: requests, seed: "\(board.name)/\(spec.name)",
                                           diskSize: spec.size.flatMap(ByteSize.parse))
        } catch {
            throw BuildError.image(name: spec.name, message: error.description)
        }
        let output = directory.appendingPathComponent(spec.name)
        let temporary = directory.appendingPathComponent(".\(spec.name).tmp")
        do {
            try DiskImageWriter.write(table, contents: contents, to: temporary)
        } catch {
            throw BuildError.image(name: spec.name, message: error.description)
        }
        try AtomicFile.replace(output, with: temporary)
        try? removeTree(work)
        environment.progress.end("\(table.totalSize >> 20) MiB")
    }

    /// A FAT file system in `file`: `mkfs.vfat --invariant` with a volume id derived from `volumeID`, then the
    /// files staged under their destination paths (mtime SOURCE_DATE_EPOCH) and copied in by `mcopy -s -m`.
    func fatPartition(_ file: URL, filesystem: PartitionFilesystem, size: Int, label: String, volumeID: String,
                      files: [PartitionFileSpec], artifacts: [String: URL], staging: URL) async throws {
        try? FileManager.default.removeItem(at: file)
        let id = String(Checksum.sha256(volumeID).prefix(8))
        try await run("mkfs.vfat", ["-F", filesystem == .fat32 ? "32" : "16", "--invariant", "-i", id, "-n", label.uppercased(),
                                    "-C", file.path, String(size / 1024)])
        guard !files.isEmpty else { return }
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        var stagedDirectories = Set<String>()
        var topLevel: [String] = []
        for entry in files {
            guard let source = artifacts[entry.from] else {
                throw BuildError.image(name: file.lastPathComponent, message: "\(entry.from) was not made by this build")
            }
            let destination = staging.appendingPathComponent(entry.destination)
            try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: source, to: destination)
            try setTime(destination)
            var parent = ""
            for component in entry.destination.split(separator: "/").dropLast() {
                parent = parent.isEmpty ? String(component) : parent + "/" + component
                stagedDirectories.insert(parent)
            }
            if let first = entry.destination.split(separator: "/").first.map(String.init), !topLevel.contains(first) { topLevel.append(first) }
        }
        for path in stagedDirectories { try setTime(staging.appendingPathComponent(path)) }
        try await run("mcopy", ["-i", file.path, "-s", "-m", "-Q"] + topLevel.sorted().map { staging.appendingPathComponent($0).path } + ["::/"])
    }

    func appendToLog(_ text: String) {
        try? FileManager.default.createDirectory(at: log.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: log.path) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: Data(text.utf8))
    }

    func setTime(_ url: URL) throws {
        do {
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: TimeInterval(environment.sourceDateEpoch))],
                                                  ofItemAtPath: url.path)
        } catch {
            throw HostError.fileSystem(path: url.path, message: "cannot set its time: \(error.localizedDescription)")
        }
    }

    func fileSize(_ url: URL) throws -> Int {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue else {
            throw HostError.fileSystem(path: url.path, message: "cannot read its size")
        }
        return size
    }

    func sizeNote(_ url: URL) -> String {
        ((try? fileSize(url)).map { "\($0 / 1024) KiB" }) ?? ""
    }

    /// Removes a staged tree, making its directories writable first (a 0555 directory cannot be emptied).
    func removeTree(_ url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        if let walker = FileManager.default.enumerator(atPath: url.path) {
            for case let path as String in walker {
                let full = url.appendingPathComponent(path).path
                var info = stat()
                if lstat(full, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { chmod(full, 0o755) }
            }
        }
        chmod(url.path, 0o755)
        try FileManager.default.removeItem(at: url)
    }
}

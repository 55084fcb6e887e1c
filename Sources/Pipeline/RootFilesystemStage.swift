import BoardModel
import DiskImage
import Foundation
import Host
import Initramfs

extension ImageBuilder {
    /// The initramfs's tree as an ext4 image: staged into a folder, copied in by `mke2fs -d`, then device
    /// nodes, owners and change times set by `debugfs -w` (none of which needs root). The tree also gets
    /// `/etc/bspgen/rootfs`, by which /init knows it already runs from the disk.
    /// The sources' names go into the key, so that `--explain` says which one changed.
    public func rootFilesystem(_ spec: RootFilesystemSpec, sources named: [(name: String, source: InitramfsSource)]) async throws -> (name: String, url: URL) {
        let sources = named.map(\.source)
        var key = try InitramfsContent.key(named, sourceDateEpoch: environment.sourceDateEpoch)
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
        do {
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
        } catch {
            // The half-made file system is as large as the whole one: it must not stay behind on a full disk.
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
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
}

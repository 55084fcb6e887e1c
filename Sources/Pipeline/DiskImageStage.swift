import BoardModel
import DiskImage
import Foundation
import Host

extension ImageBuilder {
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
                                        outputs: [output, bmapFile(of: spec).url], logName: "images")) {
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
            let kind = PartitionKind(partition.type)
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
            table = try PartitionTable.plan(PartitionTableFormat(spec.table), partitions: requests, seed: "\(board.name)/\(spec.name)",
                                           diskSize: spec.size.flatMap(ByteSize.parse))
        } catch {
            throw BuildError.image(name: spec.name, message: error.description)
        }
        let output = directory.appendingPathComponent(spec.name)
        let temporary = directory.appendingPathComponent(".\(spec.name).tmp")
        do {
            try DiskImageWriter.write(table, contents: contents, to: temporary)
        } catch {
            // A half-written image is as large as the whole one: it must not stay behind on a full disk.
            try? FileManager.default.removeItem(at: temporary)
            throw BuildError.image(name: spec.name, message: error.description)
        }
        try AtomicFile.replace(output, with: temporary)
        try writeBmap(spec)
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
}

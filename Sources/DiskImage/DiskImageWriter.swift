import Foundation

/// Puts a disk image together from a planned table and one file per partition (a file system image made
/// beforehand): no root, no loop device, no partitioning tool. Zero blocks are skipped, so the image is sparse.
public enum DiskImageWriter {
    static let blockSize = 1 << 20

    /// Writes the image to `destination` (which must not be a final name: the caller renames it into place).
    /// `contents[i]` fills partition `i` and must not be larger than it; the rest of the partition reads as zeros.
    public static func write(_ table: PartitionTable, contents: [URL], to destination: URL) throws(DiskImageError) {
        guard contents.count == table.partitions.count else {
            throw .layout("\(contents.count) content files for \(table.partitions.count) partitions")
        }
        try? FileManager.default.removeItem(at: destination)
        guard FileManager.default.createFile(atPath: destination.path, contents: nil),
              let output = FileHandle(forWritingAtPath: destination.path) else {
            throw .io(path: destination.path, message: "cannot create")
        }
        defer { try? output.close() }
        do {
            try output.truncate(atOffset: UInt64(table.totalSize))
            for (partition, file) in zip(table.partitions, contents) {
                let size = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber)?.intValue ?? 0
                guard size <= partition.size else {
                    throw DiskImageError.layout("\(file.lastPathComponent) (\(size) bytes) does not fit partition \(partition.name) (\(partition.size) bytes)")
                }
                guard let input = FileHandle(forReadingAtPath: file.path) else { throw DiskImageError.io(path: file.path, message: "cannot open for reading") }
                defer { try? input.close() }
                var offset = partition.offset
                while let block = try input.read(upToCount: blockSize), !block.isEmpty {
                    if block.contains(where: { $0 != 0 }) {
                        try output.seek(toOffset: UInt64(offset))
                        try output.write(contentsOf: block)
                    }
                    offset += block.count
                }
            }
            for (sector, bytes) in table.encodedSectors() {
                try output.seek(toOffset: UInt64(sector * PartitionTable.sectorSize))
                try output.write(contentsOf: Data(bytes))
            }
            try output.synchronize()
        } catch let error as DiskImageError {
            throw error
        } catch {
            throw .io(path: destination.path, message: error.localizedDescription)
        }
    }

    /// The bytes of one partition of an image, copied out to `destination` (for reading a FAT partition back
    /// with mtools, or checking an ext4 one).
    public static func extract(_ partition: Partition, from image: URL, to destination: URL) throws(DiskImageError) {
        guard let input = FileHandle(forReadingAtPath: image.path) else { throw .io(path: image.path, message: "cannot open for reading") }
        defer { try? input.close() }
        try? FileManager.default.removeItem(at: destination)
        guard FileManager.default.createFile(atPath: destination.path, contents: nil),
              let output = FileHandle(forWritingAtPath: destination.path) else { throw .io(path: destination.path, message: "cannot create") }
        defer { try? output.close() }
        do {
            try input.seek(toOffset: UInt64(partition.offset))
            var remaining = partition.size
            while remaining > 0, let block = try input.read(upToCount: min(blockSize, remaining)), !block.isEmpty {
                try output.write(contentsOf: block)
                remaining -= block.count
            }
        } catch {
            throw .io(path: image.path, message: error.localizedDescription)
        }
    }
}

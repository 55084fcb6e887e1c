import CZlib
import Foundation

/// One entry of a newc archive as stored.
public struct CpioEntry: Sendable, Equatable {
    public var name: String
    public var inode: UInt32
    /// File type and permission bits, as in Linux's st_mode.
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var nlink: UInt32
    public var mtime: UInt32
    /// Bytes of data stored with this entry (0 for all but the last name of a hard-linked file).
    public var size: UInt32
    public var rdevMajor: UInt32
    public var rdevMinor: UInt32
    /// For symlinks: the target, without the NUL gen_init_cpio stores after it.
    public var symlinkTarget: String?
    /// The first bytes of a regular file's data, for entries the caller asked for.
    public var contentPrefix: [UInt8]? = nil
}

public enum CpioArchiveReader {
    /// Linux's PATH_MAX, counting the terminating NUL.
    private static let maximumPathSize: UInt32 = 4096

    /// The entries of a newc archive, plain or gzip-compressed, up to its TRAILER!!! record.
    /// `keepingPrefixOf` names entries (as listed, e.g. `bin/busybox`) whose first `prefixSize` bytes are kept.
    public static func listing(of archive: URL, keepingPrefixOf wanted: Set<String> = [], prefixSize: Int = 1 << 16) throws -> [CpioEntry] {
        // gzread passes data that is not gzip through unchanged.
        guard let file = gzopen(archive.path, "rb") else {
            throw InitramfsError.inputUnreadable(path: archive.path, reason: String(cString: strerror(errno)))
        }
        defer { gzclose(file) }
        var reader = Reader(file: file, path: archive.path)

        var entries: [CpioEntry] = []
        while true {
            let header = try reader.header()
            let name = String(decoding: try reader.bytes(Int(header.nameSize)).dropLast(), as: UTF8.self)
            try reader.skipPadding()
            if name == "TRAILER!!!" { return entries }

            var target: String?
            var prefix: [UInt8]?
            if header.mode & 0o170000 == 0o120000 {
                guard header.fileSize <= maximumPathSize else {
                    throw InitramfsError.malformedArchive(
                        path: archive.path, offset: reader.offset, reason: "a symlink target of \(header.fileSize) bytes")
                }
                let data = try reader.bytes(Int(header.fileSize))
                target = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
            } else if wanted.contains(name) {
                let kept = min(Int(header.fileSize), prefixSize)
                prefix = try reader.bytes(kept)
                try reader.skip(Int(header.fileSize) - kept)
            } else {
                try reader.skip(Int(header.fileSize))
            }
            try reader.skipPadding()
            entries.append(CpioEntry(
                name: name, inode: header.inode, mode: header.mode, uid: header.uid, gid: header.gid,
                nlink: header.nlink, mtime: header.mtime, size: header.fileSize,
                rdevMajor: header.rdevMajor, rdevMinor: header.rdevMinor, symlinkTarget: target, contentPrefix: prefix))
        }
    }

    private struct Reader {
        let file: gzFile
        let path: String
        var offset: UInt64 = 0

        mutating func header() throws -> NewcHeader {
            let text = String(decoding: try bytes(NewcHeader.size), as: UTF8.self)
            guard text.hasPrefix(NewcHeader.magic) || text.hasPrefix("070702") else {
                throw failure(at: offset - UInt64(NewcHeader.size), "the header does not start with 070701 or 070702")
            }
            var fields: [UInt32] = []
            var rest = text.dropFirst(NewcHeader.magic.count)
            while !rest.isEmpty {
                guard let field = UInt32(rest.prefix(8), radix: 16) else {
                    throw failure(at: offset - UInt64(NewcHeader.size), "the header has a field that is not hex")
                }
                fields.append(field)
                rest = rest.dropFirst(8)
            }
            // Bounds what a damaged header can make us allocate: names and link targets are paths.
            guard (1...maximumPathSize).contains(fields[11]) else {
                throw failure(at: offset - UInt64(NewcHeader.size), "the name size \(fields[11]) is not a path's")
            }
            return NewcHeader(
                inode: fields[0], mode: fields[1], uid: fields[2], gid: fields[3], nlink: fields[4],
                mtime: fields[5], fileSize: fields[6], deviceMajor: fields[7], deviceMinor: fields[8],
                rdevMajor: fields[9], rdevMinor: fields[10], nameSize: fields[11], check: fields[12])
        }

        mutating func bytes(_ count: Int) throws -> [UInt8] {
            var result = [UInt8](repeating: 0, count: count)
            var filled = 0
            while filled < count {
                let chunk = UInt32(min(count - filled, 1 << 20))
                let read = result.withUnsafeMutableBytes { gzread(file, $0.baseAddress.map { $0 + filled }, chunk) }
                guard read > 0 else {
                    throw failure(at: offset + UInt64(filled), read < 0 ? "it cannot be decompressed" : "it ends early")
                }
                filled += Int(read)
            }
            offset += UInt64(count)
            return result
        }

        mutating func skip(_ count: Int) throws {
            var remaining = count
            while remaining > 0 {
                let chunk = min(remaining, 1 << 16)
                _ = try bytes(chunk)
                remaining -= chunk
            }
        }

        mutating func skipPadding() throws {
            try skip(Int((4 - offset % 4) % 4))
        }

        private func failure(at offset: UInt64, _ reason: String) -> InitramfsError {
            .malformedArchive(path: path, offset: offset, reason: reason)
        }
    }
}

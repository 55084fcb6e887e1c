import CZlib
import Foundation
import UserInput

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

    /// The entries of a newc archive, plain or compressed as the packer compresses (gzip, xz, zstd: told
    /// apart by their magic), up to its TRAILER!!! record.
    /// `keepingPrefixOf` names entries (as listed, e.g. `bin/busybox`) whose first `prefixSize` bytes are kept.
    public static func listing(of archive: URL, keepingPrefixOf wanted: Set<String> = [], prefixSize: Int = 1 << 16) throws -> [CpioEntry] {
        let source: any ArchiveByteSource = switch try InitramfsCompression.detected(in: archive) {
        case .xz: try DecompressingSource(archive, codec: try XzCodec(decodingMemoryLimit: 1 << 30), compression: .xz)
        case .zstd: try DecompressingSource(archive, codec: try ZstdDecodingCodec(), compression: .zstd)
        // gzread passes data that is not gzip through unchanged.
        case .gzip, .none: try GzipSource(archive)
        }
        var reader = Reader(source: source, path: archive.path)

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
        let source: any ArchiveByteSource
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
                let chunk = min(count - filled, 1 << 20)
                let read = try result.withUnsafeMutableBytes { try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled..<filled + chunk])) }
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

extension InitramfsCompression {
    /// The compression of `file` as its first bytes tell it; `.none` for anything without a known magic.
    public static func detected(in file: URL) throws -> InitramfsCompression {
        // An archive is a regular file: a FIFO would block the open, a device never end.
        var info = stat()
        guard stat(file.path, &info) == 0 else { throw InitramfsError.inputUnreadable(path: file.path, reason: UserFile.systemReason(errno)) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw InitramfsError.inputUnreadable(path: file.path, reason: "it is \(UserFile.kind(of: info.st_mode)), not a regular file")
        }
        guard let handle = FileHandle(forReadingAtPath: file.path) else {
            throw InitramfsError.inputUnreadable(path: file.path, reason: UserFile.systemReason(errno))
        }
        defer { try? handle.close() }
        let start = [UInt8]((try? handle.read(upToCount: 6)) ?? Data())
        if start.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { return .xz }
        if start.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) { return .zstd }
        if start.starts(with: [0x1F, 0x8B]) { return .gzip }
        return .none
    }
}

/// Decompressed bytes of an archive file, in order. `read` fills from the start of `buffer` and returns how
/// many bytes it wrote: 0 at the end, less than 0 when the data cannot be decompressed.
private protocol ArchiveByteSource: AnyObject {
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

private final class GzipSource: ArchiveByteSource {
    private let file: gzFile

    init(_ url: URL) throws {
        guard let file = gzopen(url.path, "rb") else {
            throw InitramfsError.inputUnreadable(path: url.path, reason: UserFile.systemReason(errno))
        }
        self.file = file
    }

    deinit {
        gzclose(file)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        Int(gzread(file, buffer.baseAddress, UInt32(buffer.count)))
    }
}

/// An xz or zstd file through the packer's own codecs, run the other way.
private final class DecompressingSource: ArchiveByteSource {
    private let handle: FileHandle
    private let codec: any StreamCodec
    private let path: String
    private let compression: InitramfsCompression
    private var pending = Data()
    private var offset = 0
    private var inputEnded = false
    private var streamComplete = false

    init(_ url: URL, codec: any StreamCodec, compression: InitramfsCompression) throws {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw InitramfsError.inputUnreadable(path: url.path, reason: UserFile.systemReason(errno))
        }
        self.handle = handle
        self.codec = codec
        self.path = url.path
        self.compression = compression
    }

    deinit {
        try? handle.close()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while !streamComplete {
            if offset == pending.count, !inputEnded {
                pending = (try? handle.read(upToCount: 1 << 16)) ?? Data()
                offset = 0
                inputEnded = pending.isEmpty
            }
            let (produced, consumed, complete) = try pending.withUnsafeBytes { bytes in
                var input = UnsafeRawBufferPointer(rebasing: bytes[offset...])
                let before = input.count
                let (produced, complete) = try codec.step(&input, into: buffer, finishing: inputEnded)
                return (produced, before - input.count, complete)
            }
            offset += consumed
            streamComplete = complete
            if produced > 0 { return produced }
            if inputEnded, !complete, consumed == 0 {
                throw InitramfsError.compressionFailed(compression, reason: "\(path): the \(compression.rawValue) stream ends early")
            }
        }
        return 0
    }
}

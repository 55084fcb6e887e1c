import Foundation
import UserInput

/// The 110-byte header of a newc entry: "070701" and thirteen 8-digit hex fields.
struct NewcHeader: Equatable {
    static let magic = "070701"
    static let size = 110

    var inode: UInt32 = 0
    var mode: UInt32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
    var nlink: UInt32 = 1
    var mtime: UInt32 = 0
    var fileSize: UInt32 = 0
    var deviceMajor: UInt32 = 0
    var deviceMinor: UInt32 = 0
    var rdevMajor: UInt32 = 0
    var rdevMinor: UInt32 = 0
    var nameSize: UInt32 = 0
    var check: UInt32 = 0

    var fields: [UInt32] {
        [inode, mode, uid, gid, nlink, mtime, fileSize, deviceMajor, deviceMinor, rdevMajor, rdevMinor, nameSize, check]
    }

    var encoded: [UInt8] {
        Array(fields.reduce(Self.magic) { text, field in
            let hex = String(field, radix: 16, uppercase: true)
            return text + String(repeating: "0", count: 8 - hex.count) + hex
        }.utf8)
    }
}

/// Writes entries laid out exactly as usr/gen_init_cpio.c (without `-c`) lays them out.
struct NewcWriter {
    /// gen_init_cpio's first inode number.
    private static let firstInode: UInt32 = 721
    private static let copyChunkSize = 1 << 20

    private let sink: any ByteSink
    private let sourceDateEpoch: UInt32
    private var nextInode = firstInode
    private(set) var bytesWritten: UInt64 = 0

    init(sink: any ByteSink, sourceDateEpoch: UInt32) {
        self.sink = sink
        self.sourceDateEpoch = sourceDateEpoch
    }

    mutating func write(_ entries: [InitramfsEntry]) throws {
        var namesLeft: [Int: UInt32] = [:]
        for case .file(let content) in entries.map(\.kind) {
            namesLeft[content.linkGroup, default: 0] += 1
        }
        let nameCount = namesLeft
        var inodeOfGroup: [Int: UInt32] = [:]
        let copyBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.copyChunkSize, alignment: 1)
        defer { copyBuffer.deallocate() }

        for entry in entries {
            // gen_init_cpio gives every entry device 3:1.
            var header = NewcHeader(
                mode: entry.kind.typeBits | entry.permissions, uid: entry.uid, gid: entry.gid,
                mtime: sourceDateEpoch, deviceMajor: 3, deviceMinor: 1)
            switch entry.kind {
            case .file(let content):
                let group = content.linkGroup
                header.inode = inodeOfGroup[group] ?? allocateInode()
                inodeOfGroup[group] = header.inode
                namesLeft[group, default: 0] -= 1
                header.nlink = nameCount[group, default: 1]
                // Newer mtimes are lowered to the epoch, so that checkout or build times do not show.
                // gen_init_cpio (6.1) keeps them as they are: the two agree for files older than the epoch.
                header.mtime = UInt32(clamping: min(content.modificationTime, Int64(sourceDateEpoch)))
                // As in gen_init_cpio, the data goes with the last name of a hard-linked file.
                header.fileSize = namesLeft[group] == 0 ? content.size : 0
                try writeEntry(header, name: entry.path)
                try copy(content, size: header.fileSize, origin: entry.origin, buffer: copyBuffer)
            case .symlink(let target):
                // gen_init_cpio stores the target with its terminating NUL.
                let data = Array(target.utf8) + [0]
                header.inode = allocateInode()
                header.fileSize = UInt32(data.count)
                try writeEntry(header, name: entry.path)
                try data.withUnsafeBytes { try emit($0) }
            case .characterDevice(let major, let minor), .blockDevice(let major, let minor):
                header.inode = allocateInode()
                header.rdevMajor = major
                header.rdevMinor = minor
                try writeEntry(header, name: entry.path)
            case .directory, .fifo, .socket:
                // gen_init_cpio's cpio_mkgeneric gives all three a link count of 2.
                header.inode = allocateInode()
                header.nlink = 2
                try writeEntry(header, name: entry.path)
            }
            try pad(to: 4)
        }

        try writeEntry(NewcHeader(), name: "TRAILER!!!")
        try pad(to: 512)
    }

    private mutating func allocateInode() -> UInt32 {
        defer { nextInode += 1 }
        return nextInode
    }

    /// Writes the header and name, leaving the offset aligned for the data.
    private mutating func writeEntry(_ header: NewcHeader, name: String) throws {
        var header = header
        let name = Array(name.utf8) + [0]
        header.nameSize = UInt32(name.count)
        try header.encoded.withUnsafeBytes { try emit($0) }
        try name.withUnsafeBytes { try emit($0) }
        try pad(to: 4)
    }

    private mutating func copy(
        _ content: FileContent, size: UInt32, origin: InitramfsInputLocation, buffer: UnsafeMutableRawBufferPointer
    ) throws {
        guard size > 0 else { return }
        func failure(_ reason: String) -> InitramfsError {
            .unusableSourceFile(origin, path: content.hostPath, reason: reason)
        }
        // O_NONBLOCK: a file swapped for a FIFO since it was listed must not make open wait for a writer.
        let descriptor = open(content.hostPath, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard descriptor >= 0 else { throw failure(UserFile.systemReason(errno)) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw failure("it is no longer a regular file")
        }
        var remaining = Int(size)
        while remaining > 0 {
            let count = read(descriptor, buffer.baseAddress, min(remaining, buffer.count))
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw failure(UserFile.systemReason(errno)) }
            guard count > 0 else { throw failure("it became shorter while the archive was being written") }
            try emit(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            remaining -= count
        }
    }

    private mutating func pad(to alignment: UInt64) throws {
        let count = Int((alignment - bytesWritten % alignment) % alignment)
        try [UInt8](repeating: 0, count: count).withUnsafeBytes { try emit($0) }
    }

    private mutating func emit(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        try sink.consume(bytes)
        bytesWritten += UInt64(bytes.count)
    }
}

// The initramfs builder: our own writer of cpio `newc` archives, byte-compatible with the
// kernel's usr/gen_init_cpio.c, fed by gen_init_cpio lists and host directory trees.
//
// Public API
//
//     public enum InitramfsCompression: String, CaseIterable, Sendable { case gzip, xz, zstd, none }
//
//     public struct InitramfsSource: Sendable, Equatable {
//         static func directory(_ root: URL, at mountPoint: String = "/") -> InitramfsSource
//         static func list(_ file: URL) -> InitramfsSource            // relative locations: the list's folder
//         static func listText(_ text: String, name: String, baseDirectory: URL) -> InitramfsSource
//     }
//
//     public struct InitramfsPacker: Sendable {
//         init(sourceDateEpoch: Int64)
//         func pack(_ sources: [InitramfsSource], to destination: URL,
//                   compression: InitramfsCompression = .gzip) throws -> InitramfsSummary
//     }
//     public struct InitramfsSummary: Sendable, Equatable { entryCount, uncompressedSize, compressedSize }
//
//     public enum InitramfsError: Error, CustomStringConvertible, Equatable     // InitramfsError.swift
//     public struct InitramfsInputLocation                                       // list file:line or directory
//
//     public enum CpioArchiveReader { static func listing(of: URL) throws -> [CpioEntry] }  // CpioArchiveReader.swift
//     public struct CpioEntry: Sendable, Equatable
//
// How sources combine: inputs are read in the order given; a later input's entry for a path
// replaces the earlier one where it stood (overlays win); missing parent directories are added
// (0755, 0:0) so that every parent precedes its children. Lists keep their own order, directory
// trees are in byte-wise path order.
//
// Reproducibility: owners are 0:0 unless a list says otherwise; entries without a file behind them
// (dir, nod, slink, pipe, sock) carry the SOURCE_DATE_EPOCH, as gen_init_cpio's `-t`; file mtimes
// newer than it are lowered to it; inode numbers count up from 721 in writing order; compressed
// output has no timestamps or host names in it.

import Foundation
import UserInput

public enum InitramfsCompression: String, CaseIterable, Sendable {
    case gzip, xz, zstd, none
}

/// An xz branch/call/jump filter (`xz --x86` and the like): machine code's relative branch targets turned
/// absolute before LZMA2, so that repeated calls compress as repeats. The kernel unpacks it only when built
/// with the matching `CONFIG_XZ_DEC_*`.
public enum XzBranchFilter: String, CaseIterable, Sendable {
    case x86, powerpc, ia64, arm, armthumb, arm64, sparc

    /// liblzma's `LZMA_FILTER_*` numbers, which Swift cannot import from their macros.
    var liblzmaID: UInt64 {
        switch self {
        case .x86: 0x04
        case .powerpc: 0x05
        case .ia64: 0x06
        case .arm: 0x07
        case .armthumb: 0x08
        case .sparc: 0x09
        case .arm64: 0x0A
        }
    }
}

/// One input of an initramfs: a host directory tree or a gen_init_cpio list.
public struct InitramfsSource: Sendable, Equatable {
    enum Input: Sendable, Equatable {
        case directory(URL, mountPoint: String)
        case listFile(URL)
        case listText(String, name: String, baseDirectory: URL)
    }

    let input: Input

    /// The tree under `root` (symlinks are not followed), placed at `mountPoint` in the archive.
    public static func directory(_ root: URL, at mountPoint: String = "/") -> InitramfsSource {
        InitramfsSource(input: .directory(root, mountPoint: mountPoint))
    }

    /// A gen_init_cpio list file; its relative `<location>`s are found from the list's folder.
    public static func list(_ file: URL) -> InitramfsSource {
        InitramfsSource(input: .listFile(file))
    }

    /// A gen_init_cpio list given as text; `name` is what errors call it.
    public static func listText(_ text: String, name: String, baseDirectory: URL) -> InitramfsSource {
        InitramfsSource(input: .listText(text, name: name, baseDirectory: baseDirectory))
    }

    func entries(linkGroups: inout Int) throws -> [InitramfsEntry] {
        switch input {
        case let .directory(root, mountPoint):
            return try DirectoryTreeReader(root: root).entries(mountedAt: mountPoint, linkGroups: &linkGroups)
        case let .listFile(file):
            let bytes: [UInt8]
            do {
                bytes = try UserFile.read(file.path, limit: UserFile.Limit.text)
            } catch {
                throw InitramfsError.inputUnreadable(path: file.path, reason: error.reason)
            }
            return try CpioListParser(fileName: file.path, baseDirectory: file.deletingLastPathComponent())
                .entries(of: bytes, linkGroups: &linkGroups)
        case let .listText(text, name, baseDirectory):
            return try CpioListParser(fileName: name, baseDirectory: baseDirectory)
                .entries(of: Array(text.utf8), linkGroups: &linkGroups)
        }
    }
}

public struct InitramfsSummary: Sendable, Equatable {
    /// Entries in the archive, not counting the TRAILER!!! record.
    public var entryCount: Int
    public var uncompressedSize: UInt64
    public var compressedSize: UInt64
}

public struct InitramfsPacker: Sendable {
    /// Changes whenever the same inputs would give other bytes (for stage keys).
    public static let formatVersion = "newc-1 gzip-blocks-512k-9"

    public var sourceDateEpoch: Int64
    /// The most file data an archive may hold; checked before anything is written.
    public var sizeLimit: UInt64
    /// Applied before LZMA2 when the compression is xz.
    public var xzBranchFilter: XzBranchFilter?

    public static let defaultSizeLimit: UInt64 = 1 << 30

    public init(sourceDateEpoch: Int64, sizeLimit: UInt64 = defaultSizeLimit) {
        self.sourceDateEpoch = sourceDateEpoch
        self.sizeLimit = sizeLimit
    }

    /// Hard links carry their data once.
    func checkSize(_ entries: [InitramfsEntry]) throws {
        var files: [Int: InitramfsFileSize] = [:]
        for entry in entries {
            guard case .file(let content) = entry.kind else { continue }
            files[content.linkGroup] = InitramfsFileSize(path: entry.path, size: UInt64(content.size), origin: entry.origin)
        }
        let total = files.values.reduce(0) { $0 + $1.size }
        guard total > sizeLimit else { return }
        let largest = files.values.sorted { ($0.size, $1.path) > ($1.size, $0.path) }.prefix(5)
        throw InitramfsError.tooLarge(total: total, limit: sizeLimit, largest: Array(largest))
    }

    /// Every entry the kernel could not unpack as written (see `KernelLimits`), all at once.
    func checkKernelLimits(_ entries: [InitramfsEntry]) throws {
        let problems = entries.compactMap { entry in
            entry.kernelLimitProblem.map { InitramfsError.unpackable(entry.origin, name: entry.path, problem: $0) }
        }
        if problems.count == 1, let problem = problems.first { throw problem }
        if !problems.isEmpty { throw InitramfsError.several(problems) }
    }

    /// Writes the archive to a temporary file beside `destination` and renames it into place, so
    /// that `destination` is either the previous file or the complete new archive.
    public func pack(
        _ sources: [InitramfsSource], to destination: URL, compression: InitramfsCompression = .gzip
    ) throws -> InitramfsSummary {
        guard let epoch = UInt32(exactly: sourceDateEpoch) else {
            throw InitramfsError.sourceDateEpochOutOfRange(sourceDateEpoch)
        }
        // A link, device, FIFO or folder under the archive's name is refused before any work (see OutputPath).
        do {
            try OutputPath.checkFile(destination.path)
        } catch {
            throw InitramfsError.outputFailed(path: destination.path, reason: error.reason)
        }
        var linkGroups = 0
        let entries = try assembleArchiveEntries(sources.map { try $0.entries(linkGroups: &linkGroups) })
        try checkSize(entries)
        try checkKernelLimits(entries)

        TemporaryName.removeStale(beside: destination)
        let temporary = TemporaryName.beside(destination, tag: String(UUID().uuidString.prefix(8)))
        do {
            let output = try OutputFile(creating: temporary.path, reportingAs: destination.path)
            let sink = try compression.sink(writingTo: output, xzBranchFilter: xzBranchFilter)
            var writer = NewcWriter(sink: sink, sourceDateEpoch: epoch)
            try writer.write(entries)
            try sink.finish()
            guard rename(temporary.path, destination.path) == 0 else {
                throw InitramfsError.outputFailed(path: destination.path, reason: UserFile.systemReason(errno))
            }
            return InitramfsSummary(
                entryCount: entries.count,
                uncompressedSize: writer.bytesWritten,
                compressedSize: output.bytesWritten)
        } catch {
            unlink(temporary.path)
            throw error
        }
    }
}

extension InitramfsSource {
    /// One line per entry this input contributes, with everything the archive stores about it except file
    /// data (name, type, mode, owner, device numbers, link target, hard-link group, mtime as stored given
    /// `sourceDateEpoch`), and the host file whose data it carries. A build hashes these lines and files to
    /// decide whether the archive must be written again.
    public func contentDescription(sourceDateEpoch: Int64) throws -> [(line: String, file: String?)] {
        var linkGroups = 0
        return try entries(linkGroups: &linkGroups).map { entry in
            var line = "\(entry.path) \(String(entry.kind.typeBits | entry.permissions, radix: 8)) \(entry.uid):\(entry.gid)"
            var file: String?
            switch entry.kind {
            case .file(let content):
                line += " size=\(content.size) mtime=\(min(content.modificationTime, sourceDateEpoch)) link=\(content.linkGroup)"
                file = content.hostPath
            case .symlink(let target): line += " -> \(target)"
            case .characterDevice(let major, let minor), .blockDevice(let major, let minor): line += " \(major):\(minor)"
            case .directory, .fifo, .socket: break
            }
            return (line, file)
        }
    }
}

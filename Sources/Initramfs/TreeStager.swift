import Foundation
import UserInput

/// What a staged directory cannot hold without root, to be applied to a file system image afterwards
/// (e.g. with `debugfs -w`, which needs no root either).
public enum StagedFixup: Sendable, Equatable {
    /// The entry's owner, when it differs from the user who staged the tree.
    case owner(path: String, uid: UInt32, gid: UInt32)
    /// A character or block device, a FIFO or a socket: `mode` has the type and permission bits.
    case node(path: String, mode: UInt32, major: UInt32, minor: UInt32, uid: UInt32, gid: UInt32)
}

public struct StagedTree: Sendable {
    /// Every path of the tree, without the leading `/`, in archive order (parents first).
    public var paths: [String]
    public var fixups: [StagedFixup]

    public init(paths: [String], fixups: [StagedFixup]) {
        self.paths = paths
        self.fixups = fixups
    }
}

extension InitramfsPacker {
    /// Writes the entries `pack` would archive into `directory` (which must be empty or absent) as files,
    /// directories, symlinks and hard links, with the same permissions and times (files: their mtime lowered to
    /// SOURCE_DATE_EPOCH; everything else: SOURCE_DATE_EPOCH). Owners and special files, which need root, are
    /// returned as fixups instead. For building a root file system image of the same tree as the initramfs.
    public func stage(_ sources: [InitramfsSource], into directory: URL) throws -> StagedTree {
        var linkGroups = 0
        let entries = try assembleArchiveEntries(sources.map { try $0.entries(linkGroups: &linkGroups) })
        let fileManager = FileManager.default
        func failure(_ path: String, _ reason: String) -> InitramfsError {
            .outputFailed(path: path, reason: reason)
        }
        do {
            try fileManager.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw failure(directory.path, UserFile.reason(of: error))
        }
        let myUID = getuid()
        let myGID = getgid()
        var firstOfGroup: [Int: String] = [:]
        var fixups: [StagedFixup] = []
        var directories: [(String, UInt32)] = []
        for entry in entries {
            let host = directory.appendingPathComponent(entry.path).path
            var time = sourceDateEpoch
            switch entry.kind {
            case .directory:
                if mkdir(host, 0o700) != 0, errno != EEXIST { throw failure(host, UserFile.systemReason(errno)) }
                directories.append((host, entry.permissions))
            case .file(let content):
                time = min(content.modificationTime, sourceDateEpoch)
                if let first = firstOfGroup[content.linkGroup] {
                    guard link(first, host) == 0 else { throw failure(host, UserFile.systemReason(errno)) }
                    continue
                }
                firstOfGroup[content.linkGroup] = host
                unlink(host)
                guard copyfile(from: content.hostPath, to: host) else { throw failure(host, "cannot copy \(content.hostPath): \(UserFile.systemReason(errno))") }
                chmod(host, mode_t(entry.permissions))
            case .symlink(let target):
                unlink(host)
                guard symlink(target, host) == 0 else { throw failure(host, UserFile.systemReason(errno)) }
            case .characterDevice(let major, let minor):
                fixups.append(.node(path: entry.path, mode: 0o020000 | entry.permissions, major: major, minor: minor, uid: entry.uid, gid: entry.gid))
                continue
            case .blockDevice(let major, let minor):
                fixups.append(.node(path: entry.path, mode: 0o060000 | entry.permissions, major: major, minor: minor, uid: entry.uid, gid: entry.gid))
                continue
            case .fifo, .socket:
                fixups.append(.node(path: entry.path, mode: entry.kind.typeBits | entry.permissions, major: 0, minor: 0, uid: entry.uid, gid: entry.gid))
                continue
            }
            if entry.uid != myUID || entry.gid != myGID { fixups.append(.owner(path: entry.path, uid: entry.uid, gid: entry.gid)) }
            var times = [timespec(tv_sec: Int(time), tv_nsec: 0), timespec(tv_sec: Int(time), tv_nsec: 0)]
            utimensat(AT_FDCWD, host, &times, AT_SYMLINK_NOFOLLOW)
        }
        // Permissions and times of directories last: filling a directory changes its mtime, and a read-only
        // one could not be filled.
        for (host, permissions) in directories.reversed() {
            chmod(host, mode_t(permissions))
            var times = [timespec(tv_sec: Int(sourceDateEpoch), tv_nsec: 0), timespec(tv_sec: Int(sourceDateEpoch), tv_nsec: 0)]
            utimensat(AT_FDCWD, host, &times, 0)
        }
        return StagedTree(paths: entries.map(\.path), fixups: fixups)
    }
}

private func copyfile(from source: String, to destination: String) -> Bool {
    let input = open(source, O_RDONLY | O_CLOEXEC)
    guard input >= 0 else { return false }
    defer { close(input) }
    let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard output >= 0 else { return false }
    defer { close(output) }
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
        if count == 0 { return true }
        if count < 0 { return false }
        var written = 0
        while written < count {
            let result = buffer.withUnsafeBytes { bytes -> Int in
                guard let base = bytes.baseAddress else { return -1 }
                return write(output, base + written, count - written)
            }
            if result <= 0 { return false }
            written += result
        }
    }
}

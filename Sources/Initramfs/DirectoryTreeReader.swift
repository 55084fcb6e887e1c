import Foundation
import UserInput

/// Reads a host directory tree into entries, never following a symlink, in byte-wise order of
/// their archive paths (as gen_initramfs.sh's `LC_ALL=C sort`), so parents precede children.
/// Owners become 0:0; permission bits are the files'. Regular files with several names in the
/// tree (same device and inode) stay hard links. Directories, like every entry but files, are
/// stamped with the SOURCE_DATE_EPOCH when written, as gen_init_cpio stamps its `dir` entries:
/// a directory's host mtime only says when something in it last changed.
struct DirectoryTreeReader {
    var root: URL

    private struct HostInode: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    func entries(mountedAt mountPoint: String, linkGroups: inout Int) throws -> [InitramfsEntry] {
        let rootLocation = InitramfsInputLocation(file: root.path, line: nil, text: mountPoint)
        guard let mountPath = normalisedArchivePath(mountPoint) else {
            throw InitramfsError.unsafeName(rootLocation, name: mountPoint)
        }
        // stat, not lstat: the root given by the caller may be a symlink to the tree.
        var rootInfo = stat()
        guard stat(root.path, &rootInfo) == 0 else {
            throw InitramfsError.inputUnreadable(path: root.path, reason: UserFile.systemReason(errno))
        }
        guard rootInfo.st_mode & S_IFMT == S_IFDIR else {
            throw InitramfsError.inputUnreadable(path: root.path, reason: "it is \(UserFile.kind(of: rootInfo.st_mode)), not a directory")
        }

        var found: [(relativePath: String, info: stat)] = []
        try walk("", into: &found)

        var entries: [InitramfsEntry] = []
        if !mountPath.isEmpty {
            entries.append(InitramfsEntry(
                path: mountPath, kind: .directory, permissions: UInt32(rootInfo.st_mode) & 0o7777, origin: rootLocation))
        }
        var linkGroupOfInode: [HostInode: Int] = [:]
        for (relativePath, info) in found {
            let at = InitramfsInputLocation(file: root.path, line: nil, text: relativePath)
            let hostPath = root.appendingPathComponent(relativePath).path
            let kind: InitramfsEntry.Kind
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                kind = .directory
            case S_IFREG:
                let inode = HostInode(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
                let group = linkGroupOfInode[inode] ?? linkGroups
                if group == linkGroups {
                    linkGroupOfInode[inode] = group
                    linkGroups += 1
                }
                kind = .file(try FileContent(host: hostPath, info: info, linkGroup: group, at: at))
            case S_IFLNK:
                kind = .symlink(target: try symlinkTarget(of: hostPath))
            case S_IFCHR:
                kind = .characterDevice(major: majorNumber(info.st_rdev), minor: minorNumber(info.st_rdev))
            case S_IFBLK:
                kind = .blockDevice(major: majorNumber(info.st_rdev), minor: minorNumber(info.st_rdev))
            case S_IFIFO:
                kind = .fifo
            default:
                kind = .socket  // S_IFSOCK, the only type left
            }
            let path = mountPath.isEmpty ? relativePath : "\(mountPath)/\(relativePath)"
            let entry = InitramfsEntry(path: path, kind: kind, permissions: UInt32(info.st_mode) & 0o7777, origin: at)
            // Checked here, not only when packing: whoever reads the tree's entries (validate, the stage key) sees it.
            if let problem = entry.kernelLimitProblem { throw InitramfsError.unpackable(at, name: path, problem: problem) }
            entries.append(entry)
        }
        return entries.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    private func walk(_ relativeDirectory: String, into found: inout [(relativePath: String, info: stat)]) throws {
        let directory = relativeDirectory.isEmpty ? root : root.appendingPathComponent(relativeDirectory)
        for name in try names(in: directory) {
            let relativePath = relativeDirectory.isEmpty ? name : "\(relativeDirectory)/\(name)"
            let hostPath = directory.appendingPathComponent(name).path
            var info = stat()
            guard lstat(hostPath, &info) == 0 else {
                throw InitramfsError.inputUnreadable(path: hostPath, reason: UserFile.systemReason(errno))
            }
            found.append((relativePath, info))
            if info.st_mode & S_IFMT == S_IFDIR {
                try walk(relativePath, into: &found)
            }
        }
    }

    /// The names in `directory` as the file system holds them (bytes), each checked to be UTF-8: Foundation would
    /// turn a Latin-1 name into one with U+FFFD in it, which then names no file.
    private func names(in directory: URL) throws -> [String] {
        guard let stream = opendir(directory.path) else {
            throw InitramfsError.inputUnreadable(path: directory.path, reason: UserFile.systemReason(errno))
        }
        defer { closedir(stream) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                guard errno == 0 else { throw InitramfsError.inputUnreadable(path: directory.path, reason: UserFile.systemReason(errno)) }
                return names
            }
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if bytes == Array(".".utf8) || bytes == Array("..".utf8) { continue }
            guard let name = String(validating: bytes, as: UTF8.self) else {
                throw InitramfsError.inputUnreadable(
                    path: directory.path + "/" + UserText.escaped(bytes: bytes),
                    reason: "its name is not UTF-8; bspgen writes archive names as UTF-8 text: rename it")
            }
            names.append(name)
        }
    }

    /// The link's target as stored (bytes, up to PATH_MAX), checked to be UTF-8.
    private func symlinkTarget(of path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: KernelLimits.pathSize + 1)
        let count = readlink(path, &buffer, buffer.count)
        let bytes = buffer.prefix(max(0, count)).map { UInt8(bitPattern: $0) }
        guard count >= 0 else { throw InitramfsError.inputUnreadable(path: path, reason: UserFile.systemReason(errno)) }
        guard let target = String(validating: bytes, as: UTF8.self) else {
            throw InitramfsError.inputUnreadable(
                path: path, reason: "its target '\(UserText.escaped(bytes: bytes))' is not UTF-8; bspgen writes link targets as UTF-8 text")
        }
        return target
    }
}

// Linux's dev_t layout (glibc's major() and minor() macros, which Swift cannot import).
private func majorNumber(_ device: dev_t) -> UInt32 {
    UInt32(truncatingIfNeeded: ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff))
}

private func minorNumber(_ device: dev_t) -> UInt32 {
    UInt32(truncatingIfNeeded: (device & 0xff) | ((device >> 12) & ~0xff))
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Why a file named by the user cannot be read or written. `reason` is a complete clause ("it is a FIFO (named
/// pipe), not a regular file"), so callers can put it into their own errors after the path.
public struct UserFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "'\(UserText.escaped(path))': \(reason)" }
}

/// Reading files the user named (dtbs, cpio lists, fragments, templates): regular files only, never more than a
/// limit. A FIFO would block bspgen until something writes to it, `/dev/zero` or `/dev/urandom` would be read
/// until memory runs out, a folder is not a file at all; all are refused before a byte is read, with what they are.
public enum UserFile {
    /// Size limits by kind of input: far beyond any real one, small enough to hold in memory.
    public enum Limit {
        /// The largest real dtbs are a few hundred KiB.
        public static let deviceTree = 32 << 20
        /// gen_init_cpio lists, Kconfig fragments and `.config` files (a full `.config` is about 200 KiB).
        public static let text = 16 << 20
    }

    /// The whole file at `path` (a link to a regular file is fine), refusing anything that is not a regular file
    /// and any file larger than `limit` bytes, including one that grows past it while being read (`/proc`).
    public static func read(_ path: String, limit: Int) throws(UserFileError) -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else { throw UserFileError(path: path, reason: systemReason(errno)) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw UserFileError(path: path, reason: "it is \(kind(of: info.st_mode)), not a regular file")
        }
        guard info.st_size <= limit else { throw tooLarge(path, limit: limit) }
        // O_NONBLOCK: should the name have been swapped for a FIFO since stat, open must not wait for a writer.
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard descriptor >= 0 else { throw UserFileError(path: path, reason: systemReason(errno)) }
        defer { close(descriptor) }
        var opened = stat()
        guard fstat(descriptor, &opened) == 0, opened.st_mode & S_IFMT == S_IFREG else {
            throw UserFileError(path: path, reason: "it changed into \(kind(of: opened.st_mode)) while being opened, not a regular file")
        }
        var contents: [UInt8] = []
        contents.reserveCapacity(Int(opened.st_size))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return contents }
            if count < 0 {
                if errno == EINTR { continue }
                throw UserFileError(path: path, reason: systemReason(errno))
            }
            guard contents.count + count <= limit else { throw tooLarge(path, limit: limit) }
            contents += chunk[..<count]
        }
    }

    private static func tooLarge(_ path: String, limit: Int) -> UserFileError {
        UserFileError(path: path, reason: "it is larger than \(sizeText(limit)), the most bspgen reads for this kind of file")
    }

    /// What a file of `mode` is, with an article: "a FIFO (named pipe)", "a folder".
    public static func kind(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: "a regular file"
        case S_IFDIR: "a folder"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFIFO: "a FIFO (named pipe)"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        default: "a special file"
        }
    }

    /// The system's words for `code`, in lower case after "it": "no such file or directory".
    public static func systemReason(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }

    static func sizeText(_ bytes: Int) -> String {
        bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : bytes >= 1 << 10 ? "\(bytes >> 10) KiB" : "\(bytes) bytes"
    }
}

/// Where bspgen may put a file or folder the user named (`-o`, the dtb `dt set` edits, `--out`'s board folders).
/// bspgen writes a new file beside the name and renames it over the name, so that a reader sees the old file or the
/// whole new one. Renaming over a symbolic link replaces the link instead of writing where it points; over a device
/// or a FIFO it would replace a special file (as root, `-o /dev/null` would replace the system's). So a name that is
/// anything but a regular file (or, for folders, a real folder) is refused, links included, whatever they point to:
/// name the link's target instead.
public enum OutputPath {
    /// Throws when `path` exists as anything other than a regular file, or when its folder does not exist (with
    /// `folderMustExist`) or is not a folder.
    public static func checkFile(_ path: String, folderMustExist: Bool = true) throws(UserFileError) {
        var info = stat()
        if lstat(path, &info) == 0 {
            let type = info.st_mode & S_IFMT
            guard type != S_IFREG else { return }
            throw UserFileError(path: path, reason: refusal(path, type: type, expected: "a regular file"))
        }
        guard errno == ENOENT || errno == ENOTDIR else { throw UserFileError(path: path, reason: systemReason(errno)) }
        try checkFolder(of: path, mustExist: folderMustExist)
    }

    /// Throws when `path` exists as anything other than a real folder (a link to one included, unless
    /// `linkAllowed`: a folder the user named, such as `--out`, is written into, never replaced).
    public static func checkFolder(_ path: String, linkAllowed: Bool = false) throws(UserFileError) {
        var info = stat()
        guard (linkAllowed ? stat(path, &info) : lstat(path, &info)) == 0 else {
            guard errno == ENOENT else { throw UserFileError(path: path, reason: systemReason(errno)) }
            return
        }
        let type = info.st_mode & S_IFMT
        guard type != S_IFDIR else { return }
        throw UserFileError(path: path, reason: refusal(path, type: type, expected: "a folder"))
    }

    private static func checkFolder(of path: String, mustExist: Bool) throws(UserFileError) {
        let folder = parent(of: path)
        var info = stat()
        guard stat(folder, &info) == 0 else {
            if errno == ENOENT && !mustExist { return }
            if errno == ENOENT {
                throw UserFileError(path: path, reason: "its folder '\(UserText.escaped(folder))' does not exist; create it first")
            }
            if errno == ENOTDIR {
                throw UserFileError(path: path, reason: "a part of its folder '\(UserText.escaped(folder))' is a file, not a folder")
            }
            throw UserFileError(path: path, reason: "its folder '\(UserText.escaped(folder))': \(systemReason(errno))")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw UserFileError(path: path, reason: "its folder '\(UserText.escaped(folder))' is \(UserFile.kind(of: info.st_mode)), not a folder")
        }
    }

    private static func refusal(_ path: String, type: mode_t, expected: String) -> String {
        if type == S_IFLNK {
            var buffer = [CChar](repeating: 0, count: 4097)
            let count = readlink(path, &buffer, buffer.count - 1)
            let target = count >= 0 ? String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
            return "it is a symbolic link (to '\(UserText.escaped(target))'); bspgen would replace the link, not write where it "
                + "points, so it refuses links: name the target itself"
        }
        return "it is \(UserFile.kind(of: type)), not \(expected); bspgen replaces what is there and refuses to replace that: "
            + "choose another name"
    }

    static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    private static func systemReason(_ code: Int32) -> String { UserFile.systemReason(code) }
}

extension UserFile {
    /// The system's reason behind a Foundation error, in the words of `systemReason` ("no space left on device"),
    /// never "The operation could not be completed" or "NSCocoaErrorDomain error 256".
    public static func reason(of error: any Error) -> String {
        if let error = error as? UserFileError { return error.reason }
        let object = error as NSError
        if object.domain == NSPOSIXErrorDomain { return systemReason(Int32(object.code)) }
        if let underlying = object.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return systemReason(Int32(underlying.code))
        }
        if object.domain == NSCocoaErrorDomain {
            switch CocoaError.Code(rawValue: object.code) {
            case .fileNoSuchFile, .fileReadNoSuchFile: return systemReason(ENOENT)
            case .fileWriteOutOfSpace: return systemReason(ENOSPC)
            case .fileReadNoPermission, .fileWriteNoPermission: return systemReason(EACCES)
            case .fileWriteVolumeReadOnly: return systemReason(EROFS)
            case .fileWriteFileExists: return systemReason(EEXIST)
            case .fileReadTooLarge: return systemReason(EFBIG)
            case .fileReadInapplicableStringEncoding, .fileReadCorruptFile, .fileWriteInapplicableStringEncoding: return "it is not UTF-8 text"
            case .fileLocking: return "it cannot be locked"
            default: return "it cannot be read or written (Foundation error \(object.code))"
            }
        }
        return object.localizedFailureReason ?? "\(object.domain) error \(object.code)"
    }
}

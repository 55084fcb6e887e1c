#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Plain POSIX file access, so errors carry the system's own words (`No such file or directory`).
enum File {
    static func readAll(_ path: String, operation: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw systemError(operation) }
        defer { close(descriptor) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return contents }
            if count < 0 {
                if errno == EINTR { continue }
                throw systemError(operation)
            }
            contents += chunk[..<count]
        }
    }

    /// Writes to a temporary file beside `path` and renames it over `path`, so readers see the old
    /// file or the new one, never a half-written one. An existing file's permissions are kept.
    static func writeAtomically(_ bytes: [UInt8], to path: String, operation: String) throws {
        var template = Array((path + ".tmp-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.map { mkstemp($0) } ?? -1
        }
        guard descriptor >= 0 else { throw systemError(operation) }
        let temporary = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var renamed = false
        defer { if !renamed { unlink(temporary) } }

        var existing = stat()
        let mode = stat(path, &existing) == 0 ? existing.st_mode & 0o7777 : 0o644
        var written = 0
        var failure: DeviceTreeError?
        while written < bytes.count, failure == nil {
            let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress.map { $0 + written }, bytes.count - written) }
            if count > 0 {
                written += count
            } else if !(count < 0 && errno == EINTR) {
                failure = systemError(operation)
            }
        }
        if failure == nil, fchmod(descriptor, mode) != 0 || fsync(descriptor) != 0 { failure = systemError(operation) }
        if close(descriptor) != 0, failure == nil { failure = systemError(operation) }
        if let failure { throw failure }
        guard rename(temporary, path) == 0 else { throw systemError(operation) }
        renamed = true
    }

    private static func systemError(_ operation: String) -> DeviceTreeError {
        DeviceTreeError(operation: operation, message: String(cString: strerror(errno)))
    }
}

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

    private static func systemError(_ operation: String) -> DeviceTreeError {
        DeviceTreeError(operation: operation, message: String(cString: strerror(errno)))
    }
}

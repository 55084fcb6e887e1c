import UserInput

/// Reading blobs the user named: regular files only, at most `UserFile.Limit.deviceTree` bytes, so a FIFO cannot
/// block bspgen and `/dev/zero` cannot fill its memory. Errors carry the system's own words.
enum File {
    static func readAll(_ path: String, operation: String) throws -> [UInt8] {
        do {
            return try UserFile.read(path, limit: UserFile.Limit.deviceTree)
        } catch {
            throw DeviceTreeError(operation: operation, message: error.reason)
        }
    }
}

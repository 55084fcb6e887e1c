import CZlib
import Foundation

/// Why a file is not in the format it should be.
public struct ArtifactFormatError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// The ext4 superblock of `rootfs.ext4`.
public enum Ext4Superblock {
    /// Magic 0xEF53 and the volume name.
    public static func summary(_ data: Data) throws(ArtifactFormatError) -> String {
        let bytes = [UInt8](data.prefix(2048))
        guard bytes.count == 2048, bytes[1024 + 56] == 0x53, bytes[1024 + 57] == 0xEF else { throw ArtifactFormatError("no ext2/3/4 superblock magic at 1080") }
        let label = String(decoding: bytes[(1024 + 120)..<(1024 + 136)].prefix { $0 != 0 }, as: UTF8.self)
        return "ext4, label '\(label)', \(data.count >> 20) MiB"
    }
}

/// U-Boot's legacy image header (`mkimage -T script`, `uImage`): 64 big-endian bytes with CRC32s of itself and
/// of the data.
public struct UBootLegacyImage: Sendable {
    public static let magic: UInt32 = 0x2705_1956
    public static let scriptType: UInt8 = 6
    public var type: UInt8
    public var name: String
    public var payload: Data

    public init(_ data: Data) throws(ArtifactFormatError) {
        let bytes = [UInt8](data)
        guard bytes.count >= 64 else { throw ArtifactFormatError("\(bytes.count) bytes: shorter than a U-Boot image header") }
        func u32(_ offset: Int) -> UInt32 { bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        guard u32(0) == Self.magic else { throw ArtifactFormatError("no U-Boot image magic 0x27051956") }
        var header = Array(bytes[0..<64])
        header.replaceSubrange(4..<8, with: [0, 0, 0, 0])
        guard Self.crc32(header) == u32(4) else { throw ArtifactFormatError("the header CRC does not match") }
        let size = Int(u32(12))
        guard 64 + size <= bytes.count else { throw ArtifactFormatError("the header announces \(size) data bytes, the file has \(bytes.count - 64)") }
        let payload = Array(bytes[64..<64 + size])
        guard Self.crc32(payload) == u32(24) else { throw ArtifactFormatError("the data CRC does not match") }
        type = bytes[30]
        name = String(decoding: bytes[32..<64].prefix { $0 != 0 }, as: UTF8.self)
        self.payload = Data(payload)
    }

    /// A script image's data is a list of part sizes ending in 0, then the parts; the first part is the script.
    public func scriptText() -> Data {
        let bytes = [UInt8](payload)
        guard bytes.count >= 8 else { return Data() }
        let size = Int(bytes[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        return Data(bytes.dropFirst(8).prefix(size))
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(CZlib.crc32(0, $0.baseAddress, UInt32($0.count))) }
    }
}


import CZlib
import Foundation
import UserInput

/// A 16-byte GUID as GPT stores it: the first three fields little-endian, the rest as written.
public struct GUID: Sendable, Hashable, CustomStringConvertible {
    /// The 16 bytes in the order of the textual form (big-endian fields).
    public let bytes: [UInt8]

    public init?(_ text: String) {
        let hex = text.replacingOccurrences(of: "-", with: "")
        guard hex.count == 32, text.count == 36 else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.bytes = bytes
    }

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16)
        self.bytes = bytes
    }

    /// A version-4-style GUID made from a hash, so that the same image gets the same identifiers every time.
    public init(derivedFrom digest: [UInt8]) {
        var bytes = Array(digest.prefix(16))
        while bytes.count < 16 { bytes.append(0) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        self.bytes = bytes
    }

    /// GPT's on-disk order.
    public var mixedEndian: [UInt8] {
        [bytes[3], bytes[2], bytes[1], bytes[0], bytes[5], bytes[4], bytes[7], bytes[6]] + bytes[8...]
    }

    public init(mixedEndian raw: some Collection<UInt8>) {
        let b = Array(raw)
        self.init(bytes: [b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]] + b[8..<16])
    }

    public var description: String {
        let hex = bytes.map { String(format: "%02X", $0) }.joined()
        let cuts = [8, 12, 16, 20]
        var text = ""
        for (index, character) in hex.enumerated() {
            if cuts.contains(index) { text += "-" }
            text.append(character)
        }
        return text
    }

    // Every literal below is a well-formed GUID; a typo would fail the unit tests, which check these values.
    public static let efiSystem = GUID(bytes: [0xC1, 0x2A, 0x73, 0x28, 0xF8, 0x1F, 0x11, 0xD2, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B])
    public static let basicData = GUID(bytes: [0xEB, 0xD0, 0xA0, 0xA2, 0xB9, 0xE5, 0x44, 0x33, 0x87, 0xC0, 0x68, 0xB6, 0xB7, 0x26, 0x99, 0xC7])
    public static let linuxFilesystem = GUID(bytes: [0x0F, 0xC6, 0x3D, 0xAF, 0x84, 0x83, 0x47, 0x72, 0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4])
}

public enum PartitionTableFormat: String, Sendable, Codable {
    case mbr, gpt
}

/// What a partition is, in both tables' terms.
public struct PartitionKind: Sendable, Hashable {
    public var gptType: GUID
    public var mbrType: UInt8

    public init(gptType: GUID, mbrType: UInt8) {
        self.gptType = gptType
        self.mbrType = mbrType
    }

    public static let efiSystem = PartitionKind(gptType: .efiSystem, mbrType: 0xEF)
    /// FAT32 with LBA addressing.
    public static let fat = PartitionKind(gptType: .basicData, mbrType: 0x0C)
    public static let linux = PartitionKind(gptType: .linuxFilesystem, mbrType: 0x83)
}

/// One partition of a planned or read-back table. Sizes are in 512-byte sectors.
public struct Partition: Sendable, Hashable {
    public var name: String
    public var kind: PartitionKind
    public var firstSector: Int
    public var sectorCount: Int
    public var bootable: Bool
    /// GPT's unique partition GUID (nil in an MBR table).
    public var uniqueID: GUID?

    public init(name: String, kind: PartitionKind, firstSector: Int, sectorCount: Int, bootable: Bool = false, uniqueID: GUID? = nil) {
        self.name = name
        self.kind = kind
        self.firstSector = firstSector
        self.sectorCount = sectorCount
        self.bootable = bootable
        self.uniqueID = uniqueID
    }

    public var offset: Int { firstSector * PartitionTable.sectorSize }
    public var size: Int { sectorCount * PartitionTable.sectorSize }
}

public enum DiskImageError: Error, CustomStringConvertible, Equatable {
    case layout(String)
    case malformed(file: String, message: String)
    case io(path: String, message: String)

    public var description: String {
        switch self {
        case .layout(let message): "disk layout: \(message)"
        case let .malformed(file, message): "\(file): not a valid partition table: \(message)"
        case let .io(path, message): "\(path): \(message)"
        }
    }
}

/// An MBR or GPT partition table for a disk image: planned from partition sizes (1 MiB aligned), encoded to
/// the exact sectors, and read back from an image with its checksums verified.
public struct PartitionTable: Sendable, Equatable {
    public static let sectorSize = 512
    /// Partitions start on 1 MiB boundaries, as fdisk and SD-card erase blocks like.
    public static let alignmentSectors = 2048
    static let gptEntryCount = 128
    static let gptEntrySize = 128
    static var gptEntrySectors: Int { gptEntryCount * gptEntrySize / sectorSize }

    public var format: PartitionTableFormat
    public var partitions: [Partition]
    public var totalSectors: Int
    /// GPT disk GUID.
    public var diskID: GUID?
    /// MBR disk signature (bytes 440–443).
    public var diskSignature: UInt32

    public var totalSize: Int { totalSectors * Self.sectorSize }

    /// Lays partitions out one after the other from 1 MiB, each rounded up to 1 MiB, with room at the end for
    /// GPT's backup table. Identifiers are derived from `seed`, so the same image gets the same ones.
    /// `diskSize` makes the disk that large (a card's size; QEMU's SD cards must be a power of two).
    public static func plan(_ format: PartitionTableFormat, partitions requests: [(name: String, kind: PartitionKind, size: Int, bootable: Bool)],
                            seed: String, diskSize: Int? = nil) throws(DiskImageError) -> PartitionTable {
        guard !requests.isEmpty else { throw .layout("no partitions") }
        let limit = format == .mbr ? 4 : gptEntryCount
        guard requests.count <= limit else { throw .layout("\(requests.count) partitions; \(format.rawValue) holds at most \(limit)") }
        var next = alignmentSectors
        var partitions: [Partition] = []
        for (index, request) in requests.enumerated() {
            guard request.size > 0 else { throw .layout("partition \(request.name) has no size") }
            let sectors = (request.size + alignmentSectors * sectorSize - 1) / (alignmentSectors * sectorSize) * alignmentSectors
            let unique: GUID? = format == .gpt ? GUID(derivedFrom: digest("\(seed)/partition/\(index)/\(request.name)")) : nil
            partitions.append(Partition(name: request.name, kind: request.kind, firstSector: next, sectorCount: sectors,
                                        bootable: request.bootable, uniqueID: unique))
            next += sectors
        }
        // MBR needs nothing after the last partition; GPT's backup entries and header need 33 sectors: keep 1 MiB.
        let needed = format == .gpt ? next + alignmentSectors : next
        var total = needed
        if let diskSize {
            guard diskSize % sectorSize == 0, diskSize / sectorSize >= needed else {
                throw .layout("a disk of \(diskSize) bytes cannot hold these partitions: they need \(needed * sectorSize) bytes (whole sectors)")
            }
            total = diskSize / sectorSize
        }
        if format == .mbr, total > Int(UInt32.max) { throw .layout("the disk is too large for an MBR table (2 TiB)") }
        let signatureBytes = digest("\(seed)/disk")
        let signature = signatureBytes.prefix(4).enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) }
        return PartitionTable(format: format, partitions: partitions, totalSectors: total,
                              diskID: format == .gpt ? GUID(derivedFrom: signatureBytes) : nil, diskSignature: signature)
    }

    /// The table's sectors by their sector number: MBR alone; for GPT the protective MBR, the primary header and
    /// entries, and the backup entries and header at the end of the disk.
    public func encodedSectors() -> [(sector: Int, bytes: [UInt8])] {
        switch format {
        case .mbr:
            return [(0, mbrSector(entries: partitions.map { ($0.kind.mbrType, $0.firstSector, $0.sectorCount, $0.bootable) }))]
        case .gpt:
            let protective = mbrSector(entries: [(0xEE, 1, min(totalSectors - 1, Int(UInt32.max)), false)])
            var entries = [UInt8](repeating: 0, count: Self.gptEntryCount * Self.gptEntrySize)
            for (index, partition) in partitions.enumerated() {
                var entry = partition.kind.gptType.mixedEndian + (partition.uniqueID ?? GUID(bytes: Array(repeating: 0, count: 16))).mixedEndian
                entry += le64(partition.firstSector) + le64(partition.firstSector + partition.sectorCount - 1) + le64(0)
                var name = Array(partition.name.utf16.prefix(36)).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
                name += [UInt8](repeating: 0, count: 72 - name.count)
                entry += name
                entries.replaceSubrange(index * Self.gptEntrySize..<(index + 1) * Self.gptEntrySize, with: entry)
            }
            let entriesCRC = crc32(entries)
            let lastLBA = totalSectors - 1
            let backupEntriesLBA = lastLBA - Self.gptEntrySectors
            let primary = gptHeader(current: 1, backup: lastLBA, entriesLBA: 2, entriesCRC: entriesCRC)
            let backup = gptHeader(current: lastLBA, backup: 1, entriesLBA: backupEntriesLBA, entriesCRC: entriesCRC)
            return [(0, protective), (1, primary), (2, entries), (backupEntriesLBA, entries), (lastLBA, backup)]
        }
    }

    private func gptHeader(current: Int, backup: Int, entriesLBA: Int, entriesCRC: UInt32) -> [UInt8] {
        var header = Array("EFI PART".utf8) + [0x00, 0x00, 0x01, 0x00] + le32(92) + le32(0) + le32(0)
        header += le64(current) + le64(backup)
        header += le64(2 + Self.gptEntrySectors) + le64(totalSectors - 2 - Self.gptEntrySectors)
        header += (diskID ?? GUID(bytes: Array(repeating: 0, count: 16))).mixedEndian
        header += le64(entriesLBA) + le32(UInt32(Self.gptEntryCount)) + le32(UInt32(Self.gptEntrySize)) + le32(entriesCRC)
        let crc = crc32(header)
        header.replaceSubrange(16..<20, with: le32(crc))
        return header + [UInt8](repeating: 0, count: Self.sectorSize - header.count)
    }

    private func mbrSector(entries: [(type: UInt8, first: Int, count: Int, bootable: Bool)]) -> [UInt8] {
        var sector = [UInt8](repeating: 0, count: Self.sectorSize)
        sector.replaceSubrange(440..<444, with: le32(format == .mbr ? diskSignature : 0))
        for (index, entry) in entries.enumerated() {
            // CHS fields hold the "beyond CHS" marker; every reader since the 1990s uses the LBA fields.
            let chs: [UInt8] = [0xFE, 0xFF, 0xFF]
            let start = entry.first <= 16_450_559 ? chsAddress(entry.first) : chs
            let end = entry.first + entry.count - 1 <= 16_450_559 ? chsAddress(entry.first + entry.count - 1) : chs
            let bytes = [entry.bootable ? 0x80 : 0x00] + start + [entry.type] + end + le32(UInt32(entry.first)) + le32(UInt32(entry.count))
            sector.replaceSubrange(446 + index * 16..<446 + (index + 1) * 16, with: bytes)
        }
        sector[510] = 0x55
        sector[511] = 0xAA
        return sector
    }

    /// CHS with 255 heads and 63 sectors per track, as fdisk writes.
    private func chsAddress(_ lba: Int) -> [UInt8] {
        let cylinder = lba / (255 * 63)
        let head = (lba / 63) % 255
        let sector = lba % 63 + 1
        return [UInt8(head), UInt8((sector & 0x3F) | ((cylinder >> 2) & 0xC0)), UInt8(cylinder & 0xFF)]
    }
}

// MARK: Reading back

extension PartitionTable {
    /// Reads the table of an image file: GPT when the protective MBR says so (headers' and entries' CRCs
    /// checked, the backup compared with the primary), else MBR.
    public static func read(from url: URL) throws(DiskImageError) -> PartitionTable {
        // An image is a regular file: a FIFO would block the open, a device has no end to seek to.
        var info = stat()
        guard stat(url.path, &info) == 0 else { throw .io(path: url.path, message: UserFile.systemReason(errno)) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw .io(path: url.path, message: "it is \(UserFile.kind(of: info.st_mode)), not a regular file")
        }
        guard let handle = FileHandle(forReadingAtPath: url.path) else { throw .io(path: url.path, message: "cannot open for reading") }
        defer { try? handle.close() }
        func sectors(_ first: Int, _ count: Int) throws(DiskImageError) -> [UInt8] {
            // Sector numbers come from the image itself (the GPT's backup LBA): anything past the end is malformed,
            // and must not overflow on the way there.
            guard first >= 0, first < Int.max / sectorSize - count else {
                throw DiskImageError.malformed(file: url.path, message: "sector \(first) is past the end")
            }
            do {
                try handle.seek(toOffset: UInt64(first * sectorSize))
                let data = try handle.read(upToCount: count * sectorSize) ?? Data()
                guard data.count == count * sectorSize else { throw DiskImageError.malformed(file: url.path, message: "sector \(first) is past the end") }
                return [UInt8](data)
            } catch let error as DiskImageError {
                throw error
            } catch {
                throw .io(path: url.path, message: UserFile.reason(of: error))
            }
        }
        let size: Int
        do { size = Int(try handle.seekToEnd()) } catch { throw .io(path: url.path, message: UserFile.reason(of: error)) }
        let mbr = try sectors(0, 1)
        guard mbr[510] == 0x55, mbr[511] == 0xAA else { throw .malformed(file: url.path, message: "no 55 AA boot signature in sector 0") }
        let total = size / sectorSize
        if mbr[446 + 4] == 0xEE {
            let header = try sectors(1, 1)
            let entries = try sectors(2, gptEntrySectors)
            let table = try parseGPT(header: header, entries: entries, file: url.path, total: total)
            let backupHeader = try sectors(total - 1, 1)
            guard Array(backupHeader[0..<8]) == Array("EFI PART".utf8) else {
                throw .malformed(file: url.path, message: "no backup GPT header in the last sector")
            }
            let backupEntries = try sectors(Int(truncatingIfNeeded: readLE(backupHeader, 72, 8)), gptEntrySectors)
            guard try parseGPT(header: backupHeader, entries: backupEntries, file: url.path, total: total).partitions == table.partitions else {
                throw .malformed(file: url.path, message: "the backup GPT differs from the primary")
            }
            return table
        }
        var partitions: [Partition] = []
        for index in 0..<4 {
            let entry = Array(mbr[446 + index * 16..<446 + (index + 1) * 16])
            guard entry[4] != 0 else { continue }
            let kind = [PartitionKind.efiSystem, .fat, .linux].first { $0.mbrType == entry[4] }
                ?? PartitionKind(gptType: GUID(bytes: Array(repeating: 0, count: 16)), mbrType: entry[4])
            partitions.append(Partition(name: "", kind: kind, firstSector: Int(readLE(entry, 8, 4)), sectorCount: Int(readLE(entry, 12, 4)),
                                        bootable: entry[0] == 0x80))
        }
        return PartitionTable(format: .mbr, partitions: partitions, totalSectors: total, diskID: nil, diskSignature: UInt32(readLE(mbr, 440, 4)))
    }

    private static func parseGPT(header: [UInt8], entries: [UInt8], file: String, total: Int) throws(DiskImageError) -> PartitionTable {
        guard Array(header[0..<8]) == Array("EFI PART".utf8) else { throw .malformed(file: file, message: "no 'EFI PART' GPT header") }
        let headerSize = Int(readLE(header, 12, 4))
        guard headerSize >= 92, headerSize <= sectorSize else { throw .malformed(file: file, message: "GPT header size \(headerSize)") }
        var zeroed = Array(header[0..<headerSize])
        zeroed.replaceSubrange(16..<20, with: [0, 0, 0, 0])
        guard crc32(zeroed) == UInt32(readLE(header, 16, 4)) else { throw .malformed(file: file, message: "GPT header CRC mismatch") }
        let count = Int(readLE(header, 80, 4))
        let entrySize = Int(readLE(header, 84, 4))
        let (arraySize, overflow) = count.multipliedReportingOverflow(by: entrySize)
        guard !overflow, arraySize <= entries.count, entrySize >= 128 else { throw .malformed(file: file, message: "unexpected GPT entry array \(count)×\(entrySize)") }
        guard crc32(Array(entries[0..<arraySize])) == UInt32(readLE(header, 88, 4)) else {
            throw .malformed(file: file, message: "GPT partition entries CRC mismatch")
        }
        var partitions: [Partition] = []
        for index in 0..<count {
            let entry = Array(entries[index * entrySize..<(index + 1) * entrySize])
            guard entry[0..<16].contains(where: { $0 != 0 }) else { continue }
            let type = GUID(mixedEndian: entry[0..<16])
            let kind = [PartitionKind.efiSystem, .fat, .linux].first { $0.gptType == type } ?? PartitionKind(gptType: type, mbrType: 0)
            // LBAs are 64-bit in the image: one past the disk (or past Int) is a malformed table, not a trap.
            let first = Int(truncatingIfNeeded: readLE(entry, 32, 8))
            let last = Int(truncatingIfNeeded: readLE(entry, 40, 8))
            guard first >= 0, first <= last, last < total else {
                throw .malformed(file: file, message: "GPT entry \(index + 1) spans sectors \(readLE(entry, 32, 8)) to \(readLE(entry, 40, 8)), "
                                 + "outside the image's \(total) sectors")
            }
            let units = stride(from: 56, to: 128, by: 2).map { UInt16(entry[$0]) | UInt16(entry[$0 + 1]) << 8 }.prefix { $0 != 0 }
            partitions.append(Partition(name: String(decoding: Array(units), as: UTF16.self), kind: kind, firstSector: first,
                                        sectorCount: last - first + 1, uniqueID: GUID(mixedEndian: entry[16..<32])))
        }
        return PartitionTable(format: .gpt, partitions: partitions, totalSectors: total, diskID: GUID(mixedEndian: header[56..<72]),
                              diskSignature: 0)
    }
}

func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
func le64(_ value: Int) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: UInt64(value) >> (8 * UInt64($0))) } }
func readLE(_ bytes: [UInt8], _ offset: Int, _ count: Int) -> UInt64 {
    (0..<count).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
}

func crc32(_ bytes: [UInt8]) -> UInt32 {
    bytes.withUnsafeBufferPointer { buffer in
        UInt32(CZlib.crc32(0, buffer.baseAddress, uInt(buffer.count)))
    }
}

/// SHA-256-free identifier material: FNV-1a over the text, stretched to 32 bytes. Identifiers only need to be
/// stable and distinct per image, not secret.
func digest(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    for round in 0..<4 {
        var hash: UInt64 = 0xcbf29ce484222325 ^ UInt64(round)
        for byte in Array(text.utf8) + [UInt8(round)] {
            hash ^= UInt64(byte)
            hash = hash &* 0x100000001b3
        }
        bytes += (0..<8).map { UInt8(truncatingIfNeeded: hash >> (8 * UInt64($0))) }
    }
    return bytes
}

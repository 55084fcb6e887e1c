import BoardModel
import Foundation

/// What would keep a card from booting, judged from the files of its boot partition as the board's ROM and boot
/// loaders see them: the names are the firmware's conventions (TI's `MLO`, U-Boot's `u-boot.img` and `boot.scr`,
/// the Raspberry Pi's `config.txt`), the rules the formats'. Pure, so each rule is tested on made-up files.
public enum BootChainChecks {
    /// One FAT partition's root directory in directory order, and a reader for its files.
    public struct Partition {
        public var label: String
        public var bootable: Bool
        public var names: [String]
        public var read: (String) throws -> Data

        public init(label: String, bootable: Bool, names: [String], read: @escaping (String) throws -> Data) {
            self.label = label
            self.bootable = bootable
            self.names = names
            self.read = read
        }

        func contains(_ path: String) -> Bool {
            let wanted = path.trimmingCharacters(in: CharacterSet(charactersIn: "/")).lowercased()
            return names.contains { $0.trimmingCharacters(in: CharacterSet(charactersIn: "/")).lowercased() == wanted }
        }
    }

    /// What was verified, and what is wrong, for one partition.
    public static func check(_ partition: Partition) -> (verified: [String], problems: [String]) {
        var verified: [String] = []
        var problems: [String] = []
        func rule(_ body: () throws -> String?) {
            do {
                if let note = try body() { verified.append(note) }
            } catch {
                problems.append("\(partition.label): \(error)")
            }
        }
        if partition.contains("MLO") {
            rule {
                // TI's ROM takes the first file of an active FAT partition when it does not search by name.
                guard partition.bootable else { throw Problem("MLO is on a partition without the active flag; the ROM code will not look there") }
                guard partition.names.first?.uppercased() == "MLO" else {
                    throw Problem("MLO is not the first file of the partition (\(partition.names.prefix(3).joined(separator: ", ")), …)")
                }
                let header = try TIImageHeader(try partition.read("MLO"))
                return "MLO first, TI header: \(header.size) bytes at 0x\(String(header.loadAddress, radix: 16))"
            }
        }
        if partition.contains("u-boot.img") {
            rule { "u-boot.img " + (try UBootImageCheck.describe(try partition.read("u-boot.img"))) }
        }
        if partition.contains("config.txt") {
            rule {
                let text = String(decoding: try partition.read("config.txt"), as: UTF8.self)
                let named = RaspberryPiConfig.namedFiles(text)
                let missing = named.filter { !partition.contains($0) }
                guard missing.isEmpty else { throw Problem("config.txt names \(missing.joined(separator: ", ")), not on the partition") }
                let start = partition.names.filter { $0.lowercased().hasPrefix("start") && $0.lowercased().hasSuffix(".elf") }
                guard !start.isEmpty else { throw Problem("config.txt is there but no start*.elf: the Raspberry Pi firmware is missing") }
                for elf in start {
                    let fixup = "fixup" + elf.dropFirst("start".count).dropLast(".elf".count) + ".dat"
                    guard partition.contains(fixup) else { throw Problem("\(elf) is there without its \(fixup)") }
                }
                return "config.txt: \(named.joined(separator: ", ")) present; firmware \(start.joined(separator: ", "))"
            }
        }
        if partition.contains("boot.scr") {
            rule {
                let script = try UBootLegacyImage(try partition.read("boot.scr"))
                let loads = BootScript.loadedFiles(String(decoding: script.scriptText(), as: UTF8.self))
                let missing = loads.filter { !partition.contains($0) }
                guard missing.isEmpty else { throw Problem("boot.scr loads \(missing.joined(separator: ", ")), not on the partition") }
                return "boot.scr CRCs valid, loads \(loads.joined(separator: ", "))"
            }
        }
        return (verified, problems)
    }

    struct Problem: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

/// TI's header for an image the AM335x ROM loads from a FAT file (`mkimage -T omapimage`): a 512-byte
/// configuration header (a table of contents naming `CHSETTINGS`), then the GP header: the image's size and
/// its load address, little-endian.
public struct TIImageHeader: Sendable {
    public var size: Int
    public var loadAddress: UInt32

    public init(_ data: Data) throws(ArtifactFormatError) {
        let bytes = [UInt8](data)
        guard bytes.count > 0x208 else { throw ArtifactFormatError("\(bytes.count) bytes: too short for TI's headers (520 bytes)") }
        guard String(decoding: bytes[0x14..<0x1e], as: UTF8.self) == "CHSETTINGS" else {
            throw ArtifactFormatError("no CHSETTINGS entry in the configuration header: not an image the ROM code loads (mkimage -T omapimage)")
        }
        func le32(_ offset: Int) -> UInt32 { bytes[offset..<offset + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        size = Int(le32(0x200))
        loadAddress = le32(0x204)
        // U-Boot's mkimage counts the GP header itself in the size (the file's length after the configuration
        // header); TI's documents count the image alone: either is what the file holds.
        guard size == bytes.count - 0x200 || size == bytes.count - 0x208 else {
            throw ArtifactFormatError("the GP header says \(size) bytes, the file holds \(bytes.count - 0x208) after its headers")
        }
        guard size > 0, loadAddress != 0 else { throw ArtifactFormatError("the GP header has no size or no load address") }
    }
}

/// `u-boot.img`: a legacy U-Boot image with good CRCs, or a FIT whose images' data lie inside the file.
enum UBootImageCheck {
    static func describe(_ data: Data) throws -> String {
        if data.starts(with: [0xD0, 0x0D, 0xFE, 0xED]) {
            let size = [UInt8](data.prefix(8)).suffix(4).reduce(0) { $0 << 8 | Int($1) }
            guard size >= 40, size <= data.count else { throw ArtifactFormatError("a FIT whose header says \(size) bytes, the file has \(data.count)") }
            return "FIT, \(data.count) bytes"
        }
        let image = try UBootLegacyImage(data)
        return "U-Boot image '\(image.name)', CRCs valid"
    }
}

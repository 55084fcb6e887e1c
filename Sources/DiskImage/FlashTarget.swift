import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why `bspgen flash` did not write, or what went wrong while it wrote. Every refusal comes before the
/// first byte is written.
public enum FlashError: Error, CustomStringConvertible, Equatable {
    case missing(path: String)
    case notBlockDevice(path: String, kind: String)
    case partition(path: String, disk: String)
    case mounted(path: String, device: String, mountPoint: String)
    case swap(path: String, device: String)
    case inUse(path: String, holders: [String])
    case readOnly(path: String)
    case noMedium(path: String)
    case tooSmall(path: String, size: Int, imageSize: Int, standIn: Bool)
    case notRemovable(path: String, description: String)
    case noTerminal(path: String)
    case declined(path: String)
    case imageChanged(image: String, bmap: String, blocks: String)
    case verifyFailed(path: String, blocks: String)
    case interrupted(path: String)
    case io(path: String, message: String)

    public var description: String {
        switch self {
        case let .missing(path):
            "\(path) does not exist; `lsblk -d -o NAME,SIZE,MODEL,TRAN,RM` lists the disks"
        case let .notBlockDevice(path, kind):
            "\(path) is \(kind), not a disk; give the card's block device (e.g. /dev/sdX or /dev/mmcblkN, see `lsblk`), or a regular file to write the image into"
        case let .partition(path, disk):
            "\(path) is a partition; the image has its own partition table and goes on the whole disk: --device \(disk)"
        case let .mounted(path, device, mountPoint):
            "\(path) is in use: \(device) is mounted on \(mountPoint); unmount it (`umount \(device)`) and try again; nothing was written"
        case let .swap(path, device):
            "\(path) is in use: \(device) is swap space; `swapoff \(device)` first; nothing was written"
        case let .inUse(path, holders):
            "\(path) is in use by \(holders.joined(separator: ", ")) (device mapper: LVM, dm-crypt or RAID); stop that first; nothing was written"
        case let .readOnly(path):
            "\(path) is read-only (an SD card's lock switch?); nothing was written"
        case let .noMedium(path):
            "\(path) has no medium (size 0): is the card in the reader?"
        case let .tooSmall(path, size, imageSize, standIn):
            "\(path) holds \(size) bytes, the image \(imageSize): it does not fit; nothing was written"
                + (standIn ? " (for a file standing in for a card: `truncate -s \(imageSize) \(path)`)" : "")
        case let .notRemovable(path, description):
            "\(path) (\(description)) is not a removable disk: it may be one of this machine's own disks. "
                + "If it is the card (built-in SD readers often say 'not removable'), check the name and size and add --force"
        case let .noTerminal(path):
            "not writing to \(path) without asking, and there is no terminal to ask on; add --yes to write without asking"
        case let .declined(path):
            "not confirmed; nothing was written to \(path)"
        case let .imageChanged(image, bmap, blocks):
            "\(image) does not match \(bmap) (blocks \(blocks)): the image changed after its bmap was made; "
                + "make both again with `bspgen image BOARD`; nothing was written"
        case let .verifyFailed(path, blocks):
            "\(path): blocks \(blocks) read back differ from the image: the card may be failing, or smaller than it claims; flash again or try another card"
        case let .interrupted(path):
            "interrupted: \(path) holds part of the image and will not boot; flash it again"
        case let .io(path, message):
            "\(path): \(message)"
        }
    }
}

/// What a path is, as `stat` (following links) tells it.
public enum FlashFileType: Equatable, Sendable {
    case blockDevice(major: Int, minor: Int)
    case regularFile(size: Int)
    case characterDevice
    case directory
    case fifo
    case socket
    case missing

    var noun: String {
        switch self {
        case .blockDevice: "a block device"
        case .regularFile: "a regular file"
        case .characterDevice: "a character device"
        case .directory: "a directory"
        case .fifo: "a named pipe (FIFO)"
        case .socket: "a socket"
        case .missing: "missing"
        }
    }
}

/// Reads files under /sys, relative to it ("block/sdb/size"); a fake in tests.
public protocol SysfsReading {
    /// The file's text, trimmed; nil when it does not exist.
    func read(_ path: String) -> String?
    /// A directory's entries; nil when it does not exist.
    func list(_ path: String) -> [String]?
}

/// The real /sys.
public struct Sysfs: SysfsReading {
    public var root: URL

    public init(root: URL = URL(fileURLWithPath: "/sys")) { self.root = root }

    public func read(_ path: String) -> String? {
        (try? String(contentsOf: root.appendingPathComponent(path), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func list(_ path: String) -> [String]? {
        try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(path).path)
    }
}

/// Where `bspgen flash` may write: a whole disk that nothing uses, large enough, removable (or `--force`), or a
/// regular file standing in for one (for tests and for making a copy of the card).
public struct FlashTarget: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A whole disk, by its kernel name (`sdb`, `mmcblk0`).
        case disk(name: String)
        case standInFile
    }

    public var path: String
    public var kind: Kind
    public var size: Int
    /// The disk's vendor and model as the kernel reports them ("Generic STORAGE DEVICE"), when it does.
    public var model: String?
    /// Things the user should know that do not stop the write (a stand-in file, a forced non-removable disk).
    public var warnings: [String]

    /// "Generic STORAGE DEVICE, 29.7 GiB", for the question before writing.
    public var summary: String {
        let size = Bmap.humanSize(size)
        switch kind {
        case .disk: return (model.map { "\($0), " } ?? "") + size
        case .standInFile: return "regular file, \(size)"
        }
    }

    /// The decisions, from what the host says: `type` of `path` (after links), the text of /proc/self/mounts and
    /// /proc/swaps, and /sys. `canonicalPath` turns a mount's or swap's source (/dev/disk/by-uuid/..., a link)
    /// into the device node it is.
    public static func inspect(path: String, type: FlashFileType, imageSize: Int, force: Bool, mounts: String, swaps: String,
                               sysfs: some SysfsReading, canonicalPath: (String) -> String = { $0 }) throws(FlashError) -> FlashTarget {
        let name: String
        switch type {
        case .missing:
            throw .missing(path: path)
        case let .regularFile(size):
            guard size >= imageSize else { throw .tooSmall(path: path, size: size, imageSize: imageSize, standIn: true) }
            return FlashTarget(path: path, kind: .standInFile, size: size, model: nil,
                               warnings: ["\(path) is a regular file, not a disk: the image is written into it as a stand-in for a card"])
        case .characterDevice, .directory, .fifo, .socket:
            throw .notBlockDevice(path: path, kind: type.noun)
        case let .blockDevice(major, minor):
            let facts = keyValues(sysfs.read("dev/block/\(major):\(minor)/uevent") ?? "")
            guard let deviceName = facts["DEVNAME"] else {
                throw .io(path: path, message: "block device \(major):\(minor) is not in /sys/dev/block; cannot tell what it is")
            }
            if facts["DEVTYPE"] == "partition" {
                let disk = keyValues(sysfs.read("dev/block/\(major):\(minor)/../uevent") ?? "")["DEVNAME"]
                throw .partition(path: path, disk: disk.map { "/dev/" + $0 } ?? "the disk it is on")
            }
            name = deviceName
        }

        let base = "block/\(name)"
        let partitions = (sysfs.list(base) ?? []).filter { sysfs.read("\(base)/\($0)/partition") != nil }.sorted()
        let names = Set([name] + partitions)
        func ours(_ source: String) -> String? {
            let device = canonicalPath(source)
            guard device.hasPrefix("/dev/") else { return nil }
            return names.contains(String(device.dropFirst("/dev/".count))) ? device : nil
        }
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ").map { unescapeMountField(String($0)) }
            if fields.count >= 2, let device = ours(fields[0]) { throw .mounted(path: path, device: device, mountPoint: fields[1]) }
        }
        for line in swaps.split(separator: "\n").dropFirst() {
            if let source = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map({ unescapeMountField(String($0)) }),
               let device = ours(source) {
                throw .swap(path: path, device: device)
            }
        }
        let holders = ([name] + partitions).flatMap { entry in
            (sysfs.list(entry == name ? "\(base)/holders" : "\(base)/\(entry)/holders") ?? []).map { "\($0) (on \(entry))" }
        }
        guard holders.isEmpty else { throw .inUse(path: path, holders: holders.sorted()) }
        guard sysfs.read("\(base)/ro") != "1" else { throw .readOnly(path: path) }
        guard let sectors = sysfs.read("\(base)/size").flatMap({ Int($0) }) else {
            throw .io(path: path, message: "cannot read its size from /sys/\(base)/size")
        }
        // /sys counts 512-byte sectors whatever the device's own sector size.
        let size = sectors * 512
        guard size > 0 else { throw .noMedium(path: path) }
        guard size >= imageSize else { throw .tooSmall(path: path, size: size, imageSize: imageSize, standIn: false) }
        let model = [sysfs.read("\(base)/device/vendor"), sysfs.read("\(base)/device/model") ?? sysfs.read("\(base)/device/name")]
            .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        var target = FlashTarget(path: path, kind: .disk(name: name), size: size, model: model.isEmpty ? nil : model, warnings: [])
        if sysfs.read("\(base)/removable") != "1" {
            guard force else { throw .notRemovable(path: path, description: target.summary) }
            target.warnings.append("\(path) is not a removable disk; writing it because of --force")
        }
        return target
    }

    /// `inspect` with this host's facts.
    public static func probe(path: String, imageSize: Int, force: Bool) throws(FlashError) -> FlashTarget {
        try inspect(path: path, type: fileType(path), imageSize: imageSize, force: force,
                    mounts: (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? "",
                    swaps: (try? String(contentsOfFile: "/proc/swaps", encoding: .utf8)) ?? "",
                    sysfs: Sysfs(), canonicalPath: { source in
                        guard source.hasPrefix("/"), let resolved = realpath(source, nil) else { return source }
                        defer { free(resolved) }
                        return String(cString: resolved)
                    })
    }

    public static func fileType(_ path: String) -> FlashFileType {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFBLK:
            // glibc's major() and minor() are macros Swift cannot call; this is their definition.
            let device = UInt64(info.st_rdev)
            let major = ((device >> 8) & 0xFFF) | ((device >> 32) & 0xFFFF_F000)
            let minor = (device & 0xFF) | ((device >> 12) & 0xFFFF_FF00)
            return .blockDevice(major: Int(major), minor: Int(minor))
        case S_IFREG: return .regularFile(size: Int(info.st_size))
        case S_IFCHR: return .characterDevice
        case S_IFDIR: return .directory
        case S_IFIFO: return .fifo
        default: return .socket
        }
    }

    private static func keyValues(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        return values
    }

    /// /proc/self/mounts writes space, tab, newline and backslash in names as octal escapes (`\040`).
    static func unescapeMountField(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = []
        let utf8 = Array(field.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 3 < utf8.count,
               let value = UInt8(String(decoding: utf8[index + 1...index + 3], as: UTF8.self), radix: 8) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Whether to write without asking, ask, or refuse: writing over a disk is not undone.
public enum FlashConfirmation: Equatable, Sendable {
    case proceed
    case ask
    case refuse

    public static func decide(yes: Bool, isTerminal: Bool) -> FlashConfirmation {
        yes ? .proceed : isTerminal ? .ask : .refuse
    }

    /// Only an explicit yes counts; an empty answer is the default, no.
    public static func accepts(_ answer: String?) -> Bool {
        guard let answer = answer?.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() else { return false }
        return answer == "y" || answer == "yes"
    }

    public static func question(mappedBytes: Int, target: FlashTarget) -> String {
        "write \(Bmap.humanSize(mappedBytes)) to \(target.path) (\(target.summary))? Everything on it will be lost. [y/N] "
    }
}

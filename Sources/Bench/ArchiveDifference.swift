import Foundation
import Initramfs

/// What two initramfs archives hold differently, entry by entry (names as `cpio -t` lists them, without a leading
/// `./`; a file's size, a link's target length): the bench's like-with-like check of bspgen's initramfs against the
/// by-hand one.
public struct ArchiveDifference: Sendable, Equatable {
    /// Entries only in the first archive, by name, with their sizes.
    public var onlyFirst: [String: UInt32]
    public var onlySecond: [String: UInt32]
    /// Entries in both whose sizes differ: (first, second).
    public var resized: [String: (UInt32, UInt32)]
    public var common: Int

    public static func == (left: ArchiveDifference, right: ArchiveDifference) -> Bool {
        left.onlyFirst == right.onlyFirst && left.onlySecond == right.onlySecond && left.common == right.common
            && left.resized.mapValues { [$0.0, $0.1] } == right.resized.mapValues { [$0.0, $0.1] }
    }

    public init(first: [String: UInt32], second: [String: UInt32]) {
        onlyFirst = first.filter { second[$0.key] == nil }
        onlySecond = second.filter { first[$0.key] == nil }
        var resized: [String: (UInt32, UInt32)] = [:]
        for (name, size) in first {
            if let other = second[name], other != size { resized[name] = (size, other) }
        }
        self.resized = resized
        common = first.keys.filter { second[$0] != nil }.count
    }

    /// Both archives' entries through the packer's own reader (any compression it writes).
    public init(first: URL, second: URL) throws {
        func entries(_ archive: URL) throws -> [String: UInt32] {
            var sizes: [String: UInt32] = [:]
            for entry in try CpioArchiveReader.listing(of: archive) {
                let name = Self.normalised(entry.name)
                // A link's size is its target's length: the kernel's gen_init_cpio (and bspgen, which writes as it
                // does) counts the terminating NUL, cpio(1) does not.
                if !name.isEmpty { sizes[name] = entry.symlinkTarget.map { UInt32($0.utf8.count) } ?? entry.size }
            }
            return sizes
        }
        self.init(first: try entries(first), second: try entries(second))
    }

    /// `./bin/sh`, `/bin/sh` and `bin/sh` are one entry; `.` (find's first line) is the root, which both have.
    static func normalised(_ name: String) -> String {
        var name = Substring(name)
        while name.hasPrefix("./") { name = name.dropFirst(2) }
        while name.hasPrefix("/") { name = name.dropFirst() }
        return name == "." ? "" : String(name)
    }

    /// One line: what only one side has (count, bytes, the first names) and what differs in size.
    public func summary(first firstName: String, second secondName: String, names: Int = 4) -> String {
        func list(_ entries: [String: UInt32]) -> String {
            let bytes = entries.values.reduce(0) { $0 + Int($1) }
            let shown = entries.keys.sorted().prefix(names).joined(separator: ", ")
            return "\(entries.count) (\(BenchTable.grouped(bytes)) B: \(shown)\(entries.count > names ? ", ..." : ""))"
        }
        var parts = ["\(common) entries in both"]
        if !onlyFirst.isEmpty { parts.append("only in \(firstName)'s: " + list(onlyFirst)) }
        if !onlySecond.isEmpty { parts.append("only in \(secondName)'s: " + list(onlySecond)) }
        if !resized.isEmpty {
            parts.append("other size: " + resized.keys.sorted().prefix(names).map { name in
                let (first, second) = resized[name] ?? (0, 0)
                return "\(name) \(BenchTable.grouped(Int(first))) vs \(BenchTable.grouped(Int(second)))"
            }.joined(separator: ", "))
        }
        return parts.joined(separator: "; ")
    }
}

/// One property as stored in the blob: a name and raw big-endian bytes. The typed views are nil when the
/// bytes do not have that shape.
public struct Property: Sendable, Equatable {
    public var name: String
    public var value: [UInt8]

    public init(name: String, value: [UInt8]) {
        self.name = name
        self.value = value
    }

    /// The value as a NUL-terminated UTF-8 string list.
    public var strings: [String]? {
        guard value.last == 0 else { return nil }
        var result: [String] = []
        for part in value.dropLast().split(separator: 0, omittingEmptySubsequences: false) {
            guard let string = String(validating: part, as: UTF8.self) else { return nil }
            result.append(string)
        }
        return result
    }

    /// The value as exactly one NUL-terminated string.
    public var string: String? {
        guard let strings, strings.count == 1 else { return nil }
        return strings[0]
    }

    public var u32Cells: [UInt32]? { cells(of: UInt32.self) }
    public var u64Cells: [UInt64]? { cells(of: UInt64.self) }

    private func cells<Cell: FixedWidthInteger & UnsignedInteger>(of type: Cell.Type) -> [Cell]? {
        let width = Cell.bitWidth / 8
        guard value.count % width == 0 else { return nil }
        return stride(from: 0, to: value.count, by: width).map { start in
            value[start..<start + width].reduce(Cell.zero) { $0 << 8 | Cell($1) }
        }
    }
}

/// A value to store in a property, encoded the way the devicetree specification lays it out.
public enum PropertyValue: Sendable, Equatable {
    /// NUL-terminated strings, back to back (`compatible = "a", "b"`).
    case strings([String])
    /// Big-endian 32-bit cells (`reg = <0x1000 0x100>`).
    case u32([UInt32])
    /// Big-endian 64-bit values (`/bits/ 64 <...>`).
    case u64([UInt64])
    /// Raw bytes (`[01 02]`); empty for a boolean property.
    case bytes([UInt8])

    public static func string(_ string: String) -> PropertyValue { .strings([string]) }

    public var encoded: [UInt8] {
        switch self {
        case .strings(let strings): strings.flatMap { Array($0.utf8) + [0] }
        case .u32(let cells): cells.flatMap(\.bigEndianBytes)
        case .u64(let cells): cells.flatMap(\.bigEndianBytes)
        case .bytes(let bytes): bytes
        }
    }
}

extension FixedWidthInteger {
    var bigEndianBytes: [UInt8] {
        (0..<Self.bitWidth / 8).reversed().map { UInt8(truncatingIfNeeded: self >> ($0 * 8)) }
    }
}

extension Array<UInt8> {
    /// The big-endian 32-bit word at byte `offset`, the way dtb headers store their fields.
    func word(at offset: Int) -> Int {
        self[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
    }
}

/// A node and everything below it, read out of a blob.
public struct Node: Sendable, Equatable {
    /// The name with unit address (`uart@1000`); empty for the root.
    public var name: String
    /// The full path (`/soc/uart@1000`); `/` for the root.
    public var path: String
    public var properties: [Property]
    public var children: [Node]

    public init(name: String, path: String, properties: [Property] = [], children: [Node] = []) {
        self.name = name
        self.path = path
        self.properties = properties
        self.children = children
    }

    public func property(_ name: String) -> Property? {
        properties.first { $0.name == name }
    }

    /// The phandle other nodes use to refer to this one, if it has one.
    public var phandle: UInt32? {
        (property("phandle") ?? property("linux,phandle"))?.u32Cells.flatMap { $0.count == 1 ? $0[0] : nil }
    }
}

/// An entry of the memory reservation block (`/memreserve/ address size;`).
public struct MemoryReservation: Sendable, Equatable {
    public var address: UInt64
    public var size: UInt64

    public init(address: UInt64, size: UInt64) {
        self.address = address
        self.size = size
    }
}

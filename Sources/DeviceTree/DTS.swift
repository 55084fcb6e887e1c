extension DeviceTreeBlob {
    /// Source text in the style of `dtc -I dtb -O dts`, which dtc compiles back into the same tree.
    /// From a node other than the root, just that node and its descendants.
    public func dts(from path: String = "/") throws -> String {
        let start = try node(at: path)
        var text = ""
        if start.path == "/" {
            text += "/dts-v1/;\n\n"
            for reservation in try memoryReservations() {
                text += DTS.line(for: reservation) + "\n"
            }
        }
        DTS.append(start, to: &text)
        return text
    }
}

/// Writing trees and values as device tree source.
enum DTS {
    /// Appends `node` and its descendants indented by `depth` tabs, each line after `marker` (a diff's
    /// `+` or `-`), naming the node `title` instead of its own name when given.
    static func append(_ node: Node, title: String? = nil, depth: Int = 0, marker: String = "", to text: inout String) {
        let indent = String(repeating: "\t", count: depth)
        text += marker + indent + (title ?? (node.name.isEmpty ? "/" : node.name)) + " {\n"
        for property in node.properties {
            text += marker + indent + "\t" + line(for: property) + "\n"
        }
        for child in node.children {
            text += marker + "\n"
            append(child, depth: depth + 1, marker: marker, to: &text)
        }
        text += marker + indent + "};\n"
    }

    static func line(for property: Property) -> String {
        property.value.isEmpty ? property.name + ";" : property.name + " = " + value(property.value) + ";"
    }

    static func line(for reservation: MemoryReservation) -> String {
        "/memreserve/\t" + paddedHex(reservation.address, digits: 16) + " " + paddedHex(reservation.size, digits: 16) + ";"
    }

    /// Strings when every byte is printable or a NUL ending a string, cells when the length allows, bytes
    /// otherwise: dtc's own guess, so that both print the same value the same way.
    static func value(_ bytes: [UInt8]) -> String {
        let nulCount = bytes.count { $0 == 0 }
        if bytes.last == 0, nulCount <= bytes.count - nulCount, bytes.allSatisfy(isStringByte) {
            return bytes.dropLast().split(separator: 0, omittingEmptySubsequences: false)
                .map(quoted).joined(separator: ", ")
        }
        if let cells = Property(name: "", value: bytes).u32Cells {
            return "<" + cells.map { paddedHex($0, digits: 2) }.joined(separator: " ") + ">"
        }
        return "[" + bytes.map { String(paddedHex($0, digits: 2).dropFirst(2)) }.joined(separator: " ") + "]"
    }

    private static let escapes: [UInt8: String] = [
        0x07: "\\a", 0x08: "\\b", 0x09: "\\t", 0x0a: "\\n", 0x0b: "\\v", 0x0c: "\\f", 0x0d: "\\r",
        UInt8(ascii: "\\"): "\\\\", UInt8(ascii: "\""): "\\\"",
    ]

    private static func isStringByte(_ byte: UInt8) -> Bool {
        (0x20...0x7e).contains(byte) || byte == 0 || (0x07...0x0d).contains(byte)
    }

    private static func quoted(_ string: ArraySlice<UInt8>) -> String {
        "\"" + string.map { escapes[$0] ?? String(UnicodeScalar($0)) }.joined() + "\""
    }

    private static func paddedHex(_ value: some BinaryInteger, digits: Int) -> String {
        let text = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

/// User text (names, lines, values) as it may appear in a message: a terminal must never receive it raw, or an
/// escape sequence in a file name or a list line could clear the screen, move the cursor or print a fake "ok".
public enum UserText {
    /// The most characters of one value a message shows; longer values are cut in the middle.
    public static let maximumShown = 200

    /// `text` with control characters (C0, DEL, C1), line and paragraph separators and bidirectional overrides
    /// written as escapes (`\n`, `\t`, `\e`, `\x07`, `\u{202E}`), and cut in the middle to `limit` characters.
    public static func escaped(_ text: String, limit: Int = maximumShown) -> String {
        shortened(text.unicodeScalars.map(escape), limit: limit)
    }

    /// Bytes that should be UTF-8 text: valid sequences as `escaped` shows them, any other byte as `\xNN`.
    public static func escaped(bytes: some Collection<UInt8>, limit: Int = maximumShown) -> String {
        let array = Array(bytes)
        var pieces: [String] = []
        var index = 0
        while index < array.count {
            if let (scalar, length) = scalar(in: array, at: index) {
                pieces.append(escape(scalar))
                index += length
            } else {
                pieces.append("\\x" + hex(UInt32(array[index]), width: 2))
                index += 1
            }
        }
        return shortened(pieces, limit: limit)
    }

    /// The byte offset of the first byte of `bytes` that is not part of valid UTF-8, or nil when all are.
    public static func firstInvalidUTF8(in bytes: some Collection<UInt8>) -> Int? {
        let array = Array(bytes)
        var index = 0
        while index < array.count {
            guard let (_, length) = scalar(in: array, at: index) else { return index }
            index += length
        }
        return nil
    }

    /// The scalar whose UTF-8 encoding starts at `index`, and its length; nil when the bytes there are not one.
    private static func scalar(in bytes: [UInt8], at index: Int) -> (Unicode.Scalar, Int)? {
        let lead = bytes[index]
        let length = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 0
        guard length > 0, index + length <= bytes.count,
              let text = String(validating: bytes[index..<index + length], as: UTF8.self),
              let scalar = text.unicodeScalars.first else { return nil }
        return (scalar, length)
    }

    private static func shortened(_ pieces: [String], limit: Int) -> String {
        guard pieces.count > limit else { return pieces.joined() }
        let keep = max(1, limit / 2)
        return pieces.prefix(keep).joined() + "…(\(pieces.count - 2 * keep) more characters)…" + pieces.suffix(keep).joined()
    }

    /// Whether messages must escape `scalar`: controls, invisible formatting (bidirectional overrides among them),
    /// line and paragraph separators, and what is not a character at all.
    public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned: true
        default: false
        }
    }

    /// How messages show a character they must not print: `\n`, `\t`, `\r`, `\e`, `\x07` for the other C0 and C1
    /// controls and DEL, `\u{202E}` for the rest; other characters as they are.
    public static func escape(_ scalar: Unicode.Scalar) -> String {
        guard needsEscape(scalar) else { return String(scalar) }
        switch scalar {
        case "\n": return "\\n"
        case "\t": return "\\t"
        case "\r": return "\\r"
        case "\u{1B}": return "\\e"
        default:
            let value = scalar.value
            return value < 0x20 || (0x7F...0x9F).contains(value) ? "\\x" + hex(value, width: 2) : "\\u{" + hex(value, width: 4) + "}"
        }
    }

    static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

/// Lower-case hex of bytes, as digests are written: without a formatter per byte, since a build writes thousands of
/// them (debug builds too).
public enum Hex {
    public static func lowercase<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes { text += [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]] }
        return String(decoding: text, as: UTF8.self)
    }
}

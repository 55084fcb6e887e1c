import Foundation

/// A parsed `.config` or fragment: its option lines in file order (duplicates kept, the
/// last one counts); comments and blank lines are dropped.
public struct KconfigFile: Hashable, Sendable {
    /// The name origins and errors use, usually the path as the user would write it.
    public var name: String
    public var assignments: [KconfigAssignment]

    public init(name: String, assignments: [KconfigAssignment] = []) {
        self.name = name
        self.assignments = assignments
    }

    /// Parses `.config` syntax as Kconfig writes it, plus the `# optional` marker described
    /// in the module documentation. Throws on the first line that is neither an option,
    /// a `# CONFIG_FOO is not set` line, a comment nor blank.
    public static func parse(text: String, name: String) throws(KconfigError) -> KconfigFile {
        var assignments: [KconfigAssignment] = []
        for (offset, line) in lines(of: text).enumerated() {
            let origin = KconfigOrigin(file: name, line: offset + 1)
            if let option = try OptionLine(parsing: line, origin: origin) {
                assignments.append(KconfigAssignment(
                    symbol: option.symbol, value: option.value, origin: origin, isOptional: option.isOptional))
            }
        }
        return KconfigFile(name: name, assignments: assignments)
    }

    /// Reads and parses a file; `name` defaults to the URL's path.
    public static func load(_ url: URL, name: String? = nil) throws(KconfigError) -> KconfigFile {
        try parse(text: readText(of: url), name: name ?? url.path)
    }

    /// Each symbol's final value (the last assignment wins).
    public var values: [String: KconfigValue] {
        latest.mapValues(\.value)
    }

    /// Each symbol's last assignment.
    var latest: [String: KconfigAssignment] {
        Dictionary(assignments.map { ($0.symbol, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// `.config` text: one line per assignment, in order.
    public var text: String {
        assignments.map { $0.line + "\n" }.joined()
    }

    static func lines(of text: String) -> [Substring] {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }
}

/// One option line taken apart; `nil` from the parser means a comment or blank line.
struct OptionLine {
    var symbol: String
    var value: KconfigValue
    /// The trailing `# ...` comment, kept so that rewriting the line can preserve it.
    var comment: Substring?

    var isOptional: Bool {
        guard let comment else { return false }
        let text = comment.dropFirst().drop(while: \.isWhitespace)
        guard text.hasPrefix("optional") else { return false }
        let next = text.dropFirst("optional".count).first
        return next == nil || next == ":" || next?.isWhitespace == true
    }

    static let prefix = "CONFIG_"

    /// No `$(`, and every `${` opens a plain `${name}` of letters, digits and `_`.
    static func hasOnlyPlainReferences(_ text: String) -> Bool {
        if text.contains("$(") { return false }
        var rest = text[...]
        while let start = rest.range(of: "${") {
            let after = rest[start.upperBound...]
            guard let close = after.firstIndex(of: "}") else { return false }
            let name = after[..<close]
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else { return false }
            rest = after[after.index(after: close)...]
        }
        return true
    }

    init?(parsing rawLine: Substring, origin: KconfigOrigin) throws(KconfigError) {
        func invalid(_ expected: String) -> KconfigError {
            .invalidLine(origin, text: String(rawLine), expected: expected)
        }
        let line = rawLine.trimmingWhitespace()
        if line.isEmpty { return nil }
        if line.first == "#" {
            guard let notSet = Self.notSetLine(line) else { return nil }
            self = notSet
            return
        }
        guard let equals = line.firstIndex(of: "=") else {
            throw invalid("expected CONFIG_<NAME>=<value>, '# CONFIG_<NAME> is not set' or a # comment")
        }
        let name = line[..<equals]
        guard name.hasPrefix(Self.prefix) else { throw invalid("expected a symbol starting with CONFIG_") }
        let symbol = name.dropFirst(Self.prefix.count)
        guard !symbol.isEmpty, symbol.allSatisfy(Self.isSymbolCharacter) else {
            throw invalid("expected a symbol name of letters, digits and _ directly before =")
        }
        var rest = line[line.index(after: equals)...]
        guard let first = rest.first, first != "#", !first.isWhitespace else { throw invalid("missing value after =") }
        if first == "\"" {
            guard let (text, end) = Self.quotedString(rest) else { throw invalid("unterminated string") }
            // Kbuild includes the config as makefile text: a make function call in a value could run commands.
            // `${name}` alone cannot call one (a function needs a space after its name), and U-Boot's
            // environment references are written so (CONFIG_BOOTCOMMAND="... ${fdtcontroladdr} ...").
            if !Self.hasOnlyPlainReferences(text) {
                throw invalid("a string without '$(' and with '${' only as ${name} (make would expand anything else when Kbuild reads the config)")
            }
            value = .string(text)
            rest = rest[end...]
        } else {
            let end = rest.firstIndex { $0.isWhitespace || $0 == "#" } ?? rest.endIndex
            let token = rest[..<end]
            if let tristate = Tristate(letter: token) {
                value = .tristate(tristate)
            } else if Self.isNumber(token) {
                value = .number(String(token))
            } else {
                throw invalid("expected y, m, n, a number or a quoted string after =")
            }
            rest = rest[end...]
        }
        self.symbol = String(symbol)
        rest = rest.trimmingWhitespace()
        guard rest.isEmpty || rest.first == "#" else { throw invalid("expected only a # comment after the value") }
        comment = rest.isEmpty ? nil : rest
    }

    private init(symbol: String, value: KconfigValue, comment: Substring?) {
        self.symbol = symbol
        self.value = value
        self.comment = comment
    }

    /// `# CONFIG_FOO is not set`, optionally followed by a comment; anything else starting
    /// with `#` is an ordinary comment.
    private static func notSetLine(_ line: Substring) -> OptionLine? {
        let afterHash = line.dropFirst().drop(while: \.isWhitespace)
        guard afterHash.hasPrefix(prefix) else { return nil }
        let symbol = afterHash.dropFirst(prefix.count).prefix(while: isSymbolCharacter)
        let words = afterHash[symbol.endIndex...].drop(while: \.isWhitespace)
        guard !symbol.isEmpty, words.hasPrefix("is not set") else { return nil }
        let rest = words.dropFirst("is not set".count).trimmingWhitespace()
        guard rest.isEmpty || rest.first == "#" else { return nil }
        return OptionLine(symbol: String(symbol), value: .tristate(.no), comment: rest.isEmpty ? nil : rest)
    }

    /// The unescaped contents of a string starting at `text.first == "\""` and the index after
    /// its closing quote; Kconfig escapes `"` and `\` with a backslash.
    static func quotedString(_ text: Substring) -> (String, Substring.Index)? {
        var result = ""
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            var character = text[index]
            if character == "\"" { return (result, text.index(after: index)) }
            if character == "\\" {
                index = text.index(after: index)
                guard index < text.endIndex else { return nil }
                character = text[index]
            }
            result.append(character)
            index = text.index(after: index)
        }
        return nil
    }

    static func isSymbolCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || character == "_")
    }

    static func isNumber(_ token: Substring) -> Bool {
        let hexDigits = token.hasPrefix("0x") || token.hasPrefix("0X") ? token.dropFirst(2) : nil
        if let hexDigits { return !hexDigits.isEmpty && hexDigits.allSatisfy { $0.isASCII && $0.isHexDigit } }
        let digits = token.first == "-" ? token.dropFirst() : token
        return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        let start = drop(while: \.isWhitespace)
        return start[..<(start.lastIndex { !$0.isWhitespace }.map(start.index(after:)) ?? start.startIndex)]
    }
}

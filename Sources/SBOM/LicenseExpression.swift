/// An SPDX licence expression (SPDX 2.3 annex D): licence identifiers joined by `AND`, `OR` and `WITH`, with
/// parentheses. Held as a tree so that the licences of many files can be combined into one expression that is
/// logically the same as all of them together.
public indirect enum LicenseExpression: Hashable, Sendable, Codable, CustomStringConvertible {
    /// A licence identifier (`GPL-2.0-only`, `LicenseRef-x`), `+` kept for identifiers that are not GNU's.
    case license(String)
    /// A licence with an exception (`GPL-2.0-only WITH Linux-syscall-note`).
    case with(String, exception: String)
    case and([LicenseExpression])
    case or([LicenseExpression])

    /// The files' terms, all of which apply: each distinct term once, sorted, and an `OR` term dropped when one
    /// of its choices is already required (A AND (A OR B) is A). Nothing else is judged: `GPL-2.0-only` and
    /// `GPL-2.0-or-later` both stay, as they are different terms.
    public static func conjunction(_ expressions: [LicenseExpression]) -> LicenseExpression? {
        var terms = Set<LicenseExpression>()
        for expression in expressions {
            if case .and(let parts) = expression.normalized { terms.formUnion(parts) } else { terms.insert(expression.normalized) }
        }
        let required = terms.filter { if case .or = $0 { false } else { true } }
        terms = terms.filter { term in
            guard case .or(let choices) = term else { return true }
            return !choices.contains { required.contains($0) }
        }
        let sorted = terms.sorted { $0.sortKey < $1.sortKey }
        switch sorted.count {
        case 0: return nil
        case 1: return sorted[0]
        default: return .and(sorted)
        }
    }

    /// Every licence and exception identifier in the expression, sorted.
    public var identifiers: [String] {
        var found = Set<String>()
        func visit(_ expression: LicenseExpression) {
            switch expression {
            case .license(let id): found.insert(id)
            case .with(let id, let exception): found.insert(id); found.insert(exception)
            case .and(let parts), .or(let parts): parts.forEach(visit)
            }
        }
        visit(self)
        return found.sorted()
    }

    /// Licence identifiers only (without exceptions), sorted.
    public var licenseIdentifiers: [String] {
        var found = Set<String>()
        func visit(_ expression: LicenseExpression) {
            switch expression {
            case .license(let id), .with(let id, _): found.insert(id)
            case .and(let parts), .or(let parts): parts.forEach(visit)
            }
        }
        visit(self)
        return found.sorted()
    }

    /// Deprecated GNU identifiers replaced by their current names (`GPL-2.0` → `GPL-2.0-only`, `GPL-2.0+` →
    /// `GPL-2.0-or-later`), nested operators of the same kind flattened, operands deduplicated and sorted.
    public var normalized: LicenseExpression {
        switch self {
        case .license(let id):
            if let replacement = Self.deprecatedWithException[id] { return replacement }
            return .license(Self.currentIdentifier(id))
        case .with(let id, let exception): return .with(Self.currentIdentifier(id), exception: exception)
        case .and(let parts): return Self.flatten(parts.map(\.normalized), and: true)
        case .or(let parts): return Self.flatten(parts.map(\.normalized), and: false)
        }
    }

    private static func flatten(_ parts: [LicenseExpression], and: Bool) -> LicenseExpression {
        var operands = Set<LicenseExpression>()
        for part in parts {
            switch (part, and) {
            case (.and(let inner), true), (.or(let inner), false): operands.formUnion(inner)
            default: operands.insert(part)
            }
        }
        let sorted = operands.sorted { $0.sortKey < $1.sortKey }
        if sorted.count == 1 { return sorted[0] }
        return and ? .and(sorted) : .or(sorted)
    }

    /// The GNU licences whose bare SPDX identifiers are deprecated in favour of `-only` / `-or-later`.
    static let gnuFamilies: Set<String> = ["GPL-1.0", "GPL-2.0", "GPL-3.0", "LGPL-2.0", "LGPL-2.1", "LGPL-3.0", "AGPL-1.0", "AGPL-3.0",
                                           "GFDL-1.1", "GFDL-1.2", "GFDL-1.3"]

    /// Deprecated identifiers that the SPDX licence list replaces by a licence WITH an exception (U-Boot still
    /// writes `eCos-2.0`, which validators read as an exception out of place).
    static let deprecatedWithException: [String: LicenseExpression] = [
        "eCos-2.0": .with("GPL-2.0-or-later", exception: "eCos-exception-2.0"),
        "GPL-2.0-with-GCC-exception": .with("GPL-2.0-or-later", exception: "GCC-exception-2.0"),
        "GPL-2.0-with-autoconf-exception": .with("GPL-2.0-only", exception: "Autoconf-exception-2.0"),
        "GPL-2.0-with-bison-exception": .with("GPL-2.0-or-later", exception: "Bison-exception-2.2"),
        "GPL-2.0-with-classpath-exception": .with("GPL-2.0-only", exception: "Classpath-exception-2.0"),
        "GPL-2.0-with-font-exception": .with("GPL-2.0-only", exception: "Font-exception-2.0"),
        "GPL-3.0-with-GCC-exception": .with("GPL-3.0-only", exception: "GCC-exception-3.1"),
        "GPL-3.0-with-autoconf-exception": .with("GPL-3.0-only", exception: "Autoconf-exception-3.0"),
    ]

    static func currentIdentifier(_ id: String) -> String {
        let upper = id.uppercased()
        if upper.hasSuffix("+"), let family = gnuFamilies.first(where: { $0.uppercased() == String(upper.dropLast()) }) {
            return family + "-or-later"
        }
        if let family = gnuFamilies.first(where: { $0.uppercased() == upper }) { return family + "-only" }
        if upper.hasSuffix("-ONLY+"), let family = gnuFamilies.first(where: { $0.uppercased() + "-ONLY+" == upper }) {
            return family + "-or-later"
        }
        return id
    }

    var sortKey: String {
        switch self {
        case .license, .with: return "0" + description
        case .and, .or: return "1" + description
        }
    }

    public var description: String {
        switch self {
        case .license(let id): return id
        case .with(let id, let exception): return "\(id) WITH \(exception)"
        case .and(let parts): return parts.map { $0.operandText(inside: true) }.joined(separator: " AND ")
        case .or(let parts): return parts.map { $0.operandText(inside: false) }.joined(separator: " OR ")
        }
    }

    /// Parentheses around an operand that is itself a compound of the other operator (SPDX's `AND` binds more
    /// tightly than `OR`; the writers always add them, for readers who do not know that).
    private func operandText(inside and: Bool) -> String {
        switch self {
        case .and, .or: return "(\(description))"
        case .with where and: return "(\(description))"
        default: return description
        }
    }
}

/// An expression that cannot be read: the text and what is wrong at which character.
public struct LicenseExpressionError: Error, Equatable, CustomStringConvertible, Sendable {
    public var text: String
    public var message: String
    public var description: String { "'\(text)': \(message)" }
}

extension LicenseExpression {
    /// Reads an expression as files write it: operators in any case, deprecated identifiers accepted (see
    /// `normalized`), a trailing comment terminator (`*/`, `-->`) or `;` ignored.
    public static func parse(_ text: String) throws(LicenseExpressionError) -> LicenseExpression {
        var tokens: [String] = []
        var current = ""
        for character in text {
            if character == "(" || character == ")" {
                if !current.isEmpty { tokens.append(current); current = "" }
                tokens.append(String(character))
            } else if character.isWhitespace {
                if !current.isEmpty { tokens.append(current); current = "" }
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        var parser = Parser(tokens: tokens, text: text)
        return try parser.parseExpression()
    }

    private struct Parser {
        var tokens: [String]
        var position = 0
        let text: String

        func fail(_ message: String) -> LicenseExpressionError { LicenseExpressionError(text: text, message: message) }

        var peek: String? { position < tokens.count ? tokens[position] : nil }

        mutating func parseExpression() throws(LicenseExpressionError) -> LicenseExpression {
            let expression = try parseOr()
            if let extra = peek { throw fail("unexpected '\(extra)' after a complete expression") }
            return expression
        }

        mutating func parseOr() throws(LicenseExpressionError) -> LicenseExpression {
            var parts = [try parseAnd()]
            while peek?.uppercased() == "OR" {
                position += 1
                parts.append(try parseAnd())
            }
            return parts.count == 1 ? parts[0] : .or(parts)
        }

        mutating func parseAnd() throws(LicenseExpressionError) -> LicenseExpression {
            var parts = [try parseWith()]
            while peek?.uppercased() == "AND" {
                position += 1
                parts.append(try parseWith())
            }
            return parts.count == 1 ? parts[0] : .and(parts)
        }

        mutating func parseWith() throws(LicenseExpressionError) -> LicenseExpression {
            let primary = try parsePrimary()
            guard peek?.uppercased() == "WITH" else { return primary }
            position += 1
            guard case .license(let id) = primary else { throw fail("WITH must follow a single licence identifier") }
            guard let exception = peek, Self.isIdentifier(exception) else { throw fail("WITH must be followed by an exception identifier") }
            position += 1
            return .with(id, exception: exception)
        }

        mutating func parsePrimary() throws(LicenseExpressionError) -> LicenseExpression {
            guard let token = peek else { throw fail("expected a licence identifier, found the end") }
            if token == "(" {
                position += 1
                let inner = try parseOr()
                guard peek == ")" else { throw fail("missing ')'") }
                position += 1
                return inner
            }
            guard Self.isIdentifier(token), !["AND", "OR", "WITH"].contains(token.uppercased()) else {
                throw fail("expected a licence identifier, found '\(token)'")
            }
            position += 1
            return .license(token)
        }

        /// SPDX identifiers: letters, digits, `-` and `.`, `LicenseRef-`/`DocumentRef-` with `:`, and a trailing `+`.
        static func isIdentifier(_ token: String) -> Bool {
            var body = Substring(token)
            if body.hasSuffix("+") { body = body.dropLast() }
            return !body.isEmpty && body.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == ":") }
        }
    }
}

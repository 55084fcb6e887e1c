/// A Kconfig expression as in `depends on`, `if` and `select ... if`.
///
/// Evaluation follows Kconfig's tristate logic: n=0, m=1, y=2; `&&` is the minimum, `||`
/// the maximum, `!x` is 2-x. Comparisons (`=`, `!=`, `<`, `<=`, `>`, `>=`) give y or n and
/// compare numerically when both sides are numbers. A symbol absent from the config is n;
/// a word no Kconfig file defines stands for itself (as in `NR_CPUS > 1`).
public indirect enum KconfigExpression: Hashable, Sendable, CustomStringConvertible {
    /// A symbol, a constant (`y`, `m`, `n`, a number) or a `$(...)` macro.
    case symbol(String)
    /// A quoted constant.
    case string(String)
    case not(KconfigExpression)
    case and(KconfigExpression, KconfigExpression)
    case or(KconfigExpression, KconfigExpression)
    /// Both operands are `.symbol` or `.string`.
    case comparison(KconfigExpression, Comparison, KconfigExpression)

    public enum Comparison: String, Hashable, Sendable, CaseIterable {
        case equal = "=", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    }

    /// Parses an expression; `nil` when it is malformed. A `#` ends the expression (comment).
    public init?(parsing text: some StringProtocol) {
        self.init(utf8: Array(text.utf8))
    }

    init?(utf8 bytes: [UInt8]) {
        var parser = ExpressionParser(bytes)
        guard let expression = parser.parseExpression(), parser.atEnd else { return nil }
        self = expression
    }

    /// The tristate value with `config` as the symbols' values. `index` tells the types of
    /// symbols absent from `config` (an absent string compares as `""`, an absent bool as `n`).
    public func value(in config: [String: KconfigValue], index: KconfigIndex? = nil) -> Tristate {
        switch self {
        case .symbol(let name):
            if let constant = Tristate(letter: Substring(name)) { return constant }
            // Macros are toolchain tests ($(cc-option,...)) that only the kernel's build can
            // run; assuming them met keeps the blame on terms we can evaluate.
            if name.hasPrefix("$(") { return .yes }
            return config[name]?.tristate ?? .no
        case .string(let text):
            return Tristate(letter: Substring(text)) ?? .no
        case .not(let operand):
            return Tristate(rawValue: 2 - operand.value(in: config, index: index).rawValue) ?? .no
        case .and(let left, let right):
            return min(left.value(in: config, index: index), right.value(in: config, index: index))
        case .or(let left, let right):
            return max(left.value(in: config, index: index), right.value(in: config, index: index))
        case .comparison(let left, let comparison, let right):
            let order = Self.order(left.comparisonText(in: config, index: index),
                                   right.comparisonText(in: config, index: index))
            let holds = switch comparison {
            case .equal: order == 0
            case .notEqual: order != 0
            case .less: order < 0
            case .lessOrEqual: order <= 0
            case .greater: order > 0
            case .greaterOrEqual: order >= 0
            }
            return holds ? .yes : .no
        }
    }

    /// The terms that keep the value below `required`, described with their values, e.g.
    /// `["PCI is n", "SERIAL_8250 is m"]`: the failing conjuncts of an `&&`, every
    /// alternative of a failing `||`. Empty when the value reaches `required`.
    public func unmetTerms(below required: Tristate, in config: [String: KconfigValue], index: KconfigIndex? = nil) -> [String] {
        guard value(in: config, index: index) < required else { return [] }
        var terms: [String] = []
        switch self {
        case .and(let left, let right), .or(let left, let right):
            terms = left.unmetTerms(below: required, in: config, index: index)
                + right.unmetTerms(below: required, in: config, index: index)
        case .symbol(let name) where name == "m":
            terms = ["m (module only)"]
        case .symbol(let name), .not(.symbol(let name)):
            terms = ["\(name) is \(KconfigExpression.symbol(name).value(in: config, index: index))"]
        case .comparison(let left, _, let right):
            terms = [left, right].compactMap { operand in
                guard case .symbol(let name) = operand, !name.hasPrefix("$(") else { return nil }
                if let value = config[name] { return "\(name) is \(value)" }
                switch index?.type(of: name) {
                case .bool?, .tristate?: return "\(name) is n"
                case .string?, .int?, .hex?: return "\(name) is not set"
                case nil: return nil
                }
            }
            if terms.isEmpty { terms = ["\(self) is false"] }
        default:
            terms = ["\(self) is false"]
        }
        var seen = Set<String>()
        return terms.filter { seen.insert($0).inserted }
    }

    public var description: String { text(within: 0) }

    /// The conjunction of `terms` with repeated terms left out; `nil` when there are none.
    static func allOf(_ terms: [KconfigExpression]) -> KconfigExpression? {
        var distinct: [KconfigExpression] = [] // a handful of terms: cheaper than hashing trees
        for term in terms where !distinct.contains(term) { distinct.append(term) }
        return distinct.reduce(nil) { conjunction, term in conjunction.map { .and($0, term) } ?? term }
    }

    private func comparisonText(in config: [String: KconfigValue], index: KconfigIndex?) -> String {
        switch self {
        case .string(let text): return text
        case .symbol(let name):
            if let value = config[name] { return value.comparisonText }
            switch index?.type(of: name) {
            case .bool?, .tristate?: return "n"
            case .string?, .int?, .hex?: return ""
            case nil: return name
            }
        default: return ""
        }
    }

    /// Negative, zero or positive like `strcmp`; numbers (decimal, or hex with `0x`) by value.
    private static func order(_ left: String, _ right: String) -> Int {
        func number(_ text: String) -> Int64? {
            KconfigValue.integer(text, radix: KconfigValue.hasHexPrefix(text) ? 16 : 10)
        }
        if let left = number(left), let right = number(right) {
            return left < right ? -1 : left == right ? 0 : 1
        }
        return left < right ? -1 : left == right ? 0 : 1
    }

    /// Precedence: `||` 1, `&&` 2, the rest 3; parenthesised when below `minimum`.
    private func text(within minimum: Int) -> String {
        let (text, precedence): (String, Int) = switch self {
        case .symbol(let name): (name, 3)
        case .string(let value): (KconfigValue.string(value).description, 3)
        case .not(let operand):
            // `!A = B` means `!(A = B)` in Kconfig; the parentheses spare the reader that rule.
            if case .comparison = operand { ("!(\(operand))", 3) } else { ("!" + operand.text(within: 3), 3) }
        case .and(let left, let right): (left.text(within: 2) + " && " + right.text(within: 2), 2)
        case .or(let left, let right): (left.text(within: 1) + " || " + right.text(within: 1), 1)
        case .comparison(let left, let comparison, let right):
            switch comparison {
            case .equal, .notEqual: ("\(left)\(comparison.rawValue)\(right)", 3)
            default: ("\(left) \(comparison.rawValue) \(right)", 3)
            }
        }
        return precedence < minimum ? "(\(text))" : text
    }
}

/// Recursive descent over the bytes of one expression; `!` binds tightest, then the
/// comparisons, `&&`, `||`.
private struct ExpressionParser {
    enum Token: Equatable {
        case word(String), quoted(String), comparison(KconfigExpression.Comparison)
        case not, and, or, open, close
    }

    private var tokens: [Token] = []
    private var position = 0
    private var valid = true

    init(_ bytes: [UInt8]) {
        var index = 0
        func byte(_ offset: Int) -> UInt8? { index + offset < bytes.count ? bytes[index + offset] : nil }
        scanning: while let current = byte(0) {
            switch current {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"):
                index += 1
            case UInt8(ascii: "#"):
                break scanning
            case UInt8(ascii: "("): tokens.append(.open); index += 1
            case UInt8(ascii: ")"): tokens.append(.close); index += 1
            case UInt8(ascii: "!"):
                if byte(1) == UInt8(ascii: "=") { tokens.append(.comparison(.notEqual)); index += 2 } else { tokens.append(.not); index += 1 }
            case UInt8(ascii: "&"), UInt8(ascii: "|"):
                guard byte(1) == current else { valid = false; break scanning }
                tokens.append(current == UInt8(ascii: "&") ? .and : .or)
                index += 2
            case UInt8(ascii: "="): tokens.append(.comparison(.equal)); index += 1
            case UInt8(ascii: "<"), UInt8(ascii: ">"):
                let orEqual = byte(1) == UInt8(ascii: "=")
                tokens.append(.comparison(current == UInt8(ascii: "<")
                    ? (orEqual ? .lessOrEqual : .less) : (orEqual ? .greaterOrEqual : .greater)))
                index += orEqual ? 2 : 1
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                var text: [UInt8] = []
                index += 1
                while let next = byte(0), next != current {
                    if next == UInt8(ascii: "\\") { index += 1 }
                    if let literal = byte(0) { text.append(literal) }
                    index += 1
                }
                guard byte(0) == current else { valid = false; break scanning }
                index += 1
                tokens.append(.quoted(String(decoding: text, as: UTF8.self)))
            case UInt8(ascii: "$") where byte(1) == UInt8(ascii: "("):
                let start = index
                index += 1
                var depth = 0
                repeat {
                    if bytes[index] == UInt8(ascii: "(") { depth += 1 }
                    if bytes[index] == UInt8(ascii: ")") { depth -= 1 }
                    index += 1
                } while depth > 0 && index < bytes.count
                guard depth == 0 else { valid = false; break scanning }
                tokens.append(.word(String(decoding: bytes[start..<index], as: UTF8.self)))
            default:
                let start = index
                while let next = byte(0), Self.isWordByte(next) { index += 1 }
                guard index > start else { valid = false; break scanning }
                tokens.append(.word(String(decoding: bytes[start..<index], as: UTF8.self)))
            }
        }
    }

    static func isWordByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"): true
        default: false
        }
    }

    var atEnd: Bool { valid && position == tokens.count }

    private var next: Token? { position < tokens.count ? tokens[position] : nil }

    mutating func parseExpression() -> KconfigExpression? {
        guard valid, var left = parseConjunction() else { return nil }
        while next == .or {
            position += 1
            guard let right = parseConjunction() else { return nil }
            left = .or(left, right)
        }
        return left
    }

    private mutating func parseConjunction() -> KconfigExpression? {
        guard var left = parseUnary() else { return nil }
        while next == .and {
            position += 1
            guard let right = parseUnary() else { return nil }
            left = .and(left, right)
        }
        return left
    }

    private mutating func parseUnary() -> KconfigExpression? {
        switch next {
        case .not?:
            position += 1
            return parseUnary().map { .not($0) }
        case .open?:
            position += 1
            guard let inner = parseExpression(), next == .close else { return nil }
            position += 1
            return inner
        default:
            guard let left = parseOperand() else { return nil }
            guard case .comparison(let comparison)? = next else { return left }
            position += 1
            return parseOperand().map { .comparison(left, comparison, $0) }
        }
    }

    private mutating func parseOperand() -> KconfigExpression? {
        switch next {
        case .word(let name)?: position += 1; return .symbol(name)
        case .quoted(let text)?: position += 1; return .string(text)
        default: return nil
        }
    }
}

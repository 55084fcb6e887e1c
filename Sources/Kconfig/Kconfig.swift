/// Reading, merging, checking and diffing kernel configurations.
///
/// The flow bspgen drives with this module:
///
/// 1. ``KconfigFile/parse(text:name:)`` reads a `.config` or a board's fragment into
///    ``KconfigAssignment``s, each remembering its ``KconfigOrigin`` (file:line).
/// 2. ``KconfigMerge`` lays the fragments over the base config (later lines win, as in the
///    kernel's `merge_config.sh`), records which fragment values were overridden, and renders
///    the merged `.config` text for `make olddefconfig`.
/// 3. ``KconfigCheck/check(requested:obtained:index:architecture:)`` compares what the
///    fragments asked for (``KconfigMerge/requested``) with the `.config` Kconfig produced and
///    returns a ``KconfigProblem`` for every option that was dropped or changed. A
///    ``KconfigIndex`` of the kernel tree's `Kconfig` files explains why: no such symbol (with
///    "did you mean"), defined only for another architecture, or which `depends on` terms
///    are unmet.
/// 4. ``KconfigDiff`` turns a `menuconfig` session (the `.config` before and after) into
///    fragment lines and writes them into a fragment file's text.
///
/// Symbols are named without the `CONFIG_` prefix everywhere in this API (`"PCI"`, not
/// `"CONFIG_PCI"`); the prefix belongs to the file syntax only.
///
/// Fragment syntax, beyond what the kernel writes into `.config`: an option line may carry a
/// trailing comment; when that comment starts with the word `optional`, the option is
/// optional, e.g. `CONFIG_FOO=y  # optional` or `# CONFIG_BAR is not set  # optional: 6.6+`.
/// An optional option Kconfig drops is still reported, but marked ``KconfigProblem/isOptional``
/// so the caller can warn instead of failing.
///
/// Everything here is a pure function on values, apart from reading files; nothing starts
/// a process.
import Foundation
import UserInput

/// A Kconfig tristate; `bool` symbols use only `no` and `yes`.
public enum Tristate: Int, Comparable, Hashable, Sendable, CustomStringConvertible {
    case no = 0, module = 1, yes = 2

    public static func < (lhs: Tristate, rhs: Tristate) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The letter Kconfig writes: `n`, `m` or `y`.
    public var description: String {
        switch self {
        case .no: "n"
        case .module: "m"
        case .yes: "y"
        }
    }

    init?(letter: Substring) {
        switch letter {
        case "n": self = .no
        case "m": self = .module
        case "y": self = .yes
        default: return nil
        }
    }
}

/// The value of one option as written in a `.config` or fragment.
public enum KconfigValue: Hashable, Sendable, CustomStringConvertible {
    /// `y`, `m`, or `n` (also written `# CONFIG_FOO is not set`).
    case tristate(Tristate)
    /// A quoted string, unescaped.
    case string(String)
    /// An `int` or `hex` value as written: `42`, `-1`, `0x1f`.
    case number(String)

    /// The value as it appears after `CONFIG_FOO=`, strings quoted and escaped as Kconfig does.
    public var description: String {
        switch self {
        case .tristate(let tristate): tristate.description
        case .number(let text): text
        case .string(let text):
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
    }

    /// Whether Kconfig would treat the two as the same setting. Numbers compare by value;
    /// a hex symbol accepts digits without `0x`, so when either side has the prefix both
    /// are read as hex.
    public func isSame(as other: KconfigValue) -> Bool {
        guard case .number(let left) = self, case .number(let right) = other else { return self == other }
        let radix = Self.hasHexPrefix(left) || Self.hasHexPrefix(right) ? 16 : 10
        guard let leftNumber = Self.integer(left, radix: radix), let rightNumber = Self.integer(right, radix: radix) else {
            return left == right
        }
        return leftNumber == rightNumber
    }

    /// The text Kconfig uses for comparisons in expressions (`FOO = "bar"`): `y`/`m`/`n`,
    /// the unquoted string, or the number as written.
    var comparisonText: String {
        switch self {
        case .tristate(let tristate): tristate.description
        case .string(let text), .number(let text): text
        }
    }

    /// The tristate an expression sees: non-boolean symbols count as `n`.
    var tristate: Tristate {
        if case .tristate(let tristate) = self { return tristate }
        return .no
    }

    static func hasHexPrefix(_ text: String) -> Bool { text.hasPrefix("0x") || text.hasPrefix("0X") }

    static func integer(_ text: String, radix: Int) -> Int64? {
        Int64(hasHexPrefix(text) ? String(text.dropFirst(2)) : text, radix: radix)
    }
}

/// Where an assignment or definition comes from.
public struct KconfigOrigin: Hashable, Sendable, CustomStringConvertible {
    /// The file name as given to the parser (for the index: the path relative to the tree).
    public var file: String
    /// 1-based line number.
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }
}

/// One option line: `CONFIG_FOO=y`, `CONFIG_FOO="text"`, `# CONFIG_FOO is not set`.
public struct KconfigAssignment: Hashable, Sendable, CustomStringConvertible {
    /// The symbol without `CONFIG_`.
    public var symbol: String
    public var value: KconfigValue
    public var origin: KconfigOrigin
    /// Marked `# optional` in its fragment: a dropped value is a warning, not an error.
    public var isOptional: Bool

    public init(symbol: String, value: KconfigValue, origin: KconfigOrigin, isOptional: Bool = false) {
        self.symbol = symbol
        self.value = value
        self.origin = origin
        self.isOptional = isOptional
    }

    /// The `.config` line for this assignment (without the optional marker).
    public var line: String {
        value == .tristate(.no) ? "# CONFIG_\(symbol) is not set" : "CONFIG_\(symbol)=\(value)"
    }

    public var description: String { line }
}

/// A file that could not be read or a line that is not valid `.config` syntax.
public enum KconfigError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `text` is the offending line; `expected` says what would have been valid.
    case invalidLine(KconfigOrigin, text: String, expected: String)
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidLine(let origin, let text, let expected): "\(origin): \(expected); found `\(UserText.escaped(text))`"
        case .unreadable(let path, let reason): "cannot read \(UserText.escaped(path)): \(reason)"
        }
    }
}

/// A fragment or `.config`: a regular file of at most `UserFile.Limit.text` bytes (a FIFO or `/dev/zero` named as a
/// fragment is refused, not read).
func readText(of url: URL) throws(KconfigError) -> String {
    do {
        // Decoding leniently: a stray Latin-1 byte in a help text must not stop a scan.
        return String(decoding: try UserFile.read(url.path, limit: UserFile.Limit.text), as: UTF8.self)
    } catch {
        throw .unreadable(path: url.path, reason: error.reason)
    }
}

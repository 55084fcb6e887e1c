/// The entries, selections and `source` statements of one Kconfig file.
///
/// Works on bytes: the tree holds ~6 MB of Kconfig text, most of it help text, which is
/// skipped by looking at indentation alone.
struct FileScan {
    typealias Bytes = UnsafeBufferPointer<UInt8>

    struct Entry {
        var symbol: String
        var location: KconfigOrigin
        var type: KconfigIndex.SymbolType? = nil
        /// The entry's own `depends on` terms.
        var dependsOn: [KconfigExpression] = []
        /// The enclosing blocks' conditions, innermost first.
        var inherited: [KconfigExpression]
        var hasPrompt = false
        var promptCondition: KconfigExpression?
        var choice: KconfigOrigin?
    }

    struct Source {
        var path: String
        /// `rsource`/`orsource`: relative to the sourcing file's folder, not the tree.
        var isRelative: Bool
        var conditions: [KconfigExpression]
    }

    let path: String
    private(set) var entries: [Entry] = []
    /// Keyed by the selected symbol.
    private(set) var selections: [(String, KconfigIndex.Selection)] = []
    private(set) var sources: [Source] = []
    private(set) var unparsed: [KconfigOrigin] = []

    /// `if`, `menu` and `choice` blocks, outermost first.
    private var blocks: [(conditions: [KconfigExpression], choice: KconfigOrigin?)] = []
    /// The `config` entry being read, or `nil`.
    private var entry: Entry?
    /// Whether `depends on` lines belong to the innermost block (right after `menu`/`choice`).
    private var dependsOnBlock = false

    init(path: String, bytes: [UInt8]) {
        self.path = path
        bytes.withUnsafeBufferPointer { scanLines(of: $0) }
        finishEntry()
    }

    private mutating func scanLines(of text: Bytes) {
        var position = 0
        var lineNumber = 0
        func nextLine() -> Bytes? {
            guard position < text.count else { return nil }
            var end = position
            while end < text.count && text[end] != UInt8(ascii: "\n") { end += 1 }
            defer { position = end + 1 }
            lineNumber += 1
            return Bytes(rebasing: text[position..<(end > position && text[end - 1] == UInt8(ascii: "\r") ? end - 1 : end)])
        }
        var inHelp = false
        var helpIndent: Int?
        while var line = nextLine() {
            if inHelp {
                // Kconfig's lexer: help text is every line indented at least as far as its
                // first line; a line indented less, or not at all, ends it.
                guard let indent = Self.indentation(of: line) else { continue }
                if indent > 0 && indent >= (helpIndent ?? indent) {
                    helpIndent = helpIndent ?? indent
                    continue
                }
                inHelp = false
            }
            let location = KconfigOrigin(file: path, line: lineNumber)
            if line.last == UInt8(ascii: "\\") {
                var joined: [UInt8] = []
                while line.last == UInt8(ascii: "\\"), let continuation = nextLine() {
                    joined += line.dropLast()
                    joined.append(UInt8(ascii: " "))
                    line = continuation
                }
                joined += line
                inHelp = joined.withUnsafeBufferPointer { read($0, at: location) }
            } else {
                inHelp = read(line, at: location)
            }
            helpIndent = nil
        }
    }

    /// Reads one logical line; returns whether it starts a help text.
    private mutating func read(_ line: Bytes, at location: KconfigOrigin) -> Bool {
        let (keyword, rest) = Self.firstWord(of: line)
        guard let first = keyword.first, first != UInt8(ascii: "#") else { return false }
        switch String(decoding: keyword, as: UTF8.self) {
        case "config", "menuconfig":
            finishEntry()
            let name = Self.firstWord(of: rest).word
            guard !name.isEmpty else { return false }
            entry = Entry(symbol: String(decoding: name, as: UTF8.self), location: location,
                          inherited: enclosingConditions, choice: blocks.last { $0.choice != nil }?.choice)
        case "choice":
            openBlock(choice: location)
        case "menu":
            openBlock(choice: nil)
        case "if":
            finishEntry()
            blocks.append((expression(rest, at: location).map { [$0] } ?? [], nil))
        case "endif", "endmenu", "endchoice":
            finishEntry()
            _ = blocks.popLast()
        case "source", "rsource", "osource", "orsource":
            finishEntry()
            let unquoted = Self.firstWord(of: rest).word
            if let sourced = Self.quoted(rest)?.text ?? (unquoted.isEmpty ? nil : String(decoding: unquoted, as: UTF8.self)) {
                let isRelative = first == UInt8(ascii: "r") || keyword.starts(with: "or".utf8)
                sources.append(Source(path: sourced, isRelative: isRelative, conditions: enclosingConditions))
            }
        case "comment", "mainmenu":
            finishEntry()
        case "depends":
            let (on, condition) = Self.firstWord(of: rest)
            guard on.elementsEqual("on".utf8), let term = expression(condition, at: location) else { return false }
            if entry != nil {
                entry?.dependsOn.append(term)
            } else if dependsOnBlock, !blocks.isEmpty {
                blocks[blocks.count - 1].conditions.append(term)
            }
        case "bool": setType(.bool, prompt: rest, at: location)
        case "tristate": setType(.tristate, prompt: rest, at: location)
        case "string": setType(.string, prompt: rest, at: location)
        case "int": setType(.int, prompt: rest, at: location)
        case "hex": setType(.hex, prompt: rest, at: location)
        case "def_bool": entry?.type = .bool
        case "def_tristate": entry?.type = .tristate
        case "prompt": setType(nil, prompt: rest, at: location)
        case "select":
            let (target, condition) = Self.firstWord(of: rest)
            guard let selector = entry?.symbol, !target.isEmpty else { return false }
            let selection = KconfigIndex.Selection(selector: selector, condition: ifCondition(condition, at: location), location: location)
            selections.append((String(decoding: target, as: UTF8.self), selection))
        case "help", "---help---":
            return true
        default:
            break // default, range, imply, option, visible, modules: irrelevant to the checks
        }
        return false
    }

    private var enclosingConditions: [KconfigExpression] {
        blocks.reversed().flatMap(\.conditions)
    }

    /// `menu` or `choice`: their own `depends on` lines follow.
    private mutating func openBlock(choice: KconfigOrigin?) {
        finishEntry()
        blocks.append(([], choice))
        dependsOnBlock = true
    }

    private mutating func finishEntry() {
        if let entry { entries.append(entry) }
        entry = nil
        dependsOnBlock = false
    }

    /// A type line with an optional prompt: `bool "Foo" if BAR`.
    private mutating func setType(_ type: KconfigIndex.SymbolType?, prompt: Bytes, at location: KconfigOrigin) {
        guard entry != nil else { return }
        if let type { entry?.type = type }
        guard let (_, afterPrompt) = Self.quoted(prompt) else { return }
        let condition = ifCondition(afterPrompt, at: location)
        entry?.hasPrompt = true
        entry?.promptCondition = condition
    }

    /// The expression after `if` in `... if <expression>`, if there is one.
    private mutating func ifCondition(_ text: Bytes, at location: KconfigOrigin) -> KconfigExpression? {
        let (word, rest) = Self.firstWord(of: text)
        guard word.elementsEqual("if".utf8) else { return nil }
        return expression(rest, at: location)
    }

    private mutating func expression(_ text: Bytes, at location: KconfigOrigin) -> KconfigExpression? {
        guard let expression = KconfigExpression(utf8: Array(text)) else {
            unparsed.append(location)
            return nil
        }
        return expression
    }

    /// The first blank-separated word (empty if none) and the text after it, leading blanks dropped.
    private static func firstWord(of text: Bytes) -> (word: Bytes, rest: Bytes) {
        var start = 0
        while start < text.count && isBlank(text[start]) { start += 1 }
        var end = start
        while end < text.count && !isBlank(text[end]) { end += 1 }
        var rest = end
        while rest < text.count && isBlank(text[rest]) { rest += 1 }
        return (Bytes(rebasing: text[start..<end]), Bytes(rebasing: text[rest...]))
    }

    /// A quoted string at the start of `text` (escapes resolved) and the text after it.
    private static func quoted(_ text: Bytes) -> (text: String, rest: Bytes)? {
        guard let quote = text.first, quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else { return nil }
        var result: [UInt8] = []
        var index = 1
        while index < text.count, text[index] != quote {
            if text[index] == UInt8(ascii: "\\") { index += 1 }
            if index < text.count { result.append(text[index]) }
            index += 1
        }
        guard index < text.count else { return nil }
        index += 1
        while index < text.count && isBlank(text[index]) { index += 1 }
        return (String(decoding: result, as: UTF8.self), Bytes(rebasing: text[index...]))
    }

    /// Columns of leading whitespace with tabs to the next multiple of 8; `nil` for blank lines.
    private static func indentation(of line: Bytes) -> Int? {
        var columns = 0
        for byte in line {
            switch byte {
            case UInt8(ascii: "\t"): columns = (columns & ~7) + 8
            case UInt8(ascii: " "): columns += 1
            default: return columns
            }
        }
        return nil
    }

    private static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }
}

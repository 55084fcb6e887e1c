/// What a `menuconfig` session changed, as fragment lines, and writing those into a fragment.
public enum KconfigDiff {
    /// The comment above lines appended to a fragment.
    public static let marker = "# added by bspgen menuconfig"

    /// One assignment per symbol whose value differs between the two configs, sorted by
    /// symbol. A symbol that disappeared becomes `# CONFIG_X is not set`; absent and `n`
    /// count as the same, so symbols merely shown or hidden as `n` are no change.
    /// Merging the result over `before` gives `after`'s values.
    public static func changes(from before: KconfigFile, to after: KconfigFile) -> [KconfigAssignment] {
        let old = before.latest
        let new = after.latest
        return Set(old.keys).union(new.keys).sorted().compactMap { symbol in
            let oldValue = old[symbol]?.value ?? .tristate(.no)
            let newValue = new[symbol]?.value ?? .tristate(.no)
            guard !oldValue.isSame(as: newValue), let origin = (new[symbol] ?? old[symbol])?.origin else { return nil }
            return KconfigAssignment(symbol: symbol, value: newValue, origin: origin)
        }
    }

    /// `fragment` (the text of the file called `name`) with `changes` written in: a symbol's
    /// existing line (its last one, the one that counts) is replaced in place, keeping its
    /// trailing comment; other symbols are appended at the end under ``marker``. Comments
    /// and all other lines stay as they are.
    public static func apply(_ changes: [KconfigAssignment], toFragment fragment: String, name: String) throws(KconfigError) -> String {
        var lines = KconfigFile.lines(of: fragment).map(String.init)
        var options: [String: (line: Int, comment: Substring?)] = [:]
        for (offset, line) in lines.enumerated() {
            if let option = try OptionLine(parsing: Substring(line), origin: KconfigOrigin(file: name, line: offset + 1)) {
                options[option.symbol] = (offset, option.comment)
            }
        }
        var appended: [String] = []
        for change in changes {
            if let existing = options[change.symbol] {
                lines[existing.line] = change.line + (existing.comment.map { "  \($0)" } ?? "")
            } else {
                appended.append(change.line)
            }
        }
        if !appended.isEmpty {
            if !lines.contains(marker) {
                if lines.last?.isEmpty == false { lines.append("") }
                lines.append(marker)
            }
            lines += appended
        }
        return lines.map { $0 + "\n" }.joined()
    }
}

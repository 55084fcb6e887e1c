/// The `@NAME@` placeholders of boot file templates. `@` rather than `${}` because U-Boot scripts use `${var}`
/// for their own variables.
public enum BootFileTemplate {
    public static let placeholders = ["BOARD", "CMDLINE", "CONSOLE", "DTB", "FIT", "INITRAMFS", "KERNEL"]

    /// `@WORD@` tokens (capitals, digits, `_`) that are not placeholders, with their 1-based line numbers.
    public static func unknownPlaceholders(in text: String) -> [(line: Int, name: String)] {
        var unknown: [(Int, String)] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            for name in tokens(in: Substring(line)) where !placeholders.contains(name) { unknown.append((index + 1, name)) }
        }
        return unknown
    }

    /// Every problem of a template for a board with these `values` (`values(for:)`), with its 1-based line: an
    /// unknown placeholder, or one the board has no value for (`@DTB@` without a device tree, `@FIT@` without a
    /// fit_image). `bspgen validate` and the boot files stage both ask here.
    public static func problems(in text: String, values: [String: String]) -> [(line: Int, message: String, hint: String?)] {
        var problems: [(line: Int, message: String, hint: String?)] = []
        let missing = ["DTB": ("the board has no device tree", "list one under kernel.device_trees, or set device_tree.from"),
                       "FIT": ("the board has no fit_image", "add a fit_image section")]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            for name in tokens(in: Substring(line)) {
                if !placeholders.contains(name) {
                    problems.append((index + 1, "unknown placeholder @\(name)@; known: " + placeholders.map { "@\($0)@" }.joined(separator: ", "),
                                     Suggestion.closest(to: name, among: placeholders).map { "did you mean @\($0)@?" }))
                } else if values[name] == nil, let (why, fix) = missing[name] {
                    problems.append((index + 1, "uses @\(name)@ but \(why)", fix))
                }
            }
        }
        return problems
    }

    /// The text with every placeholder replaced; `values` is keyed by placeholder name.
    public static func render(_ text: String, values: [String: String]) -> String {
        var result = text
        for (name, value) in values { result = result.replacingOccurrences(of: "@\(name)@", with: value) }
        return result
    }

    private static func tokens(in line: Substring) -> [String] {
        var names: [String] = []
        var rest = line[...]
        while let start = rest.firstIndex(of: "@") {
            let after = rest[rest.index(after: start)...]
            guard let end = after.firstIndex(of: "@") else { break }
            let name = after[..<end]
            if !name.isEmpty, name.allSatisfy({ $0.isUppercase || $0.isNumber || $0 == "_" }), name.first?.isLetter == true {
                names.append(String(name))
                rest = after[after.index(after: end)...]
            } else {
                rest = after
            }
        }
        return names
    }

    /// What each placeholder stands for on `board`: the same for the build and for the checks made before it.
    public static func values(for board: Board) -> [String: String] {
        let names = ArtifactNames(board: board)
        var values = ["BOARD": board.name, "CMDLINE": board.cmdline, "CONSOLE": board.console,
                      "KERNEL": names.kernel, "INITRAMFS": names.initramfs]
        values["DTB"] = names.deviceTrees.first
        values["FIT"] = board.fitImage?.name
        return values
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the kernel tree's `Kconfig` files say about each symbol: where it is defined, its
/// type, its dependencies, whether the user can set it, who selects it.
///
/// Every `Kconfig`, `Kconfig.*` and `Kconfig-*` file of the tree is scanned, so `source`
/// statements need not be followed to find symbols; they are only used to carry the
/// conditions a file is sourced under (`if NET ... source "net/ipv4/Kconfig" ... endif`)
/// into the dependencies of the symbols that file defines.
public struct KconfigIndex: Sendable {
    public enum SymbolType: String, Hashable, Sendable {
        case bool, tristate, string, int, hex
    }

    /// One `config`/`menuconfig` entry; a symbol may have several (one per architecture, or
    /// extra entries adding defaults).
    public struct Definition: Hashable, Sendable {
        public var symbol: String
        /// The path relative to the tree and the line of the `config` keyword.
        public var location: KconfigOrigin
        /// `nil` when this entry gives no type (another entry of the symbol does).
        public var type: SymbolType?
        /// Its `depends on` lines, the enclosing `if`, `menu ... depends on` and `choice`
        /// conditions, and the conditions its file is sourced under, all ANDed; `nil` when
        /// there are none.
        public var dependency: KconfigExpression?
        /// A prompt is what lets the user set a symbol; one without is set only by defaults
        /// and `select`.
        public var hasPrompt: Bool
        /// The prompt's own `if` condition (`bool "Foo" if EXPERT`).
        public var promptCondition: KconfigExpression?
        /// Where the enclosing `choice` starts, for entries that are choice members.
        public var choice: KconfigOrigin?
        /// `X` for files under `arch/X/`.
        public var architecture: String?
    }

    /// `select <symbol> [if <condition>]` in the entry of `selector`.
    public struct Selection: Hashable, Sendable {
        public var selector: String
        public var condition: KconfigExpression?
        public var location: KconfigOrigin
    }

    /// Definitions per symbol, in path order.
    public private(set) var definitions: [String: [Definition]] = [:]
    /// Who selects a symbol, keyed by the selected symbol.
    public private(set) var selections: [String: [Selection]] = [:]
    /// `depends on`/`if`/`select ... if` expressions that could not be parsed and were left out.
    public private(set) var unparsedExpressions: [KconfigOrigin] = []
    public private(set) var fileCount = 0
    private var choiceMembers: [KconfigOrigin: [String]] = [:]

    public init() {}

    /// Indexes Kconfig file texts keyed by their path relative to the tree root.
    public init(files: [String: String]) {
        self.init(scans: files.map { path, text in FileScan(path: path, bytes: Array(text.utf8)) })
    }

    /// Folders holding example and test inputs of Kconfig itself, not the kernel's options.
    static let ignoredFolders: Set<String> = ["Documentation/kbuild", "scripts/kconfig/tests"]

    /// Scans every Kconfig file under `tree` (hidden folders and symbolic links skipped).
    public static func scan(tree: URL) throws(KconfigError) -> KconfigIndex {
        let root = tree.path
        var paths: [String] = []
        guard collectKconfigFiles(root: root, folder: "", into: &paths) else {
            throw .unreadable(path: root, reason: "not a readable folder")
        }
        guard !paths.isEmpty else { throw .unreadable(path: root, reason: "no Kconfig files found") }
        var scans: [FileScan] = []
        for path in paths {
            guard let data = FileManager.default.contents(atPath: root + "/" + path) else {
                throw .unreadable(path: root + "/" + path, reason: "cannot read the file")
            }
            scans.append(FileScan(path: path, bytes: Array(data)))
        }
        return KconfigIndex(scans: scans)
    }

    /// Walks with `readdir`: Foundation's directory enumerators take seconds for the ~80k
    /// files of a kernel tree, this takes a tenth of one. Returns whether `folder` was readable.
    private static func collectKconfigFiles(root: String, folder: String, into paths: inout [String]) -> Bool {
        guard let directory = opendir(folder.isEmpty ? root : root + "/" + folder) else { return false }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard !name.hasPrefix(".") else { continue }
            let path = folder.isEmpty ? name : folder + "/" + name
            var isFolder = entry.pointee.d_type == UInt8(DT_DIR)
            var isFile = entry.pointee.d_type == UInt8(DT_REG)
            if entry.pointee.d_type == UInt8(DT_UNKNOWN) { // file systems that do not fill in d_type
                var status = stat()
                guard lstat(root + "/" + path, &status) == 0 else { continue }
                isFolder = status.st_mode & S_IFMT == S_IFDIR
                isFile = status.st_mode & S_IFMT == S_IFREG
            }
            if isFolder, !ignoredFolders.contains(path) {
                _ = collectKconfigFiles(root: root, folder: path, into: &paths)
            } else if isFile, name == "Kconfig" || name.hasPrefix("Kconfig.") || name.hasPrefix("Kconfig-") {
                paths.append(path)
            }
        }
        return true
    }

    /// The symbol's type from the first entry that gives one; `nil` for unknown symbols.
    public func type(of symbol: String) -> SymbolType? {
        definitions[symbol]?.lazy.compactMap(\.type).first
    }

    /// The defined symbols closest to `symbol` by edit distance (ignoring case), sorted by
    /// name; empty when none is close enough to be a likely typo (1 edit per 4 characters,
    /// at most 3).
    public func suggestions(for symbol: String, limit: Int = 3) -> [String] {
        let wanted = Array(symbol.uppercased().utf8)
        var maximum = min(3, max(1, wanted.count / 4))
        var closest: [String] = []
        for name in definitions.keys {
            guard let distance = editDistance(wanted, Array(name.uppercased().utf8), maximum: maximum) else { continue }
            if distance < maximum { closest = [] }
            maximum = distance
            closest.append(name)
        }
        return Array(closest.sorted().prefix(limit))
    }

    /// The architectures `config` was made for: those defining a symbol, found under no
    /// other architecture's folder, that is y or m in `config`.
    public func architectures(enabledIn config: [String: KconfigValue]) -> Set<String> {
        var found = Set<String>()
        for (symbol, value) in config where value.tristate != .no {
            guard let entries = definitions[symbol], let architecture = entries.first?.architecture,
                  entries.allSatisfy({ $0.architecture == architecture }) else { continue }
            found.insert(architecture)
        }
        return found
    }

    /// The symbols of the choice starting at `choice`.
    func members(ofChoice choice: KconfigOrigin) -> [String] {
        choiceMembers[choice] ?? []
    }

    private init(scans: [FileScan]) {
        let scans = scans.sorted { $0.path < $1.path }
        fileCount = scans.count
        let conditions = SourceConditions(scans: scans)
        for scan in scans {
            let fileConditions = conditions.condition(of: scan.path).map(Self.conjuncts) ?? []
            let architecture = Self.architecture(ofPath: scan.path)
            for entry in scan.entries {
                let definition = Definition(
                    symbol: entry.symbol, location: entry.location, type: entry.type,
                    dependency: KconfigExpression.allOf((entry.dependsOn + entry.inherited).flatMap(Self.conjuncts) + fileConditions),
                    hasPrompt: entry.hasPrompt, promptCondition: entry.promptCondition,
                    choice: entry.choice, architecture: architecture)
                definitions[entry.symbol, default: []].append(definition)
                if let choice = entry.choice { choiceMembers[choice, default: []].append(entry.symbol) }
            }
            for (target, selection) in scan.selections {
                selections[target, default: []].append(selection)
            }
            unparsedExpressions += scan.unparsed
        }
    }

    static func conjuncts(_ expression: KconfigExpression) -> [KconfigExpression] {
        if case .and(let left, let right) = expression { return conjuncts(left) + conjuncts(right) }
        return [expression]
    }

    static func architecture(ofPath path: String) -> String? {
        let components = path.split(separator: "/")
        return components.count > 2 && components[0] == "arch" ? String(components[1]) : nil
    }
}

/// Levenshtein distance, or `nil` as soon as it must exceed `maximum`.
private func editDistance(_ left: [UInt8], _ right: [UInt8], maximum: Int) -> Int? {
    guard abs(left.count - right.count) <= maximum else { return nil }
    var previous = Array(0...right.count)
    var current = previous
    for (row, leftByte) in left.enumerated() {
        current[0] = row + 1
        var rowMinimum = current[0]
        for (column, rightByte) in right.enumerated() {
            current[column + 1] = min(previous[column + 1] + 1, current[column] + 1,
                                      previous[column] + (leftByte == rightByte ? 0 : 1))
            rowMinimum = min(rowMinimum, current[column + 1])
        }
        guard rowMinimum <= maximum else { return nil }
        swap(&previous, &current)
    }
    return previous[right.count] <= maximum ? previous[right.count] : nil
}

/// The condition each file is sourced under: for every `source` site, the enclosing
/// `if`/`menu`/`choice` conditions and the condition of the sourcing file itself; several
/// sites are ORed. Files nothing sources (the top-level `Kconfig`) have none.
private struct SourceConditions {
    private var sites: [String: [(sourcer: String, conditions: [KconfigExpression])]] = [:]

    init(scans: [FileScan]) {
        let paths = scans.map(\.path)
        let known = Set(paths)
        for scan in scans {
            for source in scan.sources {
                let folder = scan.path.split(separator: "/").dropLast().joined(separator: "/")
                let pattern = Self.wildcardingMacros(source.isRelative && !folder.isEmpty ? folder + "/" + source.path : source.path)
                let targets = pattern.contains("*")
                    ? paths.filter { Self.matches(Array($0.utf8)[...], Array(pattern.utf8)[...]) }
                    : (known.contains(pattern) ? [pattern] : [])
                for target in targets where target != scan.path {
                    sites[target, default: []].append((scan.path, source.conditions))
                }
            }
        }
        var memo: [String: KconfigExpression?] = [:]
        for path in paths { _ = resolve(path, memo: &memo, visiting: []) }
        resolved = memo
    }

    private var resolved: [String: KconfigExpression?] = [:]

    func condition(of path: String) -> KconfigExpression? { resolved[path] ?? nil }

    private func resolve(_ path: String, memo: inout [String: KconfigExpression?], visiting: Set<String>) -> KconfigExpression? {
        if let known = memo[path] { return known }
        guard let incoming = sites[path], !visiting.contains(path) else { return nil }
        var alternatives: [KconfigExpression] = []
        for site in incoming {
            let sourcer = resolve(site.sourcer, memo: &memo, visiting: visiting.union([path]))
            guard let alternative = KconfigExpression.allOf(site.conditions + (sourcer.map(KconfigIndex.conjuncts) ?? [])) else {
                memo[path] = .some(nil)
                return nil
            }
            if !alternatives.contains(alternative) { alternatives.append(alternative) }
        }
        let condition = alternatives.dropFirst().reduce(alternatives.first) { either, next in either.map { .or($0, next) } }
        memo[path] = condition
        return condition
    }

    /// `arch/$(SRCARCH)/Kconfig` stands for every architecture's file.
    private static func wildcardingMacros(_ path: String) -> String {
        var result = ""
        var depth = 0
        var index = path.startIndex
        while index < path.endIndex {
            if depth == 0, path[index...].hasPrefix("$(") {
                result += "*"
                depth = 1
                index = path.index(index, offsetBy: 2)
                continue
            }
            if depth > 0 {
                if path[index] == "(" { depth += 1 }
                if path[index] == ")" { depth -= 1 }
            } else {
                result.append(path[index])
            }
            index = path.index(after: index)
        }
        return result
    }

    /// Glob matching where `*` matches within one path component, as Kconfig's `source` does.
    private static func matches(_ path: ArraySlice<UInt8>, _ pattern: ArraySlice<UInt8>) -> Bool {
        guard let first = pattern.first else { return path.isEmpty }
        if first == UInt8(ascii: "*") {
            var rest = path
            while true {
                if matches(rest, pattern.dropFirst()) { return true }
                guard let next = rest.first, next != UInt8(ascii: "/") else { return false }
                rest = rest.dropFirst()
            }
        }
        return path.first == first && matches(path.dropFirst(), pattern.dropFirst())
    }
}

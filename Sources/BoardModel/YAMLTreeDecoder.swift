import Yams

/// Field paths of a YAML document mapped to where they are written, so checks made after decoding can still
/// point at a line and column.
public struct LocationMap: Sendable {
    public let file: String
    private var locations: [String: SourceLocation] = [:]

    init(file: String, root: Node) {
        self.file = file
        record(root, path: "")
    }

    /// Where the field at `path` (e.g. `kernel.fragments[1]`) is written; the nearest written ancestor when
    /// the field itself is absent.
    public func location(of path: String) -> SourceLocation {
        var candidate = path
        while true {
            if let location = locations[candidate] { return location }
            guard let cut = candidate.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
            candidate = String(candidate[..<cut])
        }
        return locations[""] ?? SourceLocation(file: file)
    }

    /// Whether the document writes the field at `path` at all.
    public func contains(_ path: String) -> Bool { locations[path] != nil }

    private mutating func record(_ node: Node, path: String) {
        if let mark = node.mark { locations[path] = SourceLocation(file: file, line: mark.line, column: mark.column) }
        switch node {
        case .mapping(let mapping):
            for (key, value) in mapping {
                let child = FieldPath.appending(key.string ?? "?", to: path)
                // The key's own mark is where a reader looks for the field.
                if let mark = key.mark { locations[child] = SourceLocation(file: file, line: mark.line, column: mark.column) }
                if case .scalar = value { continue }
                record(value, path: child)
                if let mark = key.mark { locations[child] = SourceLocation(file: file, line: mark.line, column: mark.column) }
            }
        case .sequence(let sequence):
            for (index, element) in sequence.enumerated() { record(element, path: "\(path)[\(index)]") }
        case .scalar, .alias:
            break
        }
    }
}

enum FieldPath {
    static func appending(_ key: String, to path: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    static func render(_ codingPath: [any CodingKey]) -> String {
        codingPath.reduce("") { path, key in
            key.intValue.map { "\(path)[\($0)]" } ?? appending(key.stringValue, to: path)
        }
    }
}

/// A string-valued enumeration read from YAML; a bad value gets the list of choices and a "did you mean".
public protocol YAMLEnumeration: Decodable, CaseIterable, RawRepresentable where RawValue == String {}

/// Decodes `Decodable` values straight from Yams' node tree. Unlike a plain `YAMLDecoder` it reports the line and
/// column of every error, and treats keys that no field asked for as errors (a misspelt key must not be ignored).
/// It reports every problem of the document at once: a field that fails is recorded, a stand-in value takes its
/// place, and decoding goes on; the whole list is thrown at the end.
public enum YAMLTreeDecoder {
    public static func decode<T: Decodable>(_ type: T.Type, from text: String, file: String) throws(DiagnosticList) -> (T, LocationMap) {
        let textProblems = DescriptionText.controlCharacters(in: text, file: file)
        if !textProblems.isEmpty { throw DiagnosticList(textProblems) }
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                throw DiagnosticList([Diagnostic(SourceLocation(file: file, line: 1, column: 1), "the file is empty; expected a mapping of fields")])
            }
            root = composed
        } catch let error as DiagnosticList {
            throw error
        } catch {
            throw DiagnosticList([YAMLSyntax.diagnostic(error, text: text, file: file)])
        }
        let state = DecodingState(file: file, root: root)
        var value: T?
        do {
            value = try NodeDecoder(node: root, codingPath: [], state: state).decodeValue(T.self)
        } catch {
            state.record(error, secondary: false)
        }
        let problems = state.allProblems()
        guard problems.isEmpty, let value else {
            throw DiagnosticList(problems.isEmpty ? [Diagnostic(SourceLocation(file: file), "the file could not be read as a description")] : problems)
        }
        return (value, LocationMap(file: file, root: root))
    }
}

/// Remembers, for every mapping that was decoded as a keyed container, which keys the decoded type asked for, and
/// every problem found so far.
private final class DecodingState {
    let file: String
    let root: Node
    private var usages: [MappingUsage] = []
    /// Problems in the order found.
    private(set) var problems: [Diagnostic] = []
    /// Required fields that were absent, reported at the end: a misspelt key in the same mapping is the likely cause.
    private var missing: [(usage: MappingUsage, key: String, diagnostic: Diagnostic)] = []

    init(file: String, root: Node) {
        self.file = file
        self.root = root
    }

    var problemCount: Int { problems.count + missing.count }

    func usage(for mapping: Node.Mapping, at path: [any CodingKey]) -> MappingUsage {
        let usage = MappingUsage(mapping: mapping, path: path)
        usages.append(usage)
        return usage
    }

    func location(_ node: Node?) -> SourceLocation {
        guard let mark = node?.mark else { return SourceLocation(file: file) }
        return SourceLocation(file: file, line: mark.line, column: mark.column)
    }

    func recordMissing(_ key: String, in usage: MappingUsage, _ diagnostic: Diagnostic) {
        missing.append((usage, key, diagnostic))
    }

    /// Keeps `error` as a problem of the file, unless it only follows from problems already kept (`secondary`: a
    /// stand-in value that a type's own checks then refused).
    func record(_ error: any Error, secondary: Bool) {
        if secondary || error is AlreadyReported { return }
        switch error {
        case let diagnostic as Diagnostic: problems.append(diagnostic)
        case let list as DiagnosticList: problems += list.diagnostics
        case let decoding as DecodingError: problems.append(diagnostic(for: decoding))
        default: problems.append(Diagnostic(SourceLocation(file: file), "\(error)"))
        }
    }

    /// Every problem, ordered by where it is written: unknown keys, missing fields (merged with the unknown key that
    /// is their misspelling), wrong values.
    func allProblems() -> [Diagnostic] {
        var unknown = unknownKeys()
        var found = problems
        for absent in missing {
            let candidates = unknown.indices.filter { unknown[$0].usage === absent.usage }
            if let match = Suggestion.closest(to: absent.key, among: candidates.map { unknown[$0].name }),
               let index = candidates.first(where: { unknown[$0].name == match }) {
                let misspelt = unknown.remove(at: index)
                found.append(Diagnostic(misspelt.diagnostic.location, field: misspelt.diagnostic.field,
                                        "unknown key \(DescriptionText.quoted(match)), and the required field '\(absent.key)' is missing",
                                        hint: "did you mean '\(absent.key)'? rename \(DescriptionText.quoted(match)) to '\(absent.key)'"))
            } else {
                found.append(absent.diagnostic)
            }
        }
        found += unknown.map(\.diagnostic)
        var seen = Set<Diagnostic>()
        return found.filter { seen.insert($0).inserted }.sorted { ($0.location.line ?? 0, $0.location.column ?? 0) < ($1.location.line ?? 0, $1.location.column ?? 0) }
    }

    private func unknownKeys() -> [(usage: MappingUsage, name: String, diagnostic: Diagnostic)] {
        var found: [(usage: MappingUsage, name: String, diagnostic: Diagnostic)] = []
        var reported = Set<String>()
        for usage in usages {
            let known = usage.askedKeys.sorted()
            for (key, _) in usage.mapping {
                let name = key.string ?? ""
                guard !usage.askedKeys.contains(name) else { continue }
                let field = FieldPath.appending(name, to: FieldPath.render(usage.path))
                guard reported.insert(field).inserted else { continue }
                found.append((usage, name, Diagnostic(location(key), field: field,
                                                      "unknown key \(DescriptionText.quoted(name)); expected one of: \(known.joined(separator: ", "))",
                                                      hint: Suggestion.didYouMean(name, among: known) ?? "remove it, or check the spelling against the README's schema")))
            }
        }
        return found
    }

    /// Errors thrown by decoded types' own `init(from:)` only carry a coding path: find its node again.
    func diagnostic(for error: DecodingError) -> Diagnostic {
        let (path, message): ([any CodingKey], String) = switch error {
        case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context):
            (context.codingPath, context.debugDescription)
        case .keyNotFound(let key, let context):
            (context.codingPath, "missing required field '\(key.stringValue)'")
        @unknown default:
            ([], "\(error)")
        }
        var node: Node? = root
        for key in path {
            if let index = key.intValue { node = node?.sequence.flatMap { index < $0.count ? $0[index] : nil } }
            else { node = node?.mapping?[key.stringValue] }
        }
        return Diagnostic(location(node), field: FieldPath.render(path), message)
    }
}

/// Thrown when a stand-in value cannot be made: the problem that called for it is already recorded.
private struct AlreadyReported: Error {}

private final class MappingUsage {
    let mapping: Node.Mapping
    let path: [any CodingKey]
    var askedKeys = Set<String>()

    init(mapping: Node.Mapping, path: [any CodingKey]) {
        self.mapping = mapping
        self.path = path
    }
}

private struct IndexKey: CodingKey {
    var stringValue: String { "\(intValue ?? 0)" }
    var intValue: Int?
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct NodeDecoder: Decoder {
    let node: Node
    let codingPath: [any CodingKey]
    let state: DecodingState
    /// Making a stand-in for a field that failed or is missing: every value is a default and nothing is recorded.
    var isPlaceholder = false
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    var field: String { FieldPath.render(codingPath) }

    func fail(_ message: String, hint: String? = nil) -> Diagnostic {
        Diagnostic(state.location(node), field: field, message, hint: hint)
    }

    var kindName: String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        case .scalar(let scalar): isNull ? "nothing" : DescriptionText.quoted(scalar.string)
        }
    }

    var isNull: Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    func scalarText(expected: String) throws -> String {
        if isPlaceholder { return node.scalar?.string ?? "" }
        guard case .scalar(let scalar) = node, !isNull else { throw fail("expected \(expected), found \(kindName)") }
        // A double-quoted YAML string can write any character as an escape ("\e"): values that would act on a
        // terminal, or hide in a command line, are refused like raw control characters are.
        if let control = scalar.string.unicodeScalars.first(where: { $0 != "\n" && $0 != "\t" && $0.properties.generalCategory == .control }) {
            throw fail("the value contains the control character \(DescriptionText.escape(control))",
                       hint: "remove it; only tabs and line breaks are allowed in values")
        }
        return scalar.string
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if isPlaceholder {
            return KeyedDecodingContainer(KeyedNodeContainer<Key>(decoder: self, mapping: Node.Mapping([]),
                                                                  usage: MappingUsage(mapping: Node.Mapping([]), path: codingPath)))
        }
        guard case .mapping(let mapping) = node else { throw fail("expected a mapping of fields, found \(kindName)") }
        return KeyedDecodingContainer(KeyedNodeContainer<Key>(decoder: self, mapping: mapping,
                                                              usage: state.usage(for: mapping, at: codingPath)))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        if isPlaceholder { return UnkeyedNodeContainer(decoder: self, elements: []) }
        guard case .sequence(let sequence) = node else { throw fail("expected a list, found \(kindName)") }
        return UnkeyedNodeContainer(decoder: self, elements: Array(sequence))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleValueNodeContainer(decoder: self) }

    func child(_ node: Node, key: any CodingKey) -> NodeDecoder {
        NodeDecoder(node: node, codingPath: codingPath + [key], state: state, isPlaceholder: isPlaceholder)
    }

    /// A default value of `type` for the field at `key`, so that decoding can go on after a problem there.
    func placeholder<T: Decodable>(_ type: T.Type, key: any CodingKey) throws -> T {
        do {
            return try NodeDecoder(node: .mapping(Node.Mapping([])), codingPath: codingPath + [key], state: state, isPlaceholder: true)
                .decodeValue(type)
        } catch {
            throw AlreadyReported()
        }
    }

    /// `body`'s value, or, when it fails, a stand-in with the failure recorded: one problem does not hide the others.
    func recovering<T: Decodable>(_ type: T.Type, key: any CodingKey, _ body: () throws -> T) throws -> T {
        if isPlaceholder { return try body() }
        let before = state.problemCount
        do {
            return try body()
        } catch {
            state.record(error, secondary: state.problemCount > before)
            return try placeholder(type, key: key)
        }
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if case .alias = node, !isPlaceholder { throw fail("YAML aliases are not supported here", hint: "write the value out in full") }
        let scalar: Any
        switch type {
        case is String.Type:
            scalar = try scalarText(expected: "a string")
        case is Bool.Type:
            let text = try scalarText(expected: "true or false")
            guard let value = ["true": true, "false": false][text] ?? (isPlaceholder ? false : nil) else {
                throw fail("expected true or false, found \(DescriptionText.quoted(text))")
            }
            scalar = value
        case is Int.Type:
            let text = try scalarText(expected: "an integer")
            guard let value = Int(text) ?? (text.hasPrefix("0x") ? Int(text.dropFirst(2), radix: 16) : nil) ?? (isPlaceholder ? 0 : nil) else {
                throw fail("expected an integer, found \(DescriptionText.quoted(text))")
            }
            scalar = value
        case is Double.Type:
            let text = try scalarText(expected: "a number")
            guard let value = Double(text) ?? (isPlaceholder ? 0 : nil) else { throw fail("expected a number, found \(DescriptionText.quoted(text))") }
            scalar = value
        case let enumeration as any YAMLEnumeration.Type:
            let choices = enumeration.choices
            if isPlaceholder, let first = choices.first {
                return try T(from: NodeDecoder(node: .scalar(Node.Scalar(first)), codingPath: codingPath, state: state, isPlaceholder: true))
            }
            let text = try scalarText(expected: "one of: \(choices.joined(separator: ", "))")
            guard choices.contains(text) else {
                throw fail("\(DescriptionText.quoted(text)) is not valid here; expected one of: \(choices.joined(separator: ", "))",
                           hint: Suggestion.didYouMean(text, among: choices))
            }
            return try T(from: self)
        default:
            return try T(from: self)
        }
        guard let value = scalar as? T else { throw fail("cannot read \(kindName) as \(T.self)") }
        return value
    }
}

extension YAMLEnumeration {
    static var choices: [String] { allCases.map(\.rawValue) }
}

private struct KeyedNodeContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: NodeDecoder
    let mapping: Node.Mapping
    let usage: MappingUsage

    var codingPath: [any CodingKey] { decoder.codingPath }
    var allKeys: [Key] { mapping.keys.compactMap { $0.string.flatMap(Key.init(stringValue:)) } }

    private func value(for key: Key) -> Node? {
        usage.askedKeys.insert(key.stringValue)
        return mapping[key.stringValue]
    }

    func contains(_ key: Key) -> Bool { value(for: key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let node = value(for: key) else { return true }
        return decoder.child(node, key: key).isNull
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        guard let node = value(for: key) else {
            if !decoder.isPlaceholder {
                decoder.state.recordMissing(key.stringValue, in: usage,
                                            Diagnostic(decoder.state.location(.mapping(mapping)), field: decoder.field,
                                                       "missing required field '\(key.stringValue)'",
                                                       hint: "add '\(key.stringValue):' to this mapping"))
            }
            return try decoder.placeholder(type, key: key)
        }
        return try decoder.recovering(type, key: key) { try decoder.child(node, key: key).decodeValue(type) }
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let node = value(for: key) else { return nil }
        let child = decoder.child(node, key: key)
        if child.isNull { return nil }
        if decoder.isPlaceholder { return try child.decodeValue(type) }
        let before = decoder.state.problemCount
        do {
            return try child.decodeValue(type)
        } catch {
            decoder.state.record(error, secondary: decoder.state.problemCount > before)
            return nil
        }
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        guard let node = value(for: key) else { throw decoder.fail("missing required field '\(key.stringValue)'") }
        return try decoder.child(node, key: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        guard let node = value(for: key) else { throw decoder.fail("missing required field '\(key.stringValue)'") }
        return try decoder.child(node, key: key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> any Decoder { decoder }
}

private struct UnkeyedNodeContainer: UnkeyedDecodingContainer {
    let decoder: NodeDecoder
    let elements: [Node]
    var currentIndex = 0

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next() throws -> NodeDecoder {
        guard !isAtEnd else { throw decoder.fail("the list has too few elements") }
        defer { currentIndex += 1 }
        return decoder.child(elements[currentIndex], key: IndexKey(currentIndex))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, decoder.child(elements[currentIndex], key: IndexKey(currentIndex)).isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let element = try next()
        return try decoder.recovering(type, key: IndexKey(currentIndex - 1)) { try element.decodeValue(type) }
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
    mutating func superDecoder() throws -> any Decoder { try next() }
}

private struct SingleValueNodeContainer: SingleValueDecodingContainer {
    let decoder: NodeDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }
    func decodeNil() -> Bool { decoder.isNull }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeValue(type) }
}

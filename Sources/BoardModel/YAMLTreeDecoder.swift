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
public enum YAMLTreeDecoder {
    public static func decode<T: Decodable>(_ type: T.Type, from text: String, file: String) throws(DiagnosticList) -> (T, LocationMap) {
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                throw DiagnosticList([Diagnostic(SourceLocation(file: file, line: 1, column: 1), "the file is empty; expected a mapping of fields")])
            }
            root = composed
        } catch let error as DiagnosticList {
            throw error
        } catch {
            throw DiagnosticList([syntaxDiagnostic(error, file: file)])
        }
        let state = DecodingState(file: file)
        let value: T
        do {
            value = try NodeDecoder(node: root, codingPath: [], state: state).decodeValue(T.self)
        } catch let diagnostic as Diagnostic {
            throw DiagnosticList([diagnostic])
        } catch let error as DecodingError {
            throw DiagnosticList([state.diagnostic(for: error, root: root)])
        } catch {
            throw DiagnosticList([Diagnostic(SourceLocation(file: file), "\(error)")])
        }
        let unknown = state.unknownKeys()
        if !unknown.isEmpty { throw DiagnosticList(unknown) }
        return (value, LocationMap(file: file, root: root))
    }

    private static func syntaxDiagnostic(_ error: any Error, file: String) -> Diagnostic {
        guard let yamlError = error as? YamlError else { return Diagnostic(SourceLocation(file: file), "\(error)") }
        switch yamlError {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let what = [context?.text, problem].compactMap { $0 }.joined(separator: " ")
            return Diagnostic(SourceLocation(file: file, line: mark.line, column: mark.column),
                              "YAML syntax error: \(what)",
                              hint: "check indentation and quoting on this line or the one before it")
        case let .duplicatedKeysInMapping(duplicates, context):
            return Diagnostic(SourceLocation(file: file, line: context.mark.line, column: context.mark.column),
                              "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) in this mapping",
                              hint: "each field may appear once; remove or merge the repeated one")
        default:
            return Diagnostic(SourceLocation(file: file), "YAML error: \(yamlError)")
        }
    }
}

/// Remembers, for every mapping that was decoded as a keyed container, which keys the decoded type asked for.
private final class DecodingState {
    let file: String
    private var usages: [MappingUsage] = []

    init(file: String) { self.file = file }

    func usage(for mapping: Node.Mapping, at path: [any CodingKey]) -> MappingUsage {
        let usage = MappingUsage(mapping: mapping, path: path)
        usages.append(usage)
        return usage
    }

    func location(_ node: Node?) -> SourceLocation {
        guard let mark = node?.mark else { return SourceLocation(file: file) }
        return SourceLocation(file: file, line: mark.line, column: mark.column)
    }

    func unknownKeys() -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        var reported = Set<String>()
        for usage in usages {
            let known = usage.askedKeys.sorted()
            for (key, _) in usage.mapping {
                let name = key.string ?? ""
                guard !usage.askedKeys.contains(name) else { continue }
                let field = FieldPath.appending(name, to: FieldPath.render(usage.path))
                guard reported.insert(field).inserted else { continue }
                diagnostics.append(Diagnostic(location(key), field: field,
                                              "unknown key '\(name)'; expected one of: \(known.joined(separator: ", "))",
                                              hint: Suggestion.didYouMean(name, among: known) ?? "remove it, or check the spelling against the README's board schema"))
            }
        }
        return diagnostics
    }

    /// Errors thrown by decoded types' own `init(from:)` only carry a coding path: find its node again.
    func diagnostic(for error: DecodingError, root: Node) -> Diagnostic {
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
        case .scalar(let scalar): isNull ? "nothing" : "'\(scalar.string)'"
        }
    }

    var isNull: Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    func scalarText(expected: String) throws -> String {
        guard case .scalar(let scalar) = node, !isNull else { throw fail("expected \(expected), found \(kindName)") }
        return scalar.string
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .mapping(let mapping) = node else { throw fail("expected a mapping of fields, found \(kindName)") }
        return KeyedDecodingContainer(KeyedNodeContainer<Key>(decoder: self, mapping: mapping,
                                                              usage: state.usage(for: mapping, at: codingPath)))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .sequence(let sequence) = node else { throw fail("expected a list, found \(kindName)") }
        return UnkeyedNodeContainer(decoder: self, elements: Array(sequence))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleValueNodeContainer(decoder: self) }

    func child(_ node: Node, key: any CodingKey) -> NodeDecoder {
        NodeDecoder(node: node, codingPath: codingPath + [key], state: state)
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if case .alias = node { throw fail("YAML aliases are not supported here", hint: "write the value out in full") }
        let scalar: Any
        switch type {
        case is String.Type:
            scalar = try scalarText(expected: "a string")
        case is Bool.Type:
            let text = try scalarText(expected: "true or false")
            guard let value = ["true": true, "false": false][text] else { throw fail("expected true or false, found '\(text)'") }
            scalar = value
        case is Int.Type:
            let text = try scalarText(expected: "an integer")
            guard let value = Int(text) ?? (text.hasPrefix("0x") ? Int(text.dropFirst(2), radix: 16) : nil) else {
                throw fail("expected an integer, found '\(text)'")
            }
            scalar = value
        case is Double.Type:
            let text = try scalarText(expected: "a number")
            guard let value = Double(text) else { throw fail("expected a number, found '\(text)'") }
            scalar = value
        case let enumeration as any YAMLEnumeration.Type:
            let choices = enumeration.choices
            let text = try scalarText(expected: "one of: \(choices.joined(separator: ", "))")
            guard choices.contains(text) else {
                throw fail("'\(text)' is not valid here; expected one of: \(choices.joined(separator: ", "))",
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
            throw Diagnostic(decoder.state.location(.mapping(mapping)), field: decoder.field,
                             "missing required field '\(key.stringValue)'",
                             hint: "add '\(key.stringValue):' to this mapping")
        }
        return try decoder.child(node, key: key).decodeValue(type)
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let node = value(for: key) else { return nil }
        let child = decoder.child(node, key: key)
        return child.isNull ? nil : try child.decodeValue(type)
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

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeValue(type) }
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

import Foundation

/// A place in a description file; line and column count from 1.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?

    public init(file: String, line: Int? = nil, column: Int? = nil) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String {
        switch (line, column) {
        case let (line?, column?): return "\(file):\(line):\(column)"
        case let (line?, nil): return "\(file):\(line)"
        default: return file
        }
    }
}

/// One problem found in a board or toolchain description, phrased for the person who has to fix it.
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    /// Dotted path of the field, e.g. `kernel.fragments[1]`; empty for the whole file.
    public var field: String
    /// What is wrong and what was expected.
    public var message: String
    /// How to fix it, e.g. a "did you mean".
    public var hint: String?

    public init(_ location: SourceLocation, field: String = "", _ message: String, hint: String? = nil) {
        self.location = location
        self.field = field
        self.message = message
        self.hint = hint
    }

    /// One line, and an indented hint line; whatever of the input the message quotes is shown escaped and cut to
    /// length, so a file cannot act on the terminal or flood it through its error.
    public var description: String {
        var text = "\(location): "
        if !field.isEmpty { text += "\(field): " }
        text += message
        var shown = DescriptionText.singleLine(text)
        if let hint { shown += "\n    hint: " + DescriptionText.singleLine(hint) }
        return shown
    }
}

/// Every problem found while loading descriptions; loading reports them all at once.
public struct DiagnosticList: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

extension Diagnostic {
    /// A board, toolchain or architecture is found by its file's name, so its `name` must be that name.
    static func nameDiffersFromFile(name: String, file: URL, locations: LocationMap) -> Diagnostic? {
        let stem = file.deletingPathExtension().lastPathComponent
        guard name != stem else { return nil }
        return Diagnostic(locations.location(of: "name"), field: "name", "the name \(DescriptionText.quoted(name)) differs from the file name '\(stem).yaml'",
                          hint: "rename the file or set 'name: \(stem)'")
    }
}

import Yams

/// libyaml's syntax errors in words for someone editing a board file: where, what is wrong, how to fix it. Its own
/// phrases ("did not find expected <block end>") and dumps of the document stay out of the message.
enum YAMLSyntax {
    static func diagnostic(_ error: any Error, text: String, file: String) -> Diagnostic {
        guard let yamlError = error as? YamlError else {
            return Diagnostic(SourceLocation(file: file), "the file is not valid YAML")
        }
        switch yamlError {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            // libyaml says "cannot start any token" of a tab that starts a line: name the tab.
            let line = text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(max(mark.line - 1, 0)).first
            let tabbed = line.map { $0.prefix(max(mark.column, 1)).contains("\t") } ?? false
            let (message, hint) = explain(problem: tabbed ? "tab character" : problem, context: context?.text ?? "")
            return Diagnostic(SourceLocation(file: file, line: mark.line, column: mark.column), message, hint: hint)
        case let .duplicatedKeysInMapping(duplicates, context):
            return Diagnostic(SourceLocation(file: file, line: context.mark.line, column: context.mark.column),
                              "duplicate key \(duplicates.map { DescriptionText.quoted($0) }.joined(separator: ", ")) in this mapping",
                              hint: "each field may appear once; remove or merge the repeated one")
        case let .reader(_, offset, value, _):
            let place = offset.map { Self.location(ofCharacter: $0, in: text, file: file) } ?? SourceLocation(file: file)
            let character = Unicode.Scalar(UInt32(bitPattern: value)).map(DescriptionText.escape) ?? "a character"
            return Diagnostic(place, "\(character) is not allowed in a YAML file", hint: "remove it")
        default:
            return Diagnostic(SourceLocation(file: file), "the file is not valid YAML")
        }
    }

    /// Known libyaml problems, by the words it uses, in plain terms.
    static func explain(problem: String, context: String) -> (String, String) {
        let indentation = "check the indentation of this line and the one before it (spaces only, the same depth for fields of one mapping)"
        switch problem {
        case let text where text.contains("tab character"):
            return ("a tab in the indentation", "YAML indents with spaces only; replace the tab by spaces")
        case let text where text.contains("<document start>"):
            return ("this line is not a 'key: value' field", "a description is a mapping of 'key: value' lines; " + indentation)
        case let text where text.contains("<block end>"), let text where text.contains("expected key"):
            return ("this line does not line up with the fields around it", indentation)
        case let text where text.contains("'-' indicator"):
            return ("a list item out of line with the items before it", "start every item of a list with '- ' at the same depth")
        case let text where text.contains("mapping values are not allowed"):
            return ("a ':' where no field can start", "quote a value that contains ': ', or put the field on its own line")
        case let text where text.contains("could not find expected ':'"):
            return ("a key without ':' after it", "write 'key: value'")
        case let text where text.contains("',' or ']'"):
            return ("a '[' list that is not closed", "end the list with ']' and separate its items with ','")
        case let text where text.contains("',' or '}'"):
            return ("a '{' mapping that is not closed", "end the mapping with '}' and separate its fields with ','")
        case let text where text.contains("end of stream") && context.contains("quoted"):
            return ("a quoted string that is not closed", "close it with the same quote it opens with")
        case let text where text.contains("escape"):
            return ("an unknown escape sequence in a double-quoted string", "write '\\\\' for a backslash, or use single quotes")
        case let text where text.contains("undefined alias"):
            return ("'*' starts an alias, and aliases are not supported", "write the value out in full, or quote it")
        case let text where text.contains("another document"):
            return ("a second YAML document ('---')", "a description file holds one mapping; remove the second '---' and what follows, or merge it")
        case let text where text.contains("nesting level"):
            return ("lists or mappings nested too deeply", "a description nests a few levels at most; check the '[' and '{'")
        case let text where text.contains("expected node content"):
            return ("a value is missing here", "write the value, or remove the ',' or '-' that announces it")
        case let text where text.contains("cannot start any token"):
            return ("a character that cannot start a YAML value", "quote the value")
        default:
            let words = [context, problem].filter { !$0.isEmpty }.joined(separator: " ")
            return ("YAML syntax error: \(DescriptionText.forTerminal(words, lineLimit: 200))", indentation)
        }
    }

    static func location(ofCharacter offset: Int, in text: String, file: String) -> SourceLocation {
        var line = 1, column = 1
        for scalar in text.unicodeScalars.prefix(offset) {
            if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return SourceLocation(file: file, line: line, column: column)
    }
}

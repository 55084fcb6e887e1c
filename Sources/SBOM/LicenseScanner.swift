import Foundation

/// What a file says about its licence: the text after `SPDX-License-Identifier:` and, when it reads as an
/// expression, that expression.
public struct FileLicense: Sendable, Equatable, Codable {
    /// The identifier as written in the file, comment terminators removed; nil when the file has none.
    public var written: String?
    /// The expression read from it (normalized); nil when there is none or it could not be read.
    public var expression: LicenseExpression?
    /// Why `written` could not be read as an expression.
    public var problem: String?

    public init(written: String?, expression: LicenseExpression?, problem: String? = nil) {
        self.written = written
        self.expression = expression
        self.problem = problem
    }

    public static let none = FileLicense(written: nil, expression: nil)

    /// What the file lists show: the expression, or NOASSERTION (SPDX's word for "nothing said").
    public var listed: String { expression?.description ?? "NOASSERTION" }
}

/// Reads `SPDX-License-Identifier` lines the way the kernel's and U-Boot's rules place them: in the first lines of
/// the file (the first, or the second after a `#!` line; later in a few generated or odd files), in any comment
/// style.
public enum LicenseScanner {
    /// Bytes read from the start of each file: the kernel's rule is the first line that can hold a comment.
    public static let headLength = 4096
    static let marker = Array("SPDX-License-Identifier:".utf8)

    public static func scan(_ url: URL) -> FileLicense {
        guard let handle = FileHandle(forReadingAtPath: url.path) else { return .none }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: headLength)) ?? Data()
        return scan(head: head)
    }

    public static func scan(head: Data) -> FileLicense {
        // Foundation's search, not a loop of ours: thousands of files are scanned per build, in debug builds too.
        guard let found = head.range(of: Data(marker)) else { return .none }
        let rest = head[found.upperBound...]
        let end = rest.firstIndex { $0 == 0x0A || $0 == 0x0D } ?? rest.endIndex
        return read(String(decoding: rest[..<end], as: UTF8.self))
    }

    /// The identifier text of one line (after the marker): comment ends and quotes removed, then parsed.
    public static func read(_ line: String) -> FileLicense {
        var text = line.trimmingCharacters(in: .whitespaces)
        for terminator in ["*/", "-->", "*)", "\"", "'"] where text.hasSuffix(terminator) {
            text = String(text.dropLast(terminator.count)).trimmingCharacters(in: .whitespaces)
        }
        if text.hasSuffix(";") { text = String(text.dropLast()).trimmingCharacters(in: .whitespaces) }
        guard !text.isEmpty else { return FileLicense(written: "", expression: nil, problem: "empty identifier") }
        do {
            return FileLicense(written: text, expression: try LicenseExpression.parse(text).normalized)
        } catch {
            return FileLicense(written: text, expression: nil, problem: error.message)
        }
    }
}

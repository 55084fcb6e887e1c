import Foundation
import UserInput

/// Reading description files (boards, toolchains, architectures, templates) as text, and showing what they hold
/// in messages without letting it act on the terminal.
public enum DescriptionText {
    /// A description file is a few KiB; anything much larger is not one, and is not read into memory.
    public static let sizeLimit = 1 << 20

    /// The file's text: a regular file (never a FIFO, device or directory, which could block or never end) of at
    /// most `limit` bytes, valid UTF-8, without control characters. Every refusal names the file, and the line and
    /// column where one applies.
    public static func read(_ url: URL, limit: Int = sizeLimit) throws(DiagnosticList) -> String {
        let path = url.path
        let whole = SourceLocation(file: path)
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw DiagnosticList([Diagnostic(whole, "cannot read the file: \(systemError(errno))")])
        }
        if let kind = nonRegularKind(info.st_mode) {
            throw DiagnosticList([Diagnostic(whole, "is \(kind), not a text file")])
        }
        guard Int(info.st_size) <= limit else {
            throw DiagnosticList([Diagnostic(whole, "is \(info.st_size) bytes long; bspgen reads text files of at most \(limit >> 10) KiB")])
        }
        // O_NONBLOCK: should the file have been swapped for a FIFO since the stat, open and read still return.
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard descriptor >= 0 else { throw DiagnosticList([Diagnostic(whole, "cannot read the file: \(systemError(errno))")]) }
        defer { close(descriptor) }
        var opened = stat()
        guard fstat(descriptor, &opened) == 0, nonRegularKind(opened.st_mode) == nil else {
            throw DiagnosticList([Diagnostic(whole, "is not a regular file")])
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while bytes.count <= limit {
            let count = chunk.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw DiagnosticList([Diagnostic(whole, "cannot read the file: \(systemError(errno))")]) }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        guard bytes.count <= limit else {
            throw DiagnosticList([Diagnostic(whole, "is more than \(limit >> 10) KiB long; bspgen reads text files of at most \(limit >> 10) KiB")])
        }
        let text = try decodeUTF8(bytes, file: path)
        let problems = controlCharacters(in: text, file: path)
        if !problems.isEmpty { throw DiagnosticList(problems) }
        return text
    }

    /// `bytes` as text, or where the first byte that is not UTF-8 is (line and column), and how many there are.
    public static func decodeUTF8(_ bytes: some Collection<UInt8>, file: String) throws(DiagnosticList) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        var line = 1, column = 1
        var first: (line: Int, column: Int, byte: UInt8)?
        var invalid = 0
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = bytes.startIndex
        loop: while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                if encoded.count == 1, encoded.first == 0x0A { line += 1; column = 1 } else { column += 1 }
                offset = bytes.index(offset, offsetBy: encoded.count)
            case .error(let length):
                invalid += 1
                if first == nil { first = (line, column, bytes[offset]) }
                column += 1
                offset = bytes.index(offset, offsetBy: length)
            case .emptyInput:
                break loop
            }
        }
        let at = first ?? (1, 1, 0)
        let count = invalid > 1 ? " (\(invalid) such bytes in the file)" : ""
        throw DiagnosticList([Diagnostic(SourceLocation(file: file, line: at.line, column: at.column),
                                         "byte 0x\(String(format: "%02X", at.byte)) is not UTF-8 text\(count)",
                                         hint: "save the file as UTF-8, e.g. iconv -f latin1 -t utf-8")])
    }

    /// Control characters other than tab, line feed and carriage return, each with its line and column (at most
    /// 20, then how many more): they have no place in a description and could act on a terminal when shown.
    public static func controlCharacters(in text: String, file: String) -> [Diagnostic] {
        var problems: [Diagnostic] = []
        var more = 0
        for (lineIndex, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            for (columnIndex, scalar) in line.unicodeScalars.enumerated() where isForbiddenControl(scalar) {
                guard problems.count < 20 else { more += 1; continue }
                problems.append(Diagnostic(SourceLocation(file: file, line: lineIndex + 1, column: columnIndex + 1),
                                           "control character \(escape(scalar)) is not allowed in a description",
                                           hint: "remove it; a value that needs one writes it as a YAML escape in double quotes"))
            }
        }
        if more > 0, let last = problems.last {
            problems.append(Diagnostic(last.location, "and \(more) more control characters"))
        }
        return problems
    }

    /// `value` as messages show it: in single quotes, control and invisible formatting characters escaped, and a
    /// value longer than `limit` characters cut in the middle, saying how many were left out. The same form as the
    /// escaping of user text for other inputs (file names, list lines), so every message shows values alike.
    public static func quoted(_ value: String, limit: Int = UserText.maximumShown) -> String {
        "'" + UserText.escaped(value, limit: limit) + "'"
    }

    /// Text for the terminal: every control or invisible formatting character escaped except line feeds (and tabs),
    /// and each line cut after `lineLimit` characters. Applied to every message bspgen prints, whatever made it.
    public static func forTerminal(_ text: String, lineLimit: Int = 2000) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let scalars = line.unicodeScalars
            let shown = scalars.prefix(lineLimit).map { $0 != "\t" && needsEscape($0) ? escape($0) : String($0) }.joined()
            return scalars.count > lineLimit ? shown + "… (\(scalars.count - lineLimit) more characters)" : shown
        }.joined(separator: "\n")
    }

    /// `text` on one line: every control or invisible formatting character escaped, line breaks included, and cut
    /// after `limit` characters.
    public static func singleLine(_ text: String, limit: Int = 1000) -> String {
        let scalars = text.unicodeScalars
        let shown = scalars.prefix(limit).map { needsEscape($0) ? escape($0) : String($0) }.joined()
        return scalars.count > limit ? shown + "… (\(scalars.count - limit) more characters)" : shown
    }

    static func isForbiddenControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: false
        case 0x00..<0x20, 0x7F, 0x80..<0xA0: scalar.value != 0x85
        default: false
        }
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool { UserText.needsEscape(scalar) }

    public static func escape(_ scalar: Unicode.Scalar) -> String { UserText.escape(scalar) }

    static func nonRegularKind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: nil
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO (named pipe)"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "not a regular file"
        }
    }

    /// errno as words, e.g. "Permission denied".
    public static func systemError(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// Foundation's file errors in plain words: "PATH: Permission denied" rather than "The operation could not be
/// completed. (NSCocoaErrorDomain error 256.)".
public enum ErrorText {
    public static func describe(_ error: any Error) -> String {
        let bridged = error as NSError
        let path = bridged.userInfo[NSFilePathErrorKey] as? String ?? (bridged.userInfo[NSURLErrorKey] as? URL)?.path
        return path.map { "\($0): \(reason(error))" } ?? reason(error)
    }

    /// Why a file operation failed, without the path (for messages that name it already): the one wording of
    /// `UserFile.reason(of:)`.
    public static func reason(_ error: any Error) -> String {
        let bridged = error as NSError
        guard bridged.domain == NSCocoaErrorDomain || bridged.domain == NSPOSIXErrorDomain else { return "\(error)" }
        return UserFile.reason(of: error)
    }
}

import UserInput

/// Where an entry came from: a list file and line, or a directory input (with the path inside it).
public struct InitramfsInputLocation: Sendable, Equatable, CustomStringConvertible {
    /// The list's file name, or the directory input's path.
    public var file: String
    /// The 1-based line in a list; nil for directory inputs.
    public var line: Int?
    /// The list line as written, or the path inside a directory input.
    public var text: String

    public var description: String {
        let shown = UserText.escaped(file, limit: 1000)
        return line.map { "\(shown):\($0)" } ?? shown
    }
}

/// A file of an archive with its size, to name the biggest when the archive is too large.
public struct InitramfsFileSize: Sendable, Equatable {
    public var path: String
    public var size: UInt64
    public var origin: InitramfsInputLocation
}

public enum InitramfsError: Error, CustomStringConvertible, Equatable {
    case unknownEntryType(InitramfsInputLocation, type: String)
    case wrongFieldCount(InitramfsInputLocation, type: String, found: Int)
    case badMode(InitramfsInputLocation, text: String)
    case badNumber(InitramfsInputLocation, field: String, text: String)
    case badDeviceType(InitramfsInputLocation, text: String)
    case undefinedVariable(InitramfsInputLocation, name: String)
    case missingSourceFile(InitramfsInputLocation, path: String)
    case unusableSourceFile(InitramfsInputLocation, path: String, reason: String)
    case unsafeName(InitramfsInputLocation, name: String)
    /// Located at the child; `parentOrigin` is the input that made the parent a non-directory.
    case parentNotDirectory(InitramfsInputLocation, name: String, parent: String, parentOrigin: InitramfsInputLocation)
    case inputUnreadable(path: String, reason: String)
    case sourceDateEpochOutOfRange(Int64)
    case compressionFailed(InitramfsCompression, reason: String)
    case outputFailed(path: String, reason: String)
    case malformedArchive(path: String, offset: UInt64, reason: String)
    case tooLarge(total: UInt64, limit: UInt64, largest: [InitramfsFileSize])
    /// A list line that is not UTF-8: `column` is the 1-based byte where the first invalid byte is.
    case notUTF8(InitramfsInputLocation, column: Int, byte: UInt8)
    /// An entry the kernel's unpacker would skip or change (see `KernelLimits`).
    case unpackable(InitramfsInputLocation, name: String, problem: String)
    /// Every problem of an input, in order.
    case several([InitramfsError])

    public var description: String {
        switch self {
        case let .unknownEntryType(at, type):
            let known = ListEntryType.allCases.map(\.rawValue).joined(separator: ", ")
            return "\(at): unknown entry type '\(q(type))' in '\(at.text)'; expected one of \(known) "
                + "(the gen_init_cpio list syntax), or '#' to start a comment."
        case let .wrongFieldCount(at, type, found):
            let usage = ListEntryType(rawValue: type)?.usage ?? type
            return "\(at): '\(at.text)' has \(found) fields after '\(q(type))'; expected '\(usage)'."
        case let .badMode(at, text):
            return "\(at): mode '\(q(text))' in '\(at.text)' is not octal permission bits (0 to 7777); "
                + "write it like 0755."
        case let .badNumber(at, field, text):
            return "\(at): \(field) '\(q(text))' in '\(at.text)' is not a decimal number from 0 to 4294967295; "
                + "write a plain number such as 0."
        case let .badDeviceType(at, text):
            return "\(at): device type '\(q(text))' in '\(at.text)' is neither 'c' (character) nor 'b' (block); "
                + "write it like 'nod /dev/console 0600 0 0 c 5 1'."
        case let .undefinedVariable(at, name):
            return "\(at): the location in '\(at.text)' uses ${\(q(name))}, but \(q(name)) is not set in the "
                + "environment; set it or write the path out."
        case let .missingSourceFile(at, path):
            return "\(at): the source file '\(q(path))' of '\(at.text)' does not exist; fix the location "
                + "(a relative location is taken from the list's folder)."
        case let .unusableSourceFile(at, path, reason):
            return "\(at): cannot pack '\(q(path))' for '\(at.text)': \(reason)."
        case let .unsafeName(at, name):
            return "\(at): the archive name '\(q(name))' in '\(at.text)' has a '..' component and could point "
                + "outside the archive root; name the path inside the archive without '..'."
        case let .parentNotDirectory(at, name, parent, parentOrigin):
            return "\(at): '\(q(name))' would go inside '\(q(parent))', which is not a directory in the archive "
                + "(see \(parentOrigin)); keep '\(q(parent))' a directory or move the entry."
        case let .inputUnreadable(path, reason):
            return "Cannot read the initramfs input '\(q(path))': \(reason)."
        case let .sourceDateEpochOutOfRange(epoch):
            return "SOURCE_DATE_EPOCH \(epoch) does not fit a cpio timestamp; use a value from 0 to 4294967295."
        case let .compressionFailed(compression, reason):
            return "\(compression.rawValue) compression of the initramfs failed: \(reason)."
        case let .outputFailed(path, reason):
            return "Cannot write the initramfs '\(q(path))': \(reason)."
        case let .malformedArchive(path, offset, reason):
            return "'\(q(path))' is not a valid newc cpio archive at byte \(offset): \(reason)."
        case let .tooLarge(total, limit, largest):
            let mebibyte = { (bytes: UInt64) in "\(bytes >> 20) MiB" }
            return "The initramfs would hold \(mebibyte(total)) of file data, more than the \(mebibyte(limit)) limit "
                + "(the kernel unpacks it into RAM next to the compressed copy). Largest files:\n"
                + largest.map { "  \(mebibyte($0.size))  /\(q($0.path))  (from \($0.origin))" }.joined(separator: "\n")
                + "\nLeave large files out of the overlays, or use a root file system image for them."
        case let .notUTF8(at, column, byte):
            return "\(at): byte \(column) of '\(at.text)' (\\x\(String(byte, radix: 16, uppercase: true))) is not UTF-8; "
                + "write names, locations and targets in UTF-8 (a comment may hold any bytes)."
        case let .unpackable(at, name, problem):
            return "\(at): the kernel cannot unpack '\(q(name))' of '\(at.text)' as written: \(problem)."
        case let .several(problems):
            return problems.map(\.description).joined(separator: "\n")
        }
    }
}

private func q(_ text: String) -> String { UserText.escaped(text) }

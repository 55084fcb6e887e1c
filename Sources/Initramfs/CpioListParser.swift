import Foundation
import UserInput

/// The entry types of the gen_init_cpio list syntax (usr/gen_init_cpio.c).
enum ListEntryType: String, CaseIterable {
    case file, dir, nod, slink, pipe, sock

    var usage: String {
        switch self {
        case .file: "file <name> <location> <mode> <uid> <gid> [<hard links>]"
        case .dir: "dir <name> <mode> <uid> <gid>"
        case .nod: "nod <name> <mode> <uid> <gid> <dev_type> <maj> <min>"
        case .slink: "slink <name> <target> <mode> <uid> <gid>"
        case .pipe: "pipe <name> <mode> <uid> <gid>"
        case .sock: "sock <name> <mode> <uid> <gid>"
        }
    }

    /// Fields after the type; `file` takes any number of hard link names beyond these.
    var fieldCount: Int {
        switch self {
        case .file, .slink: 5
        case .dir, .pipe, .sock: 4
        case .nod: 7
        }
    }

    /// Index of `<mode>`, which `<uid>` and `<gid>` follow.
    var modeIndex: Int {
        switch self {
        case .file, .slink: 2
        case .dir, .nod, .pipe, .sock: 1
        }
    }
}

/// Reads gen_init_cpio lists. Stricter than gen_init_cpio, which ignores surplus fields, treats
/// any device type but 'b' as 'c' and expands an unset `${VAR}` to nothing: these are errors here.
/// More lenient in one point: a line may be indented (gen_init_cpio skips such a line, saying its
/// type is unknown).
struct CpioListParser {
    var fileName: String
    var baseDirectory: URL
    var environment = ProcessInfo.processInfo.environment

    /// Every entry of the list, or every problem of it at once (`InitramfsError.several` when there is more than one).
    /// The list is bytes: a comment or a blank line may hold anything; any other line must be UTF-8.
    func entries(of bytes: [UInt8], linkGroups: inout Int) throws -> [InitramfsEntry] {
        var entries: [InitramfsEntry] = []
        var problems: [InitramfsError] = []
        let isBlank = { (byte: UInt8) in byte == 0x20 || (0x09...0x0D).contains(byte) }
        for (index, lineBytes) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let firstField = lineBytes.drop(while: isBlank)
            if firstField.isEmpty || firstField.first == UInt8(ascii: "#") { continue }
            var trimmed = firstField[...]
            while let last = trimmed.last, isBlank(last) { trimmed = trimmed.dropLast() }
            let at = InitramfsInputLocation(file: fileName, line: index + 1, text: UserText.escaped(bytes: trimmed))
            guard let line = String(validating: lineBytes, as: UTF8.self) else {
                let offset = UserText.firstInvalidUTF8(in: lineBytes) ?? 0
                problems.append(.notUTF8(at, column: offset + 1, byte: lineBytes[lineBytes.startIndex + offset]))
                continue
            }
            do {
                entries += try lineEntries(line, at: at, linkGroups: &linkGroups)
            } catch let error as InitramfsError {
                problems.append(error)
            }
        }
        if problems.count == 1, let problem = problems.first { throw problem }
        if !problems.isEmpty { throw InitramfsError.several(problems) }
        return entries
    }

    private func lineEntries(_ line: String, at: InitramfsInputLocation, linkGroups: inout Int) throws -> [InitramfsEntry] {
        let fields = line.split(whereSeparator: { " \t\r\u{0B}\u{0C}".contains($0) }).map(String.init)
        guard let typeField = fields.first else { return [] }
        guard let type = ListEntryType(rawValue: typeField) else {
            throw InitramfsError.unknownEntryType(at, type: typeField)
        }
        let arguments = Array(fields.dropFirst())
        let countFits = type == .file ? arguments.count >= type.fieldCount : arguments.count == type.fieldCount
        guard countFits else {
            throw InitramfsError.wrongFieldCount(at, type: typeField, found: arguments.count)
        }
        return try parse(type, arguments, at: at, linkGroups: &linkGroups)
    }

    private func parse(
        _ type: ListEntryType, _ arguments: [String], at: InitramfsInputLocation, linkGroups: inout Int
    ) throws -> [InitramfsEntry] {
        let mode = arguments[type.modeIndex]
        guard !mode.isEmpty, mode.allSatisfy({ ("0"..."7").contains($0) }),
              let permissions = UInt32(mode, radix: 8), permissions <= 0o7777
        else {
            throw InitramfsError.badMode(at, text: mode)
        }
        let uid = try number(arguments[type.modeIndex + 1], field: "uid", at: at)
        let gid = try number(arguments[type.modeIndex + 2], field: "gid", at: at)
        func entry(_ name: String, _ kind: InitramfsEntry.Kind) throws -> InitramfsEntry {
            guard let path = normalisedArchivePath(name) else {
                throw InitramfsError.unsafeName(at, name: name)
            }
            let entry = InitramfsEntry(path: path, kind: kind, permissions: permissions, uid: uid, gid: gid, origin: at)
            if let problem = entry.kernelLimitProblem {
                throw InitramfsError.unpackable(at, name: name, problem: problem)
            }
            return entry
        }

        let kind: InitramfsEntry.Kind
        switch type {
        case .file:
            let content = try fileContent(location: arguments[1], at: at, linkGroup: linkGroups)
            linkGroups += 1
            let names = [arguments[0]] + arguments.dropFirst(type.fieldCount)
            return try names.map { try entry($0, .file(content)) }
        case .dir:
            // gen_initramfs.sh never lists the root, which the kernel's rootfs already is.
            if normalisedArchivePath(arguments[0]) == "" { return [] }
            kind = .directory
        case .nod:
            let major = try number(arguments[5], field: "major", at: at)
            let minor = try number(arguments[6], field: "minor", at: at)
            switch arguments[4] {
            case "c": kind = .characterDevice(major: major, minor: minor)
            case "b": kind = .blockDevice(major: major, minor: minor)
            default: throw InitramfsError.badDeviceType(at, text: arguments[4])
            }
        case .slink:
            kind = .symlink(target: arguments[1])
        case .pipe:
            kind = .fifo
        case .sock:
            kind = .socket
        }
        return [try entry(arguments[0], kind)]
    }

    private func number(_ text: String, field: String, at: InitramfsInputLocation) throws -> UInt32 {
        guard !text.isEmpty, text.allSatisfy(\.isASCIIDigit), let value = UInt32(text) else {
            throw InitramfsError.badNumber(at, field: field, text: text)
        }
        return value
    }

    private func fileContent(location: String, at: InitramfsInputLocation, linkGroup: Int) throws -> FileContent {
        let expanded = try expandingVariables(in: location, at: at)
        // A C string ends at the first NUL: the system would be asked for another file than the one written.
        guard !expanded.utf8.contains(0) else {
            throw InitramfsError.unusableSourceFile(at, path: expanded, reason: "the location holds a NUL byte")
        }
        let path = expanded.hasPrefix("/") ? expanded : baseDirectory.appendingPathComponent(expanded).path
        var info = stat()
        // stat, not lstat: gen_init_cpio open()s the location, following symlinks.
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { throw InitramfsError.missingSourceFile(at, path: path) }
            throw InitramfsError.unusableSourceFile(at, path: path, reason: UserFile.systemReason(errno))
        }
        return try FileContent(host: path, info: info, linkGroup: linkGroup, at: at)
    }

    /// Replaces each `${NAME}` with its environment value, as gen_init_cpio does in locations.
    private func expandingVariables(in location: String, at: InitramfsInputLocation) throws -> String {
        var result = ""
        var rest = location[...]
        while let start = rest.range(of: "${"), let end = rest[start.upperBound...].firstIndex(of: "}") {
            let name = String(rest[start.upperBound..<end])
            guard let value = environment[name] else {
                throw InitramfsError.undefinedVariable(at, name: name)
            }
            result += rest[..<start.lowerBound] + value
            rest = rest[rest.index(after: end)...]
        }
        return result + rest
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension FileContent {
    /// Checks what the newc format can hold: a regular file below 4 GiB.
    init(host path: String, info: stat, linkGroup: Int, at: InitramfsInputLocation) throws {
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw InitramfsError.unusableSourceFile(at, path: path, reason: "it is \(UserFile.kind(of: info.st_mode)), not a regular file")
        }
        guard let size = UInt32(exactly: info.st_size) else {
            throw InitramfsError.unusableSourceFile(
                at, path: path, reason: "it is larger than 4 GiB, the limit of the newc format")
        }
        self.init(hostPath: path, size: size, modificationTime: Int64(info.st_mtim.tv_sec), linkGroup: linkGroup)
    }
}

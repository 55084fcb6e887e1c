import Foundation

/// One `.TARGET.cmd` file that Kbuild (the kernel's, U-Boot's, BusyBox's) writes beside each target it makes: the
/// command that made it, and for a compiled object the source and every file the compiler read (fixdep's list).
public struct KbuildRecord: Sendable, Equatable {
    public var target: String
    public var command: String
    /// `source_TARGET`: the file compiled (kernel, U-Boot). BusyBox's older Kbuild has no such line: its first
    /// dependency is the source.
    public var source: String?
    /// `deps_TARGET` without fixdep's `$(wildcard include/config/...)` entries, which are Kconfig symbols, not files.
    public var dependencies: [String]

    public init(target: String, command: String, source: String? = nil, dependencies: [String] = []) {
        self.target = target
        self.command = command
        self.source = source
        self.dependencies = dependencies
    }

    /// The file compiled into this target, when it is compiled from one (C or assembly) rather than linked.
    public var compiledSource: String? { source ?? dependencies.first }

    /// Reads the text of a `.cmd` file. Returns nil when it has no `cmd_` (or, from Linux 6.3, `savedcmd_`) line. Works on bytes: a kernel build
    /// has a thousand records of a few hundred lines each.
    public static func parse(_ data: Data) -> KbuildRecord? {
        let bytes = [UInt8](data)
        var target: String?
        var command = ""
        var source: String?
        var dependencies: [String] = []
        let assignment: [UInt8] = Array(" := ".utf8)
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D }
        func text(_ start: Int, _ end: Int) -> String { String(decoding: bytes[start..<end], as: UTF8.self) }
        func hasPrefix(_ prefix: StaticString, at index: Int, end: Int) -> Bool {
            let count = prefix.utf8CodeUnitCount
            guard end - index >= count else { return false }
            return prefix.withUTF8Buffer { buffer in (0..<count).allSatisfy { bytes[index + $0] == buffer[$0] } }
        }
        func assignmentEnd(_ start: Int, _ end: Int) -> (name: Int, value: Int)? {
            var index = start
            while index + assignment.count <= end {
                if bytes[index] == 0x20, bytes[index + 1] == 0x3A, bytes[index + 2] == 0x3D, bytes[index + 3] == 0x20 { return (index, index + 4) }
                index += 1
            }
            return nil
        }
        /// Adds the words of [start, end) that are files; returns whether the line continues.
        func addWords(_ start: Int, _ end: Int) -> Bool {
            var last = end
            while last > start, isSpace(bytes[last - 1]) { last -= 1 }
            let continues = last > start && bytes[last - 1] == 0x5C
            if continues { last -= 1 }
            var index = start
            while index < last {
                while index < last, isSpace(bytes[index]) { index += 1 }
                let wordStart = index
                if hasPrefix("$(wildcard", at: index, end: last) {
                    while index < last, bytes[index] != 0x29 { index += 1 }
                    index += 1
                    continue
                }
                // Make's escapes are noted on the way: a search of every word's String is slow in a debug build.
                var escaped = false
                while index < last, !isSpace(bytes[index]) {
                    escaped = escaped || bytes[index] == 0x5C || bytes[index] == 0x24
                    index += 1
                }
                if index > wordStart { dependencies.append(escaped ? unescape(text(wordStart, index)) : text(wordStart, index)) }
            }
            return continues
        }
        var inDependencies = false
        var lineStart = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            defer { lineStart = lineEnd + 1 }
            if inDependencies {
                inDependencies = addWords(lineStart, lineEnd)
            } else if hasPrefix("cmd_", at: lineStart, end: lineEnd), let (name, value) = assignmentEnd(lineStart, lineEnd) {
                target = text(lineStart + 4, name)
                command = text(value, lineEnd)
            } else if hasPrefix("savedcmd_", at: lineStart, end: lineEnd), let (name, value) = assignmentEnd(lineStart, lineEnd) {
                // Linux 6.3 and later name the saved command line `savedcmd_`.
                target = text(lineStart + 9, name)
                command = text(value, lineEnd)
            } else if hasPrefix("source_", at: lineStart, end: lineEnd), let (_, value) = assignmentEnd(lineStart, lineEnd) {
                source = unescape(text(value, lineEnd).trimmingCharacters(in: .whitespaces))
            } else if hasPrefix("deps_", at: lineStart, end: lineEnd), let (_, value) = assignmentEnd(lineStart, lineEnd) {
                inDependencies = addWords(value, lineEnd)
            }
        }
        guard let target else { return nil }
        return KbuildRecord(target: target, command: command, source: source, dependencies: dependencies)
    }

    /// Make's escapes in file names (`\#`, `$$`).
    static func unescape(_ text: String) -> String {
        // Byte checks: String.contains(String) goes through NSString, too slow for every dependency of a kernel.
        guard text.utf8.contains(0x5C) || text.utf8.contains(0x24) else { return text }
        return text.replacingOccurrences(of: "\\#", with: "#").replacingOccurrences(of: "$$", with: "$")
    }

    /// Where Kbuild keeps the record of `target` (a path relative to the build folder): `dir/.name.cmd`.
    public static func recordPath(of target: String) -> String {
        let slash = target.lastIndex(of: "/")
        let directory = slash.map { String(target[...$0]) } ?? ""
        let name = slash.map { String(target[target.index(after: $0)...]) } ?? target
        return directory + "." + name + ".cmd"
    }
}

/// Words of a shell command line as the shell would split them (quotes removed), each marked when it is the
/// program of a simple command (first word after the start or after `;`, `|`, `&&`, `||`), or the target of a
/// `>` redirection.
public enum ShellWords {
    public struct Word: Equatable, Sendable {
        public var text: String
        public var isProgram: Bool
        public var isOutput: Bool
    }

    public static func split(_ line: String) -> [Word] {
        var words: [Word] = []
        var current = ""
        var hasWord = false
        var quote: Character?
        var expectProgram = true
        var expectOutput = false
        func finish() {
            guard hasWord else { return }
            if ["&&", "||", ";", "|", "(", ")", "{", "}"].contains(current) {
                expectProgram = true
            } else if current == ">" || current == ">>" || current == "2>" || current == "&>" {
                expectOutput = true
            } else if current == "<" {
                // The next word is read: an input like any other.
            } else {
                words.append(Word(text: current, isProgram: expectProgram && !expectOutput, isOutput: expectOutput))
                if !expectOutput { expectProgram = false }
                expectOutput = false
            }
            current = ""
            hasWord = false
        }
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                hasWord = true
                escaped = false
                continue
            }
            if let open = quote {
                if character == open { quote = nil } else if character == "\\", open == "\"" { escaped = true } else { current.append(character) }
                continue
            }
            switch character {
            case "\\": escaped = true
            case "'", "\"": quote = character; hasWord = true
            case " ", "\t": finish()
            case ";":
                finish(); current = ";"; hasWord = true; finish()
            default:
                current.append(character)
                hasWord = true
            }
        }
        finish()
        return words
    }
}

/// The member paths of an `ar` archive in GNU's thin format (`!<thin>`), which Kbuild uses for `built-in.a`,
/// `vmlinux.a` and `lib.a`: the members stay where they are and the archive holds their paths, relative to the
/// archive's folder.
public enum ThinArchive {
    public static func isThin(_ url: URL) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: url.path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 8)) == Data("!<thin>\n".utf8)
    }

    /// Member paths as written in the archive, or nil when `data` is not a thin archive.
    public static func members(_ data: Data) -> [String]? {
        let bytes = [UInt8](data)
        guard bytes.count >= 8, Array(bytes[0..<8]) == Array("!<thin>\n".utf8) else { return nil }
        var offset = 8
        var longNames: [UInt8] = []
        var members: [String] = []
        while offset + 60 <= bytes.count {
            let header = bytes[offset..<(offset + 60)]
            let name = String(decoding: header.prefix(16), as: UTF8.self).trimmingCharacters(in: .whitespaces)
            let sizeText = String(decoding: header.dropFirst(48).prefix(10), as: UTF8.self).trimmingCharacters(in: .whitespaces)
            guard let size = Int(sizeText) else { return members }
            offset += 60
            if name == "/" || name == "/SYM64/" {
                offset += size + (size & 1)
            } else if name == "//" {
                longNames = Array(bytes[offset..<min(bytes.count, offset + size)])
                offset += size + (size & 1)
            } else if name.hasPrefix("/"), let start = Int(name.dropFirst()), start < longNames.count {
                var end = start
                while end < longNames.count, longNames[end] != 0x0A { end += 1 }
                var path = String(decoding: longNames[start..<end], as: UTF8.self)
                if path.hasSuffix("/") { path.removeLast() }
                members.append(path)
                // A thin archive holds no member data.
            } else {
                members.append(name.hasSuffix("/") ? String(name.dropLast()) : name)
            }
        }
        return members
    }
}

/// What a linker took: the objects it loaded whole and the archive members it pulled in, from a GNU ld map
/// (`-Map`, as U-Boot and BusyBox write) or from `ld --trace`.
public struct LinkInputs: Sendable, Equatable {
    /// Objects linked whole, as the linker named them.
    public var objects: [String] = []
    /// Archive members pulled in: the archive and the member as the linker named them.
    public var members: [(archive: String, member: String)] = []

    public init(objects: [String] = [], members: [(archive: String, member: String)] = []) {
        self.objects = objects
        self.members = members
    }

    public static func == (lhs: LinkInputs, rhs: LinkInputs) -> Bool {
        lhs.objects == rhs.objects && lhs.members.map { "\($0.archive)(\($0.member))" } == rhs.members.map { "\($0.archive)(\($0.member))" }
    }

    /// A GNU ld map: `LOAD` lines for the inputs, the first section for the archive members included.
    public static func fromMap(_ text: String) -> LinkInputs {
        var inputs = LinkInputs()
        var inMembers = false
        var seen = Set<String>()
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("Archive member included") { inMembers = true; continue }
            if inMembers {
                if line.hasPrefix("Discarded input sections") || line.hasPrefix("Memory Configuration") || line.hasPrefix("Allocating common")
                    || line.hasPrefix("Linker script and memory map") {
                    inMembers = false
                } else if let first = line.first, !first.isWhitespace, let member = archiveMember(String(line.split(separator: " ").first ?? "")) {
                    if seen.insert("\(member.archive)(\(member.member))").inserted { inputs.members.append(member) }
                }
                continue
            }
            if line.hasPrefix("LOAD ") {
                let path = String(line.dropFirst(5)).trimmingCharacters(in: .whitespaces)
                if !isArchive(path), !path.hasPrefix("linker stubs") { inputs.objects.append(path) }
            }
        }
        return inputs
    }

    /// `ld --trace` output: one loaded file per line; members of a regular archive as `(archive)member`, of a
    /// thin archive as the member's own path; archives themselves are listed too and skipped here.
    public static func fromTrace(_ text: String) -> LinkInputs {
        var inputs = LinkInputs()
        var seen = Set<String>()
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            // Warnings and notes of the linker come on the same stream.
            guard !line.isEmpty, !line.contains(": "), !isArchive(line) else { continue }
            if line.hasPrefix("("), let close = line.firstIndex(of: ")") {
                let archive = String(line[line.index(after: line.startIndex)..<close])
                let member = String(line[line.index(after: close)...])
                if seen.insert(line).inserted { inputs.members.append((archive, member)) }
            } else if seen.insert(line).inserted {
                inputs.objects.append(line)
            }
        }
        return inputs
    }

    static func isArchive(_ path: String) -> Bool { path.hasSuffix(".a") }

    /// `archive(member)` → its parts.
    static func archiveMember(_ word: String) -> (archive: String, member: String)? {
        guard word.hasSuffix(")"), let open = word.firstIndex(of: "(") else { return nil }
        let archive = String(word[..<open])
        let member = String(word[word.index(after: open)..<word.index(before: word.endIndex)])
        guard isArchive(archive), !member.isEmpty else { return nil }
        return (archive, member)
    }
}

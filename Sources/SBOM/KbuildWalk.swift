import Foundation

/// The files that went into some targets of a Kbuild build folder, found from Kbuild's own records: from each
/// target, the command that made it (its input files), down to compiled objects, whose records list the source
/// and every header the compiler read. Linked binaries whose command line does not name their inputs (the kernel's
/// `vmlinux`, made by a script) or takes only some members of archives are given as `LinkInputs`, from a linker
/// map or `ld --trace`.
public struct KbuildWalk: Sendable {
    public var buildRoot: URL
    /// Link inputs by target (relative to the build folder).
    public var linkInputs: [String: LinkInputs]

    public init(buildRoot: URL, linkInputs: [String: LinkInputs] = [:]) {
        self.buildRoot = buildRoot.standardizedFileURL
        self.linkInputs = linkInputs
    }

    /// What the walk found. Paths are absolute, standardized.
    public struct Result: Sendable, Equatable {
        /// Files compiled into an object (the `source_` of a `.o`).
        public var compiled: Set<String> = []
        /// Every other file read: headers, linker scripts, generated files, blobs.
        public var read: Set<String> = []
        /// Objects of the build folder reached (relative to it).
        public var objects: Set<String> = []
        /// Objects and archive members from outside the build folder that were linked in (the C library's
        /// `libc.a(printf.o)`, `crt1.o`): absolute archive path and member, or the object with an empty member.
        public var outside: Set<OutsideInput> = []
        /// Files of the build folder reached that have no Kbuild record and are not archives.
        public var unrecorded: Set<String> = []
    }

    public struct OutsideInput: Hashable, Sendable, Comparable, Codable {
        public var file: String
        public var member: String?
        public init(file: String, member: String? = nil) {
            self.file = file
            self.member = member
        }
        public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.file, lhs.member ?? "") < (rhs.file, rhs.member ?? "") }
    }

    /// Walks from `roots` (paths relative to the build folder, e.g. `arch/x86/boot/bzImage`).
    public func walk(_ roots: [String]) -> Result {
        var state = State(walk: self)
        for root in roots { state.visit(root) }
        state.result.read.subtract(state.result.compiled)
        return state.result
    }

    /// The path relative to the build folder when it is inside, else the absolute standardized path.
    func relative(_ path: String) -> String {
        let absolute = absolutePath(path)
        let prefix = buildRoot.path + "/"
        return absolute.hasPrefix(prefix) ? String(absolute.dropFirst(prefix.count)) : absolute
    }

    func absolutePath(_ path: String) -> String {
        let joined = path.hasPrefix("/") ? path : buildRoot.path + "/" + (path.hasPrefix("./") ? String(path.dropFirst(2)) : path)
        guard Self.needsStandardizing(joined) else { return joined }
        return URL(fileURLWithPath: joined).standardizedFileURL.path
    }

    /// `/../`, `/./` or `//` in the path, checked on bytes (String.contains goes through NSString: slow here).
    static func needsStandardizing(_ path: String) -> Bool {
        var afterSlash = false
        var dots = 0
        for byte in path.utf8 {
            if byte == 0x2F {
                if afterSlash, dots <= 2 { return true }
                afterSlash = true
                dots = 0
            } else if byte == 0x2E, afterSlash {
                dots += 1
            } else {
                afterSlash = false
                dots = 0
            }
        }
        return false
    }

    private struct State {
        let walk: KbuildWalk
        var result = Result()
        var visited = Set<String>()

        init(walk: KbuildWalk) { self.walk = walk }

        mutating func visit(_ path: String) {
            let key = walk.relative(path)
            guard visited.insert(key).inserted else { return }
            if key.hasPrefix("/") {
                // Outside the build folder: a source (linker script, blob) or an object of the toolchain.
                if key.hasSuffix(".o") || key.hasSuffix(".a") { result.outside.insert(OutsideInput(file: key)) } else { result.read.insert(key) }
                return
            }
            if let inputs = walk.linkInputs[key] {
                result.objects.insert(key)
                for object in inputs.objects { visit(object) }
                for (archive, member) in inputs.members { visitMember(archive, member) }
                return
            }
            let url = walk.buildRoot.appendingPathComponent(key)
            guard let data = FileManager.default.contents(atPath: walk.buildRoot.appendingPathComponent(KbuildRecord.recordPath(of: key)).path),
                  let record = KbuildRecord.parse(data) else {
                if let archive = FileManager.default.contents(atPath: url.path).flatMap(ThinArchive.members) {
                    let directory = (key as NSString).deletingLastPathComponent
                    for member in archive { visit(directory.isEmpty ? member : directory + "/" + member) }
                } else {
                    result.unrecorded.insert(key)
                }
                return
            }
            if let source = record.compiledSource {
                let sourcePath = walk.absolutePath(source)
                if key.hasSuffix(".o") {
                    result.objects.insert(key)
                    result.compiled.insert(sourcePath)
                } else {
                    result.read.insert(sourcePath)
                }
                for dependency in record.dependencies { result.read.insert(walk.absolutePath(dependency)) }
                // A generated source (piggy.S, a table) has a record of its own saying what it was made from.
                let sourceKey = walk.relative(source)
                if !sourceKey.hasPrefix("/"), sourceKey != key { visit(sourceKey) }
                return
            }
            for input in inputs(of: record, target: key) { visit(input) }
        }

        /// A member the linker pulled from an archive: a thin archive's member is named by its path; a regular
        /// archive of the build folder is resolved through its own record (the objects `ar` was given).
        mutating func visitMember(_ archive: String, _ member: String) {
            let archiveKey = walk.relative(archive)
            if archiveKey.hasPrefix("/") {
                result.outside.insert(OutsideInput(file: archiveKey, member: member))
                return
            }
            if member.contains("/") {
                visit(member)
                return
            }
            if let data = FileManager.default.contents(atPath: walk.buildRoot.appendingPathComponent(KbuildRecord.recordPath(of: archiveKey)).path),
               let record = KbuildRecord.parse(data),
               let object = ShellWords.split(record.command).map(\.text).first(where: { ($0 as NSString).lastPathComponent == member && $0 != archiveKey }) {
                visit(object)
            } else {
                let directory = (archiveKey as NSString).deletingLastPathComponent
                visit(directory.isEmpty ? member : directory + "/" + member)
            }
        }

        /// The files a command reads: its words that name existing files, other than programs, options and their
        /// values, outputs (`-o`, `-Map`, `>`) and the target itself.
        func inputs(of record: KbuildRecord, target: String) -> [String] {
            var found: [String] = []
            var skipNext = false
            for word in ShellWords.split(record.command) {
                if skipNext { skipNext = false; continue }
                if word.isProgram || word.isOutput { continue }
                let text = word.text
                if ["-o", "-Map", "-MF", "-MT", "-T"].contains(text) {
                    // A linker script (-T) is read, the others are written.
                    if text != "-T" { skipNext = true }
                    continue
                }
                // `@file`: the command's arguments are in the file, one a word; a module's objects are in `name.mod`
                // (`ld -r -o ext4.o @ext4.mod`).
                if text.hasPrefix("@"), text.count > 1 {
                    let list = walk.absolutePath(String(text.dropFirst()))
                    if let data = FileManager.default.contents(atPath: list) {
                        found += String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init)
                            .filter { FileManager.default.fileExists(atPath: walk.absolutePath($0)) }
                    }
                    continue
                }
                if text.hasPrefix("-") || text.utf8.contains(0x24) || text.utf8.contains(0x3D) { continue }
                // A script run by an interpreter (`sh checkundef.sh`, `perl x.pl`) is a tool of the build, not its input.
                if [".sh", ".pl", ".py", ".awk"].contains(where: { text.hasSuffix($0) }) { continue }
                let key = walk.relative(text)
                if key == target || key == record.target { continue }
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: walk.absolutePath(text), isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
                found.append(text)
            }
            return found
        }
    }
}

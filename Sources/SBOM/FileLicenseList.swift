import Crypto
import Foundation
import UserInput

/// SHA-256 and SHA-1 (SPDX requires SHA-1 for files) of a file in one pass.
public struct FileDigest: Sendable, Equatable {
    public var size: Int
    public var sha256: String
    public var sha1: String

    public static func of(_ url: URL) throws -> FileDigest {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: url.path])
        }
        defer { try? handle.close() }
        var sha256 = SHA256()
        var sha1 = Insecure.SHA1()
        var size = 0
        while let block = try handle.read(upToCount: 1 << 20), !block.isEmpty {
            sha256.update(data: block)
            sha1.update(data: block)
            size += block.count
        }
        return FileDigest(size: size, sha256: Hex.lowercase(sha256.finalize()), sha1: Hex.lowercase(sha1.finalize()))
    }

    public static func of(_ data: Data) -> FileDigest {
        FileDigest(size: data.count, sha256: Hex.lowercase(SHA256.hash(data: data)), sha1: Hex.lowercase(Insecure.SHA1.hash(data: data)))
    }
}

/// The files of one component that went into this build, each with the licence it carries: the list behind the
/// component's concluded licence (`licences/<component>-files.tsv` in the output).
public struct FileLicenseList: Sendable, Equatable, Codable {
    public enum Origin: Sendable, Equatable, Codable {
        /// In the component's source tree.
        case source
        /// Made by the build (generated headers, tables).
        case generated
        /// From the host, e.g. the toolchain's headers: the package that installed it, when dpkg knows.
        case host(package: String?)
        /// In the folder of an out-of-tree kernel module (`kernel.external_modules`), named by the folder.
        case external(folder: String)

        public var text: String {
            switch self {
            case .source: "source"
            case .generated: "generated"
            case .host(let package): "host:" + (package ?? "unknown")
            case .external(let folder): "external:" + folder
            }
        }
    }

    public struct Entry: Sendable, Equatable, Codable {
        /// Relative to the source tree (source), to the build folder (generated), or absolute (host).
        public var path: String
        public var origin: Origin
        /// Compiled into an object, rather than read while compiling (a header) or linking (a linker script).
        public var compiled: Bool
        public var license: FileLicense
        /// sha256 of a source file (generated and host files: nil).
        public var sha256: String?
    }

    public var entries: [Entry]

    /// The walk's files, sorted, each scanned for its identifier. `owners` names the host package of host files.
    public init(_ result: KbuildWalk.Result, sourceRoot: URL, buildRoot: URL, owners: [String: String] = [:]) {
        let source = sourceRoot.standardizedFileURL.resolvingSymlinksInPath().path + "/"
        let sourceAsGiven = sourceRoot.standardizedFileURL.path + "/"
        let build = buildRoot.standardizedFileURL.path + "/"
        var entries: [Entry] = []
        for (path, compiled) in result.compiled.map({ ($0, true) }) + result.read.map({ ($0, false) }) {
            let url = URL(fileURLWithPath: path)
            let origin: Origin
            let shown: String
            if path.hasPrefix(sourceAsGiven) {
                origin = .source
                shown = String(path.dropFirst(sourceAsGiven.count))
            } else if path.hasPrefix(source) {
                origin = .source
                shown = String(path.dropFirst(source.count))
            } else if path.hasPrefix(build) {
                origin = .generated
                shown = String(path.dropFirst(build.count))
            } else {
                origin = .host(package: owners[path])
                shown = path
            }
            // A source file is read once, for its hash and its identifier; the others only for the identifier.
            if origin == .source, let data = try? Data(contentsOf: url) {
                entries.append(Entry(path: shown, origin: origin, compiled: compiled, license: LicenseScanner.scan(head: data.prefix(LicenseScanner.headLength)),
                                     sha256: Hex.lowercase(SHA256.hash(data: data))))
            } else {
                entries.append(Entry(path: shown, origin: origin, compiled: compiled, license: LicenseScanner.scan(url), sha256: nil))
            }
        }
        self.entries = entries.sorted { ($0.origin.text, $0.path) < ($1.origin.text, $1.path) }
    }

    public init(entries: [Entry]) { self.entries = entries }

    /// The component's own files: its tree and what its build generated; host files belong to other components.
    public var ownEntries: [Entry] { entries.filter { if case .host = $0.origin { false } else { true } } }

    /// The licence of the component as built: every identifier of its own files, and `fileDefault` for those
    /// without one, combined by `LicenseExpression.conjunction`.
    public func concluded(fileDefault: LicenseExpression?) -> LicenseExpression? {
        var expressions = ownEntries.compactMap(\.license.expression)
        if let fileDefault, ownEntries.contains(where: { $0.license.expression == nil }) { expressions.append(fileDefault) }
        return LicenseExpression.conjunction(expressions)
    }

    /// Every licence and exception identifier in the component's own files.
    public var identifiers: [String] {
        Array(Set(ownEntries.compactMap(\.license.expression).flatMap(\.identifiers))).sorted()
    }

    public var compiledCount: Int { ownEntries.filter(\.compiled).count }
    public var withIdentifierCount: Int { ownEntries.filter { $0.license.expression != nil }.count }

    /// Files per expression, most frequent first: for the documents' comments and the closing report.
    public var expressionCounts: [(expression: String, count: Int)] {
        var counts: [String: Int] = [:]
        for entry in ownEntries { counts[entry.license.listed, default: 0] += 1 }
        return counts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { ($0.key, $0.value) }
    }

    static let columns = "path\torigin\trole\tlicence\tspdx-license-identifier\tsha256"

    /// Tab-separated, one file a line, with a header; sorted, so the same build gives the same bytes.
    public var tsv: String {
        "# " + Self.columns + "\n" + entries.map { Self.line($0) + "\n" }.joined()
    }

    static func line(_ entry: Entry) -> String {
        let written = entry.license.written.map { $0.replacingOccurrences(of: "\t", with: " ") } ?? "-"
        return [entry.path, entry.origin.text, entry.compiled ? "compiled" : "read", entry.license.listed, written, entry.sha256 ?? "-"]
            .joined(separator: "\t")
    }

    /// Files of `folder` (an out-of-tree module's copy in the build folder, where Kbuild also writes) that are the
    /// module's own sources, i.e. exist with the same content in `original` (the board's folder): their origin
    /// becomes `external(name)` with their sha256; the rest stay generated.
    public func attributing(copy folder: URL, original: URL, name: String) -> FileLicenseList {
        let prefix = folder.standardizedFileURL.path + "/"
        return FileLicenseList(entries: entries.map { entry in
            guard entry.origin == .generated else { return entry }
            let url = folder.appendingPathComponent(entry.path)
            guard url.standardizedFileURL.path.hasPrefix(prefix) else { return entry }
            let relative = String(url.standardizedFileURL.path.dropFirst(prefix.count))
            let mine = original.appendingPathComponent(relative)
            guard let digest = try? FileDigest.of(mine), digest == (try? FileDigest.of(url)) else { return entry }
            var owned = entry
            owned.origin = .external(folder: name)
            owned.path = relative
            owned.sha256 = digest.sha256
            return owned
        }.sorted { ($0.origin.text, $0.path) < ($1.origin.text, $1.path) })
    }
}

/// The files compiled into each loadable kernel module (`.ko`), from Kbuild's records of the module's link down
/// (`@name.mod` lists its objects), each module's list with the licences its files carry:
/// `licences/linux-modules-files.tsv`, one line per module and file.
public struct ModuleFileLists: Sendable, Equatable, Codable {
    public struct Module: Sendable, Equatable, Codable {
        /// Where the module is installed under `lib/modules/RELEASE/`: `kernel/fs/ext4/ext4.ko`, `extra/hello.ko`.
        public var name: String
        public var files: FileLicenseList
        public init(name: String, files: FileLicenseList) {
            self.name = name
            self.files = files
        }
    }

    public var modules: [Module]

    public init(_ modules: [Module]) { self.modules = modules.sorted { $0.name < $1.name } }

    /// The in-tree modules' own files (the kernel tree's and generated), for the kernel's concluded licence.
    public var kernelEntries: [FileLicenseList.Entry] {
        modules.flatMap { $0.files.ownEntries.filter { if case .external = $0.origin { false } else { true } } }
    }

    /// Distinct files compiled into some module, counted once however many modules share them.
    public var compiledFiles: Set<String> {
        Set(modules.flatMap { $0.files.ownEntries.filter(\.compiled).map { "\($0.origin.text) \($0.path)" } })
    }

    public var tsv: String {
        "# module\t" + FileLicenseList.columns + "\n"
            + modules.flatMap { module in module.files.entries.map { module.name + "\t" + FileLicenseList.line($0) + "\n" } }.joined()
    }
}

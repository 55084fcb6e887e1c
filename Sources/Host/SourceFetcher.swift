import BoardModel
import Foundation
import UserInput

/// An unpacked, verified source tree in the cache. The tree is shared by every board and never modified:
/// builds happen out of tree.
public struct SourceTree: Sendable, Encodable {
    public var source: String
    public var root: URL
    /// Debian version, or the archive's name for tarballs.
    public var version: String
    /// SHA-256 of the archive the tree was unpacked from (`nil` for a local directory).
    public var sha256: String?
    /// The patches applied to the pristine tree to make this one, in order (`SourceFetcher.patched`).
    public var patches: [PatchRecord] = []
    /// That archive: the tarball, or a Debian source package's `.dsc` (its other files beside it); nil for a
    /// local directory. legal-info copies it.
    public var archive: URL?
    /// Whether this run unpacked (or downloaded) it, rather than finding it in the cache.
    public var fetchedNow = false

    public init(source: String, root: URL, version: String, sha256: String? = nil, archive: URL? = nil, patches: [PatchRecord] = []) {
        self.source = source
        self.root = root
        self.version = version
        self.sha256 = sha256
        self.archive = archive
        self.patches = patches
    }

    enum CodingKeys: String, CodingKey { case source, root, version, sha256, patches }
}

/// Gets sources into the cache: Debian binary and source packages through apt, tarballs checked against their
/// sha256, URLs downloaded then checked. A tree appears under its final name only once completely unpacked.
public struct SourceFetcher: Sendable {
    public let workspace: Workspace
    /// Host apt sources to derive `deb-src` entries from.
    public var hostAptSources: [URL] = [URL(fileURLWithPath: "/etc/apt/sources.list"), URL(fileURLWithPath: "/etc/apt/sources.list.d")]

    public init(workspace: Workspace) { self.workspace = workspace }

    /// `relativeTo` is the folder that relative tarball and directory paths start from (the board's folder).
    /// Boards and bspgen processes fetching the same source wait for each other: one unpacks, the others find
    /// the finished tree.
    public func fetch(_ spec: SourceSpec, relativeTo folder: URL, log: URL) async throws -> SourceTree {
        let lockName: String
        switch spec {
        case .debianPackage(let name), .debianSource(let name): lockName = "source-debian-\(name)"
        default: lockName = "source-" + Checksum.sha256(spec.description + "|" + folder.path).prefix(16)
        }
        let before = (try? FileManager.default.contentsOfDirectory(atPath: workspace.sources.path)) ?? []
        var tree = try await FileLock.withLock(workspace.lock(lockName)) {
            try await fetchUnlocked(spec, relativeTo: folder, log: log)
        }
        let prefix = workspace.sources.path + "/"
        if tree.root.path.hasPrefix(prefix), let top = tree.root.path.dropFirst(prefix.count).split(separator: "/").first {
            tree.fetchedNow = !before.contains(String(top))
        }
        return tree
    }

    private func fetchUnlocked(_ spec: SourceSpec, relativeTo folder: URL, log: URL) async throws -> SourceTree {
        switch spec {
        case .debianPackage(let name):
            let (archive, version) = try await debianPackageTarball(name, log: log)
            return try await unpack(archive, sha256: try cachedSHA256(of: archive), name: "\(name)-\(version)", version: version, spec: spec, log: log)
        case .debianSource(let name):
            return try await debianSourceTree(name, log: log)
        case .tarball(let path, let expected):
            let archive = absolute(path, folder)
            guard FileManager.default.fileExists(atPath: archive.path) else {
                throw HostError.source(description: spec.description, message: "\(archive.path) does not exist")
            }
            let actual = try cachedSHA256(of: archive)
            if let expected, expected != actual { throw HostError.checksumMismatch(file: archive.path, expected: expected, actual: actual) }
            return try await unpack(archive, sha256: actual, name: archiveStem(archive), version: archiveStem(archive), spec: spec, log: log)
        case .url(let url, let expected):
            let archive = try await download(url, sha256: expected, log: log)
            return try await unpack(archive, sha256: expected, name: archiveStem(archive), version: archiveStem(archive), spec: spec, log: log)
        case .directory(let path):
            let root = absolute(path, folder)
            guard FileManager.default.fileExists(atPath: root.appendingPathComponent("Makefile").path) else {
                throw HostError.source(description: spec.description, message: "\(root.path) has no Makefile; expected a kernel, BusyBox or U-Boot source tree")
            }
            return SourceTree(source: spec.description, root: root, version: root.lastPathComponent, sha256: nil)
        }
    }

    private func absolute(_ path: String, _ folder: URL) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : folder.appendingPathComponent(path).standardizedFileURL
    }

    private func archiveStem(_ archive: URL) -> String {
        var name = archive.lastPathComponent
        for suffix in [".tar.xz", ".tar.gz", ".tar.bz2", ".tar.zst", ".tgz", ".tar"] where name.hasSuffix(suffix) {
            name.removeLast(suffix.count)
            break
        }
        return name
    }

    // MARK: Debian binary packages that ship a source tarball (linux-source-6.1)

    /// The installed package's tarball when the package is installed (dpkg verified it), else the tarball
    /// inside a `.deb` that apt downloads into the cache (apt verifies it against the signed archive).
    private func debianPackageTarball(_ name: String, log: URL) async throws -> (URL, String) {
        let query = try await ProcessRunner.capture(Command("dpkg-query", ["-W", "-f", "${Status}\t${Version}", name]))
        let fields = query.output.split(separator: "\t").map(String.init)
        if query.succeeded, fields.count == 2, fields[0].hasSuffix(" installed") {
            let files = try await ProcessRunner.checked(Command("dpkg-query", ["-L", name]))
            if let tarball = files.split(separator: "\n").map(String.init).first(where: isSourceTarball) {
                return (URL(fileURLWithPath: tarball), fields[1])
            }
        }
        let directory = workspace.downloads.appendingPathComponent("debian/\(name)", isDirectory: true)
        try createDirectory(directory)
        if debs(in: directory).isEmpty {
            do {
                try await ProcessRunner.logged(Command("apt-get", ["download", name], workingDirectory: directory), log: log)
            } catch {
                throw HostError.source(description: "Debian package \(name)",
                    message: "it is not installed and apt cannot download it (see \(log.path))\n    install it with: \(aptInstallCommand([name]))"
                        + "\n    hint: if apt does not know it, run 'apt-get update', or check the name with 'apt-cache search \(name)'")
            }
        }
        guard let deb = debs(in: directory).last else {
            throw HostError.source(description: "Debian package \(name)", message: "apt-get download produced no .deb in \(directory.path)")
        }
        let version = String(deb.lastPathComponent.split(separator: "_").dropFirst().first ?? "unknown").removingPercentEncoding ?? "unknown"
        let extracted = directory.appendingPathComponent("extracted-\(version)", isDirectory: true)
        if !FileManager.default.fileExists(atPath: extracted.path) {
            let temporary = try AtomicFile.temporaryDirectory(beside: extracted)
            try await ProcessRunner.logged(Command("dpkg-deb", ["-x", deb.path, temporary.path]), log: log)
            try AtomicFile.replace(extracted, with: temporary)
        }
        let usrSrc = extracted.appendingPathComponent("usr/src")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: usrSrc.path)) ?? []
        guard let tarball = names.sorted().map({ usrSrc.appendingPathComponent($0).path }).first(where: isSourceTarball) else {
            throw HostError.source(description: "Debian package \(name)", message: "the package ships no source tarball under /usr/src")
        }
        return (URL(fileURLWithPath: tarball), version)
    }

    private func isSourceTarball(_ path: String) -> Bool {
        path.contains("/usr/src/") && [".tar.xz", ".tar.gz", ".tar.bz2"].contains { path.hasSuffix($0) }
    }

    private func debs(in directory: URL) -> [URL] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".deb") }.sorted()
            .map { directory.appendingPathComponent($0) }
    }

    // MARK: Debian source packages (busybox)

    /// apt options that point apt at a private configuration under the cache, holding `deb-src` entries
    /// derived from the host's own sources, so the host's apt configuration is never edited.
    func privateAptOptions() throws -> [String] {
        let root = workspace.apt
        let parts = root.appendingPathComponent("sources.list.d", isDirectory: true)
        let lists = root.appendingPathComponent("lists", isDirectory: true)
        try createDirectory(lists.appendingPathComponent("partial"))
        try createDirectory(parts)
        try createDirectory(root.appendingPathComponent("cache/archives/partial"))
        let entries = try DebSourceEntries.derive(from: hostAptSources)
        guard !entries.isEmpty else {
            throw HostError.source(description: "Debian source packages", message: "no 'deb' entries found in the host's apt sources to derive deb-src entries from")
        }
        try AtomicFile.write(entries, to: parts.appendingPathComponent("bspgen-deb-src.sources"))
        return ["-o", "Dir::Etc::SourceList=/dev/null", "-o", "Dir::Etc::SourceParts=\(parts.path)",
                "-o", "Dir::State::Lists=\(lists.path)", "-o", "Dir::Cache=\(root.appendingPathComponent("cache").path)",
                "-o", "APT::Sandbox::User=root", "-q"]
    }

    private func debianSourceTree(_ name: String, log: URL) async throws -> SourceTree {
        let directory = workspace.downloads.appendingPathComponent("debian-source/\(name)", isDirectory: true)
        try createDirectory(directory)
        if dscFiles(in: directory).isEmpty {
            // Two source packages fetched at once (BusyBox beside U-Boot) share the private apt configuration and
            // its index, which apt locks: they take turns.
            try await FileLock.withLock(workspace.lock("apt-source")) {
                let options = try privateAptOptions()
                try await ProcessRunner.logged(Command("apt-get", options + ["update"]), log: log)
                try await ProcessRunner.logged(Command("apt-get", options + ["source", "--download-only", name], workingDirectory: directory), log: log)
            }
        }
        guard let dsc = dscFiles(in: directory).last else {
            throw HostError.source(description: "Debian source package \(name)", message: "apt-get source left no .dsc in \(directory.path)")
        }
        let version = String(dsc.deletingPathExtension().lastPathComponent.split(separator: "_").dropFirst().first ?? "unknown")
        let tree = workspace.sources.appendingPathComponent("\(name)-\(version)", isDirectory: true)
        if !FileManager.default.fileExists(atPath: tree.path) {
            let temporary = try AtomicFile.temporaryDirectory(beside: tree)
            // dpkg-source checks every file against the .dsc's checksums and applies Debian's patches.
            try await ProcessRunner.logged(Command("dpkg-source", ["-x", dsc.path, temporary.appendingPathComponent("tree").path]), log: log)
            try AtomicFile.replace(tree, with: temporary)
        }
        return SourceTree(source: "Debian source package \(name)", root: tree.appendingPathComponent("tree"), version: version,
                          sha256: try cachedSHA256(of: dsc), archive: dsc)
    }

    /// A Debian source package as it is in the archive, not unpacked: its `.dsc` and every file the `.dsc` lists,
    /// `apt-get source --download-only NAME=VERSION` through the private `deb-src` configuration, into
    /// `downloads/debian-source/NAME_VERSION/` (kept: a second legal-info copies from there). For legal-info's
    /// sources of the host packages linked into the board (the C library, GCC's runtime).
    public func debianSourcePackage(_ name: String, version: String, log: URL) async throws -> [URL] {
        let directory = workspace.downloads.appendingPathComponent("debian-source/\(name)_\(version)", isDirectory: true)
        return try await FileLock.withLock(workspace.lock("source-debian-\(name)")) {
            if dscFiles(in: directory).isEmpty {
                let options = try privateAptOptions()
                let temporary = try AtomicFile.temporaryDirectory(beside: directory)
                do {
                    try await ProcessRunner.logged(Command("apt-get", options + ["update"]), log: log)
                    // --only-source: `gcc-12=V` is otherwise read as the binary package gcc-12, and apt takes its candidate's source.
                    try await ProcessRunner.logged(Command("apt-get", options + ["source", "--download-only", "--only-source", "\(name)=\(version)"],
                                                           workingDirectory: temporary), log: log)
                } catch {
                    try? FileManager.default.removeItem(at: temporary)
                    throw HostError.source(description: "Debian source package \(name) \(version)",
                                           message: "apt-get source failed: not in the archives apt reaches (a version a point release "
                                               + "superseded is only on snapshot.debian.org); see \(log.path)")
                }
                try AtomicFile.replace(directory, with: temporary)
            }
            // The .dsc's name carries the version without its epoch: the very version asked for, not another.
            let expected = "\(name)_\(version.split(separator: ":", maxSplits: 1).last.map(String.init) ?? version).dsc"
            guard let dsc = dscFiles(in: directory).first(where: { $0.lastPathComponent == expected }) else {
                throw HostError.source(description: "Debian source package \(name) \(version)",
                                       message: "apt-get source left no \(expected) in \(directory.path)")
            }
            // The .dsc first, then the files it lists.
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
                .map { directory.appendingPathComponent($0) }
            return [dsc] + files.filter { $0 != dsc }
        }
    }

    private func dscFiles(in directory: URL) -> [URL] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".dsc") }.sorted()
            .map { directory.appendingPathComponent($0) }
    }

    // MARK: Tarballs and downloads

    private func download(_ url: String, sha256 expected: String, log: URL) async throws -> URL {
        let name = URL(string: url)?.lastPathComponent ?? "download"
        let destination = workspace.downloads.appendingPathComponent("\(expected.prefix(16))-\(name)")
        if FileManager.default.fileExists(atPath: destination.path) { return destination }
        try createDirectory(workspace.downloads)
        let partial = destination.appendingPathExtension("part")
        try await ProcessRunner.logged(Command("curl", ["-fL", "--retry", "3", "-o", partial.path, url]), log: log)
        let actual = try Checksum.sha256(of: partial)
        guard actual == expected else {
            try? FileManager.default.removeItem(at: partial)
            throw HostError.checksumMismatch(file: url, expected: expected, actual: actual)
        }
        try AtomicFile.replace(destination, with: partial)
        return destination
    }

    private func unpack(_ archive: URL, sha256: String, name: String, version: String, spec: SourceSpec, log: URL) async throws -> SourceTree {
        let tree = workspace.sources.appendingPathComponent("\(name)-\(sha256.prefix(12))", isDirectory: true)
        if !FileManager.default.fileExists(atPath: tree.path) {
            let temporary = try AtomicFile.temporaryDirectory(beside: tree)
            // GNU tar refuses members with '..', strips leading '/', and creates a symlink that points outside only
            // after every member is extracted, so nothing lands outside `temporary`, not even through a link.
            do {
                try await ProcessRunner.logged(Command("tar", ["-xf", archive.path, "-C", temporary.path, "--no-same-owner", "--no-same-permissions"]),
                                               log: log)
            } catch {
                try? FileManager.default.removeItem(at: temporary)
                throw error
            }
            try AtomicFile.replace(tree, with: temporary)
        }
        let entries = ((try? FileManager.default.contentsOfDirectory(atPath: tree.path)) ?? []).filter { !$0.hasPrefix(".") }
        let root = entries.count == 1 ? tree.appendingPathComponent(entries[0]) : tree
        return SourceTree(source: spec.description, root: root, version: version, sha256: sha256, archive: archive)
    }

    /// Hashing a 140 MB tarball takes a second; remember the sum per path, size and mtime.
    private func cachedSHA256(of file: URL) throws -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: file.path)
        let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
        let mtime = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let key = Checksum.sha256("\(file.path)|\(size)|\(mtime)")
        let memo = workspace.cacheDirectory.appendingPathComponent("checksums/\(key)")
        if let known = try? String(contentsOf: memo, encoding: .utf8), known.count == 64 { return known }
        let sum = try Checksum.sha256(of: file)
        try AtomicFile.write(sum, to: memo)
        return sum
    }

    private func createDirectory(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw HostError.fileSystem(path: url.path, message: "cannot create directory: \(UserFile.reason(of: error))")
        }
    }
}

/// `deb-src` entries with the same URIs, suites and components as the host's `deb` entries.
enum DebSourceEntries {
    static func derive(from locations: [URL]) throws -> String {
        let stanzas = stanzas(from: locations)
        return stanzas.joined(separator: "\n\n") + (stanzas.isEmpty ? "" : "\n")
    }

    /// One `deb-src` stanza per `deb` entry of the sources files and folders at `locations`.
    static func stanzas(from locations: [URL]) -> [String] {
        var files: [URL] = []
        for location in locations {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: location.path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: location.path)) ?? []
                files += names.filter { $0.hasSuffix(".list") || $0.hasSuffix(".sources") }.sorted().map { location.appendingPathComponent($0) }
            } else {
                files.append(location)
            }
        }
        var stanzas: [String] = []
        for file in files {
            guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
            stanzas += file.pathExtension == "sources" ? fromDeb822(text) : fromOneLine(text)
        }
        return stanzas
    }

    /// deb822 stanzas whose Types include `deb`, rewritten to `deb-src`; other fields are kept.
    static func fromDeb822(_ text: String) -> [String] {
        text.components(separatedBy: "\n\n").compactMap { stanza in
            let lines = stanza.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
            guard let types = lines.first(where: { $0.lowercased().hasPrefix("types:") }),
                  types.dropFirst(6).split(separator: " ").contains("deb"),
                  !lines.contains(where: { $0.lowercased().hasPrefix("enabled:") && $0.lowercased().contains("no") })
            else { return nil }
            return lines.map { $0.lowercased().hasPrefix("types:") ? "Types: deb-src" : $0 }.joined(separator: "\n")
        }
    }

    /// One-line `deb [options] URI suite components` entries, as deb822 `deb-src` stanzas.
    static func fromOneLine(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            var words = line.split(separator: " ").map(String.init)
            guard words.first == "deb" else { return nil }
            words.removeFirst()
            var options: [String] = []
            if words.first?.hasPrefix("[") == true {
                while let word = words.first {
                    words.removeFirst()
                    options.append(word.trimmingCharacters(in: CharacterSet(charactersIn: "[]")))
                    if word.hasSuffix("]") { break }
                }
            }
            guard words.count >= 2 else { return nil }
            var stanza = ["Types: deb-src", "URIs: \(words[0])", "Suites: \(words[1])"]
            if words.count > 2 { stanza.append("Components: \(words[2...].joined(separator: " "))") }
            for option in options {
                let pair = option.split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0] == "signed-by" { stanza.append("Signed-By: \(pair[1])") }
            }
            return stanza.joined(separator: "\n")
        }
    }
}

import BoardModel
import Foundation
import UserInput

/// A Debian binary package to fetch, as a board's firmware section asks for it.
public struct DebianPackageRequest: Sendable, Hashable {
    public var package: String
    /// A foreign architecture to look in (`arm64`), or nil for the host's own and `all`.
    public var architecture: String?
    /// A component to enable besides the host's, e.g. `non-free-firmware`.
    public var component: String?

    public init(package: String, architecture: String? = nil, component: String? = nil) {
        self.package = package
        self.architecture = architecture
        self.component = component
    }

    /// The folder the `.deb` is kept in: one per package and architecture, so the first download pins the
    /// version and later builds (and other boards) use that same file without asking apt.
    var cacheName: String { architecture.map { "\(package)_\($0)" } ?? package }
}

/// A `.deb` in the cache, with what its control file says.
public struct DebianBinaryPackage: Sendable, Equatable {
    public var package: String
    public var version: String
    /// `all`, or the architecture it was built for.
    public var architecture: String
    public var deb: URL
    public var sha256: String
    /// Whether this run downloaded it, rather than finding it in the cache.
    public var fetchedNow = false

    public var description: String { "\(package) \(version) (\(architecture))" }
}

public enum DebianPackageError: Error, CustomStringConvertible, Equatable {
    /// apt's index (host components plus `components`, host architecture plus `architectures`) has no such package.
    case notFound(package: String, architecture: String?, components: [String], similar: [String])
    /// The package has no file at `file`; `similar` are the closest of its files.
    case fileNotInPackage(package: String, version: String, file: String, similar: [String])

    public var description: String {
        switch self {
        case let .notFound(package, architecture, components, similar):
            var text = "no Debian package '\(package)'" + (architecture.map { " for \($0) (or 'all')" } ?? "")
                + " in the archive's index (the host's apt sources" + (components.isEmpty ? "" : " plus \(components.joined(separator: ", "))") + ")"
            if !similar.isEmpty { text += "\n    did you mean: \(similar.joined(separator: ", "))?" }
            text += "\n    hint: search for it with 'apt-cache search \(package)'; a package outside main may need 'component:' (e.g. non-free-firmware), one built only for another architecture 'architecture:' (e.g. arm64)"
            return text
        case let .fileNotInPackage(package, version, file, similar):
            var text = "'\(file)' is not in the package \(package) \(version)"
            if !similar.isEmpty { text += "\n    did you mean: " + similar.map { "'\($0)'" }.joined(separator: ", ") + "?" }
            text += "\n    hint: list its files with 'dpkg-deb -c' on the .deb, or 'apt-file list \(package)'"
            return text
        }
    }
}

/// Debian binary packages into the cache through bspgen's private apt configuration: the host's own `deb`
/// sources (same archives, suites and keyrings) with the components and architectures a board needs added, in
/// files under the cache. Nothing under /etc/apt or /var/lib/apt is written; apt still checks the archive's
/// signatures with the host's keyrings, and every `.deb` against the signed index.
public struct DebianPackageFetcher: Sendable {
    public let workspace: Workspace
    /// Host apt sources to derive the entries from.
    public var hostAptSources: [URL] = [URL(fileURLWithPath: "/etc/apt/sources.list"), URL(fileURLWithPath: "/etc/apt/sources.list.d")]
    /// Indexes older than this are refreshed before a download; a cached `.deb` is never refreshed.
    public var indexLifetime: TimeInterval = 6 * 3600

    public init(workspace: Workspace) { self.workspace = workspace }

    /// The private configuration's root, apart from the `deb-src` one so that neither's `apt-get update` fetches
    /// the other's indexes.
    var aptRoot: URL { workspace.apt.appendingPathComponent("binary", isDirectory: true) }
    var packages: URL { workspace.downloads.appendingPathComponent("debian-binary", isDirectory: true) }

    /// The cached `.deb` of `request`, if a build fetched it before.
    public func cached(_ request: DebianPackageRequest) -> URL? {
        debs(in: packages.appendingPathComponent(request.cacheName, isDirectory: true)).last
    }

    /// Each package's `.deb`, from the cache when there, else downloaded by apt (one index update for all of them).
    /// Processes fetching at the same time take turns, so a package is downloaded once.
    public func fetch(_ requests: [DebianPackageRequest], log: URL) async throws -> [DebianBinaryPackage] {
        try await FileLock.withLock(workspace.lock("debian-binary-packages")) {
            var updated = false
            var results: [DebianBinaryPackage] = []
            for request in requests {
                var fetchedNow = false
                if cached(request) == nil {
                    if !updated {
                        try await updateIndex(for: requests, log: log)
                        updated = true
                    }
                    try await download(request, options: try aptOptions(for: requests), log: log)
                    fetchedNow = true
                }
                guard let deb = cached(request) else {
                    throw HostError.source(description: "Debian package \(request.package)",
                                           message: "apt-get download left no .deb in \(packages.appendingPathComponent(request.cacheName).path)")
                }
                var package = try await inspect(deb)
                package.fetchedNow = fetchedNow
                results.append(package)
            }
            return results
        }
    }

    /// apt options that make apt read only the private configuration for `requests` (and write only under the
    /// cache): the derived sources, the host's architecture plus the requested foreign ones.
    public func aptOptions(for requests: [DebianPackageRequest]) throws -> [String] {
        let parts = aptRoot.appendingPathComponent("sources.list.d", isDirectory: true)
        let lists = aptRoot.appendingPathComponent("lists", isDirectory: true)
        let cache = aptRoot.appendingPathComponent("cache", isDirectory: true)
        for folder in [parts, lists.appendingPathComponent("partial"), cache.appendingPathComponent("archives/partial")] {
            try createDirectory(folder)
        }
        let architectures = try Self.architectures(for: requests, native: HostArchitecture.native())
        let entries = DebBinaryEntries.derive(from: hostAptSources, components: Self.components(for: requests), architectures: architectures)
        guard !entries.isEmpty else {
            throw HostError.source(description: "Debian binary packages", message: "no 'deb' entries found in the host's apt sources to derive the private apt sources from")
        }
        let sources = parts.appendingPathComponent("bspgen-deb.sources")
        if (try? String(contentsOf: sources, encoding: .utf8)) != entries { try AtomicFile.write(entries, to: sources) }
        return ["-o", "Dir::Etc::SourceList=/dev/null", "-o", "Dir::Etc::SourceParts=\(parts.path)",
                "-o", "Dir::State::Lists=\(lists.path)", "-o", "Dir::Cache=\(cache.path)",
                // The list replaces dpkg's: the host's architecture first, so packages without ':ARCH' stay native.
               ] + architectures.flatMap { ["-o", "APT::Architectures::=\($0)"] }
            + ["-o", "APT::Sandbox::User=root", "-q"]
    }

    static func components(for requests: [DebianPackageRequest]) -> [String] {
        Array(Set(requests.compactMap(\.component))).sorted()
    }

    /// The host's architecture, then each foreign one requested, once.
    static func architectures(for requests: [DebianPackageRequest], native: String) throws -> [String] {
        [native] + Array(Set(requests.compactMap(\.architecture)).subtracting([native, "all"])).sorted()
    }

    /// `apt-get update` of the private configuration, unless the same sources were read recently: a download
    /// needs an index that knows the package, not the newest one.
    private func updateIndex(for requests: [DebianPackageRequest], log: URL) async throws {
        let options = try aptOptions(for: requests)
        let stamp = aptRoot.appendingPathComponent("updated")
        let fingerprint = Checksum.sha256(options.joined(separator: "\n") + "\n"
            + ((try? String(contentsOf: aptRoot.appendingPathComponent("sources.list.d/bspgen-deb.sources"), encoding: .utf8)) ?? ""))
        let age = ((try? FileManager.default.attributesOfItem(atPath: stamp.path))?[.modificationDate] as? Date).map { Date().timeIntervalSince($0) }
        if (try? String(contentsOf: stamp, encoding: .utf8)) == fingerprint, let age, age < indexLifetime { return }
        try await ProcessRunner.logged(Command("apt-get", options + ["update"]), log: log)
        try AtomicFile.write(fingerprint, to: stamp)
    }

    /// Resolves the package in the private index (`PACKAGE:ARCH`, else `PACKAGE:all` for architecture-independent
    /// packages), then downloads exactly that version into a temporary folder that becomes the cache folder.
    private func download(_ request: DebianPackageRequest, options: [String], log: URL) async throws {
        let candidates = request.architecture.map { ["\(request.package):\($0)", "\(request.package):all"] } ?? [request.package]
        var resolved: String?
        for candidate in candidates {
            let shown = try await ProcessRunner.capture(Command("apt-cache", options + ["show", "--no-all-versions", candidate]))
            guard shown.succeeded else { continue }
            let fields = Self.controlFields(shown.output)
            if let version = fields["Version"], let architecture = fields["Architecture"] {
                resolved = "\(request.package):\(architecture)=\(version)"
                break
            }
        }
        guard let resolved else {
            throw DebianPackageError.notFound(package: request.package, architecture: request.architecture,
                                              components: Self.components(for: [request]), similar: try await similarNames(request.package, options: options))
        }
        let folder = packages.appendingPathComponent(request.cacheName, isDirectory: true)
        try createDirectory(packages)
        let temporary = try AtomicFile.temporaryDirectory(beside: folder)
        do {
            try await ProcessRunner.logged(Command("apt-get", options + ["download", resolved], workingDirectory: temporary), log: log)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        try AtomicFile.replace(folder, with: temporary)
    }

    /// Names in the index that start like `name` and are close to it: typos, not a search.
    private func similarNames(_ name: String, options: [String]) async throws -> [String] {
        let result = try await ProcessRunner.capture(Command("apt-cache", options + ["pkgnames", String(name.prefix(3))]))
        guard result.succeeded else { return [] }
        let names = result.output.split(separator: "\n").map(String.init)
        return Suggestion.closestMatches(to: name, among: names, count: 3)
    }

    /// `dpkg-deb -f` for what the package says it is; the sha256 of the file itself.
    public func inspect(_ deb: URL) async throws -> DebianBinaryPackage {
        let output = try await ProcessRunner.checked(Command("dpkg-deb", ["-f", deb.path, "Package", "Version", "Architecture"]))
        let fields = Self.controlFields(output)
        guard let package = fields["Package"], let version = fields["Version"], let architecture = fields["Architecture"] else {
            throw HostError.source(description: deb.path, message: "dpkg-deb -f printed no Package, Version and Architecture")
        }
        return DebianBinaryPackage(package: package, version: version, architecture: architecture, deb: deb, sha256: try Checksum.sha256(of: deb))
    }

    /// `Field: value` lines of a control stanza (the first stanza only).
    static func controlFields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty, !fields.isEmpty { break }
            guard let colon = line.firstIndex(of: ":"), line.first?.isWhitespace == false else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    /// The package's files unpacked into `destination` (replaced whole, never half-written): `dpkg-deb -x`
    /// checks the archive's structure and refuses members that would land outside.
    public func extract(_ package: DebianBinaryPackage, to destination: URL, log: URL) async throws {
        try createDirectory(destination.deletingLastPathComponent())
        let temporary = try AtomicFile.temporaryDirectory(beside: destination)
        do {
            try await ProcessRunner.logged(Command("dpkg-deb", ["-x", package.deb.path, temporary.path]), log: log)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        try AtomicFile.replace(destination, with: temporary)
    }

    private func debs(in directory: URL) -> [URL] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".deb") }.sorted()
            .map { directory.appendingPathComponent($0) }
    }

    private func createDirectory(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw HostError.fileSystem(path: url.path, message: "cannot create directory: \(UserFile.reason(of: error))")
        }
    }
}

public enum HostArchitecture {
    /// dpkg's name for this machine's architecture (`amd64`), which apt's lists are named by: dpkg's own answer,
    /// so no table of architecture names lives here.
    public static func native() throws -> String {
        let process = Process()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/dpkg")
        process.arguments = ["--print-architecture"]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw HostError.missingTool("dpkg", install: aptInstallCommand(["dpkg"]))
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let name = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0, !name.isEmpty else {
            throw HostError.source(description: "Debian binary packages", message: "dpkg --print-architecture did not name this machine's architecture")
        }
        return name
    }
}

/// `deb` entries for the private configuration: the host's `deb` entries (the same archives, suites and
/// keyrings, derived as for `deb-src`) with extra components and, where the host does not restrict them, the
/// architectures to read.
enum DebBinaryEntries {
    static func derive(from locations: [URL], components: [String], architectures: [String]) -> String {
        let stanzas = DebSourceEntries.stanzas(from: locations).map { adjust($0, components: components, architectures: architectures) }
        return stanzas.joined(separator: "\n\n") + (stanzas.isEmpty ? "" : "\n")
    }

    static func adjust(_ stanza: String, components: [String], architectures: [String]) -> String {
        var lines = stanza.split(separator: "\n").map(String.init)
        var hasArchitectures = false
        for (index, line) in lines.enumerated() {
            let field = line.prefix { $0 != ":" }.lowercased()
            switch field {
            case "types":
                lines[index] = "Types: deb"
            case "components":
                let present = line.dropFirst(field.count + 1).split(separator: " ").map(String.init)
                lines[index] = "Components: " + (present + components.filter { !present.contains($0) }).joined(separator: " ")
            case "architectures":
                hasArchitectures = true
            default:
                break
            }
        }
        if !hasArchitectures, !architectures.isEmpty { lines.append("Architectures: " + architectures.joined(separator: " ")) }
        return lines.joined(separator: "\n")
    }
}

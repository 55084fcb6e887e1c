import Foundation

/// A Debian package installed on this host, as dpkg's database records it.
public struct InstalledPackage: Sendable, Equatable {
    public var package: String
    public var version: String
    public var architecture: String
    /// The source package it was built from, and that source's version.
    public var source: String
    public var sourceVersion: String

    public init(package: String, version: String, architecture: String, source: String, sourceVersion: String) {
        self.package = package
        self.version = version
        self.architecture = architecture
        self.source = source
        self.sourceVersion = sourceVersion
    }
}

/// Which installed packages files of the host belong to (the cross compiler, the C library a static BusyBox is
/// linked with), from dpkg's own database: no table of package names lives in bspgen.
public enum InstalledPackages {
    /// The package that installed each path (`dpkg-query -S`), for the paths dpkg knows; one process for all.
    public static func owners(of paths: [String]) async throws -> [String: String] {
        guard !paths.isEmpty else { return [:] }
        var owners: [String: String] = [:]
        for chunk in stride(from: 0, to: paths.count, by: 500).map({ Array(paths[$0..<min($0 + 500, paths.count)]) }) {
            let result = try await ProcessRunner.capture(Command("dpkg-query", ["-S"] + chunk, environment: ["LC_ALL": "C"]))
            owners.merge(parseOwners(result.output)) { first, _ in first }
        }
        return owners
    }

    /// `package[, package...]: path` lines; diversions and error lines (`dpkg-query: ...`) are skipped.
    public static func parseOwners(_ output: String) -> [String: String] {
        var owners: [String: String] = [:]
        for line in output.split(separator: "\n") {
            guard !line.hasPrefix("dpkg-query:"), !line.hasPrefix("diversion by"), let separator = line.range(of: ": /") else { continue }
            let packages = line[..<separator.lowerBound].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let first = packages.first else { continue }
            // `package:arch` for multi-arch packages: the name is what the archive knows.
            let name = first.split(separator: ":").first.map(String.init) ?? first
            owners[String(line[line.index(after: separator.lowerBound)...]).trimmingCharacters(in: .whitespaces)] = name
        }
        return owners
    }

    /// What dpkg records for each of `names` that is installed.
    /// The source packages a binary package says it was built from beyond its own (`Built-Using`): a cross C
    /// library is built from `cross-toolchain-base` using glibc's source. `name (= version)` entries.
    public static func builtUsing(_ package: String) async throws -> [(name: String, version: String)] {
        let result = try await ProcessRunner.capture(Command("dpkg-query", ["-W", "-f", "${Built-Using}", package], environment: ["LC_ALL": "C"]))
        return parseBuiltUsing(result.succeeded ? result.output : "")
    }

    public static func parseBuiltUsing(_ text: String) -> [(name: String, version: String)] {
        text.split(separator: ",").compactMap { entry in
            let words = entry.split(whereSeparator: { $0.isWhitespace || $0 == "(" || $0 == ")" || $0 == "=" }).map(String.init)
            return words.count == 2 ? (words[0], words[1]) : nil
        }
    }

    public static func describe(_ names: [String]) async throws -> [String: InstalledPackage] {
        guard !names.isEmpty else { return [:] }
        let format = "${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\t${db:Status-Status}\n"
        let result = try await ProcessRunner.capture(Command("dpkg-query", ["-W", "-f", format] + names, environment: ["LC_ALL": "C"]))
        return parseDescriptions(result.output)
    }

    static func parseDescriptions(_ output: String) -> [String: InstalledPackage] {
        var packages: [String: InstalledPackage] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 6, fields[5] == "installed", !fields[1].isEmpty else { continue }
            packages[fields[0]] = InstalledPackage(package: fields[0], version: fields[1], architecture: fields[2],
                                                   source: fields[3].isEmpty ? fields[0] : fields[3],
                                                   sourceVersion: fields[4].isEmpty ? fields[1] : fields[4])
        }
        return packages
    }
}

import BoardModel
import Foundation
import Host

/// What the firmware stages leave: each file under its output name, each package's licence, and the packages
/// for the manifest.
struct FirmwareArtifacts {
    var files: [(name: String, url: URL)] = []
    var packages: [Manifest.Source] = []
    /// The `.deb`s themselves, for the SBOM and legal-info.
    var debs: [DebianBinaryPackage] = []
}

/// The board's `firmware` section: each package fetched through the private apt configuration (once per cache),
/// unpacked once into a folder shared by every board (named by package, version and the `.deb`'s sha256), and
/// one stage per package that checks the named files are in it. The files are artifacts like the kernel:
/// partitions name them, the output folder and its manifest hold them.
struct FirmwareStage {
    let environment: BuildEnvironment

    var board: ResolvedBoard { environment.board }
    var specs: [FirmwareSpec] { board.board.firmware ?? [] }

    /// Unpacked packages shared between boards.
    var packagesRoot: URL { environment.workspace.cacheDirectory.appendingPathComponent("firmware", isDirectory: true) }

    func build() async throws -> FirmwareArtifacts {
        guard !specs.isEmpty else { return FirmwareArtifacts() }
        let fetcher = DebianPackageFetcher(workspace: environment.workspace)
        let log = environment.log("firmware")
        let start = Date()
        environment.progress.begin("firmware", specs.map(\.package).joined(separator: ", "))
        let packages: [DebianBinaryPackage]
        do {
            packages = try await fetcher.fetch(specs.map { DebianPackageRequest(package: $0.package, architecture: $0.architecture, component: $0.component) },
                                               log: log)
        } catch let DebianPackageError.notFound(package, architecture, components, similar) {
            let index = specs.firstIndex { $0.package == package } ?? 0
            throw located("firmware[\(index)].package",
                          "no Debian package '\(package)'" + (architecture.map { " for \($0) or 'all'" } ?? "")
                            + " in the archive's index (the host's apt sources" + (components.isEmpty ? "" : " with \(components.joined(separator: ", "))") + ")",
                          hint: (similar.isEmpty ? "" : "did you mean \(similar.map { "'\($0)'" }.joined(separator: ", "))? ")
                            + "search with 'apt-cache search \(package)'; a package outside main needs 'component:' (e.g. non-free-firmware), "
                            + "one built only for another architecture 'architecture:' (e.g. arm64)")
        }
        environment.progress.end(packages.map(\.description).joined(separator: ", "))
        let downloaded = packages.filter(\.fetchedNow).map(\.package)
        environment.note(external: "firmware packages", ranBecause: downloaded.isEmpty ? nil : "downloaded \(downloaded.joined(separator: ", "))",
                         since: start, detail: packages.map(\.description).joined(separator: ", "))

        var artifacts = FirmwareArtifacts()
        for (index, (spec, package)) in zip(specs, packages).enumerated() {
            artifacts.files += try await stage(spec, index: index, package: package, fetcher: fetcher, log: log)
            artifacts.debs.append(package)
            artifacts.packages.append(Manifest.Source(source: "Debian package \(package.package) (\(package.architecture))",
                                                      version: package.version, sha256: package.sha256))
        }
        return artifacts
    }

    /// One package's files, checked against the unpacked package; the stage's key is the `.deb` and the list.
    private func stage(_ spec: FirmwareSpec, index: Int, package: DebianBinaryPackage, fetcher: DebianPackageFetcher,
                       log: URL) async throws -> [(name: String, url: URL)] {
        let version = package.version.replacingOccurrences(of: ":", with: "_")
        let tree = packagesRoot.appendingPathComponent("\(package.package)_\(version)_\(package.architecture)-\(package.sha256.prefix(12))",
                                                       isDirectory: true)
        var key = StageKey()
        key.add("stage", "firmware-1")
        key.add("package", package.description)
        key.add("deb sha256", package.sha256)
        key.add("files", key.encodable(spec.files))
        let files = spec.files.map { (name: $0.outputName, url: tree.appendingPathComponent($0.from)) }
            + [(name: spec.licenseName, url: tree.appendingPathComponent(spec.licensePath))]
        let stage = Stage("firmware \(spec.package)", key: key,
                          record: environment.buildDirectory.appendingPathComponent(".bspgen-firmware-\(spec.package).json"),
                          outputs: files.map(\.url), logName: "firmware")
        try await environment.run(stage) {
            try await FileLock.withLock(environment.workspace.lock("firmware-\(package.package)")) {
                if !FileManager.default.fileExists(atPath: tree.path) { try await fetcher.extract(package, to: tree, log: log) }
            }
            try check(spec, index: index, package: package, tree: tree)
            return StageWork()
        }
        return files
    }

    /// Every named file is a regular file of the package: not missing, not a folder, not a link that could
    /// lead out of the unpacked tree.
    private func check(_ spec: FirmwareSpec, index: Int, package: DebianBinaryPackage, tree: URL) throws {
        var problems: [Diagnostic] = []
        let named = spec.files.enumerated().map { (field: "firmware[\(index)].files[\($0.offset)].from", path: $0.element.from) }
            + [(field: "firmware[\(index)].package", path: spec.licensePath)]
        var packageFiles: [String]?
        for (field, path) in named {
            let url = tree.appendingPathComponent(path)
            let type = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.type] as? FileAttributeType
            if type == .typeRegular { continue }
            if type == nil || type == .typeDirectory {
                let list = packageFiles ?? Self.regularFiles(in: tree)
                packageFiles = list
                let error = DebianPackageError.fileNotInPackage(package: package.package, version: package.version, file: path,
                                                                similar: Suggestion.closestMatches(to: path, among: list, count: 3))
                problems.append(diagnostic(field, error, deb: package.deb))
            } else {
                problems.append(Diagnostic(board.location(of: field), field: field,
                                           "'\(path)' in \(package.description) is a \(type == .typeSymbolicLink ? "symbolic link" : "special file"), not a file",
                                           hint: "name the file it points to"))
            }
        }
        if !problems.isEmpty { throw DiagnosticList(problems) }
    }

    private func diagnostic(_ field: String, _ error: DebianPackageError, deb: URL) -> Diagnostic {
        guard case let .fileNotInPackage(package, version, file, similar) = error else {
            return Diagnostic(board.location(of: field), field: field, error.description)
        }
        let suggestion = similar.isEmpty ? nil : "did you mean " + similar.map { "'\($0)'" }.joined(separator: ", ") + "? "
        return Diagnostic(board.location(of: field), field: field, "'\(file)' is not in the package \(package) \(version)",
                          hint: (suggestion ?? "") + "list the package's files with 'dpkg-deb -c \(deb.path)'")
    }

    private func located(_ field: String, _ message: String, hint: String) -> DiagnosticList {
        DiagnosticList([Diagnostic(board.location(of: field), field: field, message, hint: hint)])
    }

    /// Paths of the package's regular files, relative to its root, as a board names them.
    static func regularFiles(in tree: URL) -> [String] {
        guard let walker = FileManager.default.enumerator(at: tree, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        let prefix = tree.resolvingSymlinksInPath().path + "/"
        var paths: [String] = []
        for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let path = url.resolvingSymlinksInPath().path
            if path.hasPrefix(prefix) { paths.append(String(path.dropFirst(prefix.count))) }
        }
        return paths.sorted()
    }

    /// The firmware stages as `bspgen show --plan` lists them.
    static func planned(_ board: Board) -> [PlannedStage] {
        (board.firmware ?? []).map { spec in
            PlannedStage(name: "firmware \(spec.package)",
                         inputs: ["Debian package \(spec.package)" + (spec.architecture.map { " (\($0))" } ?? "") + (spec.component.map { " from \($0)" } ?? "")],
                         outputs: spec.files.map(\.outputName) + [spec.licenseName])
        }
    }
}

extension DebianPackageError: UserFacingError {}

import BoardModel
import Foundation
import Host
import SBOM

/// What `bspgen legal-info` wrote.
public struct LegalInfoResult: Sendable {
    public var folder: URL
    /// One row per component: id, version, licence, source archive, sha256, Debian source package.
    public var rows: [[String]]
    public var bytes: Int64
}

/// `bspgen legal-info BOARD`, as Buildroot's `make legal-info`: `out/BOARD/legal-info/` with, per component of the
/// board's SBOM, the exact sources that were built (the tarball, or the Debian `.dsc` with the files it lists),
/// the patches applied, the licence texts (the tree's own, Debian's `copyright`), and `manifest.csv`. Enough for
/// the GPL's offer of the corresponding source. The folder appears whole or not at all; a later build that
/// rewrites `out/BOARD/` leaves it out, as it is made on request.
public struct LegalInfo: Sendable {
    public let environment: BuildEnvironment
    /// Also fetch the Debian source packages of the host packages linked into the board (the C library and GCC's
    /// runtime in static BusyBox and U-Boot, and the sources their `Built-Using` names): glibc's is 20 MB, gcc-12's
    /// 89 MB, so only when asked.
    public var hostSources: Bool

    public init(environment: BuildEnvironment, hostSources: Bool = false) {
        self.environment = environment
        self.hostSources = hostSources
    }

    var board: ResolvedBoard { environment.board }

    public func run(_ build: BoardBuildResult) async throws -> LegalInfoResult {
        let output = build.outputDirectory
        let destination = output.appendingPathComponent("legal-info", isDirectory: true)
        let temporary = try AtomicFile.temporaryDirectory(beside: destination)
        do {
            let result = try await fill(temporary, output: output)
            try AtomicFile.replace(destination, with: temporary)
            return LegalInfoResult(folder: destination, rows: result.rows, bytes: result.bytes)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    private func fill(_ folder: URL, output: URL) async throws -> (rows: [[String]], bytes: Int64) {
        let sbom = SBOMStage(environment: environment)
        let facts = try sbom.loadFacts()
        let bom = try readCycloneDX(output.appendingPathComponent(SBOMStage.cycloneDXName))
        var trees: [String: SourceTree] = [:]
        // The pristine trees: their archives are the sources; the board's patches are copied beside them.
        let fetcher = SourceFetcher(workspace: environment.workspace)
        let specs: [(String, SourceSpec?)] = [("linux", board.board.kernel.resolvedSource), ("busybox", board.board.busybox.resolvedSource),
                                              ("u-boot", board.board.bootloader?.resolvedSource)]
        for case let (id, spec?) in specs {
            trees[id] = try await fetcher.fetch(spec, relativeTo: board.folder, log: environment.log("\(id)-source"))
        }
        let firmwareFetcher = DebianPackageFetcher(workspace: environment.workspace)

        var rows: [[String]] = []
        var bytes: Int64 = 0
        for component in bom {
            let id = component.id
            let directory = folder.appendingPathComponent(id, isDirectory: true)
            let sources = directory.appendingPathComponent("sources", isDirectory: true)
            let licenses = directory.appendingPathComponent("licences", isDirectory: true)
            var archive = component.sourceArchive ?? ""
            var sha256 = component.sha256 ?? ""
            var debianSource = component.debianSource ?? ""
            if let tree = trees[id] {
                // The exact archive the tree was unpacked from; a Debian source package with every file its .dsc lists.
                if let file = tree.archive {
                    let files = file.pathExtension == "dsc" ? [file] + Self.dscFiles(file) : [file]
                    for file in files { bytes += try copy(file, into: sources) }
                    archive = files.map(\.lastPathComponent).joined(separator: " ")
                    sha256 = tree.sha256 ?? ""
                } else {
                    archive = "directory \(tree.root.path) (not an archive: not copied)"
                }
                let upstream = facts.upstream(named: id)
                for name in upstream?.licenseFiles ?? [] {
                    let url = tree.root.appendingPathComponent(name)
                    if FileManager.default.fileExists(atPath: url.path) { bytes += try copy(url, into: licenses) }
                }
                for copyright in [tree.root.appendingPathComponent("debian/copyright")] + packageCopyright(board.board.kernel.resolvedSource, id: id)
                where FileManager.default.fileExists(atPath: copyright.path) {
                    bytes += try copy(copyright, into: licenses, as: "debian-copyright")
                }
                for patch in sbom.patches[id] ?? [] { bytes += try copy(patch, into: directory.appendingPathComponent("patches", isDirectory: true)) }
            } else if id.hasPrefix("module-"), let folder = board.externalModules.first(where: { "module-" + $0.lastPathComponent == id }) {
                // An out-of-tree module's source is the board's folder itself.
                bytes += try copy(folder, into: sources)
                archive = "folder \(folder.lastPathComponent) (copied)"
            } else if id.hasPrefix("deb-") {
                let package = String(id.dropFirst(4))
                if let spec = (board.board.firmware ?? []).first(where: { $0.package == package }),
                   let deb = firmwareFetcher.cached(DebianPackageRequest(package: spec.package, architecture: spec.architecture, component: spec.component)) {
                    // Firmware is taken from the binary package as it is: the package is what was used.
                    bytes += try copy(deb, into: sources)
                    bytes += try copy(output.appendingPathComponent(spec.licenseName), into: licenses, as: "debian-copyright")
                } else {
                    // A host package (the C library linked into BusyBox, the compiler): its copyright file; its source is
                    // the Debian source package named, and those its Built-Using field names (a cross C library is
                    // built from cross-toolchain-base using glibc's source), which apt-get source fetches when asked.
                    let copyright = URL(fileURLWithPath: "/usr/share/doc/\(package)/copyright")
                    if FileManager.default.fileExists(atPath: copyright.path) { bytes += try copy(copyright, into: licenses, as: "debian-copyright") }
                    var sourcePackages: [(name: String, version: String)] = []
                    if let words = component.debianSource?.split(separator: " "), words.count == 2 { sourcePackages.append((String(words[0]), String(words[1]))) }
                    let builtUsing = try await InstalledPackages.builtUsing(package)
                    sourcePackages += builtUsing
                    if !builtUsing.isEmpty {
                        debianSource += " (built using " + builtUsing.map { "\($0.name) \($0.version)" }.joined(separator: ", ") + ")"
                    }
                    if hostSources, component.kind == "library" {
                        var fetched: [String] = []
                        var missing: [String] = []
                        for source in sourcePackages {
                            do {
                                let files = try await fetcher.debianSourcePackage(source.name, version: source.version, log: environment.log("legal-info"))
                                for file in files { bytes += try copy(file, into: sources) }
                                // The first package's .dsc: it names every other file of the package with its sha256.
                                if fetched.isEmpty, let dsc = files.first { sha256 = try Checksum.sha256(of: dsc) }
                                fetched += files.map(\.lastPathComponent)
                            } catch let error as HostError {
                                missing.append("\(source.name) \(source.version)")
                                environment.progress.note("warning: \(id): \(error)")
                            }
                        }
                        archive = fetched.joined(separator: " ") + (missing.isEmpty ? "" : " (not fetched, apt-get source failed: \(missing.joined(separator: ", ")))")
                    } else {
                        archive = "Debian source package (not copied: bspgen legal-info --host-sources)"
                    }
                }
            }
            rows.append([id, component.version, component.license ?? "NOASSERTION", archive, sha256, debianSource])
        }
        let csv = "component,version,licence,source archive,sha256,debian source package\n" + rows.map { $0.map(Self.csvField).joined(separator: ",") }.joined(separator: "\n") + "\n"
        try AtomicFile.write(csv, to: folder.appendingPathComponent("manifest.csv"))
        return (rows, bytes)
    }

    /// For a kernel from Debian's `linux-source-*` binary package: the package's copyright file.
    private func packageCopyright(_ spec: SourceSpec, id: String) -> [URL] {
        guard id == "linux", case .debianPackage(let package) = spec else { return [] }
        return [URL(fileURLWithPath: "/usr/share/doc/\(package)/copyright")]
    }

    /// The files a `.dsc` lists (`Files:`), beside it.
    static func dscFiles(_ dsc: URL) -> [URL] {
        guard let text = try? String(contentsOf: dsc, encoding: .utf8) else { return [] }
        var inFiles = false
        var files: [URL] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("Files:") { inFiles = true; continue }
            if inFiles {
                guard line.hasPrefix(" ") else { break }
                if let name = line.split(separator: " ").last { files.append(dsc.deletingLastPathComponent().appendingPathComponent(String(name))) }
            }
        }
        return files
    }

    static func csvField(_ text: String) -> String {
        text.contains(",") || text.contains("\"") ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    /// Copies a file or folder into `folder` (a hard link when the cache and the output share a file system).
    private func copy(_ source: URL, into folder: URL, as name: String? = nil) throws -> Int64 {
        let destination = folder.appendingPathComponent(name ?? source.lastPathComponent)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: source.path, isDirectory: &isDirectory)
            if isDirectory.boolValue || (try? FileManager.default.linkItem(at: source, to: destination)) == nil {
                try FileManager.default.copyItem(at: source, to: destination)
            }
        } catch {
            throw HostError.fileSystem(path: source.path, message: "cannot copy into legal-info: \(ErrorText.reason(error))")
        }
        return Self.size(of: destination)
    }

    static func size(of url: URL) -> Int64 {
        guard let walker = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.fileSizeKey]) else {
            return (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value ?? 0
        }
        var total = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value ?? 0
        for case let file as URL in walker { total += Int64((try? file.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0) }
        return total
    }

    /// The components as the build's own CycloneDX document lists them (build tools included).
    struct Listed {
        var id: String
        var version: String
        var kind: String
        var license: String?
        var sourceArchive: String?
        var sha256: String?
        var debianSource: String?
        var isFirmware: Bool { kind == "firmware" }
    }

    func readCycloneDX(_ url: URL) throws -> [Listed] {
        guard let data = FileManager.default.contents(atPath: url.path),
              let bom = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw HostError.fileSystem(path: url.path, message: "missing or not JSON: build the board first ('bspgen build \(board.name)')")
        }
        let formulation = ((bom["formulation"] as? [[String: Any]])?.first?["components"] as? [[String: Any]]) ?? []
        return (((bom["components"] as? [[String: Any]]) ?? []) + formulation).compactMap { entry in
            guard let id = entry["bom-ref"] as? String, let type = entry["type"] as? String, type != "file" else { return nil }
            let properties = Dictionary(((entry["properties"] as? [[String: String]]) ?? []).compactMap { property in
                property["name"].flatMap { name in property["value"].map { (name, $0) } }
            }, uniquingKeysWith: { first, _ in first })
            let license = (entry["licenses"] as? [[String: Any]])?.first?["expression"] as? String
            let sha256 = (entry["hashes"] as? [[String: Any]])?.first { $0["alg"] as? String == "SHA-256" }?["content"] as? String
            return Listed(id: id, version: entry["version"] as? String ?? "", kind: type, license: license,
                          sourceArchive: properties["bspgen:source-archive"], sha256: sha256, debianSource: properties["bspgen:debian-source"])
        }.sorted { $0.id < $1.id }
    }
}

import Foundation
import Report
import Host
import SBOM

/// `bspgen test`'s checks of the SBOMs: every file of the output folder is in both with its sha256, and the real
/// validators accept them (installed by scripts/setup.sh into a virtual environment under the cache).
extension ArtifactChecker {
    /// Where scripts/setup.sh installs the validators.
    public static func sbomValidators(cache: URL) -> URL { cache.appendingPathComponent("venv/sbom", isDirectory: true) }

    /// Files of the output folder the SBOMs do not list: themselves, and the manifest, which lists them.
    static let notInSBOM: Set<String> = ["sbom.spdx.json", "sbom.cdx.json", "manifest.json"]

    public func checkSBOM(validators: URL) async -> [ArtifactCheck] {
        var checks: [ArtifactCheck] = []
        do {
            checks.append(ArtifactCheck(name: "sbom artifacts", passed: true, detail: try checkSBOMCoverage()))
        } catch {
            checks.append(ArtifactCheck(name: "sbom artifacts", passed: false, detail: "\(error)"))
        }
        let python = validators.appendingPathComponent("bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            let detail = "the SBOM validators are not installed in \(validators.path): run scripts/setup.sh"
            return checks + ["SPDX validator", "NTIA minimum elements", "CycloneDX validator"].map { ArtifactCheck(name: "sbom \($0)", passed: false, detail: detail) }
        }
        let spdx = folder.appendingPathComponent(SBOMStage.spdxName).path
        let cyclonedx = folder.appendingPathComponent(SBOMStage.cycloneDXName).path
        checks.append(await validator("SPDX validator", Command(validators.appendingPathComponent("bin/pyspdxtools").path, ["-i", spdx]),
                                      passed: "pyspdxtools -i: no error"))
        checks.append(await validator("NTIA minimum elements", Command(validators.appendingPathComponent("bin/ntia-checker").path, [spdx]),
                                      passed: "ntia-checker: conformant", mustSay: "Conformant: True"))
        // cyclonedx-python-lib's strict validator against the CycloneDX 1.6 JSON schema the package bundles.
        let script = """
            import sys
            from cyclonedx.schema import SchemaVersion
            from cyclonedx.validation.json import JsonStrictValidator
            error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())
            print(error if error else "valid")
            sys.exit(1 if error else 0)
            """
        checks.append(await validator("CycloneDX validator", Command(python.path, ["-c", script, cyclonedx]),
                                      passed: "cyclonedx-python-lib: valid CycloneDX 1.6"))
        return checks
    }

    private func validator(_ name: String, _ command: Command, passed: String, mustSay: String? = nil) async -> ArtifactCheck {
        do {
            let result = try await ProcessRunner.capture(command)
            let ok = result.succeeded && mustSay.map { result.output.contains($0) } != false
            let tail = result.output.split(separator: "\n").suffix(15).joined(separator: "\n    ")
            return ArtifactCheck(name: "sbom \(name)", passed: ok, detail: ok ? passed : "\(result.statusText):\n    \(tail)")
        } catch {
            return ArtifactCheck(name: "sbom \(name)", passed: false, detail: "\(error)")
        }
    }

    /// Every file of the folder (but the documents and the manifest) is in both documents with its sha256, and
    /// neither lists a file that is not there.
    func checkSBOMCoverage() throws -> String {
        let present = try Self.outputFiles(folder).filter { !Self.notInSBOM.contains($0) }
        let spdx = try json(SBOMStage.spdxName)
        var spdxFiles: [String: String] = [:]
        for file in spdx["files"] as? [[String: Any]] ?? [] {
            guard let name = file["fileName"] as? String, name.hasPrefix("./"), !name.hasPrefix("./legal-info/") else { continue }
            let sums = file["checksums"] as? [[String: Any]] ?? []
            spdxFiles[String(name.dropFirst(2))] = sums.first { $0["algorithm"] as? String == "SHA256" }?["checksumValue"] as? String
        }
        let cyclonedx = try json(SBOMStage.cycloneDXName)
        var cdxFiles: [String: String] = [:]
        for component in cyclonedx["components"] as? [[String: Any]] ?? [] where component["type"] as? String == "file" {
            guard let name = component["name"] as? String else { continue }
            let hashes = component["hashes"] as? [[String: Any]] ?? []
            cdxFiles[name] = hashes.first { $0["alg"] as? String == "SHA-256" }?["content"] as? String
        }
        var problems: [String] = []
        for name in present {
            let actual = try FileDigest.of(folder.appendingPathComponent(name)).sha256
            for (format, listed) in [("SPDX", spdxFiles), ("CycloneDX", cdxFiles)] {
                switch listed[name] {
                case nil: problems.append("\(name) is not in the \(format) document")
                case actual?: break
                case let other?: problems.append("\(name): the \(format) document says sha256 \(other), the file has \(actual)")
                }
            }
        }
        for name in Set(spdxFiles.keys).union(cdxFiles.keys).subtracting(present).sorted() {
            problems.append("\(name) is listed but not in the output folder")
        }
        guard problems.isEmpty else { throw Failure(problems.joined(separator: "; ")) }
        return "\(present.count) files, each in both documents with its sha256"
    }

    private func json(_ name: String) throws -> [String: Any] {
        let data = try file(name)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw Failure("\(name) is not a JSON object") }
        return object
    }

    /// Paths of the regular files under `folder`, relative to it, sorted; `legal-info/` (made on request) and the
    /// report (`report.html`, `report.json`: host timings, rewritten by every build and test) left out.
    static func outputFiles(_ folder: URL) throws -> [String] {
        let root = folder.standardizedFileURL.resolvingSymlinksInPath().path + "/"
        guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw Failure("cannot list \(folder.path)")
        }
        var names: [String] = []
        for case let url as URL in walker {
            let path = url.standardizedFileURL.resolvingSymlinksInPath().path
            guard path.hasPrefix(root) else { continue }
            let name = String(path.dropFirst(root.count))
            if name == "legal-info" { walker.skipDescendants(); continue }
            if BuildReport.fileNames.contains(name) { continue }
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { names.append(name) }
        }
        return names.sorted()
    }
}

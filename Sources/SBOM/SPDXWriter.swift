import Foundation

/// SPDX 2.3 in its JSON form (spdx.github.io/spdx-spec/v2.3): one package per component and for the BSP, one
/// file per artifact, relationships between them. The per-file licences of the kernel, BusyBox and U-Boot are
/// not SPDX files here: a package whose files are listed must have `filesAnalyzed` and a verification code over
/// all of its files (the whole source tree), so they go in the TSV lists beside the documents, which this
/// document names in each package's `licenseComments` and lists as artifacts with their checksums.
public enum SPDXWriter {
    public static let namespacePrefix = "https://spdx.org/spdxdocs/bspgen-"

    public static func data(_ document: SBOMDocument) throws -> Data {
        let ids = Identifiers(document)
        // The BSP is the package whose files are the artifacts: analysed, with SPDX's verification code over them.
        var bsp = package(document.bsp, ids: ids)
        bsp["filesAnalyzed"] = true
        bsp["hasFiles"] = document.artifacts.map { ids.file($0.path) }
        bsp["packageVerificationCode"] = ["packageVerificationCodeValue": verificationCode(document.artifacts.map(\.sha1))]
        bsp["licenseInfoFromFiles"] = ["NOASSERTION"]
        var packages: [[String: Any]] = [bsp]
        packages += document.components.map { package($0, ids: ids) }
        var files: [[String: Any]] = document.artifacts.map { artifact in
            [
                "SPDXID": ids.file(artifact.path),
                "fileName": "./" + artifact.path,
                "checksums": [["algorithm": "SHA1", "checksumValue": artifact.sha1], ["algorithm": "SHA256", "checksumValue": artifact.sha256]],
                "licenseConcluded": "NOASSERTION",
                "copyrightText": "NOASSERTION",
                "fileTypes": [fileType(artifact.path)],
            ]
        }
        for component in document.components {
            for patch in component.patches {
                files.append([
                    "SPDXID": ids.patch(component.id, patch.name),
                    "fileName": "./legal-info/\(component.id)/patches/\(patch.name)",
                    "checksums": [["algorithm": "SHA1", "checksumValue": patch.sha1], ["algorithm": "SHA256", "checksumValue": patch.sha256]],
                    "licenseConcluded": "NOASSERTION",
                    "copyrightText": "NOASSERTION",
                    "fileTypes": ["SOURCE"],
                    "comment": "applied to \(component.name) before it was built",
                ])
            }
        }
        var relationships: [[String: Any]] = [["spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                                               "relatedSpdxElement": ids.reference(document.bsp.id)]]
        relationships += document.relationships.map {
            ["spdxElementId": ids.reference($0.from), "relationshipType": $0.type.rawValue, "relatedSpdxElement": ids.reference($0.to)]
        }
        for component in document.components {
            for patch in component.patches {
                relationships.append(["spdxElementId": ids.patch(component.id, patch.name), "relationshipType": "PATCH_APPLIED",
                                      "relatedSpdxElement": ids.reference(component.id)])
            }
        }
        var referenced = Set<String>()
        for component in [document.bsp] + document.components {
            for expression in [component.declaredLicense, component.concludedLicense].compactMap({ $0 }) {
                referenced.formUnion(expression.identifiers.filter { $0.hasPrefix("LicenseRef-") })
            }
        }
        let extracted: [[String: Any]] = referenced.sorted().map { id in
            ["licenseId": id, "name": String(id.dropFirst("LicenseRef-".count)),
             "extractedText": document.licenseTexts[id] ?? "The licence named \(id) by bspgen's components.yaml; its text is in the component's copyright file beside this document."]
        }
        var root: [String: Any] = [
            "spdxVersion": "SPDX-2.3",
            "dataLicense": "CC0-1.0",
            "SPDXID": "SPDXRef-DOCUMENT",
            "name": "\(document.toolName) \(document.board)",
            "documentNamespace": namespacePrefix + document.board + "-" + NameUUID.v5("spdx:" + document.contentDigest),
            "comment": document.description,
            "creationInfo": [
                "created": document.createdText,
                "creators": ["Tool: \(document.toolName)-\(document.toolVersion)", "Organization: \(document.bsp.supplier ?? document.toolName)"],
            ],
            "packages": packages,
            "files": files,
            "relationships": relationships,
        ]
        if !extracted.isEmpty { root["hasExtractedLicensingInfos"] = extracted }
        return try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) + Data("\n".utf8)
    }

    /// SPDX 2.3 clause 7.9: the SHA-1 of the files' SHA-1s, sorted and concatenated.
    public static func verificationCode(_ sha1s: [String]) -> String {
        FileDigest.of(Data(sha1s.map { $0.lowercased() }.sorted().joined().utf8)).sha1
    }

    static func package(_ component: SBOMComponent, ids: Identifiers) -> [String: Any] {
        var package: [String: Any] = [
            "SPDXID": ids.reference(component.id),
            "name": component.name,
            "versionInfo": component.version,
            "supplier": component.supplier.map { "Organization: \($0)" } ?? "NOASSERTION",
            "downloadLocation": component.downloadLocation ?? "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": component.concludedLicense?.description ?? "NOASSERTION",
            "licenseDeclared": component.declaredLicense?.description ?? "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": purpose(component.kind),
        ]
        if let originator = component.originator { package["originator"] = "Organization: \(originator)" }
        if let homepage = component.homepage { package["homepage"] = homepage }
        if let sha256 = component.sourceSHA256 { package["checksums"] = [["algorithm": "SHA256", "checksumValue": sha256]] }
        if let archive = component.sourceArchive { package["packageFileName"] = archive }
        if let comment = component.licenseComment { package["licenseComments"] = comment }
        if let summary = component.summary { package["summary"] = summary }
        var source: [String] = []
        if let debian = component.debianSource { source.append("Debian source package \(debian)") }
        if let archive = component.sourceArchive { source.append("source archive \(archive)" + (component.sourceSHA256.map { " (sha256 \($0))" } ?? "")) }
        source.append(component.patches.isEmpty ? "no patches applied" : "patches applied: " + component.patches.map(\.name).joined(separator: ", "))
        package["sourceInfo"] = source.joined(separator: "; ")
        var references: [[String: Any]] = []
        if let purl = component.purl {
            references.append(["referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl])
        }
        if let cpe = component.cpe {
            references.append(["referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": cpe])
        }
        if !references.isEmpty { package["externalRefs"] = references }
        return package
    }

    static func purpose(_ kind: SBOMComponent.Kind) -> String {
        switch kind {
        case .operatingSystem: "OPERATING-SYSTEM"
        case .application, .buildTool: "APPLICATION"
        case .firmware: "FIRMWARE"
        case .library: "LIBRARY"
        }
    }

    static func fileType(_ path: String) -> String {
        let textSuffixes = [".sh", ".txt", ".its", ".config", ".defconfig", ".json", ".tsv", ".cfg", ".csv", ".bmap", ".copyright", "cmdline.txt"]
        if textSuffixes.contains(where: { path.hasSuffix($0) }) { return "TEXT" }
        if path.hasSuffix(".cpio.gz") || path.hasSuffix(".cpio.xz") || path.hasSuffix(".cpio.zst") || path.hasSuffix(".cpio") { return "ARCHIVE" }
        return "BINARY"
    }

    /// SPDX identifiers: `SPDXRef-` and letters, digits, `.` and `-` only, unique within the document.
    struct Identifiers {
        private var byID: [String: String] = [:]

        init(_ document: SBOMDocument) {
            var used = Set<String>()
            func assign(_ id: String, _ prefix: String) {
                var candidate = "SPDXRef-\(prefix)-" + Self.clean(id)
                var number = 2
                while used.contains(candidate) {
                    candidate = "SPDXRef-\(prefix)-" + Self.clean(id) + "-\(number)"
                    number += 1
                }
                used.insert(candidate)
                byID[id] = candidate
            }
            assign(document.bsp.id, "Package")
            for component in document.components { assign(component.id, "Package") }
            for artifact in document.artifacts { assign(artifact.id, "File") }
        }

        static func clean(_ text: String) -> String {
            String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") ? $0 : "-" })
        }

        func reference(_ id: String) -> String { byID[id] ?? "SPDXRef-" + Self.clean(id) }
        func file(_ path: String) -> String { reference("file-" + path) }
        func patch(_ component: String, _ name: String) -> String { "SPDXRef-Patch-" + Self.clean(component + "-" + name) }
    }
}

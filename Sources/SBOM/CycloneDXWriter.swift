import Foundation

/// CycloneDX 1.6 in its JSON form (cyclonedx.org/docs/1.6/json): the BSP as the metadata's component, the
/// components and artifacts (type `file`) beside each other, `dependencies` for what contains or was made from
/// what, and the build tools under `formulation`. The concluded licence is the component's `licenses` entry
/// (acknowledged as concluded); the identifiers found in its files are `evidence.licenses`; the declared licence
/// a property (the format allows one expression per component).
public enum CycloneDXWriter {
    public static func data(_ document: SBOMDocument) throws -> Data {
        let tools = document.components.filter { $0.kind == .buildTool }
        let components = document.components.filter { $0.kind != .buildTool }.map(component)
            + document.artifacts.map { artifact -> [String: Any] in
                [
                    "type": "file",
                    "bom-ref": artifact.id,
                    "name": artifact.path,
                    "hashes": [["alg": "SHA-1", "content": artifact.sha1], ["alg": "SHA-256", "content": artifact.sha256]],
                    "properties": [["name": "bspgen:size", "value": String(artifact.size)]],
                ]
            }
        var dependsOn: [String: Set<String>] = [document.bsp.id: Set(document.artifacts.map(\.id))]
        for relationship in document.relationships {
            switch relationship.type {
            case .contains, .generatedFrom, .staticLink, .expandedFromArchive:
                dependsOn[relationship.from, default: []].insert(relationship.to)
            case .buildToolOf, .patchApplied:
                break
            }
        }
        let known = Set([document.bsp.id] + document.components.map(\.id) + document.artifacts.map(\.id))
        let dependencies: [[String: Any]] = dependsOn.keys.sorted().filter(known.contains).map { ref in
            ["ref": ref, "dependsOn": (dependsOn[ref] ?? []).filter(known.contains).sorted()]
        }
        var built: [String: [String]] = [:]
        for relationship in document.relationships where relationship.type == .buildToolOf {
            built[relationship.from, default: []].append(relationship.to)
        }
        let root: [String: Any] = [
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "serialNumber": "urn:uuid:" + NameUUID.v5("cyclonedx:" + document.contentDigest),
            "version": 1,
            "metadata": [
                "timestamp": document.createdText,
                "lifecycles": [["phase": "build"]],
                "tools": ["components": [["type": "application", "name": document.toolName, "version": document.toolVersion]]],
                "component": component(document.bsp),
                "supplier": ["name": document.bsp.supplier ?? document.toolName],
            ] as [String: Any],
            "components": components,
            "dependencies": dependencies,
            "formulation": [[
                "bom-ref": "formula-build",
                "components": tools.map { tool -> [String: Any] in
                    var entry = component(tool)
                    if let targets = built[tool.id], !targets.isEmpty {
                        var properties = entry["properties"] as? [[String: String]] ?? []
                        properties += targets.sorted().map { ["name": "bspgen:build-tool-of", "value": $0] }
                        entry["properties"] = properties
                    }
                    return entry
                },
            ] as [String: Any]],
        ]
        return try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) + Data("\n".utf8)
    }

    static func component(_ component: SBOMComponent) -> [String: Any] {
        var entry: [String: Any] = [
            "type": type(component.kind),
            "bom-ref": component.id,
            "name": component.name,
            "version": component.version,
        ]
        if let supplier = component.supplier { entry["supplier"] = ["name": supplier] }
        if let originator = component.originator { entry["author"] = originator }
        if let purl = component.purl { entry["purl"] = purl }
        if let cpe = component.cpe { entry["cpe"] = cpe }
        if let summary = component.summary { entry["description"] = summary }
        if let concluded = component.concludedLicense {
            entry["licenses"] = [["expression": concluded.description, "acknowledgement": "concluded"]]
        } else if let declared = component.declaredLicense {
            entry["licenses"] = [["expression": declared.description, "acknowledgement": "declared"]]
        }
        if !component.fileLicenseIdentifiers.isEmpty {
            entry["evidence"] = ["licenses": component.fileLicenseIdentifiers.map { identifier -> [String: Any] in
                identifier.hasPrefix("LicenseRef-") ? ["license": ["name": identifier]] : ["license": ["id": identifier]]
            }]
        }
        if let sha256 = component.sourceSHA256 { entry["hashes"] = [["alg": "SHA-256", "content": sha256]] }
        var references: [[String: Any]] = []
        if let homepage = component.homepage { references.append(["type": "website", "url": homepage]) }
        if let download = component.downloadLocation { references.append(["type": "distribution", "url": download]) }
        if !references.isEmpty { entry["externalReferences"] = references }
        if !component.patches.isEmpty {
            entry["pedigree"] = ["patches": component.patches.map { patch -> [String: Any] in
                ["type": "unofficial", "diff": ["url": "legal-info/\(component.id)/patches/\(patch.name)"]]
            }]
        }
        var properties: [[String: String]] = []
        if let declared = component.declaredLicense { properties.append(["name": "bspgen:license-declared", "value": declared.description]) }
        if let comment = component.licenseComment { properties.append(["name": "bspgen:license-comment", "value": comment]) }
        if let debian = component.debianSource { properties.append(["name": "bspgen:debian-source", "value": debian]) }
        if let archive = component.sourceArchive { properties.append(["name": "bspgen:source-archive", "value": archive]) }
        properties.append(["name": "bspgen:patches", "value": component.patches.isEmpty ? "none" : component.patches.map(\.name).joined(separator: " ")])
        entry["properties"] = properties
        return entry
    }

    static func type(_ kind: SBOMComponent.Kind) -> String {
        switch kind {
        case .operatingSystem: "operating-system"
        case .application, .buildTool: "application"
        case .firmware: "firmware"
        case .library: "library"
        }
    }
}

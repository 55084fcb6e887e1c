import BoardModel
import Foundation
import SBOM
import Testing

@Suite struct IdentifierTests {
    @Test func nameBasedUUIDsAreRFC4122Version5() {
        // Python: uuid.uuid5(uuid.NAMESPACE_URL, "https://example.org/x")
        #expect(NameUUID.v5("https://example.org/x") == "fdb420ba-c7a0-5bc0-b348-39fd508cc82c")
    }

    @Test func packageURLsEncodeDebianVersions() {
        #expect(PackageURL.debian("busybox", version: "1:1.35.0-4+deb12u1", architecture: "source")
                == "pkg:deb/debian/busybox@1%3A1.35.0-4%2Bdeb12u1?arch=source")
        #expect(PackageURL.generic("linux", version: "6.12.3", sha256: "ab") == "pkg:generic/linux@6.12.3?checksum=sha256:ab")
    }

    @Test func upstreamVersionsAndCPEs() {
        #expect(UpstreamVersion.fromDebian("1:1.35.0-4+deb12u1") == "1.35.0")
        #expect(UpstreamVersion.fromDebian("2023.01+dfsg-2+deb12u3") == "2023.01")
        #expect(UpstreamVersion.fromDebian("2.36-8cross1") == "2.36")
        #expect(UpstreamVersion.fromDebian("6.1.192-3") == "6.1.192")
        #expect(UpstreamVersion.fromArchiveName("linux-6.12.3") == "6.12.3")
        #expect(CPE.name(prefix: "cpe:2.3:o:linux:linux_kernel", version: "6.1.192") == "cpe:2.3:o:linux:linux_kernel:6.1.192:*:*:*:*:*:*:*")
        #expect(CPE.name(prefix: "cpe:2.3:a:x:y", version: "1.0+git") == "cpe:2.3:a:x:y:1.0\\+git:*:*:*:*:*:*:*")
    }

    @Test func verificationCodeOfNoFilesIsTheSHA1OfNothing() {
        #expect(SPDXWriter.verificationCode([]) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        // Order of the files does not matter.
        #expect(SPDXWriter.verificationCode(["bb", "aa"]) == SPDXWriter.verificationCode(["AA", "bb"]))
    }
}

@Suite struct WriterTests {
    func document(kernelSHA256: String = "11") -> SBOMDocument {
        var kernel = SBOMComponent(id: "linux", name: "linux", version: "6.1.192-3", kind: .operatingSystem)
        kernel.supplier = "Debian"
        kernel.purl = "pkg:deb/debian/linux@6.1.192-3?arch=source"
        kernel.cpe = "cpe:2.3:o:linux:linux_kernel:6.1.192:*:*:*:*:*:*:*"
        kernel.declaredLicense = .with("GPL-2.0-only", exception: "Linux-syscall-note")
        kernel.concludedLicense = .and([.license("GPL-2.0-only"), .license("MIT")])
        kernel.fileLicenseIdentifiers = ["GPL-2.0-only", "MIT"]
        kernel.patches = [SBOMPatch(name: "0001-fix.patch", sha256: "22", sha1: "33")]
        var firmware = SBOMComponent(id: "deb-raspi-firmware", name: "raspi-firmware", version: "1", kind: .firmware)
        firmware.declaredLicense = .license("LicenseRef-raspi-firmware")
        let gcc = SBOMComponent(id: "deb-gcc-12", name: "gcc-12", version: "12.2.0", kind: .buildTool)
        var bsp = SBOMComponent(id: "bsp-x", name: "x", version: "1", kind: .firmware)
        bsp.supplier = "bspgen"
        let artifacts = [SBOMArtifact(path: "bzImage", size: 3, sha256: kernelSHA256, sha1: "44"),
                         SBOMArtifact(path: "licences/linux-files.tsv", size: 1, sha256: "55", sha1: "66")]
        return SBOMDocument(board: "x", description: "test", bsp: bsp, components: [kernel, firmware, gcc], artifacts: artifacts,
                            relationships: [SBOMRelationship("file-bzImage", .generatedFrom, "linux"), SBOMRelationship("deb-gcc-12", .buildToolOf, "linux"),
                                            SBOMRelationship("bsp-x", .contains, "file-bzImage")],
                            created: 1_704_067_200, toolName: "bspgen", toolVersion: "0.1.0")
    }

    func object(_ data: Data) throws -> [String: Any] { try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any]) }

    @Test func spdxSaysWhatTheModelSays() throws {
        let spdx = try object(try SPDXWriter.data(document()))
        #expect(spdx["spdxVersion"] as? String == "SPDX-2.3")
        #expect((spdx["creationInfo"] as? [String: Any])?["created"] as? String == "2024-01-01T00:00:00Z")
        let packages = try #require(spdx["packages"] as? [[String: Any]])
        let linux = try #require(packages.first { $0["name"] as? String == "linux" })
        #expect(linux["licenseConcluded"] as? String == "GPL-2.0-only AND MIT")
        #expect(linux["licenseDeclared"] as? String == "GPL-2.0-only WITH Linux-syscall-note")
        #expect(linux["supplier"] as? String == "Organization: Debian")
        let references = try #require(linux["externalRefs"] as? [[String: Any]])
        #expect(references.map { $0["referenceType"] as? String } == ["purl", "cpe23Type"])
        let relationships = try #require(spdx["relationships"] as? [[String: Any]])
        let types = Set(relationships.compactMap { $0["relationshipType"] as? String })
        #expect(types == ["DESCRIBES", "GENERATED_FROM", "BUILD_TOOL_OF", "CONTAINS", "PATCH_APPLIED"])
        let extracted = try #require(spdx["hasExtractedLicensingInfos"] as? [[String: Any]])
        #expect(extracted.map { $0["licenseId"] as? String } == ["LicenseRef-raspi-firmware"])
        let files = try #require(spdx["files"] as? [[String: Any]])
        #expect(files.compactMap { $0["fileName"] as? String }.sorted() == ["./bzImage", "./legal-info/linux/patches/0001-fix.patch", "./licences/linux-files.tsv"])
    }

    @Test func cycloneDXSaysWhatTheModelSays() throws {
        let bom = try object(try CycloneDXWriter.data(document()))
        #expect(bom["specVersion"] as? String == "1.6")
        let components = try #require(bom["components"] as? [[String: Any]])
        let linux = try #require(components.first { $0["bom-ref"] as? String == "linux" })
        #expect((linux["licenses"] as? [[String: Any]])?.first?["expression"] as? String == "GPL-2.0-only AND MIT")
        #expect(linux["cpe"] as? String == "cpe:2.3:o:linux:linux_kernel:6.1.192:*:*:*:*:*:*:*")
        #expect(((linux["pedigree"] as? [String: Any])?["patches"] as? [Any])?.count == 1)
        #expect(components.filter { $0["type"] as? String == "file" }.count == 2)
        let tools = try #require((bom["formulation"] as? [[String: Any]])?.first?["components"] as? [[String: Any]])
        #expect(tools.map { $0["name"] as? String } == ["gcc-12"])
        let dependencies = try #require(bom["dependencies"] as? [[String: Any]])
        #expect(dependencies.contains { $0["ref"] as? String == "file-bzImage" && ($0["dependsOn"] as? [String]) == ["linux"] })
    }

    @Test func sameContentSameBytesOtherContentOtherIdentifiers() throws {
        #expect(try SPDXWriter.data(document()) == SPDXWriter.data(document()))
        #expect(try CycloneDXWriter.data(document()) == CycloneDXWriter.data(document()))
        let first = try object(try SPDXWriter.data(document()))["documentNamespace"] as? String
        let second = try object(try SPDXWriter.data(document(kernelSHA256: "99")))["documentNamespace"] as? String
        #expect(first != nil && first != second)
        let serial = try object(try CycloneDXWriter.data(document()))["serialNumber"] as? String
        #expect(serial?.hasPrefix("urn:uuid:") == true)
    }
}

@Suite struct ComponentFactsTests {
    @Test func theProjectsFileLoads() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("components.yaml")
        let facts = try ComponentFacts.load(file)
        #expect(facts.upstream(named: "linux")?.declaredLicense?.description == "GPL-2.0-only WITH Linux-syscall-note")
        #expect(facts.upstream(debianPackage: "libc6-dev-arm64-cross")?.name == "glibc")
        #expect(facts.upstream(debianPackage: "libgcc-12-dev-arm64-cross")?.name == "libgcc")
        #expect(facts.upstream(debianPackage: "gcc-12-aarch64-linux-gnu")?.name == "gcc")
    }

    @Test func everyProblemOfTheFileAtOnceWithItsLine() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("components-\(UUID().uuidString).yaml")
        try """
            supplier: me
            components:
              - name: a
                license: GPL-2.0 AND
              - name: a
                license: MIT
                cpe: cpe:2.3:a:x:y:1.0
            """.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        do {
            _ = try ComponentFacts.load(file)
            Issue.record("a bad file was accepted")
        } catch {
            let text = error.description
            #expect(error.diagnostics.count == 3)
            #expect(text.contains(":4:") && text.contains("components[0].license"))
            #expect(text.contains("listed twice"))
            #expect(text.contains("components[1].cpe"))
        }
    }
}

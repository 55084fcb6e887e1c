import BoardModel
import Foundation
import Host
import SBOM

/// What the SBOM stage describes: every file the output folder will hold, and the builds they came from.
struct SBOMInputs {
    var files: [(String, URL)]
    var extraFiles: [(name: String, text: String, executable: Bool)]
    var configuration: KernelConfiguration
    var kernel: KernelArtifacts
    var busybox: BusyBoxArtifacts
    var bootloader: BootloaderArtifacts?
    var firmware: FirmwareArtifacts
    var modules: KernelModules?
}

/// The components of one build as the SBOM stage found them, also what legal-info needs.
struct SBOMFindings {
    var document: SBOMDocument
    /// Per-file licence lists by component id (`linux`, `busybox`, `u-boot`).
    var fileLists: [String: FileLicenseList]
    /// The files of each kernel module, when the kernel has modules.
    var moduleLists: ModuleFileLists?
}

/// `sbom.spdx.json`, `sbom.cdx.json` and `licences/<component>-files.tsv`: made in the board's build folder and
/// handed to the output stage, so they appear in `out/<board>/` with everything else, whole or not at all.
/// Keyed by every artifact's sha256, the file lists (`FileListStage`, a stage of its own run first), the sources,
/// the toolchain's packages and `components.yaml`: it assembles the documents, it does not walk the builds.
struct SBOMStage {
    let environment: BuildEnvironment
    /// The board's patch files applied to each component's source, by component id, in the order applied: they
    /// are listed in the SBOMs and copied by legal-info.
    var patches: [String: [URL]] {
        ["linux": board.kernelPatches, "busybox": board.busyboxPatches, "u-boot": board.bootloaderPatches].filter { !$0.value.isEmpty }
    }

    var board: ResolvedBoard { environment.board }
    var folder: URL { environment.buildDirectory.appendingPathComponent("sbom", isDirectory: true) }

    static let spdxName = "sbom.spdx.json"
    static let cycloneDXName = "sbom.cdx.json"
    static func fileListName(_ component: String) -> String { "licences/\(component)-files.tsv" }
    static let moduleListName = "licences/linux-modules-files.tsv"

    /// `components.yaml` beside `bspgen.yaml` (beside the boards folder).
    var factsFile: URL {
        board.file.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(ComponentFacts.fileName)
    }

    func loadFacts() throws -> ComponentFacts {
        guard FileManager.default.fileExists(atPath: factsFile.path) else { return ComponentFacts(supplier: "bspgen", components: []) }
        return try ComponentFacts.load(factsFile)
    }

    /// The files to put in the output folder: the two documents and the licence lists.
    func build(_ inputs: SBOMInputs) async throws -> [(String, URL)] {
        let facts = try loadFacts()
        var artifacts: [SBOMArtifact] = []
        for (name, url) in inputs.files {
            let digest = try digest(url)
            artifacts.append(SBOMArtifact(path: name, size: digest.size, sha256: digest.sha256, sha1: digest.sha1))
        }
        for file in inputs.extraFiles {
            let digest = FileDigest.of(Data(file.text.utf8))
            artifacts.append(SBOMArtifact(path: file.name, size: digest.size, sha256: digest.sha256, sha1: digest.sha1))
        }
        let toolchainPackages = try await InstalledPackages.describe(board.toolchain.debianPackages)
        let packages = toolchainPackages.values.sorted { $0.package < $1.package }.map { "\($0.package)=\($0.version)" }.joined(separator: " ")
        // The walk of the builds is a stage of its own: a changed initramfs or image does not repeat it.
        let fileLists = try await FileListStage(environment: environment).build(inputs, toolchainPackages: packages)

        var key = StageKey()
        key.add("stage", "sbom-8")  // bump when what the documents say changes
        key.add("bspgen", bspgenLibraryVersion)
        key.add("epoch", String(environment.sourceDateEpoch))
        if FileManager.default.fileExists(atPath: factsFile.path) { try key.addFile("facts", factsFile) }
        for artifact in artifacts.sorted(by: { $0.path < $1.path }) { key.add("artifact \(artifact.path)", artifact.sha256) }
        key.add("kernel source", inputs.configuration.source.sha256 ?? inputs.configuration.source.root.path)
        // The files of each component, from the file lists stage.
        key.add("file lists", fileLists.digest)
        key.add("busybox source", inputs.busybox.source.sha256 ?? inputs.busybox.source.root.path)
        if let bootloader = inputs.bootloader { key.add("bootloader source", bootloader.source.sha256 ?? bootloader.source.root.path) }
        key.add("toolchain", environment.toolchain.versionLine + environment.toolchain.crossCompile)
        key.add("toolchain packages", packages)
        for (component, files) in patches.sorted(by: { $0.key < $1.key }) {
            for file in files { try key.addFile("patch \(component)", file) }
        }
        var names = [Self.spdxName, Self.cycloneDXName, Self.fileListName("linux"), Self.fileListName("busybox")]
        if inputs.bootloader != nil { names.append(Self.fileListName("u-boot")) }
        if inputs.modules != nil { names.append(Self.moduleListName) }
        let outputs = names.map { folder.appendingPathComponent($0) }
        var stage = Stage("sbom", key: key, record: environment.buildDirectory.appendingPathComponent(".bspgen-sbom.json"), outputs: outputs)
        stage.skipNote = "artifacts and sources unchanged"
        try await environment.run(stage) {
            environment.progress.begin("sbom", "SPDX 2.3, CycloneDX 1.6, licences of the files built")
            let findings = try await find(inputs, lists: try fileLists.load(), artifacts: artifacts, facts: facts)
            try write(findings)
            let kernel = findings.fileLists["linux"]
            environment.progress.end(kernel.map { "kernel: \($0.compiledCount) files compiled, \($0.ownEntries.count) read in all" } ?? "")
            return StageWork(notes: [], detail: kernel.map { "kernel: \($0.compiledCount) compiled files, concluded \(findings.document.components.first { $0.id == "linux" }?.concludedLicense?.description ?? "NOASSERTION")" })
        }
        return zip(names, outputs).map { ($0, $1) }
    }

    private func digest(_ url: URL) throws -> FileDigest {
        do {
            return try FileDigest.of(url)
        } catch {
            throw HostError.fileSystem(path: url.path, message: "cannot read for the SBOM: \(ErrorText.reason(error))")
        }
    }

    private func write(_ findings: SBOMFindings) throws {
        let temporary = try AtomicFile.temporaryDirectory(beside: folder)
        do {
            try AtomicFile.write(try SPDXWriter.data(findings.document), to: temporary.appendingPathComponent(Self.spdxName))
            try AtomicFile.write(try CycloneDXWriter.data(findings.document), to: temporary.appendingPathComponent(Self.cycloneDXName))
            for (component, list) in findings.fileLists {
                try AtomicFile.write(list.tsv, to: temporary.appendingPathComponent(Self.fileListName(component)))
            }
            if let modules = findings.moduleLists {
                try AtomicFile.write(modules.tsv, to: temporary.appendingPathComponent(Self.moduleListName))
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        try AtomicFile.replace(folder, with: temporary)
    }

    // MARK: What went into the build

    func find(_ inputs: SBOMInputs, lists: ComponentFileLists, artifacts built: [SBOMArtifact], facts: ComponentFacts) async throws -> SBOMFindings {
        var components: [SBOMComponent] = []
        var relationships: [SBOMRelationship] = []
        var fileLists: [String: FileLicenseList] = [:]
        let names = ArtifactNames(board: board.board)

        // The files of each component that went into this build (the file lists stage): first, since the lists are
        // artifacts the documents describe too.
        let kernelList = lists.lists["linux"] ?? FileLicenseList(entries: [])
        fileLists["linux"] = kernelList
        let moduleLists = inputs.modules == nil ? nil : lists.modules
        let busyboxList = lists.lists["busybox"] ?? FileLicenseList(entries: [])
        let busyboxOutside = Set(lists.outside["busybox"] ?? [])
        fileLists["busybox"] = busyboxList
        var bootloaderFiles: (FileLicenseList, Set<KbuildWalk.OutsideInput>)?
        if inputs.bootloader != nil, board.board.bootloader != nil, let list = lists.lists["u-boot"] {
            fileLists["u-boot"] = list
            bootloaderFiles = (list, Set(lists.outside["u-boot"] ?? []))
        }
        let artifacts = built + fileLists.map { component, list in
            let digest = FileDigest.of(Data(list.tsv.utf8))
            return SBOMArtifact(path: Self.fileListName(component), size: digest.size, sha256: digest.sha256, sha1: digest.sha1)
        } + (moduleLists.map { lists in
            let digest = FileDigest.of(Data(lists.tsv.utf8))
            return [SBOMArtifact(path: Self.moduleListName, size: digest.size, sha256: digest.sha256, sha1: digest.sha1)]
        } ?? [])
        let artifactIDs = Set(artifacts.map(\.id))
        func artifact(_ name: String) -> String? { artifactIDs.contains("file-" + name) ? "file-" + name : nil }

        // The kernel: the image and the dtbs.
        var kernel = try await sourceComponent(id: "linux", upstream: "linux", tree: inputs.configuration.source, spec: board.board.kernel.resolvedSource,
                                               kind: .operatingSystem, list: kernelList, listName: Self.fileListName("linux"), facts: facts)
        kernel.summary = "the board's kernel (\(names.kernel))"
        if let moduleLists {
            // The modules are the kernel as shipped too: their files count in its licence.
            let upstream = facts.upstream(named: "linux")
            let all = FileLicenseList(entries: kernelList.ownEntries + moduleLists.kernelEntries)
            kernel.concludedLicense = all.concluded(fileDefault: upstream?.defaultLicense)
            kernel.fileLicenseIdentifiers = all.identifiers
            let inTree = moduleLists.modules.filter { $0.name.hasPrefix("kernel/") }.count
            kernel.licenseComment = (kernel.licenseComment ?? "") + " The \(inTree) in-tree modules' files count too: "
                + "\(Set(moduleLists.kernelEntries.filter(\.compiled).map(\.path)).count) compiled into them, each module's list in \(Self.moduleListName)."
        }
        components.append(kernel)
        for name in [names.kernel, "linux.config", "linux.defconfig", KernelModulesBuilder.archiveName]
            + (board.board.deviceTree?.resolvedOrigin == .qemu ? [] : names.deviceTrees) {
            if let id = artifact(name) { relationships.append(SBOMRelationship(id, .generatedFrom, "linux")) }
        }
        // Out-of-tree modules: components of their own, built from the board's folders against this kernel.
        for module in moduleLists?.modules.filter({ !$0.name.hasPrefix("kernel/") }) ?? [] {
            let own = FileLicenseList(entries: module.files.entries.filter { if case .external = $0.origin { true } else { false } })
            guard case .external(let folder)? = own.entries.first?.origin else { continue }
            let id = "module-\(folder)"
            guard !components.contains(where: { $0.id == id }) else { continue }
            let digest = Checksum.sha256(own.entries.map { "\($0.path) \($0.sha256 ?? "")" }.joined(separator: "\n"))
            var component = SBOMComponent(id: id, name: folder, version: String(digest.prefix(16)), kind: .library)
            component.supplier = facts.supplier
            component.purl = PackageURL.generic(folder, version: component.version)
            component.concludedLicense = own.concluded(fileDefault: nil)
            component.fileLicenseIdentifiers = own.identifiers
            component.licenseComment = "Concluded from the \(own.entries.count) files of the module's folder that Kbuild's records show it was built from "
                + "(\(own.compiledCount) compiled), \(own.withIdentifierCount) of them with an SPDX-License-Identifier. Every file: \(Self.moduleListName)."
            component.summary = "out-of-tree kernel module (kernel.external_modules), installed as \(module.name)"
            components.append(component)
            if let id = artifact(KernelModulesBuilder.archiveName) { relationships.append(SBOMRelationship(id, .generatedFrom, component.id)) }
        }

        // BusyBox, and what its static link took from the host (the C library, GCC's runtime).
        var busybox = try await sourceComponent(id: "busybox", upstream: "busybox", tree: inputs.busybox.source, spec: board.board.busybox.resolvedSource,
                                                kind: .application, list: busyboxList, listName: Self.fileListName("busybox"), facts: facts)
        busybox.summary = "the initramfs's userland, one static binary"
        components.append(busybox)
        var containers = [names.initramfs, RootFilesystemSpec.imageName].compactMap(artifact)
        for id in containers { relationships.append(SBOMRelationship(id, .contains, "busybox")) }
        for library in try await hostComponents(busyboxOutside, linkedInto: "busybox", facts: facts, known: lists.hostOwners) {
            components.append(library)
            relationships.append(SBOMRelationship("busybox", .staticLink, library.id))
            for id in containers { relationships.append(SBOMRelationship(id, .contains, library.id)) }
        }

        // U-Boot, from the files the board keeps.
        if let bootloader = inputs.bootloader, let spec = board.board.bootloader, let (list, outside) = bootloaderFiles {
            var uboot = try await sourceComponent(id: "u-boot", upstream: "u-boot", tree: bootloader.source, spec: spec.resolvedSource,
                                                  kind: .firmware, list: list, listName: Self.fileListName("u-boot"), facts: facts)
            uboot.summary = "the boot loader (\(spec.defconfigTarget))"
            components.append(uboot)
            for file in bootloader.files { if let id = artifact(file.name) { relationships.append(SBOMRelationship(id, .generatedFrom, "u-boot")) } }
            for library in try await hostComponents(outside, linkedInto: "u-boot", facts: facts, known: lists.hostOwners) {
                if !components.contains(where: { $0.id == library.id }) { components.append(library) }
                relationships.append(SBOMRelationship("u-boot", .staticLink, library.id))
            }
        }

        // Firmware files from Debian binary packages.
        var licenseTexts: [String: String] = [:]
        for (deb, spec) in zip(inputs.firmware.debs, board.board.firmware ?? []) {
            let upstream = facts.upstream(debianPackage: deb.package)
            var component = SBOMComponent(id: "deb-\(deb.package)", name: deb.package, version: deb.version, kind: .firmware)
            component.supplier = "Debian"
            component.originator = upstream?.originator
            component.homepage = upstream?.homepage
            component.sourceArchive = deb.deb.lastPathComponent
            component.sourceSHA256 = deb.sha256
            component.purl = PackageURL.debian(deb.package, version: deb.version, architecture: deb.architecture)
            component.cpe = upstream?.cpe.map { CPE.name(prefix: $0, version: UpstreamVersion.fromDebian(deb.version)) }
            component.declaredLicense = upstream?.declaredLicense
            component.licenseComment = "the package's licence terms: \(spec.licenseName) in this BSP"
            component.summary = "firmware files taken from the Debian package"
            for id in component.declaredLicense?.identifiers.filter({ $0.hasPrefix("LicenseRef-") }) ?? [] {
                if let text = inputs.files.first(where: { $0.0 == spec.licenseName }).flatMap({ try? String(contentsOf: $0.1, encoding: .utf8) }) {
                    licenseTexts[id] = text
                }
            }
            components.append(component)
            for file in spec.files {
                if let id = artifact(file.outputName) { relationships.append(SBOMRelationship(id, .expandedFromArchive, component.id)) }
            }
        }

        // Artifacts made of other artifacts: the FIT image, the disk images.
        if let fit = board.board.fitImage, let fitID = artifact(fit.name) {
            for name in [names.kernel, names.firmwareDeviceTree ?? names.deviceTrees.first, names.initramfs].compactMap({ $0 }) {
                if let id = artifact(name) { relationships.append(SBOMRelationship(fitID, .contains, id)) }
            }
        }
        for disk in board.board.diskImages ?? [] {
            guard let diskID = artifact(disk.name) else { continue }
            for partition in disk.partitions {
                for name in (partition.image.map { [$0] } ?? []) + (partition.files ?? []).map(\.from) {
                    if let id = artifact(name) { relationships.append(SBOMRelationship(diskID, .contains, id)) }
                }
            }
        }
        containers = []

        // The build tools: the cross compiler and linker, and bspgen.
        let built = components.filter { ["linux", "busybox", "u-boot"].contains($0.id) }.map(\.id)
        for tool in try await toolchainComponents(facts: facts, known: lists.hostOwners) {
            components.append(tool)
            for id in built { relationships.append(SBOMRelationship(tool.id, .buildToolOf, id)) }
        }
        var bspgen = SBOMComponent(id: "bspgen", name: "bspgen", version: bspgenLibraryVersion, kind: .buildTool)
        let bspgenFacts = facts.upstream(named: "bspgen")
        bspgen.supplier = facts.supplier
        bspgen.originator = bspgenFacts?.originator
        bspgen.homepage = bspgenFacts?.homepage
        bspgen.declaredLicense = bspgenFacts?.declaredLicense
        bspgen.purl = PackageURL.generic("bspgen", version: bspgenLibraryVersion)
        bspgen.summary = "turned the board description into this BSP"
        components.append(bspgen)

        let bspID = "bsp-\(board.name)"
        var bsp = SBOMComponent(id: bspID, name: board.name, version: Self.bspVersion(artifacts), kind: .firmware)
        bsp.supplier = facts.supplier
        bsp.summary = board.board.description
        bsp.purl = PackageURL.generic("bsp-\(board.name)", version: bsp.version)
        relationships.append(SBOMRelationship("bspgen", .buildToolOf, bspID))
        for artifact in artifacts { relationships.append(SBOMRelationship(bspID, .contains, artifact.id)) }
        for component in components where component.kind != .buildTool && !relationships.contains(where: { $0.to == component.id && $0.type == .contains }) {
            relationships.append(SBOMRelationship(bspID, .contains, component.id))
        }

        var document = SBOMDocument(board: board.name, description: "Board support package \(board.name) (\(board.board.arch)) built by bspgen",
                                    bsp: bsp, components: components, artifacts: artifacts, relationships: relationships,
                                    created: environment.sourceDateEpoch, toolName: "bspgen", toolVersion: bspgenLibraryVersion)
        document.licenseTexts = licenseTexts
        return SBOMFindings(document: document, fileLists: fileLists, moduleLists: moduleLists)
    }

    /// A version for the BSP as a whole: its artifacts' digest, so that two different builds never share one.
    static func bspVersion(_ artifacts: [SBOMArtifact]) -> String {
        String(Checksum.sha256(artifacts.sorted { $0.path < $1.path }.map { "\($0.path) \($0.sha256)" }.joined(separator: "\n")).prefix(16))
    }

    /// A component built from a source tree: where the source came from, its identifiers, its licences.
    func sourceComponent(id: String, upstream name: String, tree: SourceTree, spec: SourceSpec, kind: SBOMComponent.Kind,
                         list: FileLicenseList?, listName: String, facts: ComponentFacts) async throws -> SBOMComponent {
        let upstream = facts.upstream(named: name)
        var component = SBOMComponent(id: id, name: name, version: tree.version, kind: kind)
        component.originator = upstream?.originator
        component.homepage = upstream?.homepage
        component.sourceArchive = tree.archive?.lastPathComponent
        component.sourceSHA256 = tree.sha256
        let upstreamVersion: String
        switch spec {
        case .debianPackage(let package):
            let installed = try await InstalledPackages.describe([package])[package]
            let source = installed?.source ?? package
            let sourceVersion = installed?.sourceVersion ?? tree.version
            component.supplier = "Debian"
            component.debianSource = "\(source) \(sourceVersion) (binary package \(package))"
            component.purl = PackageURL.debian(source, version: sourceVersion, architecture: "source")
            upstreamVersion = UpstreamVersion.fromDebian(tree.version)
        case .debianSource(let package):
            component.supplier = "Debian"
            component.debianSource = "\(package) \(tree.version)"
            component.purl = PackageURL.debian(package, version: tree.version, architecture: "source")
            upstreamVersion = UpstreamVersion.fromDebian(tree.version)
        case .url(let url, let sha256):
            component.supplier = upstream?.originator
            component.downloadLocation = url
            upstreamVersion = UpstreamVersion.fromArchiveName(tree.version)
            component.purl = PackageURL.generic(name, version: upstreamVersion, downloadURL: url, sha256: sha256)
        case .tarball, .directory:
            component.supplier = upstream?.originator
            upstreamVersion = UpstreamVersion.fromArchiveName(tree.version)
            component.purl = PackageURL.generic(name, version: upstreamVersion, sha256: tree.sha256)
        }
        component.cpe = upstream?.cpe.map { CPE.name(prefix: $0, version: upstreamVersion) }
        component.declaredLicense = upstream?.declaredLicense
        if let list {
            component.concludedLicense = list.concluded(fileDefault: upstream?.defaultLicense)
            component.fileLicenseIdentifiers = list.identifiers
            let own = list.ownEntries.count
            component.licenseComment = "Concluded from the \(own) files of this build's Kbuild records (\(list.compiledCount) compiled, "
                + "\(own - list.compiledCount) read: headers, linker scripts, generated files), \(list.withIdentifierCount) of them with an "
                + "SPDX-License-Identifier" + (upstream?.fileDefaultLicense.map { "; files without one count as \($0)" } ?? "")
                + ". Every file with its licence: \(listName)."
        }
        component.patches = try (patches[id] ?? []).map { url in
            let digest = try digest(url)
            return SBOMPatch(name: url.lastPathComponent, sha256: digest.sha256, sha1: digest.sha1)
        }
        return component
    }


    // MARK: Host packages

    /// The Debian packages that objects and archive members linked in from outside the build folder belong to.
    func hostComponents(_ outside: Set<KbuildWalk.OutsideInput>, linkedInto component: String, facts: ComponentFacts,
                        known: [String: String]) async throws -> [SBOMComponent] {
        let files = Array(Set(outside.map(\.file))).sorted()
        let owners = try await Self.owners(of: files, known: known)
        let packages = try await InstalledPackages.describe(Array(Set(owners.values)).sorted())
        var byPackage: [String: [KbuildWalk.OutsideInput]] = [:]
        for input in outside { if let owner = owners[input.file] { byPackage[owner, default: []].append(input) } }
        return byPackage.keys.sorted().compactMap { name in
            guard let installed = packages[name] else { return nil }
            var library = debianComponent(installed, kind: .library, facts: facts)
            let inputs = (byPackage[name] ?? []).sorted()
            let members = inputs.filter { $0.member != nil }
            let archives = Set(members.map { ($0.file as NSString).lastPathComponent }).sorted()
            library.summary = "linked into \(component): " + (members.isEmpty ? "" : "\(members.count) members of \(archives.joined(separator: ", "))")
                + (inputs.count > members.count ? (members.isEmpty ? "" : " and ") + inputs.filter { $0.member == nil }.map { ($0.file as NSString).lastPathComponent }.joined(separator: ", ") : "")
            return library
        }
    }

    /// The compiler and the linker, resolved to the files their packages installed.
    func toolchainPaths() -> [String] {
        ["gcc", "ld"].compactMap { tool in
            let name = environment.toolchain.crossCompile + tool
            return (name.hasPrefix("/") ? URL(fileURLWithPath: name) : ProcessRunner.which(name))?.resolvingSymlinksInPath().path
        }
    }

    /// The package of each of `paths` dpkg knows: from `known` (the file lists stage's look-up, "" for a path dpkg
    /// does not know), dpkg asked only for the others (`dpkg-query -S` reads its whole file database: ~0.1 s).
    static func owners(of paths: [String], known: [String: String]) async throws -> [String: String] {
        var owners: [String: String] = [:]
        var unknown: [String] = []
        for path in paths {
            if let owner = known[path] {
                if !owner.isEmpty { owners[path] = owner }
            } else {
                unknown.append(path)
            }
        }
        return owners.merging(try await InstalledPackages.owners(of: unknown)) { first, _ in first }
    }

    func debianComponent(_ package: InstalledPackage, kind: SBOMComponent.Kind, facts: ComponentFacts) -> SBOMComponent {
        let upstream = facts.upstream(debianPackage: package.package) ?? facts.upstream(debianPackage: package.source)
        var component = SBOMComponent(id: "deb-\(package.package)", name: package.package, version: package.version, kind: kind)
        component.supplier = "Debian"
        component.originator = upstream?.originator
        component.homepage = upstream?.homepage
        component.debianSource = "\(package.source) \(package.sourceVersion)"
        component.purl = PackageURL.debian(package.package, version: package.version, architecture: package.architecture)
        component.cpe = upstream?.cpe.map { CPE.name(prefix: $0, version: UpstreamVersion.fromDebian(package.version)) }
        component.declaredLicense = upstream?.declaredLicense
        return component
    }

    /// The compiler and the linker that built the kernel, BusyBox and U-Boot, by the packages that installed them;
    /// a compiler outside dpkg's knowledge (`--toolchain-dir`) by its own version.
    func toolchainComponents(facts: ComponentFacts, known: [String: String]) async throws -> [SBOMComponent] {
        let toolchain = environment.toolchain
        let paths = toolchainPaths()
        let owners = try await Self.owners(of: paths, known: known)
        let packages = try await InstalledPackages.describe(Array(Set(owners.values)).sorted())
        var tools = packages.values.sorted { $0.package < $1.package }.map { debianComponent($0, kind: .buildTool, facts: facts) }
        if owners[paths.first ?? ""] == nil {
            var gcc = SBOMComponent(id: "gcc", name: "gcc", version: toolchain.version, kind: .buildTool)
            gcc.supplier = facts.upstream(named: "gcc")?.originator
            gcc.purl = PackageURL.generic("gcc", version: toolchain.version)
            gcc.cpe = facts.upstream(named: "gcc")?.cpe.map { CPE.name(prefix: $0, version: toolchain.version) }
            gcc.summary = toolchain.versionLine
            tools.append(gcc)
        }
        return tools
    }
}

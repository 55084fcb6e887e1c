import BoardModel
import Foundation
import Host
import SBOM

/// The files each component was built from, as the file lists stage found them: what the SBOM stage needs of the
/// kernel's, BusyBox's and U-Boot's build folders, kept in the board's build folder (`file-lists/lists.json`).
struct ComponentFileLists: Codable, Equatable {
    /// Per-file licence lists by component id (`linux`, `busybox`, `u-boot`).
    var lists: [String: FileLicenseList]
    /// The files of each kernel module, when the kernel has modules.
    var modules: ModuleFileLists?
    /// What each statically linked component took from outside its build folder (the C library's members, GCC's
    /// runtime), by component id: the host components of the SBOM.
    var outside: [String: [KbuildWalk.OutsideInput]]
    /// The Debian package of each file of `outside` and of the compiler and linker, "" for a file dpkg does not know:
    /// looked up here, so that remaking the documents asks dpkg nothing that takes long.
    var hostOwners: [String: String] = [:]
}

/// The walk from the kernel image, its dtbs and modules, BusyBox and U-Boot down to every file compiled or read
/// (Kbuild's records, `ld --trace`, linker maps), each file hashed and scanned for its licence: seconds of work
/// for thousands of files. A stage of its own, keyed by the builds it walks (their binaries, folders, config,
/// modules archive), sources, patches and toolchain, and not by the initramfs or images: a changed initramfs file
/// remakes the SBOM documents from these lists without walking again.
///
/// A header can change without any binary changing (a comment): the key would not see it. So the stage keeps the
/// size, mtime and inode of every file the walk reached (sources, headers, objects, maps: `file-lists/stamps.tsv`)
/// but those of source trees unpacked from an archive (named in the key by its sha256) and, when its key is
/// unchanged, runs again if any of them differs: a `stat` each, milliseconds for thousands.
struct FileListStage {
    let environment: BuildEnvironment

    var board: ResolvedBoard { environment.board }
    var folder: URL { environment.buildDirectory.appendingPathComponent("file-lists", isDirectory: true) }
    var listsFile: URL { folder.appendingPathComponent("lists.json") }
    var stampsFile: URL { folder.appendingPathComponent("stamps.tsv") }
    var record: URL { environment.buildDirectory.appendingPathComponent(".bspgen-file-lists.json") }

    /// The lists of the last run, read only when the SBOM stage runs; `digest` (their file's sha256) goes into the
    /// SBOM stage's key.
    struct StoredLists {
        var digest: String
        private var made: ComponentFileLists?
        private let file: URL

        init(digest: String, made: ComponentFileLists?, file: URL) {
            self.digest = digest
            self.made = made
            self.file = file
        }

        func load() throws -> ComponentFileLists {
            if let made { return made }
            do {
                return try JSONDecoder().decode(ComponentFileLists.self, from: Data(contentsOf: file))
            } catch {
                throw HostError.fileSystem(path: file.path, message: "cannot read the file lists: \(ErrorText.reason(error))")
            }
        }
    }

    func build(_ inputs: SBOMInputs, toolchainPackages: String) async throws -> StoredLists {
        var key = StageKey()
        key.add("stage", "file-lists-4")  // bump when what the walk finds, or how it is kept, changes
        key.add("bspgen", bspgenLibraryVersion)
        try key.addFile("kernel image", inputs.kernel.image)
        for tree in inputs.kernel.deviceTrees { try key.addFile("dtb", tree) }
        try key.addFile("config", inputs.configuration.config)
        if let modules = inputs.modules { try key.addFile("modules", modules.archive) }
        for module in board.externalModules {
            key.add("external module \(module.lastPathComponent)", try KernelModulesBuilder.folderDigest(module))
        }
        key.add("kernel folder", inputs.configuration.buildDirectory.path)
        key.add("kernel source", inputs.configuration.source.sha256 ?? inputs.configuration.source.root.path)
        try key.addFile("busybox", inputs.busybox.binary)
        key.add("busybox folder", busyboxBuild(inputs.busybox).path)
        key.add("busybox source", inputs.busybox.source.sha256 ?? inputs.busybox.source.root.path)
        if let bootloader = inputs.bootloader {
            for file in bootloader.files { try key.addFile("bootloader", file.url) }
            try key.addFile("bootloader config", bootloader.config)
            key.add("bootloader folder", bootloader.config.deletingLastPathComponent().path)
            key.add("bootloader source", bootloader.source.sha256 ?? bootloader.source.root.path)
        }
        key.add("toolchain", environment.toolchain.versionLine + environment.toolchain.crossCompile)
        key.add("toolchain packages", toolchainPackages)
        for (component, files) in SBOMStage(environment: environment).patches.sorted(by: { $0.key < $1.key }) {
            for file in files { try key.addFile("patch \(component)", file) }
        }

        var stage = Stage("file lists", key: key, record: record, outputs: [listsFile, stampsFile])
        stage.skipNote = "builds unchanged, no file they read changed"
        // Only when the key is unchanged: otherwise the stage runs anyway, and the key says why.
        if StageRecord.read(record)?.key == key.value { stage.forced = Self.changedFiles(stampsFile) }
        var made: ComponentFileLists?
        try await environment.run(stage) {
            environment.progress.begin("file lists", "every file the kernel, BusyBox and the boot loader were built from")
            let (lists, reached) = try await find(inputs)
            let stamped = Self.stamped(reached, inputs)
            try write(lists, stamps: FileStamps.text(of: stamped))
            made = lists
            let kernel = lists.lists["linux"]
            environment.progress.end(kernel.map { "kernel: \($0.compiledCount) files compiled, \($0.ownEntries.count) read in all" } ?? "")
            return StageWork(notes: [], detail: kernel.map { "kernel: \($0.compiledCount) compiled files, \(stamped.count) files stamped" })
        }
        let digest = try StageRecord.read(record)?.outputs[listsFile.path] ?? Checksum.sha256(of: listsFile)
        return StoredLists(digest: digest, made: made, file: listsFile)
    }

    private func write(_ lists: ComponentFileLists, stamps: String) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(try encoder.encode(lists), to: listsFile)
        try AtomicFile.write(Data(stamps.utf8), to: stampsFile)
    }

    /// Why the lists must be made again although the builds are unchanged: files they were made from that changed
    /// since (size, mtime or inode), the first few by name; nil when none did or there are no stamps yet.
    static func changedFiles(_ stampsFile: URL) -> String? {
        guard let text = try? String(contentsOf: stampsFile, encoding: .utf8) else { return nil }
        let changed = FileStamps.changed(in: text)
        guard !changed.isEmpty else { return nil }
        let named = changed.prefix(3).map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")
        return "\(changed.count) file(s) read changed since the lists were made (\(named)\(changed.count > 3 ? ", ..." : ""))"
    }

    /// The files whose stamps are kept: all the walk reached but the files of source trees unpacked from an
    /// archive, which the key names by the archive's sha256 and the patches (as the compile stages' keys do; bspgen
    /// never writes into them): over half of the files, and of the milliseconds every build spends checking.
    static func stamped(_ reached: Set<String>, _ inputs: SBOMInputs) -> Set<String> {
        let trees = [inputs.configuration.source, inputs.busybox.source] + (inputs.bootloader.map { [$0.source] } ?? [])
        let prefixes = Set(trees.filter { $0.sha256 != nil }.flatMap { tree in
            [tree.root.standardizedFileURL.path + "/", tree.root.standardizedFileURL.resolvingSymlinksInPath().path + "/"]
        })
        return reached.filter { path in !prefixes.contains { path.hasPrefix($0) } }
    }

    // MARK: Kbuild's records

    func busyboxBuild(_ busybox: BusyBoxArtifacts) -> URL {
        busybox.stagingTree.deletingLastPathComponent().appendingPathComponent("build", isDirectory: true)
    }

    /// Every component's list, and every file the walks reached (absolute paths), for the stamps.
    func find(_ inputs: SBOMInputs) async throws -> (ComponentFileLists, Set<String>) {
        // The components' walks are independent: they run side by side.
        async let kernel = kernelFiles(inputs.configuration, inputs.kernel)
        async let modules = moduleFiles(inputs.configuration, inputs.modules)
        async let busybox = linkedFiles(buildRoot: busyboxBuild(inputs.busybox), roots: ["busybox_unstripped"], source: inputs.busybox.source)
        async let bootloader = bootloaderFiles(inputs)
        var lists = ComponentFileLists(lists: [:], modules: nil, outside: [:])
        var reached = Set<String>()
        let (kernelList, kernelReached) = try await kernel
        lists.lists["linux"] = kernelList
        reached.formUnion(kernelReached)
        if let (moduleLists, moduleReached) = try await modules {
            lists.modules = moduleLists
            reached.formUnion(moduleReached)
        }
        for (component, walked) in [("busybox", try await busybox), ("u-boot", try await bootloader)] {
            guard let walked else { continue }
            lists.lists[component] = walked.list
            lists.outside[component] = walked.outside.sorted()
            reached.formUnion(walked.reached)
        }
        let outside = Set(lists.outside.values.flatMap { $0.map(\.file) })
        // A static C library upgraded under an unchanged BusyBox: the lists' host packages may have changed.
        reached.formUnion(outside)
        let hostFiles = outside.union(SBOMStage(environment: environment).toolchainPaths()).sorted()
        let owners = try await InstalledPackages.owners(of: hostFiles)
        lists.hostOwners = Dictionary(uniqueKeysWithValues: hostFiles.map { ($0, owners[$0] ?? "") })
        return (lists, reached)
    }

    /// The files a walk reached: sources and headers (whose contents the lists hash and scan), and the objects of
    /// the build folder (rebuilt, they may have read other files).
    static func reached(_ result: KbuildWalk.Result, buildRoot: URL) -> Set<String> {
        result.compiled.union(result.read).union(result.objects.map { buildRoot.standardizedFileURL.path + "/" + $0 })
    }

    /// The kernel image's and dtbs' files: `vmlinux`'s objects from the linker itself (`ld --trace` over what
    /// link-vmlinux.sh links, since only the linker knows which members of `lib.a` it takes), the rest from the
    /// records of the commands that wrap vmlinux into the image.
    func kernelFiles(_ configuration: KernelConfiguration, _ kernel: KernelArtifacts) async throws -> (FileLicenseList, reached: Set<String>) {
        let root = configuration.buildDirectory.standardizedFileURL
        var link: [String: LinkInputs] = [:]
        link["vmlinux"] = try await vmlinuxInputs(root)
        // Every Linux image wraps vmlinux, but not every wrapper's record says so: arm's piggy.S (a source file)
        // .incbins piggy_data, which no compiler dependency list names. So vmlinux is a root of its own.
        let roots = [relative(kernel.image, to: root), "vmlinux"] + kernel.deviceTrees.map { relative($0, to: root) }
        let result = KbuildWalk(buildRoot: root, linkInputs: link).walk(roots)
        let reached = Self.reached(result, buildRoot: root).union([root.appendingPathComponent(KbuildRecord.recordPath(of: "vmlinux.o")).path])
        let hostFiles = (result.compiled.union(result.read)).filter { !$0.hasPrefix(root.path + "/") && !$0.hasPrefix(configuration.source.root.path + "/") }
        let owners = try await InstalledPackages.owners(of: hostFiles.sorted())
        return (FileLicenseList(result, sourceRoot: configuration.source.root, buildRoot: root, owners: owners), reached)
    }

    /// Each module's files, from the `.ko` down: the in-tree modules of `modules.order`, and each external module
    /// from the copy of its folder that Kbuild built in (its own files told apart from what Kbuild generated there).
    /// Each is named by the file installed for it, and every installed module must have its list. Nil without modules.
    func moduleFiles(_ configuration: KernelConfiguration, _ modules: KernelModules?) async throws -> (ModuleFileLists, reached: Set<String>)? {
        guard let modules else { return nil }
        let root = configuration.buildDirectory.standardizedFileURL
        var walks: [(name: String, result: KbuildWalk.Result, buildRoot: URL, external: URL?)] = []
        for module in Self.moduleOrder(root) {
            walks.append(("kernel/" + module, KbuildWalk(buildRoot: root).walk([module]), root, nil))
        }
        for folder in board.externalModules {
            let copy = environment.buildDirectory.appendingPathComponent("modules/external/\(folder.lastPathComponent)", isDirectory: true).standardizedFileURL
            for module in Self.moduleOrder(copy) {
                // modules_install keeps the module's path inside M= under INSTALL_MOD_DIR (`extra`).
                walks.append(("extra/" + module, KbuildWalk(buildRoot: copy).walk([module]), copy, folder))
            }
        }
        let installed = try Self.installedNames(recorded: walks.map(\.name), installed: modules.installed, release: modules.release)
        for index in walks.indices { walks[index].name = installed[index] }
        let reached = walks.reduce(into: Set<String>()) { $0.formUnion(Self.reached($1.result, buildRoot: $1.buildRoot)) }
        let hostFiles = Set(walks.flatMap { walk in
            walk.result.compiled.union(walk.result.read).filter { !$0.hasPrefix(walk.buildRoot.path + "/") && !$0.hasPrefix(configuration.source.root.path + "/") }
        })
        let owners = try await InstalledPackages.owners(of: hostFiles.sorted())
        return (ModuleFileLists(walks.map { walk in
            var list = FileLicenseList(walk.result, sourceRoot: configuration.source.root, buildRoot: walk.buildRoot, owners: owners)
            if let original = walk.external { list = list.attributing(copy: walk.buildRoot, original: original, name: original.lastPathComponent) }
            return ModuleFileLists.Module(name: walk.name, files: list)
        }), reached)
    }

    /// The installed file of each recorded module: its name, or that name with the compression suffix modules_install
    /// added (`ext4.ko.xz` for `CONFIG_MODULE_COMPRESS_XZ`). A module installed without a record, or recorded and not
    /// installed, would make the SBOM wrong about what the board ships: an error naming each.
    static func installedNames(recorded: [String], installed: [String], release: String) throws -> [String] {
        func uncompressed(_ path: String) -> String {
            guard let range = path.range(of: ".ko", options: .backwards) else { return path }
            return String(path[..<range.upperBound])
        }
        let byName = Dictionary(installed.map { (uncompressed($0), $0) }, uniquingKeysWith: { first, _ in first })
        let names = recorded.map { byName[$0] }
        let unrecorded = Set(installed.map(uncompressed)).subtracting(recorded).sorted()
        let uninstalled = zip(recorded, names).filter { $0.1 == nil }.map(\.0)
        guard unrecorded.isEmpty && uninstalled.isEmpty else {
            let lines = unrecorded.map { "installed in lib/modules/\(release)/ but named in no modules.order, so its files are unknown: \($0)" }
                + uninstalled.map { "named in a modules.order but not installed in lib/modules/\(release)/: \($0)" }
            throw BuildError.kernelModules(message: "the SBOM's module lists and the modules installed differ:\n    "
                                           + lines.joined(separator: "\n    ")
                                           + "\n    hint: a module must come from the kernel's build or a folder of kernel.external_modules, installed by its modules_install")
        }
        return names.compactMap { $0 }
    }

    /// The modules a Kbuild folder made, from its `modules.order` (`.ko` names from Linux 6.1 on, `.o` before; the
    /// kernel's own `kernel/` folder holds modules too, so no prefix is taken off), as paths relative to the folder.
    static func moduleOrder(_ folder: URL) -> [String] {
        guard let text = try? String(contentsOf: folder.appendingPathComponent("modules.order"), encoding: .utf8) else { return [] }
        let prefix = folder.standardizedFileURL.path + "/"
        return text.split(separator: "\n").map { line in
            var path = String(line).trimmingCharacters(in: .whitespaces)
            if path.hasPrefix(prefix) { path = String(path.dropFirst(prefix.count)) }
            return path.hasSuffix(".o") ? String(path.dropLast(2)) + ".ko" : path
        }.filter { !$0.isEmpty }
    }

    func vmlinuxInputs(_ root: URL) async throws -> LinkInputs {
        let recordURL = root.appendingPathComponent(KbuildRecord.recordPath(of: "vmlinux.o"))
        guard let data = FileManager.default.contents(atPath: recordURL.path), let record = KbuildRecord.parse(data) else {
            throw BuildError.missingOutput(what: "Kbuild's record of vmlinux.o (the kernel's objects, for the SBOM)", path: recordURL.path,
                                           log: environment.log("kernel-build"))
        }
        let words = ShellWords.split(record.command).map(\.text)
        var emulation: [String] = []
        var whole: [String] = []
        var libraries: [String] = []
        var mode = ""
        var index = 0
        while index < words.count {
            let word = words[index]
            switch word {
            case "-m" where index + 1 < words.count:
                emulation += [word, words[index + 1]]
                index += 1
            case "--whole-archive", "--start-group": mode = word
            case "--no-whole-archive", "--end-group": mode = ""
            default:
                if mode == "--whole-archive" { whole.append(word) } else if mode == "--start-group" { libraries.append(word) }
            }
            index += 1
        }
        // link-vmlinux.sh adds these beside vmlinux.a when they exist.
        whole += [".vmlinux.export.o", "init/version-timestamp.o"].filter { FileManager.default.fileExists(atPath: root.appendingPathComponent($0).path) }
        let linker = environment.toolchain.crossCompile + "ld"
        let command = Command(linker, emulation + ["-r", "-o", "/dev/null", "--trace", "--whole-archive"] + whole + ["--no-whole-archive", "--start-group"]
                                + libraries + ["--end-group"], environment: ["LC_ALL": "C"], workingDirectory: root)
        let result = try await ProcessRunner.capture(command)
        guard result.succeeded else {
            throw HostError.commandFailed(command: command.description, status: result.statusText, log: nil,
                                          tail: Array(result.output.split(separator: "\n").suffix(10).map(String.init)))
        }
        var inputs = LinkInputs.fromTrace(result.output)
        let script = "arch/\(board.architecture.kernelSourceFolder)/kernel/vmlinux.lds"
        if FileManager.default.fileExists(atPath: root.appendingPathComponent(script).path) { inputs.objects.append(script) }
        return inputs
    }

    /// The files of targets linked with a map (`u-boot.map`, `busybox_unstripped.map`: which archive members the
    /// linker took), and what came from outside the build folder (the toolchain's libraries).
    func linkedFiles(buildRoot: URL, roots: [String], source: SourceTree) async throws -> LinkedFiles {
        let root = buildRoot.standardizedFileURL
        var link: [String: LinkInputs] = [:]
        var reached = Set<String>()
        for folder in ["", "spl/", "tpl/", "vpl/"] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? []
            for name in names where name.hasSuffix(".map") && name != "System.map" {
                let target = folder + String(name.dropLast(4))
                guard FileManager.default.fileExists(atPath: root.appendingPathComponent(target).path),
                      let text = try? String(contentsOf: root.appendingPathComponent(folder + name), encoding: .utf8), text.contains("\nLOAD ") else { continue }
                link[target] = LinkInputs.fromMap(text)
                reached.insert(root.appendingPathComponent(folder + name).path)
            }
        }
        let result = KbuildWalk(buildRoot: root, linkInputs: link).walk(roots)
        reached.formUnion(Self.reached(result, buildRoot: root))
        let hostFiles = (result.compiled.union(result.read)).filter { !$0.hasPrefix(root.path + "/") && !$0.hasPrefix(source.root.path + "/") }
        let owners = try await InstalledPackages.owners(of: hostFiles.sorted())
        return LinkedFiles(list: FileLicenseList(result, sourceRoot: source.root, buildRoot: root, owners: owners), outside: result.outside, reached: reached)
    }

    /// U-Boot's files, when the board has a boot loader.
    func bootloaderFiles(_ inputs: SBOMInputs) async throws -> LinkedFiles? {
        guard let bootloader = inputs.bootloader, let spec = board.board.bootloader else { return nil }
        return try await linkedFiles(buildRoot: bootloader.config.deletingLastPathComponent(), roots: spec.artifacts.map(\.path), source: bootloader.source)
    }

    /// A statically linked component's files, what it took from outside its build folder, and every file reached.
    struct LinkedFiles {
        var list: FileLicenseList
        var outside: Set<KbuildWalk.OutsideInput>
        var reached: Set<String>
    }

    func relative(_ url: URL, to root: URL) -> String {
        let path = url.standardizedFileURL.path
        return path.hasPrefix(root.path + "/") ? String(path.dropFirst(root.path.count + 1)) : path
    }
}

import BoardModel
import Foundation
import Host
import Kconfig
import QEMU
import UserInput

/// The board's kernel modules, installed as the target finds them under `/lib/modules/<release>/`.
public struct KernelModules: Sendable {
    public var release: String
    /// Holds `lib/modules/<release>/`: packed into the initramfs and the ext4 root.
    public var stagingRoot: URL
    /// `modules.tar.zst` of the staging tree, for the output folder.
    public var archive: URL
    /// That the modules the board loads at boot, and their dependencies, are loaded in the guest.
    public var guestChecks: [GuestCheck]
    /// Every module file installed, relative to `lib/modules/<release>/`, as depmod indexed them.
    public var installed: [String]
}

/// In-tree modules (`=m` in the config) and the board's external module folders, built against the board's
/// kernel build folder, installed stripped, indexed by depmod for the kernel's release and archived.
public struct KernelModulesBuilder: Sendable {
    public let environment: BuildEnvironment

    public init(environment: BuildEnvironment) { self.environment = environment }

    var board: ResolvedBoard { environment.board }
    public static let archiveName = "modules.tar.zst"

    /// Nil when the kernel is built without module support (and the board asks for no modules).
    public func build(_ configuration: KernelConfiguration, kernel: KernelArtifacts, force: Bool = false) async throws -> KernelModules? {
        let wanted = !board.externalModules.isEmpty || !(board.board.kernel.loadModules ?? []).isEmpty
        guard try Self.hasModuleSupport(configuration) else {
            if wanted {
                throw BuildError.kernelModules(message: "\(board.file.path): kernel.external_modules and kernel.load_modules need a kernel"
                    + " with module support, but its config has no CONFIG_MODULES=y\n    hint: add CONFIG_MODULES=y to a kernel fragment")
            }
            return nil
        }
        let kernelBuilder = KernelBuilder(environment: environment)
        let linux = kernelBuilder.linuxDirectory
        let folder = environment.buildDirectory.appendingPathComponent("modules", isDirectory: true)
        let stagingRoot = folder.appendingPathComponent("staging", isDirectory: true)
        let archive = folder.appendingPathComponent(Self.archiveName)
        let releaseFile = linux.appendingPathComponent("include/config/kernel.release")

        var key = StageKey()
        key.add("stage", "kernel-modules-1")
        key.add("kernel config", configuration.key)
        try key.addFile("config", configuration.config)
        try key.addFile("kernel image", kernel.image)
        key.add("epoch", String(environment.sourceDateEpoch))
        // The modules' objects (and the records the SBOM reads) are in the kernel's folder: another folder, another build.
        key.add("kernel folder", linux.path)
        for module in board.externalModules {
            key.add("external module \(module.lastPathComponent)", try Self.folderDigest(module))
        }
        // Beside the staging tree, not in it: the tree is packed whole into the initramfs.
        let marker = folder.appendingPathComponent("release")
        var stage = Stage("kernel modules", key: key, record: folder.appendingPathComponent(".bspgen-modules.json"),
                          outputs: [archive, marker], logName: "kernel-modules")
        stage.forced = force ? "forced" : nil
        stage.skipNote = "kernel and external modules unchanged"
        _ = try await kernelBuilder.withFolderLock { try await environment.run(stage) {
            let log = environment.log(stage.logName)
            try? FileManager.default.removeItem(at: log)
            let progress = environment.progress
            let wrappers = try environment.compilerWrappers(stage: "kernel-modules")
            progress.begin("kernel modules", "make -j\(environment.jobs) modules (\(wrappers.summary))")
            try await ProcessRunner.logged(kernelBuilder.make(configuration.source, ["modules"], jobs: environment.jobs, wrappers: wrappers),
                                           log: log, onLine: progress.update)
            let release = try String(contentsOf: releaseFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let temporary = try AtomicFile.temporaryDirectory(beside: stagingRoot)
            do {
                // depmod runs once, below, over the in-tree and the external modules together.
                let install = ["INSTALL_MOD_PATH=\(temporary.path)", "INSTALL_MOD_STRIP=1", "DEPMOD=true"]
                try await ProcessRunner.logged(kernelBuilder.make(configuration.source, install + ["modules_install"]), log: log, onLine: progress.update)
                for module in board.externalModules {
                    // Kbuild writes an external module's objects beside its sources: build a copy, never the board's folder.
                    let copy = folder.appendingPathComponent("external/\(module.lastPathComponent)", isDirectory: true)
                    try? FileManager.default.removeItem(at: copy)
                    try FileManager.default.createDirectory(at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try FileManager.default.copyItem(at: module, to: copy)
                    progress.begin("kernel modules", "external module \(module.lastPathComponent)")
                    try await ProcessRunner.logged(kernelBuilder.make(configuration.source, ["M=\(copy.path)", "modules"], jobs: environment.jobs,
                                                                      wrappers: wrappers), log: log, onLine: progress.update)
                    try await ProcessRunner.logged(kernelBuilder.make(configuration.source, ["M=\(copy.path)"] + install + ["modules_install"]),
                                                   log: log, onLine: progress.update)
                }
                let modulesFolder = temporary.appendingPathComponent("lib/modules/\(release)")
                // Links back into this host's build folder mean nothing on the target and differ between hosts.
                for link in ["build", "source"] { try? FileManager.default.removeItem(at: modulesFolder.appendingPathComponent(link)) }
                try await ProcessRunner.logged(Command("depmod", ["-b", temporary.path, "-e", "-F", linux.appendingPathComponent("System.map").path, release]),
                                               log: log)
                try AtomicFile.replace(stagingRoot, with: temporary)
                try AtomicFile.write(release + "\n", to: marker)
            } catch {
                try? FileManager.default.removeItem(at: temporary)
                throw error
            }
            try await writeArchive(of: stagingRoot, to: archive, log: log)
            let count = (try? ModuleIndex(stagingRoot: stagingRoot, release: release).dependencies.count) ?? 0
            progress.end("\(count) module(s) for \(release)")
            return StageWork(detail: "\(count) module(s), \(wrappers.summary)")
        } }
        let release = try String(contentsOf: marker, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let index = try ModuleIndex(stagingRoot: stagingRoot, release: release)
        let (checks, problems) = index.loadChecks(board.board.kernel.loadModules ?? [], locations: board.loadModuleLocations, release: release)
        if !problems.isEmpty { throw BuildError.kernelModules(message: problems.joined(separator: "\n")) }
        return KernelModules(release: release, stagingRoot: stagingRoot, archive: archive, guestChecks: checks, installed: index.files)
    }

    /// Whether the configured kernel can have modules (`CONFIG_MODULES=y`): only then is there a modules stage.
    static func hasModuleSupport(_ configuration: KernelConfiguration) throws -> Bool {
        try KconfigFile.load(configuration.config, name: configuration.config.path).values["MODULES"] == .tristate(.yes)
    }

    /// tar with fixed order, owners and times, compressed with zstd: the same modules give the same bytes.
    private func writeArchive(of stagingRoot: URL, to archive: URL, log: URL) async throws {
        let partial = TemporaryName.beside(archive)
        do {
            try await ProcessRunner.logged(Command("tar", ["--sort=name", "--mtime=@\(environment.sourceDateEpoch)", "--owner=0", "--group=0",
                                                           "--numeric-owner", "--format=gnu", "--use-compress-program=zstd -19 -T1 -q",
                                                           "-cf", partial.path, "-C", stagingRoot.path, "lib"],
                                                   environment: ["LC_ALL": "C"]), log: log)
            try AtomicFile.replace(archive, with: partial)
        } catch {
            try? FileManager.default.removeItem(at: partial)
            throw error
        }
    }

    /// Every file of an external module's folder by relative path and content.
    static func folderDigest(_ folder: URL) throws -> String {
        var lines: [String] = []
        let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            let relative = String(url.standardizedFileURL.path.dropFirst(folder.standardizedFileURL.path.count + 1))
            lines.append("\(relative) \(try Checksum.sha256(of: url))")
        }
        return Checksum.sha256(lines.sorted().joined(separator: "\n"))
    }
}

/// What depmod wrote for one release: each module's dependencies, and the modules built into the kernel.
struct ModuleIndex {
    /// Module name (as /proc/modules writes it, `-` as `_`) to the names it depends on, nearest first.
    var dependencies: [String: [String]]
    var builtIn: Set<String>
    /// The module files, relative to `lib/modules/<release>/`, in modules.dep's order.
    var files: [String]

    enum Lookup: Equatable {
        /// The module, then every module it needs, each once.
        case module([String])
        case builtIn
        case absent
    }

    init(modulesDep: String, modulesBuiltin: String) {
        dependencies = [:]
        files = []
        for line in modulesDep.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard let path = parts.first else { continue }
            files.append(String(path))
            let needs = parts.count > 1 ? parts[1].split(separator: " ").map { Self.name(ofPath: String($0)) } : []
            dependencies[Self.name(ofPath: String(path))] = needs
        }
        builtIn = Set(modulesBuiltin.split(whereSeparator: \.isNewline).map { Self.name(ofPath: String($0)) })
    }

    init(stagingRoot: URL, release: String) throws {
        let folder = stagingRoot.appendingPathComponent("lib/modules/\(release)")
        func read(_ name: String) throws -> String {
            let url = folder.appendingPathComponent(name)
            do { return try String(contentsOf: url, encoding: .utf8) } catch {
                throw HostError.fileSystem(path: url.path, message: "cannot read depmod's index: \(ErrorText.reason(error))")
            }
        }
        self.init(modulesDep: try read("modules.dep"), modulesBuiltin: (try? read("modules.builtin")) ?? "")
    }

    /// `kernel/fs/ext4/ext4.ko` (or `.ko.xz`…) → `ext4`; dashes become underscores, as the kernel names modules.
    static func name(ofPath path: String) -> String {
        var name = path.split(separator: "/").last.map(String.init) ?? path
        if let range = name.range(of: ".ko") { name = String(name[..<range.lowerBound]) }
        return name.replacingOccurrences(of: "-", with: "_")
    }

    /// For each module the board loads at boot, the console check that it and every module it needs are loaded;
    /// or, for one that is built in or not built, the error at its line of the board file.
    func loadChecks(_ loads: [String], locations: [String], release: String) -> (checks: [GuestCheck], problems: [String]) {
        var problems: [String] = []
        var checks: [GuestCheck] = []
        for (position, name) in loads.enumerated() {
            let location = (position < locations.count ? locations[position] + ": " : "") + "kernel.load_modules[\(position)]"
            switch lookup(name) {
            case .module(let closure):
                checks.append(GuestCheck(name: "module \(name) loaded" + (closure.count > 1 ? " with \(closure.dropFirst().joined(separator: ", "))" : ""),
                                         command: "echo $(for m in \(closure.joined(separator: " ")); do grep -q \"^$m \" /proc/modules && echo $m; done)",
                                         expected: closure.joined(separator: " ")))
            case .builtIn:
                problems.append("\(location): '\(name)' is built into the kernel (=y), so there is nothing to load"
                                + "\n    hint: remove it from load_modules, or set its option to =m in a kernel fragment")
            case .absent:
                problems.append("\(location): no module '\(name)' was built for \(release)"
                                + (Suggestion.didYouMean(name, among: dependencies.keys).map { "\n    hint: \($0)" }
                                   ?? "\n    hint: set its option to =m in a kernel fragment, or list its folder in kernel.external_modules"))
            }
        }
        return (checks, problems)
    }

    func lookup(_ requested: String) -> Lookup {
        let name = requested.replacingOccurrences(of: "-", with: "_")
        guard dependencies[name] != nil else { return builtIn.contains(name) ? .builtIn : .absent }
        var closure: [String] = []
        var pending = [name]
        while let next = pending.first {
            pending.removeFirst()
            guard !closure.contains(next) else { continue }
            closure.append(next)
            pending += dependencies[next] ?? []
        }
        return .module(closure)
    }
}

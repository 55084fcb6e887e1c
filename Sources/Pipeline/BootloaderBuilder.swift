import BoardModel
import Foundation
import Host
import Kconfig

/// The files a boot loader build keeps, by artifact name, in the board's order.
public struct BootloaderArtifacts: Sendable {
    public var files: [(name: String, url: URL)]
    public var source: SourceTree
    /// The `.config` the files were built from.
    public var config: URL
}

/// U-Boot from its defconfig and the board's fragments, cross-built out of tree with the board's toolchain,
/// with the same proof as the kernel's that every requested option survived Kconfig. The build lives under the
/// cache by input hash, so boards with the same boot loader inputs build it once.
public struct BootloaderBuilder: Sendable {
    public let environment: BuildEnvironment

    public init(environment: BuildEnvironment) { self.environment = environment }

    var board: ResolvedBoard { environment.board }

    func make(_ source: SourceTree, _ targets: [String], in buildDirectory: URL, jobs: Int? = nil,
              wrappers: CompilerWrappers = .plain) -> Command {
        // U-Boot stamps its version string with SOURCE_DATE_EPOCH's date (in UTC), not the clock. Its ELF keeps debug
        // information, whose compile directory would be this cache's build folder: mapped away like U-Boot maps
        // its source tree, so the ELF is the same from any cache.
        environment.outOfTreeMake(source, targets, in: buildDirectory, jobs: jobs, wrappers: wrappers,
                                  variables: ["TZ": "UTC", "KCFLAGS": "-ffile-prefix-map=\(buildDirectory.path)=.",
                                              "KAFLAGS": "-Wa,--debug-prefix-map=\(buildDirectory.path)=."])
    }

    /// The kept files, built when an input changed; nil for a board without a boot loader.
    public func build(force: Bool = false) async throws -> BootloaderArtifacts? {
        guard let spec = board.board.bootloader else { return nil }
        let progress = environment.progress
        let source = try await environment.preparedSource("bootloader", spec.resolvedSource, patches: board.bootloaderPatches)

        var key = StageKey()
        key.add("stage", "bootloader-3")
        key.add(source: source)
        key.add("toolchain", environment.toolchain.versionLine + environment.toolchain.crossCompile)
        key.add("defconfig", spec.defconfigTarget)
        for fragment in board.bootloaderFragments { try key.addFile("fragment", fragment) }
        key.add("bootcommand", spec.bootcommand ?? "")
        key.add("files", spec.artifacts.map { "\($0.path)=\($0.name)" }.joined(separator: " "))
        key.add("epoch", String(environment.sourceDateEpoch))
        let folder = environment.workspace.bootloader.appendingPathComponent(String(key.value.prefix(16)), isDirectory: true)
        let buildDirectory = folder.appendingPathComponent("build", isDirectory: true)
        environment.cacheUses.add(folder)
        let kept = folder.appendingPathComponent("files", isDirectory: true)
        let files = spec.artifacts.map { (name: $0.name, url: kept.appendingPathComponent($0.name)) }
        var stage = Stage("bootloader", key: key, record: folder.appendingPathComponent("record.json"), outputs: files.map(\.url))
        stage.forced = force ? "forced" : nil
        stage.history = environment.buildDirectory.appendingPathComponent(".bspgen-bootloader.json")
        stage.skipNote = "inputs unchanged (shared build \(folder.lastPathComponent))"
        _ = try await FileLock.withLock(environment.workspace.lock("bootloader-\(folder.lastPathComponent)"),
                                    onWait: { progress.note("[bootloader] waiting for another build of \(folder.lastPathComponent)") }) {
            try await environment.run(stage) {
                let wrappers = try environment.compilerWrappers(stage: "bootloader")
                try await build(spec, source: source, buildDirectory: buildDirectory, kept: kept, wrappers: wrappers)
                let ccache = wrappers.ccacheSummary()
                return StageWork(detail: ccache.map { "\(wrappers.summary): \($0)" } ?? wrappers.summary)
            }
        }
        return BootloaderArtifacts(files: files, source: source, config: buildDirectory.appendingPathComponent(".config"))
    }

    private func build(_ spec: BootloaderSpec, source: SourceTree, buildDirectory: URL, kept: URL, wrappers: CompilerWrappers) async throws {
        let progress = environment.progress
        let log = environment.log("bootloader")
        try? FileManager.default.removeItem(at: log)
        let defconfig = source.root.appendingPathComponent("configs/\(spec.defconfigTarget)")
        guard FileManager.default.fileExists(atPath: defconfig.path) else {
            let known = ((try? FileManager.default.contentsOfDirectory(atPath: source.root.appendingPathComponent("configs").path)) ?? [])
                .filter { $0.hasSuffix("_defconfig") }.map { String($0.dropLast("_defconfig".count)) }
            throw BuildError.bootloader(message: "\(board.file.lastPathComponent): bootloader.defconfig '\(spec.defconfig)' is not in \(source.root.path)/configs"
                + (Suggestion.didYouMean(String(spec.defconfigTarget.dropLast("_defconfig".count)), among: known).map { "\n    hint: \($0)" } ?? ""))
        }
        try FileManager.default.createDirectory(at: buildDirectory, withIntermediateDirectories: true)
        func make(_ targets: [String], jobs: Int? = nil) -> Command {
            self.make(source, targets, in: buildDirectory, jobs: jobs, wrappers: wrappers)
        }

        progress.begin("bootloader config", "\(spec.defconfigTarget) + \(board.bootloaderFragments.count) fragment(s)")
        try await ProcessRunner.logged(make([spec.defconfigTarget]), log: log, onLine: progress.update)
        let config = buildDirectory.appendingPathComponent(".config")
        var fragments = try board.bootloaderFragments.map { try KconfigFile.load($0, name: $0.path) }
        if let fragment = Self.bootcommandFragment(spec, board: board) {
            fragments.append(try KconfigFile.parse(text: fragment.text, name: fragment.name))
        }
        let merge = KconfigMerge(base: try KconfigFile.load(config, name: spec.defconfigTarget), fragments: fragments)
        try AtomicFile.write(merge.merged.text, to: config)
        try await ProcessRunner.logged(make(["olddefconfig"]), log: log, onLine: progress.update)
        let obtained = try KconfigFile.load(config, name: config.path)
        var problems = KconfigCheck.check(requested: merge.requested, obtained: obtained, index: nil)
        if !problems.isEmpty {
            // Explaining needs the whole tree's Kconfig files: read them only when something went wrong.
            problems = KconfigCheck.check(requested: merge.requested, obtained: obtained, index: try KconfigIndex.scan(tree: source.root))
        }
        let errors = problems.filter { !$0.isOptional }
        if !errors.isEmpty {
            throw BuildError.kernelConfig(problems: errors.map(\.description), config: config, log: log)
        }
        for warning in problems { progress.note("warning: \(warning.description)") }
        progress.end("all \(merge.requested.count) requested options present")

        progress.begin("bootloader build", "make -j\(environment.jobs) (\(wrappers.summary))")
        try await ProcessRunner.logged(make([], jobs: environment.jobs), log: log, onLine: progress.update)
        try FileManager.default.createDirectory(at: kept, withIntermediateDirectories: true)
        for (path, name) in spec.artifacts {
            let built = buildDirectory.appendingPathComponent(path)
            guard FileManager.default.fileExists(atPath: built.path) else {
                let made = ((try? FileManager.default.contentsOfDirectory(atPath: buildDirectory.path)) ?? [])
                    .filter { $0.hasPrefix("u-boot") || $0.hasPrefix("MLO") || $0.hasPrefix("spl") }.sorted()
                throw BuildError.missingOutput(what: "bootloader file '\(path)' (bootloader.files of \(board.file.lastPathComponent); the build made: \(made.joined(separator: ", ")))",
                                               path: built.path, log: log)
            }
            let temporary = kept.appendingPathComponent(".\(name).tmp")
            try? FileManager.default.removeItem(at: temporary)
            try FileManager.default.copyItem(at: built, to: temporary)
            try AtomicFile.replace(kept.appendingPathComponent(name), with: temporary)
        }
        progress.end(spec.artifacts.map(\.name).joined(separator: ", "))
    }
}

extension BootloaderBuilder {
    /// `bootloader.bootcommand` as the fragment the build merges over the defconfig (`CONFIG_BOOTCOMMAND`), with
    /// the name its errors give; nil without a boot command. `bspgen validate` parses the same text.
    static func bootcommandFragment(_ spec: BootloaderSpec, board: ResolvedBoard) -> (text: String, name: String)? {
        guard let command = spec.bootcommand else { return nil }
        let escaped = command.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return ("CONFIG_USE_BOOTCOMMAND=y\nCONFIG_BOOTCOMMAND=\"\(escaped)\"\n", "\(board.file.lastPathComponent): bootloader.bootcommand")
    }
}

import BoardModel
import Foundation
import Host
import Kconfig

/// The kernel configuration a board gets: its base config, its fragments merged, `olddefconfig`, and proof
/// that every requested option survived.
public struct KernelConfiguration: Sendable {
    public var source: SourceTree
    public var buildDirectory: URL
    public var config: URL
    public var defconfig: URL
    /// Optional options Kconfig dropped: warnings, not errors.
    public var warnings: [String]
    /// Fragment lines that overrode earlier values.
    public var overrides: [String]
    public var key: String
    public var reused: Bool
}

public struct KernelArtifacts: Sendable {
    public var image: URL
    public var deviceTrees: [URL]
    public var reused: Bool
}

public struct KernelBuilder: Sendable {
    public let environment: BuildEnvironment

    public init(environment: BuildEnvironment) { self.environment = environment }

    var board: ResolvedBoard { environment.board }

    /// What makes two boards' kernels one build: the source and its patches, the toolchain, ARCH, the base config
    /// and the fragment files by their place under `boards/` (not their content, so an edited fragment rebuilds
    /// incrementally in the same folder). Boards that name the same fragments (a shared fragment set) share the
    /// folder and build the kernel once; each builds its own dtbs in it, with its own DTC_FLAGS (Kbuild's
    /// command-line check rebuilds only a dtb whose flags changed).
    var folderIdentity: String {
        let boards = board.file.deletingLastPathComponent().standardizedFileURL.path + "/"
        func place(_ url: URL) -> String {
            let path = url.standardizedFileURL.path
            return path.hasPrefix(boards) ? String(path.dropFirst(boards.count)) : path
        }
        let source: String
        switch board.board.kernel.resolvedSource {
        case .directory(let path), .tarball(let path, _):
            source = place(path.hasPrefix("/") ? URL(fileURLWithPath: path) : board.folder.appendingPathComponent(path))
        case let spec: source = spec.description
        }
        let parts = [source, board.kernelPatches.map(place).joined(separator: ","),
                     environment.toolchain.crossCompile, board.toolchain.kernelArch, board.board.kernel.baseConfig,
                     board.kernelFragments.map(place).joined(separator: ",")]
        return String(Checksum.sha256(parts.joined(separator: "\n")).prefix(16))
    }

    var linuxDirectory: URL {
        environment.workspace.kernels.appendingPathComponent(folderIdentity, isDirectory: true).appendingPathComponent("linux", isDirectory: true)
    }

    /// Holds the kernel folder for `body`: boards sharing it take turns, the second finds the first one's results.
    func withFolderLock<T>(_ body: () async throws -> T) async throws -> T {
        try await FileLock.withLock(environment.workspace.lock("kernel-\(folderIdentity)"),
                                    onWait: { environment.progress.note("[kernel] waiting for another board's build of kernel \(folderIdentity)") }, body)
    }

    /// Kbuild's SRCARCH: the folder under arch/ for the kernel ARCH.
    var sourceArch: String { board.architecture.kernelSourceFolder }

    var needsSymbols: Bool { !board.deviceTreeOverlays.isEmpty && board.board.deviceTree?.resolvedOrigin != .qemu }

    func make(_ source: SourceTree, _ targets: [String], jobs: Int? = nil, wrappers: CompilerWrappers = .plain) -> Command {
        let arguments = ["-C", source.root.path, "O=\(linuxDirectory.path)", "ARCH=\(board.toolchain.kernelArch)",
                         "CROSS_COMPILE=\(environment.toolchain.crossCompile)"]
        // Kbuild's reproducible-build knobs: the image must not carry this host's name or the time of the build.
        let timestamp = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(environment.sourceDateEpoch)))
        var variables = [
            "KBUILD_BUILD_TIMESTAMP": timestamp, "KBUILD_BUILD_USER": "bspgen", "KBUILD_BUILD_HOST": "bspgen", "KBUILD_BUILD_VERSION": "1",
            "SOURCE_DATE_EPOCH": String(environment.sourceDateEpoch), "LC_ALL": "C",
        ]
        // Overlays refer to the base tree's labels (&uart0), which only a dtb built with symbols keeps. From the
        // environment, Kbuild appends its own DTC_FLAGS instead of being overridden as on the command line.
        if needsSymbols { variables["DTC_FLAGS"] = "-@" }
        variables.merge(wrappers.variables) { _, wrapper in wrapper }
        return environment.makeCommand(arguments + targets, environment: variables, jobs: jobs)
    }

    /// `extraFragments` come after the board's own, for trying an option without editing the board.
    public func configure(extraFragments: [URL] = [], force: Bool = false) async throws -> KernelConfiguration {
        let progress = environment.progress
        let source = try await environment.preparedSource("kernel", board.board.kernel.resolvedSource, patches: board.kernelPatches)

        let fragmentURLs = environment.kernelFragments + extraFragments
        var key = baseKey("kernel-config-2", source)
        key.add("toolchain requires", key.encodable(board.toolchain.kernelRequires ?? []))
        key.add("board requires", key.encodable(board.kernelRequires))
        for fragment in fragmentURLs { try key.addFile("fragment", fragment) }

        let config = linuxDirectory.appendingPathComponent(".config")
        let defconfig = linuxDirectory.appendingPathComponent("defconfig")
        // In the folder: boards sharing it have the same config inputs, so the second finds the first one's config.
        var stage = Stage("kernel config", key: key, record: linuxDirectory.appendingPathComponent(".bspgen-config.json"),
                          outputs: [config, defconfig])
        stage.forced = force ? "forced (extra fragments or an explicit config run)" : nil
        var overrides: [String] = []
        environment.cacheUses.add(linuxDirectory)
        // The kernel's build folder from before folders were shared (build/BOARD/linux): nothing reads it now.
        try? FileManager.default.removeItem(at: environment.buildDirectory.appendingPathComponent("linux", isDirectory: true))
        let outcome = try await withFolderLock { try await environment.run(stage) {
            let log = environment.log("kernel-config")
            try? FileManager.default.removeItem(at: log)
            progress.begin("kernel config", "\(board.board.kernel.baseConfig) + \(fragmentURLs.count) fragment(s)")
            try await baseConfig(source, to: config, log: log)
            let base = try KconfigFile.load(config, name: "\(board.board.kernel.baseConfig) (.config)")
            let fragments = try fragmentURLs.map { try KconfigFile.load($0, name: $0.path) }
            let merge = KconfigMerge(base: base, fragments: fragments)
            try AtomicFile.write(merge.merged.text, to: config)
            try await ProcessRunner.logged(make(source, ["olddefconfig"]), log: log, onLine: progress.update)

            let obtained = try KconfigFile.load(config, name: config.path)
            var problems = KconfigCheck.check(requested: merge.requested, obtained: obtained, index: nil, architecture: sourceArch)
            var abiProblems = KernelRequirements.problems(board.toolchain, board: board, obtained: obtained, fragments: merge.requested, index: nil, architecture: sourceArch)
            if !problems.isEmpty || !abiProblems.isEmpty {
                // Explaining needs the whole tree's Kconfig files: read them only when something went wrong.
                let index = try KconfigIndex.scan(tree: source.root)
                problems = KconfigCheck.check(requested: merge.requested, obtained: obtained, index: index, architecture: sourceArch)
                abiProblems = KernelRequirements.problems(board.toolchain, board: board, obtained: obtained, fragments: merge.requested, index: index, architecture: sourceArch)
            }
            let errors = problems.filter { !$0.isOptional }.map(\.description) + abiProblems
            if !errors.isEmpty {
                throw BuildError.kernelConfig(problems: errors, config: config, log: log)
            }
            try await ProcessRunner.logged(make(source, ["savedefconfig"]), log: log, onLine: progress.update)
            let warnings = problems.map(\.description)
            for warning in warnings { progress.note("warning: \(warning)") }
            overrides = merge.overrides.map(\.description)
            progress.end("all \(merge.requested.count) requested options present")
            return StageWork(notes: warnings)
        } }
        return KernelConfiguration(source: source, buildDirectory: linuxDirectory, config: config, defconfig: defconfig,
                                   warnings: outcome.notes, overrides: overrides, key: key.value, reused: !outcome.ran)
    }

    /// What the base config is made from: the tree, the compiler, ARCH and the base's name.
    func baseKey(_ stage: String, _ source: SourceTree) -> StageKey {
        var key = StageKey()
        key.add("stage", stage)
        key.add(source: source)
        key.add("toolchain", environment.toolchain.versionLine + environment.toolchain.crossCompile)
        key.add("arch", board.toolchain.kernelArch)
        key.add("base", board.board.kernel.baseConfig)
        return key
    }

    /// `make BASE` (tinyconfig: two Kconfig runs, about 2 s) into `.config`, or its kept result. The base config
    /// depends only on the tree, ARCH, the base's name and the compiler Kconfig probes, so a fragment edit merges
    /// onto the kept copy instead of making it again. Only for a tree named by its archive's sha256: a folder of
    /// the user's own may have had its Kconfig files edited.
    func baseConfig(_ source: SourceTree, to config: URL, log: URL) async throws {
        guard source.sha256 != nil else {
            return try await ProcessRunner.logged(make(source, [board.board.kernel.baseConfig]), log: log, onLine: environment.progress.update)
        }
        let key = baseKey("kernel-base-1", source)
        let kept = linuxDirectory.appendingPathComponent(".bspgen-base-\(key.value.prefix(16)).config")
        if FileManager.default.fileExists(atPath: kept.path) {
            try AtomicFile.copy(kept, to: config)
            return
        }
        try await ProcessRunner.logged(make(source, [board.board.kernel.baseConfig]), log: log, onLine: environment.progress.update)
        try AtomicFile.copy(config, to: kept)
    }

    /// The kernel image and the board's device trees, built incrementally in the kept build directory.
    public func build(_ configuration: KernelConfiguration, force: Bool = false) async throws -> KernelArtifacts {
        let progress = environment.progress
        let kernel = board.board.kernel
        let image = linuxDirectory.appendingPathComponent("arch/\(sourceArch)/boot/\(kernel.image.rawValue)")
        let deviceTrees = (kernel.deviceTrees ?? []).map { linuxDirectory.appendingPathComponent("arch/\(sourceArch)/boot/dts/\($0)") }
        var key = StageKey()
        key.add("stage", "kernel-image-2")
        key.add("kernel config", configuration.key)
        try key.addFile("config", configuration.config)
        key.add("targets", ([kernel.image.rawValue] + (kernel.deviceTrees ?? [])).joined(separator: " "))
        key.add("epoch", String(environment.sourceDateEpoch))
        if needsSymbols { key.add("dtc", "-@") }
        // The board's own: boards sharing the folder build different device trees in it.
        var stage = Stage("kernel image", key: key, record: environment.buildDirectory.appendingPathComponent(".bspgen-kernel-image.json"),
                          outputs: [image] + deviceTrees, logName: "kernel-build")
        stage.forced = force ? "forced" : nil
        stage.skipNote = "configuration unchanged"
        let outcome = try await withFolderLock { try await environment.run(stage) {
            let log = environment.log(stage.logName)
            try? FileManager.default.removeItem(at: log)
            let wrappers = try environment.compilerWrappers(stage: "kernel-build")
            progress.begin("kernel image", "make -j\(environment.jobs) \(kernel.image.rawValue) (\(wrappers.summary))")
            // Kbuild's own dependency tracking in the kept build folder decides what to recompile.
            try await ProcessRunner.logged(make(configuration.source, [kernel.image.rawValue] + (kernel.deviceTrees ?? []),
                                                jobs: environment.jobs, wrappers: wrappers),
                                           log: log, onLine: progress.update)
            let size = (try? FileManager.default.attributesOfItem(atPath: image.path)[.size] as? NSNumber)?.intValue ?? 0
            let ccache = wrappers.ccacheSummary()
            progress.end("\(kernel.image.rawValue) \(size / 1024) KiB" + (ccache.map { ", \($0)" } ?? ""))
            return StageWork(detail: ccache.map { "\(wrappers.summary): \($0)" } ?? wrappers.summary)
        } }
        return KernelArtifacts(image: image, deviceTrees: deviceTrees, reused: !outcome.ran)
    }
}

extension KernelBuilder {
    /// `make menuconfig` on the board's build directory, to run attached to the terminal.
    public func menuconfigCommand(_ configuration: KernelConfiguration) -> Command {
        make(configuration.source, ["menuconfig"])
    }
}

/// The kernel options a board cannot run without, checked against its final config before anything is compiled:
/// its toolchain's (`kernel_requires`: a hard-float BusyBox on a kernel without FP support dies at its first float
/// instruction) and its own choices' (an xz initramfs needs `CONFIG_RD_XZ`, or the kernel finds no /init).
enum KernelRequirements {
    /// `fragments`: what the board's fragments asked for, so that a line turning a required option off is named.
    static func problems(_ toolchain: Toolchain, board: ResolvedBoard? = nil, obtained: KconfigFile, fragments: [KconfigAssignment] = [],
                         index: KconfigIndex?, architecture: String) -> [String] {
        let requirements = (toolchain.kernelRequires ?? []).map { ($0, "toolchain \(toolchain.name) needs it") }
            + (board?.kernelRequires ?? []).map { ($0, "board \(board?.name ?? "") needs it") }
        let requested = requirements.map { requirement, _ in
            KconfigAssignment(symbol: requirement.symbol, value: .tristate(requirement.resolvedValue == "y" ? .yes : requirement.resolvedValue == "m" ? .module : .no),
                              origin: KconfigOrigin(file: requirement.file ?? "toolchains/\(toolchain.name).yaml", line: requirement.line ?? 1))
        }
        return KconfigCheck.check(requested: requested, obtained: obtained, index: index, architecture: architecture).map { problem in
            let (requirement, who) = requirements.first { $0.0.symbol == problem.symbol } ?? (nil, "")
            let culprit = fragments.last { $0.symbol == problem.symbol && !$0.value.isSame(as: problem.requested) }
            return problem.description + (culprit.map { "\n  \($0.origin) asks for \($0.value == .tristate(.no) ? "it off" : "CONFIG_\($0.symbol)=\($0.value)")" } ?? "")
                + "\n  \(who): \(requirement?.why ?? "")"
                + "\n  hint: add CONFIG_\(problem.symbol)=\(problem.requested) to a kernel fragment of the board"
        }
    }
}

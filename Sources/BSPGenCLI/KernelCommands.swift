import ArgumentParser
import BoardModel
import Pipeline
import Foundation
import Host
import Kconfig
import UserInput

/// Options shared by every command that builds something for a board.
struct BuildOptions: ParsableArguments {
    @OptionGroup var project: ProjectOptions
    @OptionGroup var workspaceOptions: WorkspaceOptions

    @Option(name: .shortAndLong, help: "Parallel jobs (default: the number of CPUs), shared through one make jobserver by every make (and boot) of the run. For `build` and `test` of several boards: up to N boards build at once and share them.")
    var jobs: Int?

    @Flag(help: "Only print stage results, no live progress line.")
    var quiet = false

    @Flag(help: "Compile without ccache (by default ccache is used when installed; it never changes the outputs).")
    var noCcache = false

    @Option(help: ArgumentHelp("Spread the kernel's and BusyBox's compiles over these distcc hosts (DISTCC_HOSTS syntax, e.g. 'localhost/2 build1/8').",
                               valueName: "HOSTS"))
    var distcc: String?

    /// `progressPrefix` labels every progress line (for boards built side by side), which also turns off the live line.
    /// `jobserver`: shared with the other boards of the run; by default the board gets one of its own.
    func environment(_ boardName: String, jobs makeJobs: Int? = nil, jobserver: Jobserver? = nil,
                     progressPrefix: String? = nil) async throws -> BuildEnvironment {
        let board = try project.board(boardName)
        let toolchain = try await ToolchainResolver.resolve(board.toolchain, toolchainDirectory: workspaceOptions.toolchainDirectoryURL)
        let terminal = quiet || progressPrefix != nil ? false : isatty(STDERR_FILENO) != 0
        let workspace = workspaceOptions.workspace
        ProcessGroupRegistry.shared.use(directory: workspace.running)
        // Until this process ends: `bspgen cache gc` waits for no build.
        try CacheUse.holdShared(workspace)
        return BuildEnvironment(board: board, workspace: workspace, toolchain: toolchain,
                                progress: ProgressLine(isTerminal: terminal, prefix: progressPrefix),
                                jobs: makeJobs ?? jobserver?.tokens ?? jobs ?? ProcessInfo.processInfo.activeProcessorCount, jobserver: jobserver,
                                compilers: CompilerOptions(ccache: !noCcache, distccHosts: distcc))
    }
}

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config",
        abstract: "Configure a board's kernel: base config + fragments + olddefconfig, then prove every requested option survived.")

    @OptionGroup var options: BuildOptions

    @Argument(help: "Board name.")
    var board: String

    @Option(name: .customLong("fragment"), help: "An extra fragment for this run only (repeatable), applied after the board's.")
    var fragments: [String] = []

    @Flag(help: "Print JSON: the config's and defconfig's paths, the fragment lines that overrode earlier ones and the optional options dropped.")
    var json = false

    func run() async throws {
        // Every extra fragment is read and parsed before anything else: a FIFO, a device or a bad line is an error
        // now, not after the kernel source is unpacked.
        let extra = try fragments.map { path in
            let url = URL(fileURLWithPath: path).standardizedFileURL
            _ = try KconfigFile.load(url, name: path)
            return url
        }
        let environment = try await options.environment(board)
        let configuration = try await environment.withBoardLock {
            try await KernelBuilder(environment: environment).configure(extraFragments: extra, force: !extra.isEmpty)
        }
        if json {
            return try printJSON(["board": .init(board), "config": .init(configuration.config.path), "defconfig": .init(configuration.defconfig.path),
                                  "overrides": .init(configuration.overrides), "warnings": .init(configuration.warnings)] as [String: JSONValue])
        }
        for override in configuration.overrides { print("note: \(override)") }
        // Left in the build folder: out/BOARD is written whole by the build, with a manifest of every file in it.
        print("kernel config: \(configuration.config.path)")
        print("minimal defconfig: \(configuration.defconfig.path)")
        print("`bspgen build \(board)` puts them into \(environment.workspace.output(board).path) with the other artifacts")
    }
}

struct KernelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kernel",
        abstract: "Configure and build a board's kernel image and device trees (incremental, in the cached build directory).")

    @OptionGroup var options: BuildOptions

    @Argument(help: "Board name.")
    var board: String

    @Flag(help: "Print JSON: the kernel image's and device trees' paths.")
    var json = false

    func run() async throws {
        let environment = try await options.environment(board)
        let builder = KernelBuilder(environment: environment)
        let artifacts = try await environment.withBoardLock { try await builder.build(try await builder.configure()) }
        if json {
            return try printJSON(["board": .init(board), "image": .init(artifacts.image.path), "deviceTrees": .init(artifacts.deviceTrees.map(\.path))]
                                 as [String: JSONValue])
        }
        print("kernel image: \(artifacts.image.path)")
        for dtb in artifacts.deviceTrees { print("device tree: \(dtb.path)") }
    }
}

struct MenuconfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "menuconfig",
        abstract: "Open menuconfig on the board's kernel, boot loader or BusyBox config, then write what changed back into the board's fragment.")

    @OptionGroup var options: BuildOptions

    @Argument(help: "Board name.")
    var board: String

    @Option(help: "Which configuration: kernel, bootloader or busybox.")
    var component: String = ConfigurableComponent.Kind.kernel.rawValue

    @Flag(help: "Print the changes as fragment lines without writing them.")
    var print = false

    @Option(help: "Fragment file to write into (default: the board's last fragment of that component).")
    var fragment: String?

    func run() async throws {
        guard let kind = ConfigurableComponent.Kind(rawValue: component) else {
            throw ValidationError("--component \(component): expected one of \(ConfigurableComponent.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        // Before menuconfig: a link or a device named by --fragment would be replaced, not written (see OutputPath).
        if let fragment, !print { try OutputPath.checkFile(fragment) }
        let environment = try await options.environment(board)
        let prepared = try await ConfigurableComponent.prepare(kind, environment: environment)
        let before = try KconfigFile.load(prepared.config, name: "before")
        let saved = try Data(contentsOf: prepared.config)
        // The board's files are the truth: the build directory goes back to the board's config, and a change
        // reaches the next build through the fragment only (a shared boot loader or BusyBox build stays as it was).
        defer { try? AtomicFile.write(saved, to: prepared.config) }
        let result = try await ProcessRunner.interactive(prepared.menuconfig)
        guard result.succeeded else { throw CommandFailure(message: "menuconfig ended with \(result.statusText); nothing written") }
        let after = try KconfigFile.load(prepared.config, name: "after")
        let changes = KconfigDiff.changes(from: before, to: after)
        if changes.isEmpty {
            Swift.print("no changes")
            return
        }
        if print {
            changes.forEach { Swift.print($0.line) }
            return
        }
        guard let target = fragment.map({ URL(fileURLWithPath: $0) }) ?? prepared.fragments.last else {
            throw ValidationError("the board has no \(kind.rawValue) fragment to write into; pass --fragment FILE")
        }
        let exists = FileManager.default.fileExists(atPath: target.path)
        let text = exists ? String(decoding: try UserFile.read(target.path, limit: UserFile.Limit.text), as: UTF8.self) : ""
        try AtomicFile.write(try KconfigDiff.apply(changes, toFragment: text, name: target.path), to: target)
        Swift.print("wrote \(changes.count) change(s) to \(target.path):")
        changes.forEach { Swift.print("  \($0.line)") }
    }
}

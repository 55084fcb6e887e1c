import BoardModel
import Foundation
import Host

/// What every stage of one board's build needs: the board, where to write, the compiler, how to report.
public struct BuildEnvironment: Sendable {
    public var board: ResolvedBoard
    public var workspace: Workspace
    public var toolchain: HostToolchain
    public var progress: ProgressLine
    public var jobs: Int
    /// Stamped on everything that has no time of its own (initramfs entries, kernel build timestamp).
    public var sourceDateEpoch: Int64
    /// ccache and distcc for the kernel's and BusyBox's compiles.
    public var compilers: CompilerOptions
    /// What each stage did and why, for `--explain`.
    public let journal = StageJournal()
    /// Kernel fragments for this build only (`build --kernel-fragment`), merged after the board's. They are not part
    /// of the kernel folder's identity, so the build with them, and the next one without, rebuild incrementally.
    public var extraKernelFragments: [URL] = []
    /// The board's kernel fragments, then this build's extra ones.
    public var kernelFragments: [URL] { board.kernelFragments + extraKernelFragments }
    /// The cache's shared folders this build uses (see `CacheInventory`).
    public let cacheUses = CacheUses()
    /// Shared by every make of the build (and of the other boards built at once): `jobs` tokens in all.
    public let jobserver: Jobserver?

    /// `jobserver`: the run's, when several boards share it; by default one of `jobs` tokens for this board.
    public init(board: ResolvedBoard, workspace: Workspace, toolchain: HostToolchain, progress: ProgressLine,
                jobs: Int = ProcessInfo.processInfo.activeProcessorCount, jobserver: Jobserver? = nil, sourceDateEpoch: Int64? = nil,
                compilers: CompilerOptions = CompilerOptions()) {
        self.jobserver = jobserver ?? Jobserver(tokens: max(1, jobs))
        self.board = board
        self.compilers = compilers
        self.workspace = workspace
        self.toolchain = toolchain
        self.progress = progress
        self.jobs = max(1, jobs)
        self.sourceDateEpoch = sourceDateEpoch ?? Self.sourceDateEpochFromEnvironment()
    }

    /// SOURCE_DATE_EPOCH when set, else a fixed date (2024-01-01), recorded in the manifest.
    public static func sourceDateEpochFromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int64 {
        environment["SOURCE_DATE_EPOCH"].flatMap { Int64($0) } ?? 1_704_067_200
    }

    public var buildDirectory: URL { workspace.build(board.name) }
    public func log(_ name: String) -> URL { workspace.logs(board.name).appendingPathComponent("\(name).log") }

    /// Runs `body` as the only build of this board on this cache: another process (or task) building the same
    /// board waits, then finds the results and skips what it can.
    public func withBoardLock<T>(_ body: () async throws -> T) async throws -> T {
        try await FileLock.withLock(workspace.lock("board-\(board.name)"),
                                    onWait: { progress.note("[\(board.name)] waiting for another build of this board") }, body)
    }

    /// `make` of a Kbuild tree (BusyBox, U-Boot) into `buildDirectory`, cross-compiling with the board's toolchain
    /// through `wrappers`, with the reproducible-build variables and the tree's own `variables`.
    func outOfTreeMake(_ source: SourceTree, _ targets: [String], in buildDirectory: URL, jobs: Int?, wrappers: CompilerWrappers,
                       variables extra: [String: String]) -> Command {
        let arguments = ["-C", source.root.path, "O=\(buildDirectory.path)", "CROSS_COMPILE=\(toolchain.crossCompile)"]
        // An exported CROSS_COMPILE of the user's would otherwise win in sub-makes.
        var variables = ["SOURCE_DATE_EPOCH": String(sourceDateEpoch), "LC_ALL": "C", "CROSS_COMPILE": toolchain.crossCompile]
        variables.merge(extra) { _, tree in tree }
        variables.merge(wrappers.variables) { _, wrapper in wrapper }
        return makeCommand(arguments + targets, environment: variables, jobs: jobs)
    }

    /// Runs `body` holding one of the run's jobs (a QEMU boot): with the makes of boards built at once, never more
    /// than `jobs` busy CPUs.
    public func withJob<T>(_ body: () async throws -> T) async throws -> T {
        guard let jobserver else { return try await body() }
        return try await jobserver.withToken(body)
    }

    /// A make of one of the build's trees: a client of the build's jobserver, or with `-j jobs` of its own when
    /// there is none.
    func makeCommand(_ arguments: [String], environment variables: [String: String], jobs: Int?) -> Command {
        var command = Command("make", arguments + (jobserver == nil ? jobs.map { ["-j\($0)"] } ?? [] : []), environment: variables)
        command.jobserver = jobserver
        return command
    }

    /// The compiler wrappers for one compile stage, whose ccache results go to `logs/<stage>.ccache`.
    func compilerWrappers(stage: String) throws -> CompilerWrappers {
        try CompilerWrappers.prepare(toolchain: toolchain, workspace: workspace, options: compilers,
                                     statsLog: workspace.logs(board.name).appendingPathComponent("\(stage).ccache"))
    }
}

public enum BuildError: Error, CustomStringConvertible {
    case kernelConfig(problems: [String], config: URL, log: URL)
    case missingOutput(what: String, path: String, log: URL)
    case wrongBinary(path: String, message: String)
    case deviceTree(file: String, message: String)
    case bootFile(name: String, message: String)
    case image(name: String, message: String)
    case bootloader(message: String)
    case kernelModules(message: String)
    /// Verified boot (`fit_image.signing`): the key, U-Boot's options, the signature.
    case signing(file: String, message: String, hint: String?)

    public var description: String {
        switch self {
        case let .kernelConfig(problems, config, log):
            return "Kconfig did not keep \(problems.count) option(s) the fragments (or the toolchain) asked for:\n"
                + problems.map { "  " + $0.replacingOccurrences(of: "\n", with: "\n  ") }.joined(separator: "\n")
                + "\n    resulting config: \(config.path)\n    log: \(log.path)"
                + "\n    hint: fix the fragment, or mark a line '# optional' if losing it is acceptable"
        case let .missingOutput(what, path, log):
            return "\(what) was not produced at \(path)\n    log: \(log.path)"
        case let .wrongBinary(path, message), let .deviceTree(path, message):
            return "\(path): \(message)"
        case let .bootFile(name, message):
            return "boot file \(name): \(message)"
        case let .image(name, message):
            return "image \(name): \(message)"
        case let .bootloader(message):
            return "bootloader: \(message)"
        case let .kernelModules(message):
            return "kernel modules: \(message)"
        case let .signing(file, message, hint):
            return "\(file): fit_image.signing: \(message)" + (hint.map { "\n    hint: \($0)" } ?? "")
        }
    }
}

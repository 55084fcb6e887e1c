import BoardModel
import Foundation
import Host

/// Whether compiles go through ccache and distcc.
public struct CompilerOptions: Sendable, Equatable {
    /// Use ccache when it is installed.
    public var ccache: Bool
    /// distcc's host list (DISTCC_HOSTS syntax), or nil for local compiles only.
    public var distccHosts: String?

    public init(ccache: Bool = true, distccHosts: String? = nil) {
        self.ccache = ccache
        self.distccHosts = distccHosts
    }
}

/// How make reaches the cross compiler. ccache and distcc are put in front of it by "masquerading": a folder
/// in the cache holds a link named `<CROSS_COMPILE>gcc` to ccache (or distcc), and that folder goes first on
/// make's PATH. The command lines Kbuild records in its `.cmd` files stay exactly what they are without
/// wrappers, so turning ccache on or off never makes Kbuild rebuild anything, and the outputs are the
/// compiler's own: ccache and distcc are not part of any stage key.
public struct CompilerWrappers: Sendable {
    /// Variables for make's environment (PATH, CCACHE_*, DISTCC_*); empty for plain compiles.
    public var variables: [String: String]
    /// Where ccache logs each compile's result, when ccache is used.
    public var statsLog: URL?
    /// "ccache", "distcc (HOSTS)", "ccache + distcc (HOSTS)" or "plain compiler", and why.
    public var summary: String

    public static let plain = CompilerWrappers(variables: [:], statsLog: nil, summary: "plain compiler")

    /// `statsLog` is the file ccache should log this stage's compiles to (removed first).
    public static func prepare(toolchain: HostToolchain, workspace: Workspace, options: CompilerOptions, statsLog: URL,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> CompilerWrappers {
        let path = environment["PATH"] ?? "/usr/bin:/bin"
        let ccache = options.ccache ? ProcessRunner.which("ccache", path: path) : nil
        var distcc: URL?
        if options.distccHosts != nil {
            guard let found = ProcessRunner.which("distcc", path: path) else {
                throw HostError.missingTool("distcc", install: aptInstallCommand(["distcc"]))
            }
            distcc = found
        }
        guard ccache != nil || distcc != nil else {
            return CompilerWrappers(variables: [:], statsLog: nil,
                                    summary: options.ccache ? "plain compiler (ccache is not installed)" : "plain compiler (--no-ccache)")
        }
        let compiler = toolchain.crossCompile + "gcc"
        guard !compiler.contains("/") else {
            // Masquerading needs the compiler found by name on PATH.
            return CompilerWrappers(variables: [:], statsLog: nil,
                                    summary: "plain compiler (ccache/distcc need the toolchain on PATH, not \(toolchain.crossCompile))")
        }
        let kind = [ccache.map { _ in "ccache" }, distcc.map { _ in "distcc" }].compactMap { $0 }.joined(separator: "+")
        let folder = workspace.wrappers.appendingPathComponent(kind, isDirectory: true)
        guard let tool = ccache ?? distcc else { return .plain }
        try link(folder.appendingPathComponent(compiler), to: tool)

        var variables = ["PATH": folder.path + ":" + path]
        var parts: [String] = []
        if ccache != nil {
            try? FileManager.default.removeItem(at: statsLog)
            variables["CCACHE_DIR"] = workspace.ccache.path
            // No CCACHE_BASEDIR: ccache would hand the compiler relative paths, which end up in __FILE__ strings
            // (WARN_ON, BUG) and make the image differ from one built without ccache. A user's own setting goes too.
            variables["CCACHE_BASEDIR"] = ""
            variables["CCACHE_STATSLOG"] = statsLog.path
            parts.append("ccache")
        }
        if let hosts = options.distccHosts, let distcc {
            variables["DISTCC_HOSTS"] = hosts
            // distcc keeps its state in ~/.distcc unless told otherwise; bspgen writes only in its cache.
            let state = workspace.cacheDirectory.appendingPathComponent("distcc", isDirectory: true)
            try? FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
            variables["DISTCC_DIR"] = state.path
            if ccache != nil { variables["CCACHE_PREFIX"] = distcc.path }
            parts.append("distcc (\(hosts))")
        }
        return CompilerWrappers(variables: variables, statsLog: ccache != nil ? statsLog : nil, summary: parts.joined(separator: " + "))
    }

    /// A symlink made under a temporary name and renamed, so concurrent builds never see it half made.
    private static func link(_ url: URL, to tool: URL) throws {
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: url.path)) == tool.path { return }
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UUID().uuidString.prefix(8))")
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: temporary.path, withDestinationPath: tool.path)
        } catch {
            throw HostError.fileSystem(path: url.path, message: "cannot make the compiler wrapper link: \(ErrorText.reason(error))")
        }
        try AtomicFile.replace(url, with: temporary)
    }

    /// ccache's results for the compiles logged in this stage's stats log, e.g. "ccache 530/540 hits (98%)".
    public func ccacheSummary() -> String? {
        guard let statsLog, let text = try? String(contentsOf: statsLog, encoding: .utf8) else { return nil }
        return CCacheStats(log: text).summary
    }
}

/// Counts from a ccache stats log (CCACHE_STATSLOG): one `# file` line per compile, then its counters.
public struct CCacheStats: Sendable, Equatable {
    public var hits = 0
    public var misses = 0
    /// Calls ccache could not cache (linking, preprocessing only, compiler checks).
    public var uncacheable = 0

    public init(log: String) {
        var counted = false
        for line in log.split(separator: "\n") {
            if line.hasPrefix("#") {
                counted = false
                continue
            }
            switch line {
            case "direct_cache_hit", "preprocessed_cache_hit": hits += 1; counted = true
            case "cache_miss": misses += 1; counted = true
            default:
                if !counted, !line.hasPrefix("local_storage"), !line.hasPrefix("remote_storage"), !line.contains("cache_miss") {
                    uncacheable += 1
                    counted = true
                }
            }
        }
    }

    public var summary: String {
        let total = hits + misses
        guard total > 0 else { return "ccache: no cacheable compiles" }
        return "ccache \(hits)/\(total) hits (\(Int((Double(hits) / Double(total) * 100).rounded()))%)"
    }
}

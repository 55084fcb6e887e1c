import BoardModel
import Foundation

/// A toolchain found on this host and checked to work.
public struct HostToolchain: Sendable, Encodable {
    public var name: String
    /// The full `CROSS_COMPILE` value, with a directory when the compiler is not on PATH.
    public var crossCompile: String
    public var gcc: String
    public var version: String
    /// `gcc --version`'s first line, for manifests.
    public var versionLine: String
    /// Where it was found: the CROSS_COMPILE environment variable, --toolchain-dir, or PATH.
    public var origin: String
}

public enum ToolchainResolver {
    /// Finds the board's compiler: an explicit `CROSS_COMPILE` in the environment wins, then `--toolchain-dir`,
    /// then PATH. The compiler must run, target the toolchain's architecture and be recent enough.
    public static func resolve(_ toolchain: Toolchain, toolchainDirectory: URL? = nil,
                               environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> HostToolchain {
        let install = aptInstallCommand(toolchain.debianPackages)
        var candidates: [(prefix: String, origin: String)] = []
        if let explicit = environment["CROSS_COMPILE"], !explicit.isEmpty { candidates.append((explicit, "CROSS_COMPILE environment variable")) }
        if let toolchainDirectory {
            for directory in [toolchainDirectory.appendingPathComponent("bin"), toolchainDirectory] {
                candidates.append((directory.appendingPathComponent(toolchain.crossCompile).path, "--toolchain-dir"))
            }
        }
        candidates.append((toolchain.crossCompile, "PATH"))

        for (prefix, origin) in candidates {
            if let reason = unsafeForMake(prefix) {
                throw HostError.toolchain(name: toolchain.name, message: "the CROSS_COMPILE prefix \(DescriptionText.quoted(prefix)) (from \(origin)) \(reason)",
                                          install: nil)
            }
            guard let gcc = ProcessRunner.which(prefix + "gcc", path: environment["PATH"]) else {
                if origin == "CROSS_COMPILE environment variable" {
                    throw HostError.toolchain(name: toolchain.name, message: "CROSS_COMPILE=\(prefix) is set but \(prefix)gcc is not an executable on PATH", install: nil)
                }
                continue
            }
            let versionOutput = try await ProcessRunner.checked(Command(gcc.path, ["--version"]))
            let version = try await ProcessRunner.checked(Command(gcc.path, ["-dumpfullversion"])).trimmingCharacters(in: .whitespacesAndNewlines)
            let target = try await ProcessRunner.checked(Command(gcc.path, ["-dumpmachine"])).trimmingCharacters(in: .whitespacesAndNewlines)
            guard target.hasPrefix(toolchain.arch) else {
                throw HostError.toolchain(name: toolchain.name, message: "\(gcc.path) (from \(origin)) builds for \(target), not \(toolchain.arch)",
                                          install: origin == "PATH" ? install : nil)
            }
            guard let found = GCCVersion(version), let minimum = GCCVersion(toolchain.minGCCVersion), found >= minimum else {
                throw HostError.toolchain(name: toolchain.name, message: "\(gcc.path) is GCC \(version); at least \(toolchain.minGCCVersion) is needed", install: install)
            }
            return HostToolchain(name: toolchain.name, crossCompile: prefix, gcc: gcc.path, version: version,
                                 versionLine: versionOutput.split(separator: "\n").first.map(String.init) ?? version, origin: origin)
        }
        throw HostError.toolchain(name: toolchain.name, message: "\(toolchain.crossCompile)gcc was not found on PATH", install: install)
    }

    /// Why `prefix` cannot go on make's command line as `CROSS_COMPILE=`, if it cannot: make expands `$(…)` in it
    /// (running `$(shell …)`), Kbuild splits it at white space, and a shell would read quotes and `;`.
    static func unsafeForMake(_ prefix: String) -> String? {
        if prefix.contains("$") { return "contains '$', which make would expand (a '$(shell …)' would run)" }
        if let bad = prefix.unicodeScalars.first(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .control
            || "'\"`\\;&|<>()#*?!{}[]".unicodeScalars.contains($0) }) {
            let shown = bad.properties.isWhitespace ? "white space" : bad.properties.generalCategory == .control ? DescriptionText.escape(bad) : "'\(bad)'"
            return "contains \(shown), which make or a shell would split or interpret"
        }
        return nil
    }
}

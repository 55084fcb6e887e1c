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
}

import BoardModel
import Foundation

/// A failure of something on the host: a missing tool, a failed command, a file that could not be written.
public enum HostError: Error, CustomStringConvertible, Equatable {
    /// A program is missing; `install` is the exact command that provides it.
    case missingTool(String, install: String?)
    /// A command exited non-zero; `log` holds its full output, `tail` its last lines.
    case commandFailed(command: String, status: String, log: URL?, tail: [String])
    case fileSystem(path: String, message: String)
    case checksumMismatch(file: String, expected: String, actual: String)
    case toolchain(name: String, message: String, install: String?)
    case source(description: String, message: String)

    public var description: String {
        switch self {
        case let .missingTool(tool, install):
            return "\(tool) is not installed" + (install.map { "; install it with: \($0)" } ?? "")
        case let .commandFailed(command, status, log, tail):
            var text = "command failed (\(status)): \(command)"
            if !tail.isEmpty { text += "\n" + tail.map { "    | " + $0 }.joined(separator: "\n") }
            if let log { text += "\n    full log: \(log.path)" }
            return text
        case let .fileSystem(path, message):
            return "\(path): \(message)"
        case let .checksumMismatch(file, expected, actual):
            return "checksum mismatch for \(file): expected sha256 \(expected), got \(actual); nothing was extracted"
                + "\n    hint: if the new file is the one you want, put its sha256 in the board file"
        case let .toolchain(name, message, install):
            return "toolchain \(name): \(message)" + (install.map { "\n    install it with: \($0)" } ?? "")
        case let .source(description, message):
            return "source \(description): \(message)"
        }
    }
}

/// The command a Debian user runs to get `packages`, safe to paste: the descriptions' checks admit only package
/// names, and anything else would still be quoted as one word for the shell.
public func aptInstallCommand(_ packages: [String]) -> String {
    "apt-get install -y --no-install-recommends " + packages.map { Words.isPackageRequest($0) ? $0 : shellQuote($0) }.joined(separator: " ")
}

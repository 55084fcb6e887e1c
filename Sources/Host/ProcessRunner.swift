import Foundation
import UserInput
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// A program to run: a name looked up on PATH or an absolute path, with its arguments and environment additions.
public struct Command: Sendable, CustomStringConvertible {
    public var executable: String
    public var arguments: [String]
    /// Added to (or, with nil, removed from) the inherited environment.
    public var environment: [String: String?]
    public var workingDirectory: URL?
    /// For a make: the run's jobserver, which it shares with every other make, instead of a `-j` of its own.
    public var jobserver: Jobserver?

    public init(_ executable: String, _ arguments: [String] = [], environment: [String: String?] = [:], workingDirectory: URL? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
    }

    /// Shell-quoted, so a user can paste it to reproduce a failure.
    public var description: String {
        let assignments = environment.sorted { $0.key < $1.key }.compactMap { key, value in value.map { "\(key)=\(shellQuote($0))" } }
        let prefix = workingDirectory.map { "cd \(shellQuote($0.path)) && " } ?? ""
        // Run by hand, the make gets the jobs it would have shared.
        let jobs = jobserver.map { ["-j\($0.tokens)"] } ?? []
        return prefix + (assignments + [executable] + arguments.map(shellQuote) + jobs).joined(separator: " ")
    }

    /// In a process group of its own, so that stopping it (cancellation: SIGTERM, then SIGKILL after 3 s) reaches
    /// everything it started too: make's compilers, a shell's children.
    var configuration: Configuration {
        var platformOptions = PlatformOptions()
        platformOptions.processGroupID = 0
        platformOptions.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: .seconds(3))]
        return configuration(platformOptions)
    }

    func configuration(_ platformOptions: PlatformOptions) -> Configuration {
        let updates = Dictionary(uniqueKeysWithValues: environment.map { (Environment.Key(stringLiteral: $0.key), $0.value) })
        return Configuration(executable: executable.hasPrefix("/") ? .path(FilePath(executable)) : .name(executable),
                             arguments: Arguments(arguments),
                             environment: .inherit.updating(updates),
                             workingDirectory: workingDirectory.map { FilePath($0.path) },
                             platformOptions: platformOptions)
    }
}

public func shellQuote(_ word: String) -> String {
    let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
    if !word.isEmpty, word.unicodeScalars.allSatisfy(safe.contains) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

public struct CommandResult: Sendable {
    public var exitCode: Int32?
    public var signal: Int32?
    /// Standard output and standard error, interleaved.
    public var output: String

    public var succeeded: Bool { exitCode == 0 }
    public var statusText: String { exitCode.map { "exit status \($0)" } ?? "killed by signal \(signal ?? 0)" }

    init(_ status: TerminationStatus, output: String) {
        switch status {
        case .exited(let code): exitCode = code
        case .signaled(let signal): self.signal = signal
        }
        self.output = output
    }
}

/// Every process bspgen starts goes through here.
public enum ProcessRunner {
    /// Runs to completion and returns everything it printed.
    public static func capture(_ command: Command, limit: Int = 64 << 20) async throws -> CommandResult {
        try await holdingToken(command) { launched in
            do {
                let result = try await run(launched.configuration, output: .string(limit: limit), error: .combinedWithOutput)
                return CommandResult(result.terminationStatus, output: result.standardOutput)
            } catch let error as SubprocessError {
                throw launchError(command, error)
            }
        }
    }

    /// A make with a jobserver runs as its client, holding a token for its first job while it runs.
    private static func holdingToken<T>(_ command: Command, _ body: (Command) async throws -> T) async throws -> T {
        guard let jobserver = command.jobserver else { return try await body(command) }
        return try await jobserver.withClient { try await body(jobserver.client(command)) }
    }

    /// Like `capture`, but a non-zero exit is an error that shows the output.
    @discardableResult
    public static func checked(_ command: Command) async throws -> String {
        let result = try await capture(command)
        guard result.succeeded else {
            throw HostError.commandFailed(command: command.description, status: result.statusText, log: nil,
                                          tail: Array(result.output.split(separator: "\n", omittingEmptySubsequences: false).suffix(20).map(String.init)))
        }
        return result.output
    }

    /// Runs with its output appended to `log`, calling `onLine` for each line (for a live progress line).
    /// `input` is fed to its standard input. A non-zero exit is an error naming the log and quoting its last lines.
    public static func logged(_ command: Command, log: URL, input: String? = nil, onLine: @Sendable (String) -> Void = { _ in }) async throws {
        let logFile = try LogFile(log)
        logFile.write("$ \(command)\n")
        let status: TerminationStatus = try await holdingToken(command) { launched in
            do {
                if let input {
                    return try await streamLines(launched, input: .string(input), to: logFile, onLine: onLine)
                }
                return try await streamLines(launched, input: .none, to: logFile, onLine: onLine)
            } catch let error as SubprocessError {
                throw launchError(command, error)
            }
        }
        let result = CommandResult(status, output: "")
        logFile.write("# \(result.statusText)\n")
        logFile.close()
        // A child stopped because bspgen was interrupted did not fail: the interruption is the news.
        try Task.checkCancellation()
        guard result.succeeded else {
            throw HostError.commandFailed(command: command.description, status: result.statusText + diskFullNote(log.deletingLastPathComponent()),
                                          log: log, tail: tail(of: log, lines: 25))
        }
    }

    /// A tool that meets a full disk says so in its own words, if at all (and its log may have lost them): when the
    /// file system of the build's logs is (nearly) full, the failure says that too.
    static func diskFullNote(_ folder: URL) -> String {
        var info = statvfs()
        guard statvfs(folder.path, &info) == 0 else { return "" }
        let free = UInt64(info.f_bavail) * UInt64(info.f_frsize)
        guard free < 1 << 20 else { return "" }
        return "; no space left on device: the file system of \(folder.path) has \(free >> 10) KiB free"
    }

    private static func streamLines(_ command: Command, input: some InputProtocol, to logFile: LogFile,
                                    onLine: @Sendable (String) -> Void) async throws -> TerminationStatus {
        try await run(command.configuration, input: input, output: .sequence, error: .combinedWithOutput) { execution in
            let group = execution.processIdentifier.value
            ProcessGroupRegistry.shared.add(group)
            defer { ProcessGroupRegistry.shared.remove(group) }
            for try await line in execution.standardOutput.strings(bufferingPolicy: .maxLineLength(64 * 1024)) {
                logFile.write(line.hasSuffix("\n") ? line : line + "\n")
                onLine(line.trimmingCharacters(in: .newlines))
            }
        }.terminationStatus
    }

    /// Runs attached to the user's terminal (menuconfig, an interactive QEMU console).
    public static func interactive(_ command: Command) async throws -> CommandResult {
        do {
            // Attached to the terminal: it stays in bspgen's process group, which the terminal's signals reach.
            let result = try await run(command.configuration(PlatformOptions()), input: .currentStandardInput,
                                       output: .currentStandardOutput, error: .currentStandardError)
            return CommandResult(result.terminationStatus, output: "")
        } catch let error as SubprocessError {
            throw launchError(command, error)
        }
    }

    /// The absolute path of `name` on PATH, if any.
    public static func which(_ name: String, path: String? = ProcessInfo.processInfo.environment["PATH"]) -> URL? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? URL(fileURLWithPath: name) : nil }
        for directory in (path ?? "").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    static func launchError(_ command: Command, _ error: SubprocessError) -> HostError {
        if which(command.executable) == nil { return .missingTool(command.executable, install: nil) }
        return .commandFailed(command: command.description, status: "could not start: \(error)", log: nil, tail: [])
    }

    static func tail(of file: URL, lines count: Int) -> [String] {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").suffix(count).map(String.init)
    }
}

/// An append-only log file, safe to write from the output-reading task.
final class LogFile: @unchecked Sendable {
    private let handle: FileHandle
    private let lock = NSLock()

    init(_ url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: url.path) { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
        do {
            handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
        } catch {
            throw HostError.fileSystem(path: url.path, message: "cannot open log: \(UserFile.reason(of: error))")
        }
    }

    func write(_ text: String) {
        lock.withLock { try? handle.write(contentsOf: Data(text.utf8)) }
    }

    func close() { lock.withLock { try? handle.close() } }
}

import Foundation
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// What a process started by `ProcessRunner.withInteractiveProcess` printed, as it arrives.
public enum ProcessOutputEvent: Sendable {
    case standardOutput([UInt8])
    case standardError([UInt8])
    /// Both output streams are closed: the process (and everything it started) is gone or let go of them.
    case ended
}

/// A process being talked to: write to its standard input, or kill it with everything it started.
/// Valid only inside the `withInteractiveProcess` body it is given to.
public struct InteractiveProcess: Sendable {
    public let processIdentifier: Int32
    private let execution: Execution<CustomWriteInput, SequenceOutput, SequenceOutput>
    private let command: Command

    fileprivate init(_ execution: Execution<CustomWriteInput, SequenceOutput, SequenceOutput>, command: Command) {
        self.execution = execution
        self.command = command
        processIdentifier = execution.processIdentifier.value
    }

    public func write(_ text: String) async throws(HostError) {
        do {
            _ = try await execution.standardInputWriter.write(text)
        } catch {
            throw HostError.commandFailed(command: command.description, status: "cannot write to its standard input: \(error)", log: nil, tail: [])
        }
    }

    /// SIGKILL to the whole process group; harmless when it already exited.
    public func kill() {
        try? execution.send(signal: .kill, toProcessGroup: true)
    }
}

extension ProcessRunner {
    /// Starts `command` in a session of its own with a pipe on its standard input, hands every chunk of its
    /// output to `onOutput` as it arrives, and runs `body` alongside it. `onOutput` is called synchronously from
    /// the reading tasks, so a slow consumer slows the process down instead of piling output up in memory.
    ///
    /// However `body` ends — returning, throwing, or its task being cancelled — the process group is killed
    /// before this returns: nothing started here outlives the call. Returns `body`'s result and how the
    /// process ended.
    public static func withInteractiveProcess<Result: Sendable>(
        _ command: Command,
        onOutput: @escaping @Sendable (ProcessOutputEvent) -> Void,
        body: (InteractiveProcess) async throws -> Result
    ) async throws -> (result: Result, status: CommandResult) {
        // A write to a child that just died must be an EPIPE error, not a signal that ends bspgen.
        signal(SIGPIPE, SIG_IGN)
        var platformOptions = PlatformOptions()
        // Its own session and process group, so that one signal reaches whatever it started too.
        platformOptions.createSession = true
        platformOptions.teardownSequence = [.send(signal: .kill, toProcessGroup: true, allowedDurationToNextStep: .seconds(1))]
        let configuration = command.configuration(platformOptions)
        do {
            let outcome = try await run(configuration, input: .inputWriter, output: .sequence, error: .sequence) { execution in
                let process = InteractiveProcess(execution, command: command)
                return try await withTaskGroup(of: Void.self, returning: Swift.Result<Result, any Error>.self) { group in
                    group.addTask {
                        await withTaskGroup(of: Void.self) { readers in
                            readers.addTask { await forward(execution.standardOutput, onOutput, as: ProcessOutputEvent.standardOutput) }
                            readers.addTask { await forward(execution.standardError, onOutput, as: ProcessOutputEvent.standardError) }
                        }
                        onOutput(.ended)
                    }
                    let result: Swift.Result<Result, any Error>
                    do { result = .success(try await body(process)) } catch { result = .failure(error) }
                    process.kill()
                    // The readers end once the process is gone: its exit cancels their pending reads.
                    await group.waitForAll()
                    return result
                }.get()
            }
            return (outcome.closureResult, CommandResult(outcome.terminationStatus, output: ""))
        } catch let error as SubprocessError {
            throw launchError(command, error)
        }
    }

    private static func forward(_ output: SubprocessOutputSequence, _ onOutput: @Sendable (ProcessOutputEvent) -> Void,
                                as event: ([UInt8]) -> ProcessOutputEvent) async {
        // A read error means the pipe is unusable; either way this stream has nothing more to say.
        do {
            for try await buffer in output {
                onOutput(event(buffer.withUnsafeBytes { Array($0) }))
            }
        } catch {}
    }
}

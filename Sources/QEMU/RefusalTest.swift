import Foundation
import Host

/// The verdict of a boot that the boot loader must refuse.
public struct RefusalReport: Sendable, Encodable {
    public let name: String
    public let passed: Bool
    /// What U-Boot had to say, as `ConsoleExpectation.summary` puts it.
    public let expected: String
    /// The console lines that said it.
    public let seen: [String]
    /// Why it did not pass.
    public let failure: String?
    public let totalSeconds: Double
    public let command: String
    /// The end of the console, for a failure; empty when it passed.
    public let lastConsoleLines: [String]
    public let log: String
}

extension QEMURunner {
    /// Boots a firmware that must not start any kernel: passes when the console shows `expectation`'s lines in
    /// order and the boot loader then answers a command at its prompt (its boot command has given up), without a
    /// kernel having started (`Starting kernel`, a kernel message, the board's banner). QEMU is stopped then.
    public static func refusalTest(_ commandLine: QEMUCommandLine, expectation: ConsoleExpectation, log: URL,
                                   timeout: Duration? = nil) async throws -> RefusalReport {
        let recorder = try ConsoleRecorder(log: log)
        defer { recorder.close() }
        let command = commandLine.command
        recorder.note("$ \(command)")
        recorder.note("expecting a refusal: \(expectation.name): \(expectation.summary)")
        let start = ContinuousClock.now
        let deadline = start + (timeout ?? .seconds(commandLine.timeoutSeconds))
        let outcome: (seen: [String], failure: String?)
        do {
            (outcome, _) = try await ProcessRunner.withInteractiveProcess(command, onOutput: { recorder.receive($0) }) { process in
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        while (try? await Task.sleep(for: .milliseconds(250))) != nil { recorder.tick() }
                    }
                    var conversation = RefusalConversation(process: process, recorder: recorder, board: commandLine.board)
                    let outcome = await conversation.run(expectation, deadline: deadline)
                    group.cancelAll()
                    return outcome
                }
            }
        } catch let error as HostError {
            throw QEMUError.cannotStart(command: command.description, reason: error.description)
        }
        try Task.checkCancellation()
        recorder.note(outcome.failure.map { "verdict: FAILED: \($0)" } ?? "verdict: passed (refused, no kernel started)")
        return RefusalReport(name: expectation.name, passed: outcome.failure == nil, expected: expectation.summary, seen: outcome.seen,
                             failure: outcome.failure, totalSeconds: (ContinuousClock.now - start).inSeconds, command: command.description,
                             lastConsoleLines: outcome.failure == nil ? [] : recorder.lastConsoleLines, log: log.path)
    }
}

/// Follows U-Boot's console for a refusal, then proves U-Boot is back at its prompt by having it echo a marker.
struct RefusalConversation {
    let process: InteractiveProcess
    let recorder: ConsoleRecorder
    let board: String
    private var events: AsyncStream<ConsoleEvent>.Iterator

    /// Lines that mean a kernel started: what a refusal must never show.
    static let kernelStarted = ["Starting kernel", "Booting Linux on physical CPU", "Linux version "]
    /// A marker sent while U-Boot may still be busy is read when its prompt comes, unless something read it first
    /// (a Ctrl-C check, the EFI boot manager asking the terminal for its size): then it is sent again after this long.
    static let resendInterval = Duration.seconds(2)

    init(process: InteractiveProcess, recorder: ConsoleRecorder, board: String) {
        self.process = process
        self.recorder = recorder
        self.board = board
        events = recorder.events.makeAsyncIterator()
    }

    mutating func run(_ expectation: ConsoleExpectation, deadline: ContinuousClock.Instant) async -> (seen: [String], failure: String?) {
        var seen: [String] = []
        let banner = "=== bspgen: board \(board) is up"
        func started(_ line: String) -> Bool { line.contains(banner) || Self.kernelStarted.contains(where: line.contains) }
        while seen.count < expectation.lines.count {
            switch await nextLine(before: deadline) {
            case .line(let line):
                if started(line) { return (seen, "a kernel started: \(line)") }
                if expectation.advance(seen.count, with: line) > seen.count { seen.append(line) }
            case .ended: return (seen, "QEMU ended before the refusal was seen (\(seen.count) of \(expectation.lines.count) lines)")
            case .timedOut: return (seen, "timed out waiting for: \(expectation.lines[seen.count].joined(separator: " … "))")
            }
        }
        var attempt = 0
        while true {
            attempt += 1
            // Quoted, so that the echo of the typed command line is never the marker itself.
            let marker = "BSPGEN-UBOOT-PROMPT-\(attempt)"
            do {
                try await process.write("echo BSPGEN-UBOOT-\"PROMPT\"-\(attempt)\n")
            } catch {
                return (seen, "QEMU ended before U-Boot answered at its prompt")
            }
            let resend = min(deadline, .now + Self.resendInterval)
            while true {
                switch await nextLine(before: resend) {
                case .line(let line):
                    if started(line) { return (seen, "a kernel started after the refusal: \(line)") }
                    if line.trimmingCharacters(in: .whitespaces).hasPrefix("BSPGEN-UBOOT-PROMPT-") {
                        seen.append("U-Boot answered at its prompt (\(marker))")
                        return (seen, nil)
                    }
                    continue
                case .ended: return (seen, "QEMU ended before U-Boot answered at its prompt")
                case .timedOut: break
                }
                break
            }
            if .now >= deadline { return (seen, "U-Boot did not come back to its prompt: its boot command is still running or hangs") }
        }
    }

    enum Next { case line(String), ended, timedOut }

    private mutating func nextLine(before deadline: ContinuousClock.Instant) async -> Next {
        while true {
            if .now >= deadline { return .timedOut }
            switch await events.next() {
            case .line(let line, _)?: return .line(line)
            case .tick?: continue
            case .ended?, nil: return .ended
            }
        }
    }
}

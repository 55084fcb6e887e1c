import Foundation
import Host

public struct BootTestOptions: Sendable {
    /// The start of the line the guest's init prints once it is up; by default that of bspgen's init,
    /// `=== bspgen: board <name> is up`.
    public var bannerPrefix: String?
    /// From start to the end of the checks; by default the board's `qemu.timeout`, else 300 s (60 s with KVM).
    public var timeout: Duration?
    /// How long QEMU may take to exit after `poweroff`.
    public var poweroffGrace: Duration
    /// Asked after `uname -m` and `/proc/cmdline`, e.g. properties of the device tree the guest booted with.
    public var extraChecks: [GuestCheck]
    /// Lines the console must show before the banner (the boot loader checking a signature), each a check.
    public var consoleExpectations: [ConsoleExpectation]
    /// A console line containing one of these before the banner ends the boot as refused by the boot loader.
    public var refusalLines: [String]

    public init(bannerPrefix: String? = nil, timeout: Duration? = nil, poweroffGrace: Duration = .seconds(30),
                extraChecks: [GuestCheck] = [], consoleExpectations: [ConsoleExpectation] = [], refusalLines: [String] = []) {
        self.bannerPrefix = bannerPrefix
        self.timeout = timeout
        self.poweroffGrace = poweroffGrace
        self.extraChecks = extraChecks
        self.consoleExpectations = consoleExpectations
        self.refusalLines = refusalLines
    }
}

/// A shell command for the guest's console and the output it must give (surrounding white space ignored).
public struct GuestCheck: Sendable, Equatable, Codable {
    public var name: String
    public var command: String
    public var expected: String

    public init(name: String, command: String, expected: String) {
        self.name = name
        self.command = command
        self.expected = expected
    }
}

public enum QEMURunner {
    /// Boots headless and talks to the guest on its console: waits for the banner, checks `uname -m` against
    /// `expectedMachine` and `/proc/cmdline` against the board's command line, then powers off and expects
    /// QEMU to exit. Every console byte goes to `log`. QEMU never outlives this call, cancellation included.
    /// Throws only when QEMU cannot be run at all; a guest that fails is a report with a `failure`.
    public static func bootTest(_ commandLine: QEMUCommandLine, expectedMachine: String, log: URL,
                                options: BootTestOptions = BootTestOptions()) async throws -> BootReport {
        let recorder = try ConsoleRecorder(log: log)
        defer { recorder.close() }
        let command = commandLine.command
        recorder.note("$ \(command)")
        let timeout = options.timeout ?? .seconds(commandLine.timeoutSeconds)
        let start = ContinuousClock.now
        let (outcome, status): (Conversation.Outcome, CommandResult)
        do {
            (outcome, status) = try await ProcessRunner.withInteractiveProcess(command, onOutput: { recorder.receive($0) }) { process in
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        while (try? await Task.sleep(for: .milliseconds(250))) != nil { recorder.tick() }
                    }
                    var conversation = Conversation(process: process, recorder: recorder, start: start)
                    let outcome = await conversation.run(
                        banner: options.bannerPrefix ?? "=== bspgen: board \(commandLine.board) is up",
                        checks: [("uname -m", "uname -m", expectedMachine), ("/proc/cmdline", "cat /proc/cmdline", commandLine.cmdline)]
                            + options.extraChecks.map { ($0.name, $0.command, $0.expected) },
                        deadline: start + timeout, poweroffGrace: options.poweroffGrace,
                        expectations: options.consoleExpectations, refusalLines: options.refusalLines)
                    group.cancelAll()
                    return outcome
                }
            }
        } catch let error as HostError {
            throw cannotStart(commandLine, error)
        }
        try Task.checkCancellation()
        recorder.note("QEMU ended: \(status.statusText)")

        var checks = outcome.checks
        // A guest that powered off leaves QEMU with status 0; anything else is QEMU failing on the way out.
        if let poweroff = checks.firstIndex(where: { $0.name == Conversation.poweroffCheck && $0.passed }), !status.succeeded {
            checks[poweroff].obtained = "exited with \(status.statusText)"
            checks[poweroff].passed = false
        }
        let failure: BootFailure? = switch outcome.stop {
        case nil: checks.first { !$0.passed }.map { .checkFailed(check: $0.name, expected: $0.expected, obtained: $0.obtained ?? "") }
        case .failure(let failure)?: failure
        case .ended?: .exitedEarly(status: status.statusText, stderr: recorder.lastErrorLines)
        case .cancelled?: throw CancellationError()
        }
        if let failure { recorder.note("verdict: FAILED: \(failure)") } else { recorder.note("verdict: passed") }
        return BootReport(board: commandLine.board, command: command.description, accelerator: commandLine.accelerator,
                          passed: failure == nil, failure: failure, banner: outcome.banner,
                          secondsToBanner: outcome.bannerTime.map { ($0 - start).inSeconds },
                          totalSeconds: (ContinuousClock.now - start).inSeconds, checks: checks,
                          exitStatus: status.statusText, lastConsoleLines: failure == nil ? [] : recorder.lastConsoleLines,
                          log: log.path,
                          milestones: recorder.milestones.map { BootMilestoneTime(name: $0.milestone.rawValue, seconds: ($0.at - start).inSeconds) })
    }

    /// Boots on the user's terminal; Ctrl-A X quits.
    public static func interactive(_ commandLine: QEMUCommandLine) async throws -> CommandResult {
        do {
            return try await ProcessRunner.interactive(commandLine.command)
        } catch let error as HostError {
            throw cannotStart(commandLine, error)
        }
    }

    private static func cannotStart(_ commandLine: QEMUCommandLine, _ error: HostError) -> QEMUError {
        var reason = error.description
        if case .missingTool = error {
            reason += commandLine.qemuPackage.map { "; install it with: " + aptInstallCommand([$0]) }
                ?? "; 'bspgen doctor \(commandLine.board)' names the Debian package to install"
        }
        return QEMUError.cannotStart(command: commandLine.command.description, reason: reason)
    }
}

extension Duration {
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// The exchange with the guest's shell over the console.
struct Conversation {
    enum Stop: Error, Equatable {
        case failure(BootFailure)
        /// QEMU's output ended: an early exit unless a poweroff was expected.
        case ended
        case cancelled
    }

    struct Outcome: Sendable {
        var stop: Stop?
        var banner: String?
        var bannerTime: ContinuousClock.Instant?
        var checks: [BootCheck] = []
    }

    let process: InteractiveProcess
    let recorder: ConsoleRecorder
    let start: ContinuousClock.Instant
    private var events: AsyncStream<ConsoleEvent>.Iterator
    private var attempts = 0

    static let poweroffCheck = "poweroff"

    /// A lost command (sent before the shell read its terminal) is sent again after this long.
    static let resendInterval = Duration.seconds(5)

    init(process: InteractiveProcess, recorder: ConsoleRecorder, start: ContinuousClock.Instant) {
        self.process = process
        self.recorder = recorder
        self.start = start
        events = recorder.events.makeAsyncIterator()
    }

    mutating func run(banner prefix: String, checks: [(name: String, command: String, expected: String)],
                      deadline: ContinuousClock.Instant, poweroffGrace: Duration,
                      expectations: [ConsoleExpectation] = [], refusalLines: [String] = []) async -> Outcome {
        var outcome = Outcome()
        var progress = expectations.map { _ in (matched: 0, lines: [String]()) }
        do throws(Stop) {
            while outcome.banner == nil {
                guard case let (line, time)? = try await nextLine(before: deadline) else { throw timeout("the banner '\(prefix)'", deadline) }
                if line.contains(prefix) { (outcome.banner, outcome.bannerTime) = (line, time) }
                for (index, expectation) in expectations.enumerated() where expectation.advance(progress[index].matched, with: line) > progress[index].matched {
                    progress[index].matched += 1
                    progress[index].lines.append(line.trimmingCharacters(in: .whitespaces))
                }
                if refusalLines.contains(where: line.contains) { throw .failure(.bootLoaderRefused(line: line)) }
            }
            for (expectation, found) in zip(expectations, progress) {
                outcome.checks.append(BootCheck(name: expectation.name, expected: expectation.summary,
                                                obtained: found.lines.isEmpty ? "not on the console before the banner" : found.lines.joined(separator: " / "),
                                                passed: found.matched == expectation.lines.count))
            }
            for check in checks {
                let answer = try await ask(check.command, before: deadline)
                let obtained = answer.trimmingCharacters(in: .whitespacesAndNewlines)
                outcome.checks.append(BootCheck(name: check.name, expected: check.expected, obtained: obtained,
                                                passed: obtained == check.expected.trimmingCharacters(in: .whitespaces)))
            }
            try await powerOff(within: poweroffGrace, outcome: &outcome)
        } catch .failure(let failure) where recorder.fatal != nil {
            outcome.stop = .failure(failure)
            await collectTrailingLines()
        } catch {
            outcome.stop = error
        }
        return outcome
    }

    /// Sends `command` between two marker lines and returns what it printed between them. The markers are
    /// quoted in the command so that the terminal's echo of the command line never equals (or, wrapped, starts with)
    /// a marker. Each line of the answer carries a prefix, so that kernel messages printed on the console meanwhile
    /// (a clock source switching, a driver probing late) are not taken for the command's output.
    private mutating func ask(_ command: String, before deadline: ContinuousClock.Instant) async throws(Stop) -> String {
        var outstanding: Set<Int> = []
        var answering: Int?
        var answer: [String] = []
        while true {
            attempts += 1
            outstanding.insert(attempts)
            try await send("echo BSPGEN-BEGIN-\"\(attempts)\"; { \(command); } 2>&1 | sed 's/^/BSPGEN-OUT-'\"\(attempts)\"':/'; echo BSPGEN-END-\"\(attempts)\"\n")
            let resend = min(deadline, .now + Self.resendInterval)
            while case let (line, _)? = try await nextLine(before: resend) {
                let marker = line.trimmingCharacters(in: .whitespaces)
                if let id = answering {
                    if marker == "BSPGEN-END-\(id)" { return answer.joined(separator: "\n") }
                    let prefix = "BSPGEN-OUT-\(id):"
                    if answer.count < 1000, marker.hasPrefix(prefix) { answer.append(String(marker.dropFirst(prefix.count))) }
                } else if let id = outstanding.first(where: { marker == "BSPGEN-BEGIN-\($0)" }) {
                    answering = id
                }
            }
            if .now >= deadline { throw timeout("the answer to '\(command)'", deadline) }
        }
    }

    private mutating func powerOff(within grace: Duration, outcome: inout Outcome) async throws(Stop) {
        let sent = ContinuousClock.now
        try await send("poweroff\n")
        let expected = "QEMU exits within \(grace.components.seconds) s"
        do throws(Stop) {
            while try await nextLine(before: sent + grace) != nil {}
        } catch .ended {
            let obtained = String(format: "exited after %.1f s", (ContinuousClock.now - sent).inSeconds)
            outcome.checks.append(BootCheck(name: Self.poweroffCheck, expected: expected, obtained: obtained, passed: true))
            return
        }
        outcome.checks.append(BootCheck(name: Self.poweroffCheck, expected: expected, obtained: "still running; killed", passed: false))
        throw .failure(.poweroffDidNotEndQEMU(graceSeconds: Int(grace.components.seconds)))
    }

    /// The next console line, or nil once `deadline` has passed. Throws when the guest is lost (a fatal console
    /// line), when QEMU's output ends, and on cancellation.
    private mutating func nextLine(before deadline: ContinuousClock.Instant) async throws(Stop) -> (String, ContinuousClock.Instant)? {
        while true {
            if let fatal = recorder.fatal { throw .failure(Self.failure(fatal.pattern, fatal.line)) }
            if .now >= deadline { return nil }
            switch await events.next() {
            case .line(let line, let time)?: if recorder.fatal == nil { return (line, time) }
            case .tick?: continue
            case .ended?: throw .ended
            case nil: throw Task.isCancelled ? .cancelled : .ended
            }
        }
    }

    private func send(_ text: String) async throws(Stop) {
        do {
            try await process.write(text)
        } catch {
            // The guest side is gone; its exit shows up as the end of the output.
            throw .ended
        }
    }

    /// After a panic the kernel still prints its trace: keep reading until its end marker, for at most a
    /// second, so that the trace reaches the report.
    private mutating func collectTrailingLines() async {
        let until = ContinuousClock.now + .seconds(1)
        while .now < until, let event = await events.next() {
            switch event {
            case .line(let line, _) where line.contains("---[ end Kernel panic"): return
            case .ended: return
            default: continue
            }
        }
    }

    private func timeout(_ what: String, _ deadline: ContinuousClock.Instant) -> Stop {
        .failure(.timedOut(waitingFor: what, seconds: Int((deadline - start).inSeconds.rounded())))
    }

    private static func failure(_ pattern: FatalConsolePattern, _ line: String) -> BootFailure {
        switch pattern {
        case .noWorkingInit: .noWorkingInit(line: line)
        case .initKilled: .initKilled(line: line)
        case .rootNotMounted: .rootNotMounted(line: line)
        case .kernelPanic: .kernelPanic(line: line)
        }
    }
}

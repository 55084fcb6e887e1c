import BoardModel
import Foundation

/// Progress for long work: on a terminal, one live line with the stage and what make is doing; elsewhere (CI
/// logs) one line when a stage starts and one when it ends, with its time.
public final class ProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private let isTerminal: Bool
    private var stage = ""
    private var stageStart = Date()
    private var lastDraw = Date.distantPast
    private let quiet: Bool
    /// Put before every line, e.g. the board's name when several build at once.
    private let prefix: String

    public init(quiet: Bool = false, isTerminal: Bool = isatty(STDERR_FILENO) != 0, prefix: String? = nil) {
        self.quiet = quiet
        self.isTerminal = isTerminal
        self.prefix = prefix.map { $0 + " " } ?? ""
    }

    public func begin(_ stage: String, _ detail: String = "") {
        lock.withLock {
            self.stage = stage
            stageStart = Date()
            if quiet { return }
            if isTerminal { draw("\(stage): \(detail)") } else { emit("[\(stage)] \(detail)") }
        }
    }

    /// A line of a tool's output; shown on terminals, at most ten times a second.
    public func update(_ line: String) {
        guard isTerminal, !quiet else { return }
        lock.withLock {
            let now = Date()
            guard now.timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = now
            let elapsed = Int(now.timeIntervalSince(stageStart))
            draw("\(stage) [\(elapsed)s] \(line.trimmingCharacters(in: .whitespaces))")
        }
    }

    /// Ends the stage and returns its duration in seconds.
    @discardableResult
    public func end(_ note: String = "") -> Double {
        lock.withLock {
            let seconds = Date().timeIntervalSince(stageStart)
            if !quiet {
                if isTerminal { draw("") }
                emit(String(format: "[%@] done in %.1f s%@", stage, seconds, note.isEmpty ? "" : " — \(note)"))
            }
            return seconds
        }
    }

    public func skip(_ stage: String, _ reason: String) {
        guard !quiet else { return }
        lock.withLock { emit("[\(stage)] skipped: \(reason)") }
    }

    public func note(_ text: String) {
        guard !quiet else { return }
        lock.withLock { emit(text) }
    }

    /// Something the user must hear of even with `--quiet` (a build signed with a development key).
    public func warning(_ text: String) {
        lock.withLock { emit("warning: " + text) }
    }

    private func draw(_ text: String) {
        let width = 118
        // Lines of make and compilers, and notes quoting the board's files: shown escaped, never acting on the terminal.
        let escaped = DescriptionText.singleLine(text)
        let clipped = escaped.count > width ? String(escaped.prefix(width)) : escaped
        FileHandle.standardError.write(Data("\r\u{1B}[K\(clipped)".utf8))
    }

    private func emit(_ text: String) {
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        FileHandle.standardError.write(Data((prefix + DescriptionText.forTerminal(text) + "\n").utf8))
    }
}

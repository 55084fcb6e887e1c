import BoardModel
import Foundation

/// Progress for long work: on a terminal, one live line with the stage and what make is doing; elsewhere (CI
/// logs) one line when a stage starts and one when it ends, with its time.
public final class ProgressLine: @unchecked Sendable {
    /// Stages that run at the same time (the kernel beside BusyBox) each run in a lane of their own, and the live
    /// line shows every lane's stage. Within a lane stages follow one another.
    @TaskLocal public static var lane = ""

    /// Runs `body` in its own lane: its stages' progress does not replace another lane's.
    public static func inLane<T>(_ name: String, _ body: () async throws -> T) async rethrows -> T {
        try await $lane.withValue(name, operation: body)
    }

    private struct Running {
        var stage: String
        var start: Date
        var line: String
    }

    private let lock = NSLock()
    private let isTerminal: Bool
    private var running: [String: Running] = [:]
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
        let lane = Self.lane
        lock.withLock {
            running[lane] = Running(stage: stage, start: Date(), line: detail)
            if quiet { return }
            if isTerminal { drawRunning() } else { emit("[\(stage)] \(detail)") }
        }
    }

    /// A line of a tool's output; shown on terminals, at most ten times a second.
    public func update(_ line: String) {
        guard isTerminal, !quiet else { return }
        let lane = Self.lane
        lock.withLock {
            running[lane]?.line = line.trimmingCharacters(in: .whitespaces)
            let now = Date()
            guard now.timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = now
            drawRunning()
        }
    }

    /// Ends the lane's stage and returns its duration in seconds.
    @discardableResult
    public func end(_ note: String = "") -> Double {
        let lane = Self.lane
        return lock.withLock {
            guard let stage = running.removeValue(forKey: lane) else { return 0 }
            let seconds = Date().timeIntervalSince(stage.start)
            if !quiet {
                emit(String(format: "[%@] done in %.1f s%@", stage.stage, seconds, note.isEmpty ? "" : " — \(note)"))
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

    /// Every running stage with its time and the last line of its tool, oldest first, sharing the line's width.
    private func drawRunning() {
        let stages = running.values.sorted { $0.start < $1.start }
        let now = Date()
        let share = stages.isEmpty ? 0 : 118 / stages.count - 3
        draw(stages.map { stage in
            let text = "\(stage.stage) [\(Int(now.timeIntervalSince(stage.start)))s] \(stage.line)"
            return stages.count > 1 && text.count > share ? String(text.prefix(max(10, share))) : text
        }.joined(separator: " | "))
    }

    private func draw(_ text: String) {
        let width = 118
        // Lines of make and compilers, and notes quoting the board's files: shown escaped, never acting on the terminal.
        let escaped = DescriptionText.singleLine(text)
        let clipped = escaped.count > width ? String(escaped.prefix(width)) : escaped
        FileHandle.standardError.write(Data("\r\u{1B}[K\(clipped)".utf8))
    }

    /// A line that stays; on a terminal the live line is drawn again below it.
    private func emit(_ text: String) {
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        FileHandle.standardError.write(Data((prefix + DescriptionText.forTerminal(text) + "\n").utf8))
        if isTerminal && !running.isEmpty { drawRunning() }
    }
}

import Dispatch
import Foundation

/// Turns SIGINT, SIGTERM and SIGHUP into cancellation of the work in progress, so that every child process is
/// stopped through its teardown (SIGTERM to its process group, then SIGKILL) and no stage is recorded as done.
/// A second signal ends bspgen at once.
/// Work that does not end by itself after the signal (a read or write the kernel keeps blocked, a loop that does not
/// check for cancellation) cannot keep bspgen alive: `grace` seconds after the first signal, every process group it
/// started is killed and bspgen quits with 128 + signal anyway.
public final class Interruption: @unchecked Sendable {
    public static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    /// Longer than a child's teardown (SIGTERM, 3 s, SIGKILL) and the cleanup after it.
    public static let defaultGrace: Double = 10

    private let lock = NSLock()
    private var received: Int32?
    private var sources: [any DispatchSourceSignal] = []
    private var watchdog: DispatchWorkItem?
    private var cancel: @Sendable () -> Void = {}
    private let grace: Double
    private let quit: @Sendable (Int32) -> Void

    /// `quit` ends the process when the work outlives `grace` (a test passes its own).
    public init(grace: Double = defaultGrace, quit: @escaping @Sendable (Int32) -> Void = { status in
        ProcessGroupRegistry.shared.killAll()
        _exit(status)
    }) {
        self.grace = grace
        self.quit = quit
    }

    /// The first signal received, if any.
    public var signal: Int32? { lock.withLock { received } }

    /// Calls `cancel` on the first signal; exits with 128 + signal on the second.
    public func install(cancel: @escaping @Sendable () -> Void) {
        lock.withLock { self.cancel = cancel }
        for number in Self.signals {
            // The default action would end bspgen before its children are stopped.
            Foundation.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in receive(number) }
            source.resume()
            sources.append(source)
        }
    }

    /// What a signal does: the first cancels the work and starts the watchdog, the second quits at once.
    func receive(_ number: Int32) {
        let first = lock.withLock { () -> Bool in
            guard received == nil else { return false }
            received = number
            return true
        }
        guard first else { _exit(128 + number) }
        FileHandle.standardError.write(Data("\nbspgen: \(Self.name(number)) received; stopping child processes (again to quit at once)\n".utf8))
        let watchdog = DispatchWorkItem { [self] in
            FileHandle.standardError.write(Data("bspgen: still busy \(Int(grace)) s after \(Self.name(number)); quitting now\n".utf8))
            quit(128 + number)
        }
        let cancel = lock.withLock {
            self.watchdog = watchdog
            return self.cancel
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + grace, execute: watchdog)
        cancel()
    }

    /// Back to the default actions, once the work is over.
    public func uninstall() {
        lock.withLock { watchdog?.cancel() }
        for source in sources { source.cancel() }
        sources = []
        for number in Self.signals { Foundation.signal(number, SIG_DFL) }
    }

    public static func name(_ number: Int32) -> String {
        switch number {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        case SIGHUP: "SIGHUP"
        default: "signal \(number)"
        }
    }
}

/// The process groups bspgen has running, written to `<cache>/running/<bspgen pid>` so that after bspgen itself
/// was killed (SIGKILL, a crash, a lost machine session) the next run stops what it left behind before it touches
/// the same build directories.
public final class ProcessGroupRegistry: @unchecked Sendable {
    public static let shared = ProcessGroupRegistry()

    private let lock = NSLock()
    private var file: URL?
    private var groups: [Int32: String] = [:]

    /// Starts recording in `directory`, after stopping the groups of bspgen processes that no longer exist.
    public func use(directory: URL) {
        Self.reapOrphans(in: directory)
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        lock.withLock {
            file = directory.appendingPathComponent(String(getpid()))
        }
    }

    func add(_ group: Int32) {
        lock.withLock {
            groups[group] = Self.startTime(of: group) ?? ""
            persist()
        }
    }

    /// SIGKILL to every group still running: bspgen is quitting without waiting for their teardown.
    public func killAll() {
        lock.withLock {
            for group in groups.keys where group > 1 { kill(-group, SIGKILL) }
            groups = [:]
            persist()
        }
    }

    func remove(_ group: Int32) {
        lock.withLock {
            groups[group] = nil
            persist()
        }
    }

    /// One line per group: its id and its leader's start time, which tells a reused id from ours.
    private func persist() {
        guard let file else { return }
        if groups.isEmpty {
            try? FileManager.default.removeItem(at: file)
            return
        }
        // A cache removed while bspgen runs is not made again just to hold this list.
        guard FileManager.default.fileExists(atPath: file.deletingLastPathComponent().path) else { return }
        let text = groups.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)\n" }.joined()
        try? AtomicFile.write(text, to: file)
    }

    /// SIGTERM, then SIGKILL, to each group listed by a bspgen process that is gone.
    /// A process killed while it rewrote its list leaves the new list under its temporary name
    /// (`.PID.tmp-PID`, see TemporaryName): that one is read too, then removed.
    static func reapOrphans(in directory: URL) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names {
            let owner = name.hasPrefix(".") ? String(name.dropFirst().prefix { $0 != "." }) : name
            guard let pid = Int32(owner), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            let file = directory.appendingPathComponent(name)
            let lines = (try? String(contentsOf: file, encoding: .utf8))?.split(separator: "\n") ?? []
            for line in lines {
                let fields = line.split(separator: " ", maxSplits: 1).map(String.init)
                guard let group = fields.first.flatMap(Int32.init), group > 1,
                      startTime(of: group) == (fields.count > 1 ? fields[1] : "") else { continue }
                FileHandle.standardError.write(Data("bspgen: stopping process group \(group) left running by bspgen \(pid), which is gone\n".utf8))
                kill(-group, SIGTERM)
                for _ in 0..<30 where kill(-group, 0) == 0 { usleep(100_000) }
                kill(-group, SIGKILL)
            }
            try? FileManager.default.removeItem(at: file)
        }
    }

    /// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
    static func startTime(of pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        // Fields after the command name start at field 3 (state); field 22 is the 20th of them.
        return fields.count > 19 ? String(fields[19]) : nil
    }
}

import BoardModel
import Foundation
import Host

/// What the conversation sees of the console.
enum ConsoleEvent: Sendable {
    case line(String, at: ContinuousClock.Instant)
    /// Nothing was printed; lets a silent console still notice its deadlines.
    case tick
    /// QEMU closed its output: it exited.
    case ended
}

/// A line that means the guest is lost, in the order they are looked for (a root mount failure is followed by
/// a panic line that names it too).
enum FatalConsolePattern: CaseIterable {
    case noWorkingInit, initKilled, rootNotMounted, kernelPanic

    var text: String {
        switch self {
        case .noWorkingInit: "No working init found"
        case .initKilled: "Attempted to kill init"
        case .rootNotMounted: "Unable to mount root"
        case .kernelPanic: "Kernel panic"
        }
    }

    static func match(_ line: String) -> FatalConsolePattern? { allCases.first { line.contains($0.text) } }
}

/// Takes QEMU's output as it arrives: every console byte goes to the log file (up to a cap), lines are
/// cleaned and passed on to the conversation, and only bounded tails stay in memory, so a flooding guest
/// costs neither unbounded memory nor an unbounded log.
final class ConsoleRecorder: @unchecked Sendable {
    static let tailLines = 40
    static let maxLineBytes = 4096
    static let maxLogBytes = 64 << 20

    let events: AsyncStream<ConsoleEvent>
    private let continuation: AsyncStream<ConsoleEvent>.Continuation
    private let lock = NSLock()
    private let log: FileHandle
    private var logBytes = 0
    private var partialOutput: [UInt8] = []
    private var partialError: [UInt8] = []
    private var consoleTail: [String] = []
    private var errorTail: [String] = []
    private var firstFatal: (pattern: FatalConsolePattern, line: String)?
    private var seenMilestones: [(milestone: BootMilestone, at: ContinuousClock.Instant)] = []

    init(log url: URL) throws(QEMUError) {
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw QEMUError.log(path: url.path, message: ErrorText.reason(error))
        }
        guard FileManager.default.createFile(atPath: url.path, contents: nil), let log = FileHandle(forWritingAtPath: url.path) else {
            throw QEMUError.log(path: url.path, message: "cannot create the file")
        }
        self.log = log
        // The conversation reads every line unless it falls this far behind, which only a flood causes.
        (events, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1024))
    }

    var lastConsoleLines: [String] { lock.withLock { consoleTail } }
    var lastErrorLines: [String] { lock.withLock { errorTail } }
    var fatal: (pattern: FatalConsolePattern, line: String)? { lock.withLock { firstFatal } }
    /// The first time each milestone's line appeared, in the order they appeared.
    var milestones: [(milestone: BootMilestone, at: ContinuousClock.Instant)] { lock.withLock { seenMilestones } }

    /// bspgen's own remarks in the log; written even past the cap, since they say what happened.
    func note(_ text: String) { lock.withLock { try? log.write(contentsOf: Data("\n[bspgen] \(text)\n".utf8)) } }

    func tick() { continuation.yield(.tick) }

    func receive(_ event: ProcessOutputEvent) {
        lock.withLock {
            switch event {
            case .standardOutput(let bytes):
                writeLog(Data(bytes))
                split(bytes, carrying: &partialOutput, consoleLine)
            case .standardError(let bytes):
                split(bytes, carrying: &partialError, errorLine)
            case .ended:
                if !partialOutput.isEmpty { consoleLine(ConsoleText.clean(partialOutput)) }
                if !partialError.isEmpty { errorLine(ConsoleText.clean(partialError)) }
                partialOutput = []
                partialError = []
                continuation.yield(.ended)
                continuation.finish()
            }
        }
    }

    private func consoleLine(_ line: String) {
        if firstFatal == nil, let pattern = FatalConsolePattern.match(line) { firstFatal = (pattern, line) }
        let now = ContinuousClock.now
        for milestone in BootMilestone.matches(line, first: seenMilestones.isEmpty) where !seenMilestones.contains(where: { $0.milestone == milestone }) {
            seenMilestones.append((milestone, now))
        }
        append(line, to: &consoleTail, keeping: Self.tailLines)
        continuation.yield(.line(line, at: now))
    }

    /// QEMU's own messages: kept apart, and logged as whole lines so that they do not cut console lines.
    private func errorLine(_ line: String) {
        writeLog(Data("[qemu stderr] \(line)\n".utf8))
        append(line, to: &errorTail, keeping: 20)
    }

    func close() {
        continuation.finish()
        lock.withLock { try? log.close() }
    }

    private func writeLog(_ data: Data) {
        guard logBytes < Self.maxLogBytes else { return }
        logBytes += data.count
        try? log.write(contentsOf: data)
        if logBytes >= Self.maxLogBytes {
            try? log.write(contentsOf: Data("\n[bspgen] log cut at \(Self.maxLogBytes >> 20) MiB; later output is not kept\n".utf8))
        }
    }

    /// Cuts `bytes` into cleaned lines, carrying an unfinished line over in `partial`; an overlong line is
    /// cut every `maxLineBytes`.
    private func split(_ bytes: [UInt8], carrying partial: inout [UInt8], _ emit: (String) -> Void) {
        for byte in bytes {
            if byte != UInt8(ascii: "\n") { partial.append(byte) }
            if byte == UInt8(ascii: "\n") || partial.count == Self.maxLineBytes {
                emit(ConsoleText.clean(partial))
                partial.removeAll(keepingCapacity: true)
            }
        }
    }

    private func append(_ line: String, to tail: inout [String], keeping count: Int) {
        tail.append(line)
        if tail.count > count { tail.removeFirst(tail.count - count) }
    }
}

/// A moment of a boot that its console shows, for the report's boot timeline: the lines Linux, U-Boot, OpenSBI
/// and bspgen's /init print at these points whatever the board (the kernel's at its default log level).
public enum BootMilestone: String, CaseIterable, Sendable {
    case consoleOutput = "first console output"
    case bootLoader = "boot loader"
    case kernel = "kernel started"
    case initramfsUnpacking = "initramfs unpacking"
    case initramfsUnpacked = "initramfs unpacked"
    case initStarted = "/init started"
    case banner = "banner"

    /// The milestones `line` marks; `first` says it is the console's first line.
    static func matches(_ raw: String, first: Bool) -> [BootMilestone] {
        var found: [BootMilestone] = first && !raw.trimmingCharacters(in: .whitespaces).isEmpty ? [.consoleOutput] : []
        // A kernel with CONFIG_PRINTK_TIME puts `[    0.512345] ` before its messages.
        var line = Substring(raw)
        if line.hasPrefix("["), let close = line.firstIndex(of: "]"),
           line[line.index(after: line.startIndex)..<close].allSatisfy({ $0 == " " || $0 == "." || $0.isNumber }) {
            line = line[line.index(after: close)...].drop { $0 == " " }
        }
        if line.hasPrefix("U-Boot 20") || line.hasPrefix("U-Boot SPL 20") || line.hasPrefix("OpenSBI v") || line.contains("Welcome to GRUB") {
            found.append(.bootLoader)
        }
        if line.hasPrefix("Booting Linux on") || line.hasPrefix("Linux version ") { found.append(.kernel) }
        if line.hasPrefix("Unpacking initramfs") || line.hasPrefix("Trying to unpack rootfs image") { found.append(.initramfsUnpacking) }
        if line.hasPrefix("Freeing initrd memory") { found.append(.initramfsUnpacked) }
        if line.hasPrefix("Run /init as init process") { found.append(.initStarted) }
        if line.hasPrefix("=== bspgen: board "), line.contains(" is up") { found.append(.banner) }
        return found
    }
}

enum ConsoleText {
    /// The text a terminal would show for one line: no carriage returns, no ANSI escape sequences, no other
    /// control characters; invalid UTF-8 is replaced.
    static func clean<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        var kept: [UInt8] = []
        kept.reserveCapacity(bytes.count)
        var state = EscapeState.text
        for byte in bytes {
            switch state {
            case .text:
                if byte == 0x1B { state = .escape } else if byte >= 0x20 && byte != 0x7F || byte == 0x09 { kept.append(byte) }
            case .escape:
                // ESC [ starts a control sequence, ESC ] an operating system command; others are two bytes long.
                state = byte == UInt8(ascii: "[") ? .controlSequence : byte == UInt8(ascii: "]") ? .operatingSystemCommand : .text
            case .controlSequence:
                if (0x40...0x7E).contains(byte) { state = .text }
            case .operatingSystemCommand:
                if byte == 0x07 { state = .text } else if byte == 0x1B { state = .escape }
            }
        }
        return String(decoding: kept, as: UTF8.self)
    }

    private enum EscapeState { case text, escape, controlSequence, operatingSystemCommand }
}

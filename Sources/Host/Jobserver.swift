import Foundation

/// One GNU make jobserver for a whole bspgen run: a pipe holding one token per job. Every make bspgen starts is
/// a client of it (`MAKEFLAGS=--jobserver-auth=R,W`, the form make 4.3 reads), so the kernel, BusyBox and U-Boot
/// of one board, and of several boards built at once, share exactly N jobs between them.
///
/// A client make runs its first job without a token. bspgen takes a token for each make it starts and gives it
/// back when the make exits, as a parent make does for a sub-make, so that first job is paid for too: never more
/// than N jobs at once, and a token freed by one make is taken by whichever make waits next.
public final class Jobserver: @unchecked Sendable {
    public let tokens: Int
    private let readEnd: Int32
    private let writeEnd: Int32
    private let lock = NSLock()
    /// Tokens bspgen itself holds (one per running make, one per boot).
    private var held = 0
    /// Makes running as clients.
    private var clients = 0

    /// nil when the pipe cannot be made (no file descriptors left): builds then fall back to `-j` per make.
    public init?(tokens: Int) {
        var descriptors: [Int32] = [0, 0]
        guard tokens > 0, pipe(&descriptors) == 0 else { return nil }
        readEnd = descriptors[0]
        writeEnd = descriptors[1]
        self.tokens = tokens
        for end in descriptors { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        // bspgen's own end never blocks a thread of Swift's pool; the makes open the pipe anew, blocking.
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
        guard put(tokens) else {
            close(readEnd)
            close(writeEnd)
            return nil
        }
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    private func put(_ count: Int) -> Bool {
        let bytes = [UInt8](repeating: UInt8(ascii: "+"), count: count)
        return count == 0 || write(writeEnd, bytes, bytes.count) == bytes.count
    }

    /// Waits for a token; cancellation ends the wait.
    ///
    /// The makes wait in `pselect` on the pipe and read as soon as a token is written, so a waiter that only
    /// looked now and then would almost never find one while makes are busy (a serial `conf` run waited minutes
    /// behind BusyBox's compiles). bspgen waits the way they do, on a thread of its own (never one of Swift's
    /// pool), and competes for each freed token as an equal.
    func acquire() async throws {
        if takeToken() { return }
        let wait = TokenWait()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                Thread { [self] in
                    var readable = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
                    while !takeToken() {
                        if wait.isCancelled { return continuation.resume(throwing: CancellationError()) }
                        // The timeout only bounds how late a cancellation is seen; a written token wakes the poll.
                        _ = poll(&readable, 1, 50)
                    }
                    continuation.resume()
                }.start()
            }
        } onCancel: {
            wait.cancel()
        }
    }

    private func takeToken() -> Bool {
        lock.withLock {
            var token: UInt8 = 0
            guard read(readEnd, &token, 1) == 1 else { return false }
            held += 1
            return true
        }
    }

    func release() {
        lock.withLock {
            held -= 1
            _ = put(1)
        }
    }

    /// Holds one token while `body` runs.
    public func withToken<T>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }

    /// Runs a client make (see `client`) holding a token for its first job. A make stopped by a signal (the build
    /// was cancelled, another stage failed) cannot give back the tokens of the jobs it was running: once no make
    /// runs, the pipe is set back to every token bspgen does not hold, so none is lost for the rest of the run.
    func withClient<T>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        lock.withLock { clients += 1 }
        defer {
            lock.withLock {
                clients -= 1
                held -= 1
                if clients == 0 {
                    var drained: UInt8 = 0
                    while read(readEnd, &drained, 1) == 1 {}
                    _ = put(tokens - held)
                } else {
                    _ = put(1)
                }
            }
        }
        return try await body()
    }

    /// `command` (a make) started as a client: a shell opens the pipe as descriptors 3 and 4 (the process
    /// runner closes every inherited descriptor, so they cannot simply be passed down), then becomes the make.
    /// A `-j` on make's own command line would make it a jobserver of its own, so there is none.
    func client(_ command: Command) -> Command {
        let process = getpid()
        let script = "exec 3<>/proc/\(process)/fd/\(readEnd) 4<>/proc/\(process)/fd/\(writeEnd) && exec \"$0\" \"$@\""
        var environment = command.environment
        environment["MAKEFLAGS"] = " -j --jobserver-auth=3,4"
        environment["MFLAGS"] = .some(nil)
        var wrapped = Command("/bin/sh", ["-c", script, command.executable] + command.arguments, environment: environment,
                              workingDirectory: command.workingDirectory)
        wrapped.jobserver = nil
        return wrapped
    }
}

/// A cancellation flag shared between a waiting task and the thread that waits for its token.
private final class TokenWait: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    var isCancelled: Bool { lock.withLock { cancelled } }
    func cancel() { lock.withLock { cancelled = true } }
}

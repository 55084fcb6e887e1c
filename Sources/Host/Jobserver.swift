import Foundation

/// One GNU make jobserver for a whole bspgen run, holding one token per job. Every make bspgen starts is a client
/// of it (`MAKEFLAGS=--jobserver-auth=R,W`, the form make 4.3 reads), so the kernel, BusyBox and U-Boot of one
/// board, and of several boards built at once, share exactly N jobs between them.
///
/// A client make runs its first job without a token. bspgen takes a token for each make it starts and gives it
/// back when the make exits, as a parent make does for a sub-make, so that first job is paid for too: never more
/// than N jobs at once.
///
/// The makes take tokens from one pipe (R) and give them back into another (W), which only bspgen reads. A make
/// that finishes a job would otherwise take its own token back at once, before any other waiter wakes up: the
/// compiles of the running makes kept every token, and a serial step waiting to start its make (a `conf` run on
/// the kernel's critical path) waited minutes. bspgen hands each returned token on itself: first to its own
/// waiters, in the order they came, then back to the makes.
public final class Jobserver: @unchecked Sendable {
    public let tokens: Int
    /// The makes read tokens from `grant` and write them to `returned`.
    private let grant: (read: Int32, write: Int32)
    private let returned: (read: Int32, write: Int32)
    private let lock = NSLock()
    /// Tokens bspgen itself holds (one per running make, one per boot).
    private var held = 0
    /// Makes running as clients.
    private var clients = 0
    /// bspgen's own waiters, first come first served.
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, Error>)] = []
    private var nextWaiter: UInt64 = 0

    /// nil when the pipes cannot be made (no file descriptors left): builds then fall back to `-j` per make.
    public init?(tokens: Int) {
        guard tokens > 0, let grant = Self.pipeEnds() else { return nil }
        guard let returned = Self.pipeEnds() else {
            close(grant.read)
            close(grant.write)
            return nil
        }
        self.grant = grant
        self.returned = returned
        self.tokens = tokens
        guard put(tokens) else { return nil }
        Self.startBroker(for: self)
    }

    /// A pipe whose ends are closed in children bspgen starts (the makes open it anew) and never block a thread.
    private static func pipeEnds() -> (read: Int32, write: Int32)? {
        var descriptors: [Int32] = [0, 0]
        guard pipe(&descriptors) == 0 else { return nil }
        for end in descriptors {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        return (descriptors[0], descriptors[1])
    }

    deinit {
        for end in [grant.read, grant.write, returned.read, returned.write] { close(end) }
    }

    /// A thread of its own (never one of Swift's pool) waits for returned tokens and hands them on. It holds the
    /// jobserver only while handing on, and ends once the jobserver is gone.
    private static func startBroker(for jobserver: Jobserver) {
        let descriptor = jobserver.returned.read
        Thread { [weak jobserver] in
            var readable = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            while true {
                // The timeout only bounds how long the thread outlives its jobserver.
                _ = poll(&readable, 1, 200)
                guard let jobserver else { return }
                jobserver.lock.withLock { jobserver.handOnReturned() }
            }
        }.start()
    }

    private func put(_ count: Int) -> Bool {
        let bytes = [UInt8](repeating: UInt8(ascii: "+"), count: count)
        return count == 0 || write(grant.write, bytes, bytes.count) == bytes.count
    }

    private static func take(from descriptor: Int32) -> Bool {
        var token: UInt8 = 0
        return read(descriptor, &token, 1) == 1
    }

    /// Under the lock: every token the makes gave back goes to the next waiter of bspgen's, or back to the makes.
    private func handOnReturned() {
        while Self.take(from: returned.read) { handOn() }
    }

    /// Under the lock: one token to bspgen's first waiter, else to the makes.
    private func handOn() {
        if waiters.isEmpty {
            _ = put(1)
        } else {
            held += 1
            waiters.removeFirst().continuation.resume()
        }
    }

    /// Waits for a token; cancellation ends the wait.
    func acquire() async throws {
        let id = lock.withLock {
            nextWaiter += 1
            return nextWaiter
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                lock.withLock {
                    handOnReturned()
                    if Self.take(from: grant.read) {
                        held += 1
                        continuation.resume()
                    } else if Task.isCancelled {
                        // Cancelled before it waited: the handler below found nothing to end.
                        continuation.resume(throwing: CancellationError())
                    } else {
                        waiters.append((id, continuation))
                    }
                }
            }
        } onCancel: {
            lock.withLock {
                guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
                waiters.remove(at: index).continuation.resume(throwing: CancellationError())
            }
        }
    }

    func release() {
        lock.withLock {
            held -= 1
            handOn()
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
    /// runs, the pipes are set back to every token bspgen does not hold, so none is lost for the rest of the run.
    func withClient<T>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        lock.withLock { clients += 1 }
        defer {
            lock.withLock {
                clients -= 1
                held -= 1
                if clients == 0 {
                    while Self.take(from: grant.read) || Self.take(from: returned.read) {}
                    for _ in 0..<(tokens - held) { handOn() }
                } else {
                    handOn()
                }
            }
        }
        return try await body()
    }

    /// `command` (a make) started as a client: a shell opens the pipes as descriptors 3 and 4 (the process
    /// runner closes every inherited descriptor, so they cannot simply be passed down), then becomes the make.
    /// Opened anew, they block as make expects. A `-j` on make's own command line would make it a jobserver of
    /// its own, so there is none.
    func client(_ command: Command) -> Command {
        let process = getpid()
        let script = "exec 3<>/proc/\(process)/fd/\(grant.read) 4<>/proc/\(process)/fd/\(returned.write) && exec \"$0\" \"$@\""
        var environment = command.environment
        environment["MAKEFLAGS"] = " -j --jobserver-auth=3,4"
        environment["MFLAGS"] = .some(nil)
        var wrapped = Command("/bin/sh", ["-c", script, command.executable] + command.arguments, environment: environment,
                              workingDirectory: command.workingDirectory)
        wrapped.jobserver = nil
        return wrapped
    }
}

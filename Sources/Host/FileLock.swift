import Foundation
import UserInput

/// An exclusive flock(2) on a lock file in the cache, for resources that several boards of one run, or
/// several bspgen processes, may reach at once: an unpacked source, a shared BusyBox folder, a board's build
/// folder. The lock belongs to the open file, so the kernel drops it when the process dies: a crashed build
/// never leaves a stale lock behind.
public enum FileLock {
    /// The locks the current task (and the tasks it started) holds: taking one again inside is a no-op, so a
    /// step that locks a folder can be called by one that holds the lock over several steps.
    @TaskLocal private static var held: Set<String> = []

    /// Runs `body` holding the lock on `url` (created if missing). Waiting polls with a non-blocking flock so
    /// that no thread of Swift's cooperative pool is blocked; `onWait` is called once if the lock is busy.
    public static func withLock<T>(_ url: URL, onWait: (() -> Void)? = nil,
                                   _ body: () async throws -> T) async throws -> T {
        if held.contains(url.path) { return try await body() }
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw HostError.fileSystem(path: url.deletingLastPathComponent().path, message: "cannot create the lock's folder: \(UserFile.reason(of: error))")
        }
        let descriptor = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw HostError.fileSystem(path: url.path, message: "cannot open lock file: \(UserFile.systemReason(errno))")
        }
        defer { close(descriptor) }  // closing the last descriptor releases the lock
        var waited = false
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw HostError.fileSystem(path: url.path, message: "cannot lock: \(UserFile.systemReason(errno))")
            }
            if !waited { onWait?() }
            waited = true
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        return try await $held.withValue(held.union([url.path]), operation: body)
    }
}

import Foundation
import UserInput

/// Who may change the cache's shared results: every bspgen process that builds holds a shared flock(2) on
/// `<cache>/locks/cache.lock` for as long as it runs; `bspgen cache gc` needs it exclusively, so it never removes
/// a folder a running build is about to use (one it has not recorded yet).
public enum CacheUse {
    private static let held = HeldDescriptor()

    private final class HeldDescriptor: @unchecked Sendable {
        let lock = NSLock()
        var paths: Set<String> = []
    }

    /// Takes the shared lock for the rest of this process (once per cache; the kernel drops it when the process ends).
    public static func holdShared(_ workspace: Workspace) throws {
        let url = workspace.lock("cache")
        try held.lock.withLock {
            guard !held.paths.contains(url.path) else { return }
            let descriptor = try open(url)
            // Blocks only while a gc runs, which takes seconds.
            while flock(descriptor, LOCK_SH) != 0 {
                guard errno == EINTR else {
                    close(descriptor)
                    throw HostError.fileSystem(path: url.path, message: "cannot lock: \(UserFile.systemReason(errno))")
                }
            }
            held.paths.insert(url.path)
        }
    }

    /// Runs `body` holding the lock exclusively, or returns nil when another bspgen uses the cache.
    ///
    /// It tries for up to `patience` before giving up: a child another thread of this process is starting holds a
    /// copy of every descriptor until its exec closes them, so a lock this process has just released can still be
    /// held for a moment. A build holds the lock for its whole run, so waiting longer would change no answer.
    public static func withExclusive<T>(_ workspace: Workspace, patience: Duration = .seconds(1), _ body: () throws -> T) throws -> T? {
        let url = workspace.lock("cache")
        let descriptor = try open(url)
        defer { close(descriptor) }
        let clock = ContinuousClock()
        let deadline = clock.now + patience
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw HostError.fileSystem(path: url.path, message: "cannot lock: \(UserFile.systemReason(errno))")
            }
            guard clock.now < deadline else { return nil }
            usleep(20_000)
        }
        return try body()
    }

    private static func open(_ url: URL) throws -> Int32 {
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw HostError.fileSystem(path: url.deletingLastPathComponent().path, message: "cannot create the lock's folder: \(UserFile.reason(of: error))")
        }
        let descriptor = Glibc.open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw HostError.fileSystem(path: url.path, message: "cannot open lock file: \(UserFile.systemReason(errno))")
        }
        return descriptor
    }
}

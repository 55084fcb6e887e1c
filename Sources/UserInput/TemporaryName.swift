#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Names of files and folders made beside a final name and renamed onto it: `.NAME.tmp-PID` (or
/// `.NAME.tmp-PID-TAG` when one process needs several) and `.NAME.old-PID` for what is moved aside. The process id
/// in the name lets a later run tell the leftovers of a process that was killed (or lost its machine) from the
/// work of one still running, and remove only the former.
public enum TemporaryName {
    /// `.NAME.tmp-PID[-TAG]` in the folder of `url`.
    public static func beside(_ url: URL, tag: String? = nil) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())" + (tag.map { "-" + $0 } ?? ""))
    }

    /// `.NAME.tmp-PID-N`, N counting this process's calls: two tasks of one process writing the same file at once
    /// (two builds sharing a cache file) each get their own temporary name.
    public static func unique(beside url: URL) -> URL {
        beside(url, tag: String(counter.next()))
    }

    private static let counter = Counter()

    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0

        func next() -> Int {
            lock.lock()
            defer { lock.unlock() }
            value += 1
            return value
        }
    }

    /// `.NAME.old-PID` in the folder of `url`: where the previous version waits while the new one is renamed in.
    public static func aside(_ url: URL) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).old-\(getpid())")
    }

    /// Removes the temporary and set-aside names of `url` left by processes that no longer exist. Returns what it removed.
    @discardableResult
    public static func removeStale(beside url: URL) -> [URL] {
        let folder = url.deletingLastPathComponent()
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        var removed: [URL] = []
        for name in names {
            guard let pid = ownerPID(of: name, for: url.lastPathComponent), pid != getpid(), !isRunning(pid) else { continue }
            let stale = folder.appendingPathComponent(name)
            if (try? FileManager.default.removeItem(at: stale)) != nil { removed.append(stale) }
        }
        return removed
    }

    /// The process id in a temporary or set-aside name of `final`, or nil when `name` is not one.
    static func ownerPID(of name: String, for final: String) -> Int32? {
        for marker in [".tmp-", ".old-"] {
            let prefix = "." + final + marker
            guard name.hasPrefix(prefix) else { continue }
            let digits = name.dropFirst(prefix.count).prefix { $0.isASCII && $0.isNumber }
            return Int32(digits)
        }
        return nil
    }

    private static func isRunning(_ pid: Int32) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH)
    }
}

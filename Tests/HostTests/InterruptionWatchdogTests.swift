import Foundation
@testable import Host
import Testing

private final class Box: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int32?
    func set(_ status: Int32) { lock.withLock { value = status } }
    var status: Int32? { lock.withLock { value } }
}

/// The watchdog after the first signal, driven through `receive` (a real SIGTERM would reach every test of this
/// process; InterruptionTests send real ones to the bspgen binary).
struct InterruptionWatchdogTests {
    @Test func workThatOutlivesTheGraceAfterASignalIsAbandoned() async throws {
        let quit = Box()
        let cancelled = Box()
        let interruption = Interruption(grace: 0.3, quit: { quit.set($0) })
        // The work ignores cancellation, as a read the kernel keeps blocked would.
        interruption.install { cancelled.set(1) }
        defer { interruption.uninstall() }
        interruption.receive(SIGTERM)
        #expect(cancelled.status == 1)
        for _ in 0..<100 where quit.status == nil { try await Task.sleep(for: .milliseconds(50)) }
        #expect(quit.status == 128 + SIGTERM)
        #expect(interruption.signal == SIGTERM)
    }

    @Test func workThatEndsWithinTheGraceIsNotAbandoned() async throws {
        let quit = Box()
        let interruption = Interruption(grace: 0.3, quit: { quit.set($0) })
        interruption.install {}
        interruption.receive(SIGINT)
        // The work ends: bspgen uninstalls, and the watchdog must not fire afterwards.
        interruption.uninstall()
        try await Task.sleep(for: .milliseconds(800))
        #expect(quit.status == nil)
    }
}

/// The list of make groups a bspgen process keeps in `<cache>/running/PID`.
struct ProcessGroupRegistryTests {
    @Test func theListFollowsTheGroupsAndACacheRemovedMeanwhileIsNotMadeAgain() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-registry-\(getpid())")
        defer { try? FileManager.default.removeItem(at: cache) }
        let running = cache.appendingPathComponent("running")
        let registry = ProcessGroupRegistry()
        registry.use(directory: running)
        let list = running.appendingPathComponent(String(getpid()))
        // A group id no process has (ids above pid_max): only the bookkeeping is tried.
        registry.add(99_999_999)
        #expect(try String(contentsOf: list, encoding: .utf8).hasPrefix("99999999 "))
        registry.remove(99_999_999)
        #expect(!FileManager.default.fileExists(atPath: list.path))

        try FileManager.default.removeItem(at: cache)
        registry.add(99_999_999)
        #expect(!FileManager.default.fileExists(atPath: cache.path), "the removed cache was made again for the list")
    }
}

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

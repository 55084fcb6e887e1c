import Foundation
import Host
import Testing

private final class Box: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int32?
    func set(_ status: Int32) { lock.withLock { value = status } }
    var status: Int32? { lock.withLock { value } }
}

/// SIGUSR1 and SIGUSR2 stand in for SIGTERM: no other code in the test process handles them, and the real signals
/// would reach every test at once.
@Suite(.serialized) struct InterruptionWatchdogTests {
    @Test func workThatOutlivesTheGraceAfterASignalIsAbandoned() async throws {
        let quit = Box()
        let interruption = Interruption(signals: [SIGUSR1], grace: 0.3, quit: { quit.set($0) })
        // The work ignores cancellation, as a read the kernel keeps blocked would.
        interruption.install {}
        defer { interruption.uninstall() }
        #expect(raise(SIGUSR1) == 0)
        for _ in 0..<100 where quit.status == nil { try await Task.sleep(for: .milliseconds(50)) }
        #expect(quit.status == 128 + SIGUSR1)
        #expect(interruption.signal == SIGUSR1)
    }

    @Test func workThatEndsWithinTheGraceIsNotAbandoned() async throws {
        let quit = Box()
        let interruption = Interruption(signals: [SIGUSR2], grace: 0.3, quit: { quit.set($0) })
        let cancelled = Box()
        interruption.install { cancelled.set(1) }
        #expect(raise(SIGUSR2) == 0)
        for _ in 0..<100 where cancelled.status == nil { try await Task.sleep(for: .milliseconds(20)) }
        #expect(cancelled.status == 1)
        // The work ends: bspgen uninstalls, and the watchdog must not fire afterwards.
        interruption.uninstall()
        try await Task.sleep(for: .milliseconds(600))
        #expect(quit.status == nil)
    }
}

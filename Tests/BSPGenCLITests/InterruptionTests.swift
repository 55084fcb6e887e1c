import Foundation
import Testing

private func isAlive(_ pid: Int32) -> Bool {
    // A zombie still answers kill(0); /proc tells a dead-but-unreaped process from a live one.
    guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
    return !stat.contains(") Z ")
}

private func waitUntil(_ condition: () -> Bool, seconds: Double) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return condition()
}

/// Interruption at any point leaves the cache and the output consistent: children are stopped, an interrupted
/// stage is not recorded as done, and the next run completes it.
@Suite(.serialized) struct InterruptionTests {
    @Test(arguments: [(SIGTERM, "bzImage"), (SIGINT, "bzImage"), (SIGTERM, "tinyconfig"), (SIGINT, "olddefconfig")])
    func aSignalStopsTheWholeBuildAndRecordsNothing(signal: Int32, blockAt target: String) async throws {
        let project = try FakeBoardProject(blockAt: target)
        defer { project.cleanUp() }
        let (bspgen, _) = try project.start(["build", "fake"])
        let sleeper = try await project.waitForSleeper()
        kill(bspgen.processIdentifier, signal)
        #expect(await waitUntil({ !bspgen.isRunning }, seconds: 15), "bspgen must end within the teardown time")
        bspgen.waitUntilExit()
        #expect(bspgen.terminationStatus == 128 + signal)
        #expect(await waitUntil({ !isAlive(sleeper) }, seconds: 5), "the grandchild of make must be stopped too")
        let records = [project.kernelBuild.appendingPathComponent(".bspgen-config.json"), project.boardBuild.appendingPathComponent(".bspgen-kernel-image.json")]
        for record in records where target != "bzImage" || record.lastPathComponent == ".bspgen-kernel-image.json" {
            #expect(!FileManager.default.fileExists(atPath: record.path), "\(record.lastPathComponent) after \(target)")
        }
        #expect(!FileManager.default.fileExists(atPath: project.output.appendingPathComponent("fake").path))
        let running = (try? FileManager.default.contentsOfDirectory(atPath: project.cache.appendingPathComponent("running").path)) ?? []
        #expect(running.isEmpty, "no process group is left registered: \(running)")
    }

    @Test(arguments: ["olddefconfig", "bzImage"])
    func afterKillNineTheNextRunStopsTheOrphansAndFinishes(blockAt target: String) async throws {
        let project = try FakeBoardProject(blockAt: target)
        defer { project.cleanUp() }
        let (first, _) = try project.start(["kernel", "fake"])
        let orphan = try await project.waitForSleeper()
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        #expect(isAlive(orphan), "SIGKILL cannot stop children: the orphan is still running")

        try Data().write(to: project.release)
        let (second, _) = try project.start(["kernel", "fake"])
        second.waitUntilExit()
        #expect(second.terminationStatus == 0)
        #expect(await waitUntil({ !isAlive(orphan) }, seconds: 5), "the next run stops what the killed one left running")
        #expect(FileManager.default.fileExists(atPath: project.boardBuild.appendingPathComponent(".bspgen-kernel-image.json").path))
        #expect(FileManager.default.fileExists(atPath: project.kernelBuild.appendingPathComponent("arch/x86/boot/bzImage").path))
    }
}

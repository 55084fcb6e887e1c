import Foundation
import Testing

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A board whose "kernel source" is a Makefile that stands in for Kbuild. The target named in `blockAt` (the base
/// config, olddefconfig or the image) blocks in a grandchild `sleep` (writing its pid) until a file `release`
/// exists beside the Makefile; the others are instant.
struct FakeKernelProject {
    let directory: URL
    var boards: URL { directory.appendingPathComponent("boards") }
    var source: URL { boards.appendingPathComponent("fake/linux") }
    var cache: URL { directory.appendingPathComponent("cache") }
    var output: URL { directory.appendingPathComponent("out") }
    /// The board's kernel build folder: the one folder under `kernels/` (named by the kernel's inputs).
    var build: URL {
        let kernels = cache.appendingPathComponent("kernels")
        let name = (try? FileManager.default.contentsOfDirectory(atPath: kernels.path))?.first ?? "none"
        return kernels.appendingPathComponent("\(name)/linux")
    }
    /// Where the board's stage records are.
    var boardBuild: URL { cache.appendingPathComponent("build/fake") }
    var sleeperPID: URL { build.appendingPathComponent("sleeper.pid") }
    var release: URL { source.appendingPathComponent("release") }

    init(blockAt target: String = "bzImage") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-interrupt-\(UUID().uuidString)")
        let toolchains = directory.appendingPathComponent("toolchains")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: toolchains, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: root.appendingPathComponent("boards/common"), to: boards.appendingPathComponent("common"))
        try FileManager.default.copyItem(at: root.appendingPathComponent("toolchains/x86_64-linux-gnu.yaml"),
                                         to: toolchains.appendingPathComponent("x86_64-linux-gnu.yaml"))
        try """
            name: fake
            description: a Makefile standing in for the kernel
            arch: x86_64
            toolchain: x86_64-linux-gnu
            kernel:
              source: {directory: linux}
              base_config: tinyconfig
              fragments: [linux.fragment]
              image: bzImage
            cmdline: console=ttyS0
            console: ttyS0
            busybox: {}
            """.write(to: boards.appendingPathComponent("fake.yaml"), atomically: true, encoding: .utf8)
        try "CONFIG_PRINTK=y\n".write(to: boards.appendingPathComponent("fake/linux.fragment"), atomically: true, encoding: .utf8)
        let block = "\tsh -c 'until [ -e $(CURDIR)/release ]; do sleep 60 & echo $$! > $(O)/sleeper.pid; wait $$!; done'\n"
        func rule(_ name: String, _ recipe: String) -> String { "\(name):\n" + (name == target ? block : "") + recipe }
        let makefile = rule("tinyconfig", "\techo 'CONFIG_PRINTK=y' > $(O)/.config\n")
            + rule("olddefconfig", "\ttrue\n")
            + rule("savedefconfig", "\tcp $(O)/.config $(O)/defconfig\n")
            + rule("bzImage", "\tmkdir -p $(O)/arch/x86/boot && echo image > $(O)/arch/x86/boot/bzImage\n")
        try makefile.write(to: source.appendingPathComponent("Makefile"), atomically: true, encoding: .utf8)
    }

    func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = root.appendingPathComponent(".build/debug/bspgen")
        process.arguments = arguments + ["--boards", boards.path, "--toolchains", directory.appendingPathComponent("toolchains").path,
                                         "--cache-dir", cache.path, "--out", output.path, "--quiet"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// The pid of the grandchild once the fake kernel build blocks.
    func waitForSleeper() async throws -> Int32 {
        for _ in 0..<300 {
            if let text = try? String(contentsOf: sleeperPID, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return pid
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CancellationError()
    }

    func cleanUp() { try? FileManager.default.removeItem(at: directory) }
}

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
        let project = try FakeKernelProject(blockAt: target)
        defer { project.cleanUp() }
        let bspgen = try project.start(["build", "fake"])
        let sleeper = try await project.waitForSleeper()
        kill(bspgen.processIdentifier, signal)
        #expect(await waitUntil({ !bspgen.isRunning }, seconds: 15), "bspgen must end within the teardown time")
        bspgen.waitUntilExit()
        #expect(bspgen.terminationStatus == 128 + signal)
        #expect(await waitUntil({ !isAlive(sleeper) }, seconds: 5), "the grandchild of make must be stopped too")
        let records = [project.build.appendingPathComponent(".bspgen-config.json"), project.boardBuild.appendingPathComponent(".bspgen-kernel-image.json")]
        for record in records where target != "bzImage" || record.lastPathComponent == ".bspgen-kernel-image.json" {
            #expect(!FileManager.default.fileExists(atPath: record.path), "\(record.lastPathComponent) after \(target)")
        }
        #expect(!FileManager.default.fileExists(atPath: project.output.appendingPathComponent("fake").path))
        let running = (try? FileManager.default.contentsOfDirectory(atPath: project.cache.appendingPathComponent("running").path)) ?? []
        #expect(running.isEmpty, "no process group is left registered: \(running)")
    }

    @Test(arguments: ["olddefconfig", "bzImage"])
    func afterKillNineTheNextRunStopsTheOrphansAndFinishes(blockAt target: String) async throws {
        let project = try FakeKernelProject(blockAt: target)
        defer { project.cleanUp() }
        let first = try project.start(["kernel", "fake"])
        let orphan = try await project.waitForSleeper()
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        #expect(isAlive(orphan), "SIGKILL cannot stop children: the orphan is still running")

        try Data().write(to: project.release)
        let second = try project.start(["kernel", "fake"])
        second.waitUntilExit()
        #expect(second.terminationStatus == 0)
        #expect(await waitUntil({ !isAlive(orphan) }, seconds: 5), "the next run stops what the killed one left running")
        #expect(FileManager.default.fileExists(atPath: project.boardBuild.appendingPathComponent(".bspgen-kernel-image.json").path))
        #expect(FileManager.default.fileExists(atPath: project.build.appendingPathComponent("arch/x86/boot/bzImage").path))
    }
}

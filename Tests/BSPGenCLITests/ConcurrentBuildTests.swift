import Foundation
import Testing
@testable import Host

/// The most jobs a journal of `+ NS` / `- NS` lines (a job's start and end) shows running at once.
func peakConcurrency(_ journal: URL) throws -> Int {
    let events = try String(contentsOf: journal, encoding: .utf8).split(separator: "\n").compactMap { line -> (Int, Int)? in
        let parts = line.split(separator: " ")
        guard parts.count == 2, let time = Int(parts[1]) else { return nil }
        return (time, parts[0] == "+" ? 1 : -1)
    }
    // At equal times an end comes first: a token handed on is not two jobs at once.
    var running = 0
    var peak = 0
    for event in events.sorted(by: { ($0.0, $0.1) < ($1.0, $1.1) }) {
        running += event.1
        peak = max(peak, running)
    }
    return peak
}

/// A fresh folder with, in each of `makefiles` (folders inside it), a Makefile whose `all` runs the jobs `job1`…`jobN`,
/// each the shell line `recipe` makes of the journal's path; and that journal, `folder/journal`.
private func jobsFolder(jobs: Int, makefiles: [String] = ["."], recipe: (String) -> String) throws -> (folder: URL, journal: URL) {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-jobserver-\(UUID().uuidString)")
    let journal = folder.appendingPathComponent("journal")
    do {
        for name in makefiles {
            let directory = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try ("all: " + (1...jobs).map { "job\($0)" }.joined(separator: " ") + "\njob%:\n\t" + recipe(journal.path) + "\n")
                .write(to: directory.appendingPathComponent("Makefile"), atomically: true, encoding: .utf8)
        }
    } catch {
        try? FileManager.default.removeItem(at: folder)
        throw error
    }
    return (folder, journal)
}

/// One jobserver for every make of a run, and stages that overlap (issue 19).
@Suite(.serialized) struct ConcurrentBuildTests {
    /// Two makes that each have 6 jobs to run: through one jobserver of 3 tokens, never more than 3 jobs run in
    /// all, all 3 are used, and every token comes back.
    @Test func makesSharingAJobserverRunAtMostItsTokensInAll() async throws {
        let (folder, journal) = try jobsFolder(jobs: 6, makefiles: ["a", "b"]) { journal in
            "@echo \"+ $$(date +%s%N)\" >> \(journal); sleep 0.4; echo \"- $$(date +%s%N)\" >> \(journal)"
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        let jobserver = try #require(Jobserver(tokens: 3))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for name in ["a", "b"] {
                var command = Command("make", ["-C", folder.appendingPathComponent(name).path])
                command.jobserver = jobserver
                group.addTask { try await ProcessRunner.logged(command, log: folder.appendingPathComponent("\(name).log")) }
            }
            try await group.waitForAll()
        }
        let log = try String(contentsOf: folder.appendingPathComponent("a.log"), encoding: .utf8)
        #expect(!log.contains("jobserver unavailable"), "make did not find the jobserver: \(log)")
        #expect(try peakConcurrency(journal) == 3)
        var tokens = 0
        while tokens < 4, try await tokenWithin(jobserver) != nil { tokens += 1 }
        #expect(tokens == 3)
    }

    /// A make with 30 jobs, each keeping a CPU busy for a second, holds both tokens of a jobserver of 2 and waits for
    /// each one freed, on a machine that is busy anyway. bspgen asking for a token meanwhile (to start a serial
    /// `conf` run) gets one of the first ones given back: a make finishing a job takes its own token back before
    /// any other waiter wakes, unless bspgen hands it on. Counted at the grant, so the time a make takes to start
    /// on a loaded machine does not enter, and jobs of a second outlast the delays of a loaded test run.
    @Test func bspgenAskingWhileAMakeSaturatesTheJobsGetsATokenSoon() async throws {
        let (folder, journal) = try jobsFolder(jobs: 30) { journal in
            "@timeout 1 sh -c 'while :; do :; done' || true; echo $@ >> \(journal)"
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        func jobsFinished() -> Int {
            ((try? String(contentsOf: journal, encoding: .utf8)) ?? "").split(separator: "\n").count
        }
        let jobserver = try #require(Jobserver(tokens: 2))
        // A machine busy beyond the jobserver's jobs, as under a parallel test run or other builds: a waiter that
        // wakes on a freed token finds no core free before the make that freed it takes it again.
        // Each ends by itself after some seconds of CPU (a test's children may have signals blocked, so `timeout`
        // cannot be relied on) and is killed when the test ends; none holds the test's output open.
        let spinners = try (0..<3).map { _ in
            let spinner = Process()
            spinner.executableURL = URL(fileURLWithPath: "/bin/sh")
            spinner.arguments = ["-c", "i=0; while [ $i -lt 15000000 ]; do i=$((i+1)); done"]
            spinner.standardOutput = FileHandle.nullDevice
            spinner.standardError = FileHandle.nullDevice
            try spinner.run()
            return spinner
        }
        defer { for spinner in spinners { kill(spinner.processIdentifier, SIGKILL) } }
        var command = Command("make", ["-C", folder.path])
        command.jobserver = jobserver
        let (waits, last) = try await withThrowingTaskGroup(of: ([Int], Int)?.self) { group in
            group.addTask { [command] in
                try await ProcessRunner.logged(command, log: folder.appendingPathComponent("make.log"))
                return nil
            }
            for _ in 0..<200 where jobsFinished() == 0 {
                try await Task.sleep(for: .milliseconds(25))
            }
            // Four times, so that a waiter winning only some of the races for a freed token shows. On a thread of
            // its own: other tests keeping Swift's shared pool busy would delay the count after the grant.
            let waits = try await withTaskExecutorPreference(ThreadExecutor()) {
                var waits: [Int] = []
                for _ in 0..<4 {
                    // The make takes back the token given up, so that each round waits for one anew.
                    try await Task.sleep(for: .milliseconds(300))
                    let asked = jobsFinished()
                    waits.append(try await jobserver.withToken { jobsFinished() } - asked)
                }
                return waits
            }
            let last = jobsFinished()
            try await group.waitForAll()
            return (waits, last)
        }
        #expect(last < 30, "the make's jobs were not running all the while bspgen asked")
        // Handed the first token given back, bspgen sees at most the job that gave it and the other running one end.
        #expect(waits.reduce(0, +) <= 2 * waits.count, "bspgen waited for \(waits) of the make's jobs to end")
    }

    /// A make stopped while its jobs hold tokens (a cancelled build) cannot give them back: the jobserver has all
    /// its tokens again once no make runs.
    @Test func tokensOfAStoppedMakeComeBack() async throws {
        let (folder, journal) = try jobsFolder(jobs: 6) { journal in "@echo \"+ $$(date +%s%N)\" >> \(journal); sleep 1000" }
        defer { try? FileManager.default.removeItem(at: folder) }
        let jobserver = try #require(Jobserver(tokens: 3))
        var command = Command("make", ["-C", folder.path])
        command.jobserver = jobserver
        let make = Task { [command] in try await ProcessRunner.logged(command, log: folder.appendingPathComponent("make.log")) }
        for _ in 0..<200 where ((try? String(contentsOf: journal, encoding: .utf8)) ?? "").split(separator: "\n").count < 3 {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try await tokenWithin(jobserver) == nil, "the make's 3 jobs hold every token")
        make.cancel()
        _ = try? await make.value
        var tokens = 0
        while tokens < 4, try await tokenWithin(jobserver) != nil { tokens += 1 }
        #expect(tokens == 3)
    }

    /// `build fake fake2 -j 3`: two boards, each its own kernel with 6 compiles, and their shared BusyBox with 6 more.
    /// The stand-in compiles across both boards never exceed 3 at once, and reach 3 (a fixed split would give
    /// each board 1).
    @Test func twoBoardsBuiltAtOnceShareTheJobs() throws {
        let project = try FakeBoardProject(jobs: 6)
        defer { project.cleanUp() }
        try project.addBoard("fake2", ownKernelFragment: true)
        let (status, output) = try project.run(["build", "fake", "fake2", "-j", "3"])
        #expect(status == 0, "\(output)")
        let peak = try peakConcurrency(project.journal)
        #expect(peak <= 3, "more compiles at once than -j 3 allows")
        #expect(peak == 3, "the jobs were not shared: at most \(peak) ran at once")
    }

    /// Boards that name the same kernel fragments share one kernel build folder: the second board finds the
    /// first one's config and only builds its own targets in it. A board with its own fragment file (even of the
    /// same content) gets its own folder, where editing that fragment rebuilds incrementally.
    @Test func boardsNamingTheSameFragmentsShareOneKernelBuild() throws {
        let project = try FakeBoardProject()
        defer { project.cleanUp() }
        try project.addBoard("fake2")
        let (status, output) = try project.run(["build", "fake", "fake2", "--explain"])
        #expect(status == 0, "\(output)")
        let kernels = try FileManager.default.contentsOfDirectory(atPath: project.cache.appendingPathComponent("kernels").path)
        #expect(kernels.count == 1, "\(kernels)")
        let second = try #require(output.range(of: "fake2: ").map { String(output[$0.upperBound...]) })
        #expect(second.contains("skipped kernel config"), "\(second)")

        try project.addBoard("fake3", ownKernelFragment: true)
        let (third, thirdOutput) = try project.run(["build", "fake3"])
        #expect(third == 0, "\(thirdOutput)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: project.cache.appendingPathComponent("kernels").path).count == 2)

        // fake3 back on the shared fragment: its own kernel folder is used by no board, and only it is collected.
        let yaml = project.boards.appendingPathComponent("fake3.yaml")
        try String(contentsOf: yaml, encoding: .utf8).replacingOccurrences(of: "fragments: [", with: "fragments: [../fake/")
            .write(to: yaml, atomically: true, encoding: .utf8)
        #expect(try project.run(["build", "fake3"]).status == 0)
        let (gcStatus, gcOutput) = try project.run(["cache", "gc"], buildOptions: false)
        #expect(gcStatus == 0, "\(gcOutput)")
        #expect(gcOutput.components(separatedBy: "removed kernel").count == 2, "\(gcOutput)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: project.cache.appendingPathComponent("kernels").path) == kernels)
    }

    /// The kernel image waits (a make target that blocks) while BusyBox builds to its end: the stages overlap.
    @Test func busyBoxIsBuiltWhileTheKernelIsStillBuilding() async throws {
        let project = try FakeBoardProject(blockAt: "bzImage")
        defer { project.cleanUp() }
        let (process, log) = try project.start()
        defer { if process.isRunning { process.terminate() } }
        var busybox: String?
        for _ in 0..<600 where busybox == nil {
            busybox = FileManager.default.enumerator(atPath: project.cache.appendingPathComponent("busybox").path)?
                .compactMap { $0 as? String }.first { $0.hasSuffix("install/bin/busybox") }
            if busybox == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(busybox != nil, "BusyBox was not built while the kernel image was blocked")
        #expect(process.isRunning, "the build ended while the kernel image was blocked")
        _ = FileManager.default.createFile(atPath: project.release.path, contents: nil)
        if let sleeper = try? await project.waitForSleeper() { kill(sleeper, SIGTERM) }
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
    }
}

/// Whether a token of `jobserver` comes within half a second (it is kept).
private func tokenWithin(_ jobserver: Jobserver) async throws -> Bool? {
    try await withThrowingTaskGroup(of: Bool?.self) { group in
        group.addTask { try await jobserver.acquire(); return true }
        group.addTask { try await Task.sleep(for: .milliseconds(500)); return nil }
        let first = try await group.next() ?? nil
        group.cancelAll()
        return first
    }
}

/// Runs the jobs of tasks that prefer it on a thread of its own, never on Swift's shared pool. The thread ends
/// when no job is queued; the next job starts another.
private final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let lock = NSLock()
    private var jobs: [UnownedJob] = []
    private var running = false

    func enqueue(_ job: UnownedJob) {
        let start = lock.withLock {
            jobs.append(job)
            defer { running = true }
            return !running
        }
        if start { Thread { [self] in runJobs() }.start() }
    }

    private func runJobs() {
        while let job = lock.withLock({ () -> UnownedJob? in
            guard !jobs.isEmpty else {
                running = false
                return nil
            }
            return jobs.removeFirst()
        }) {
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

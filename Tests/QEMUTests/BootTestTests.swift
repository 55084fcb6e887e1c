import BoardModel
import Foundation
import Host
import Testing
@testable import QEMU

@Suite struct BootTestTests {
    @Test func aGoodGuestPasses() async throws {
        let fake = try FakeQEMU([FakeQEMU.noise, FakeQEMU.banner(), FakeQEMU.shell()].joined(separator: "\n"))
        let report = try await fake.bootTest()
        #expect(report.passed, "\(report.failure.map(String.init(describing:)) ?? "")")
        #expect(report.failure == nil)
        #expect(report.banner == "=== bspgen: board fake is up (Linux 6.1.0, x86_64) ===")
        #expect(report.secondsToBanner != nil)
        #expect(report.checks.map(\.name) == ["uname -m", "/proc/cmdline", "poweroff"])
        #expect(report.checks.allSatisfy { $0.passed })
        #expect(report.checks.first?.obtained == "x86_64")
        #expect(report.checks.dropFirst().first?.obtained == "console=ttyS0 quiet")
        #expect(report.exitStatus == "exit status 0")
        #expect(report.lastConsoleLines.isEmpty)
        let log = try String(contentsOf: fake.log, encoding: .utf8)
        #expect(log.contains("SeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n"), "every console byte is logged")
        #expect(log.contains("reboot: Power down"))

        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any]
        #expect(json?["passed"] as? Bool == true)
        #expect((json?["checks"] as? [Any])?.count == 3)
    }

    /// The report's boot timeline: each milestone at the time its line came, in order, printk timestamps or not.
    @Test func milestonesAreTimedAsTheirLinesArrive() async throws {
        let console = #"""
            printf 'U-Boot 2023.01 (Jan 01 2024 - 00:00:00 +0000)\r\n'
            sleep 0.3
            printf '[    0.000000] Linux version 6.1.0 (gcc 12.2.0)\r\n'
            printf 'Unpacking initramfs...\r\n'
            sleep 0.3
            printf '[    0.300001] Freeing initrd memory: 1416K\r\n'
            printf 'Run /init as init process\r\n'
            """#
        let fake = try FakeQEMU([console, FakeQEMU.banner(), FakeQEMU.shell()].joined(separator: "\n"))
        let report = try await fake.bootTest()
        #expect(report.passed)
        #expect(report.milestones.map(\.name) == ["first console output", "boot loader", "kernel started", "initramfs unpacking",
                                                  "initramfs unpacked", "/init started", "banner"])
        let at = Dictionary(report.milestones.map { ($0.name, $0.seconds) }, uniquingKeysWith: { first, _ in first })
        #expect((at["kernel started"] ?? 0) - (at["boot loader"] ?? 0) >= 0.25)
        #expect((at["initramfs unpacked"] ?? 0) - (at["initramfs unpacking"] ?? 0) >= 0.25)
        #expect(report.milestones.map(\.seconds) == report.milestones.map(\.seconds).sorted())
        #expect((at["banner"] ?? 0) <= (report.secondsToBanner ?? 0) + 0.05)
    }

    @Test func aCommandSentBeforeTheShellReadsIsSentAgain() async throws {
        let fake = try FakeQEMU([FakeQEMU.banner(), FakeQEMU.shell(skipFirstLine: true)].joined(separator: "\n"))
        let report = try await fake.bootTest()
        #expect(report.passed, "\(report.failure.map(String.init(describing:)) ?? "")")
    }

    @Test func kernelMessagesDuringACheckAreNotPartOfTheAnswer() async throws {
        let fake = try FakeQEMU([FakeQEMU.banner(), FakeQEMU.shell(kernelMessage: "clocksource: Switched to clocksource tsc")].joined(separator: "\n"))
        let report = try await fake.bootTest()
        #expect(report.passed, "\(report.failure.map(String.init(describing:)) ?? "")")
        #expect(report.checks.first?.obtained == "x86_64")
        #expect(try String(contentsOf: fake.log, encoding: .utf8).contains("clocksource: Switched to clocksource tsc"))
    }

    @Test func kernelPanicFailsFastWithItsLineAndTrace() async throws {
        let fake = try FakeQEMU(FakeQEMU.noise + #"""

            printf '[    0.9] Kernel panic - not syncing: Fatal exception in interrupt\r\n'
            printf '[    0.9] CPU: 0 PID: 1 Comm: swapper\r\n'
            printf '[    0.9] ---[ end Kernel panic - not syncing: Fatal exception in interrupt ]---\r\n'
            sleep 1000
            """#)
        let report = try await fake.bootTest(timeout: .seconds(60))
        #expect(report.failure == .kernelPanic(line: "[    0.9] Kernel panic - not syncing: Fatal exception in interrupt"))
        #expect(report.failure?.kind == "kernel-panic")
        // Fast means long before the 60 s timeout; the margin is for a loaded machine starting the fake.
        #expect(report.totalSeconds < 30)
        #expect(report.lastConsoleLines.last?.contains("end Kernel panic") == true)
        #expect(report.exitStatus == "killed by signal 9")
        #expect(!isRunning(try fake.pid()))
    }

    @Test func aMissingRootIsNamedAsSuch() async throws {
        let fake = try FakeQEMU(#"""
            printf 'VFS: Unable to mount root fs on unknown-block(0,0)\r\n'
            printf 'Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\r\n'
            sleep 1000
            """#)
        let report = try await fake.bootTest(timeout: .seconds(60))
        #expect(report.failure == .rootNotMounted(line: "VFS: Unable to mount root fs on unknown-block(0,0)"))
    }

    @Test func wrongMachineFailsWithExpectedAndObtained() async throws {
        let fake = try FakeQEMU([FakeQEMU.banner(), FakeQEMU.shell(machine: "aarch64")].joined(separator: "\n"))
        let report = try await fake.bootTest()
        #expect(report.failure == .checkFailed(check: "uname -m", expected: "x86_64", obtained: "aarch64"))
        #expect(report.checks.first == BootCheck(name: "uname -m", expected: "x86_64", obtained: "aarch64", passed: false))
        #expect(report.checks.last?.passed == true, "the guest is still powered off cleanly")
        #expect(!report.lastConsoleLines.isEmpty)
    }

    @Test func noBannerTimesOutWithTheLastLines() async throws {
        let fake = try FakeQEMU(FakeQEMU.noise + "\nsleep 1000")
        let report = try await fake.bootTest(timeout: .seconds(3))
        guard case .timedOut(let what, let seconds)? = report.failure else {
            Issue.record("expected a timeout, got \(String(describing: report.failure))")
            return
        }
        #expect(what.contains("banner"))
        #expect(seconds == 3)
        #expect(report.totalSeconds < 30, "ends at the timeout, not when the guest does")
        #expect(report.lastConsoleLines.last == "[    0.512345] Run /init as init process")
        #expect(report.lastConsoleLines.contains("SeaBIOS (version 1.16.2-debian-1.16.2-1)"), "escape sequences are stripped")
        #expect(!isRunning(try fake.pid()))
    }

    @Test func ignoredPoweroffIsReportedAndEverythingIsKilled() async throws {
        let fake = try FakeQEMU("""
            sleep 1000 &
            echo $! > "$(dirname "$0")/child"
            \(FakeQEMU.banner())
            \(FakeQEMU.shell(poweroff: "true"))
            """)
        let report = try await fake.bootTest(poweroffGrace: .seconds(2))
        #expect(report.failure == .poweroffDidNotEndQEMU(graceSeconds: 2))
        #expect(report.checks.last == BootCheck(name: "poweroff", expected: "QEMU exits within 2 s", obtained: "still running; killed", passed: false))
        #expect(report.exitStatus == "killed by signal 9")
        #expect(!isRunning(try fake.pid()))
        #expect(!isRunning(try fake.pid("child")), "what QEMU started dies with it")
    }

    @Test func aFloodEndsWithAClearResultAndBoundedMemory() async throws {
        let fake = try FakeQEMU("yes 'flood flood flood flood flood flood flood flood'")
        let report = try await fake.bootTest(timeout: .seconds(3))
        guard case .timedOut? = report.failure else {
            Issue.record("expected a timeout, got \(String(describing: report.failure))")
            return
        }
        #expect(report.totalSeconds < 30, "ends at the timeout, flood or not")
        #expect(report.lastConsoleLines.count == ConsoleRecorder.tailLines)
        #expect(report.lastConsoleLines.allSatisfy { $0 == "flood flood flood flood flood flood flood flood" })
        let logSize = try FileManager.default.attributesOfItem(atPath: fake.log.path)[.size] as? Int ?? 0
        #expect(logSize < ConsoleRecorder.maxLogBytes + 4096)
    }

    @Test func earlyExitIsReportedWithStatusAndStderr() async throws {
        let fake = try FakeQEMU(#"""
            printf 'starting\r\n'
            echo 'qemu-system-x86_64: -kernel bzImage: could not open kernel file' >&2
            exit 1
            """#)
        let report = try await fake.bootTest()
        #expect(report.failure == .exitedEarly(status: "exit status 1", stderr: ["qemu-system-x86_64: -kernel bzImage: could not open kernel file"]))
        #expect(report.exitStatus == "exit status 1")
        #expect(report.failure?.description.contains("could not open kernel file") == true)
    }

    @Test func cancellationKillsQEMU() async throws {
        let fake = try FakeQEMU(FakeQEMU.noise + "\nsleep 1000")
        let test = Task { try await fake.bootTest(timeout: .seconds(300)) }
        var started: Int32?
        for _ in 0..<200 where started == nil {
            try await Task.sleep(for: .milliseconds(100))
            started = try? fake.pid()
        }
        let pid = try #require(started, "the fake QEMU started")
        #expect(isRunning(pid))
        let cancelled = ContinuousClock.now
        test.cancel()
        await #expect(throws: CancellationError.self) { try await test.value }
        #expect(ContinuousClock.now - cancelled < .seconds(60), "well before the 300 s timeout, however loaded the host")
        #expect(!isRunning(pid))
    }

    @Test func aMissingBinaryCannotStart() async throws {
        let board = try makeBoard(qemu: #"{"binary": "qemu-system-nonexistent", "machine": "q35", "memory": "256M"}"#)
        let folder = try temporaryDirectory()
        var line = try QEMUCommandLine(board: board, artifacts: BootArtifacts(kernel: folder, initramfs: folder), accelerator: .tcg)
        line.qemuPackage = "qemu-system-nonexistent-pkg"
        await #expect {
            try await QEMURunner.bootTest(line, expectedMachine: "x86_64", log: folder.appendingPathComponent("log"))
        } throws: { error in
            guard case .cannotStart(_, let reason)? = error as? QEMUError else { return false }
            return reason.contains("apt-get install") && reason.contains("qemu-system-nonexistent-pkg")
        }
    }
}

@Suite struct ConsoleTextTests {
    @Test(arguments: [
        ("plain", "plain"),
        ("line\r", "line"),
        ("\u{1B}[0m\u{1B}[2J\u{1B}[?7lSeaBIOS", "SeaBIOS"),
        ("\u{1B}]0;title\u{07}after", "after"),
        ("\u{1B}cReset", "Reset"),
        ("tab\there\u{08}", "tab\there"),
    ])
    func cleaning(_ raw: String, _ shown: String) {
        #expect(ConsoleText.clean(Array(raw.utf8)) == shown)
    }
}

@Suite struct AcceleratorTests {
    @Test func anotherArchitectureNeverGetsKVM() async throws {
        let spec = try #require(try makeBoard(qemu: #"{"binary": "qemu-system-riscv64", "machine": "virt", "memory": "256M"}"#).qemu)
        #expect(await Accelerator.choose(for: spec, guestArch: "riscv64", kvmCPUFlags: []) == .tcg)
    }

    @Test func theTrialTakesWhatQEMUSays() async throws {
        let accepting = try FakeQEMU(#"read -r command; [ "$command" = quit ] && exit 0; exit 3"#)
        let refusing = try FakeQEMU(#"echo 'Could not access KVM kernel module: No such file or directory' >&2; exit 1"#)
        let hanging = try FakeQEMU("sleep 1000")
        #expect(await AcceleratorProbe.shared.result(for: try accepting.commandLine().spec) == .kvm)
        #expect(await AcceleratorProbe.shared.result(for: try refusing.commandLine().spec) == .tcg)
        let started = ContinuousClock.now
        #expect(await AcceleratorProbe.shared.result(for: try hanging.commandLine().spec) == .tcg)
        // Far below the fake's 1000 s: the trial's own limit ended it, however loaded the host running the tests.
        #expect(ContinuousClock.now - started < .seconds(120))
        #expect(!isRunning(try hanging.pid()))
    }

    @Test func realQEMUIsProbedQuickly() async throws {
        try #require(ProcessRunner.which("qemu-system-x86_64") != nil, "qemu-system-x86 is not installed: run scripts/setup.sh")
        let spec = try #require(try makeBoard(qemu: #"{"binary": "qemu-system-x86_64", "machine": "q35", "cpu": "max", "memory": "256M"}"#).qemu)
        let started = ContinuousClock.now
        let x86Flags = ["vmx", "svm"]
        let accelerator = await Accelerator.choose(for: spec, guestArch: "x86_64", kvmCPUFlags: x86Flags)
        #expect(ContinuousClock.now - started < .seconds(3))
        if !Accelerator.hardwareVirtualizationVisible(needingOneOf: x86Flags) { #expect(accelerator == .tcg) }
    }
}

@Suite struct BootFailureTextTests {
    @Test func initKilledBySIGILLPointsAtTheKernelUserspaceABI() {
        let sigill = BootFailure.initKilled(line: "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000004")
        #expect(sigill.description.contains("hint: init died of SIGILL") && sigill.description.contains("kernel_requires"))
        let segv = BootFailure.initKilled(line: "Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b")
        #expect(!segv.description.contains("SIGILL"))
    }
}

import BoardModel
import Foundation
import Host
import Testing
@testable import QEMU

/// A U-Boot stand-in: prints `lines` (shell `printf` words), then a prompt that echoes what is typed and runs `echo`.
/// `swallow`: input lines read and thrown away first, as U-Boot's Ctrl-C checks and terminal queries do.
private func fakeUBoot(_ lines: [String], swallow: Int = 0) -> String {
    var script = "printf 'U-Boot 2023.01 (Jan 01 2024)\\r\\n'\n"
    for line in lines { script += "printf '%s\\r\\n' \"\(line)\"\n" }
    for _ in 0..<swallow { script += "read -r lost\n" }
    script += """
        printf '=> '
        while IFS= read -r line; do
            printf '%s\\r\\n' "$line"
            case "$line" in echo*) eval "$line" ;; esac
            printf '=> '
        done
        """
    return script
}

private let otherKey = VerifiedBootPlan.refusals(algorithm: "sha256,rsa2048", keyName: "dev", required: "conf", kernelNode: "kernel-1")[1].expectation

private func refusal(_ fake: FakeQEMU, _ expectation: ConsoleExpectation = otherKey, timeout: Duration = .seconds(20)) async throws -> RefusalReport {
    try await QEMURunner.refusalTest(try fake.commandLine(), expectation: expectation, log: fake.log, timeout: timeout)
}

@Suite struct ConsoleExpectationTests {
    @Test func linesAreMatchedInOrderWithTheirPartsInOrder() {
        let expectation = ConsoleExpectation(name: "t", lines: [["Verifying", "dev+", "OK"], ["Bad hash value for", "'kernel-1'"]])
        #expect(expectation.advance(0, with: "   Verifying Hash Integrity ... sha256,rsa2048:dev+ OK") == 1)
        #expect(expectation.advance(0, with: "OK dev+ Verifying") == 0, "the parts must come in order")
        #expect(expectation.advance(0, with: "Bad hash value for 'hash-1' hash node in 'kernel-1' image node") == 0, "the lines must come in order")
        #expect(expectation.advance(1, with: "Bad hash value for 'hash-1' hash node in 'kernel-1' image node") == 2)
        #expect(expectation.advance(2, with: "anything") == 2)
        #expect(expectation.summary == "Verifying … dev+ … OK / Bad hash value for … 'kernel-1'")
    }

    /// Where the signature sits decides how U-Boot refuses a changed kernel: by its hash under a signed
    /// configuration, by its own signature when each image is signed.
    @Test func eachRequiredModeHasItsReasons() {
        let conf = VerifiedBootPlan.refusals(algorithm: "sha256,rsa4096", keyName: "prod", required: "conf", kernelNode: "kernel-1")
        let image = VerifiedBootPlan.refusals(algorithm: "sha256,rsa4096", keyName: "prod", required: "image", kernelNode: "kernel-1")
        #expect(conf.map(\.tampering) == [.kernelByteChanged, .otherKey, .unsigned] && image.map(\.tampering) == conf.map(\.tampering))
        #expect(conf[0].expectation.lines == [["Verifying Hash Integrity ...", "sha256,rsa4096:prod+"], ["Bad hash value for", "'kernel-1' image node"]])
        #expect(image[0].expectation.lines.first?.contains("Failed to verify required signature 'key-prod'") == true)
        #expect(conf[2].expectation.lines.first == ["No 'signature' subnode found"])
    }
}

@Suite struct RefusalTestTests {
    @Test func aRefusalThenThePromptPasses() async throws {
        let fake = try FakeQEMU(fakeUBoot(["   Verifying Hash Integrity ... sha256,rsa2048:dev-  error!",
                                           "Failed to verify required signature 'key-dev'", "ERROR: can't get kernel image!"]))
        let report = try await refusal(fake)
        #expect(report.passed, "\(report.failure ?? "")")
        #expect(report.seen.count == 3)
        #expect(report.seen.first?.contains("sha256,rsa2048:dev-") == true)
        // The first question may go unanswered on a loaded machine; any answer proves U-Boot is back at its prompt.
        #expect(report.seen.last?.hasPrefix("U-Boot answered at its prompt (BSPGEN-UBOOT-PROMPT-") == true)
        #expect(report.lastConsoleLines.isEmpty)
        let log = try String(contentsOf: fake.log, encoding: .utf8)
        #expect(log.contains("verdict: passed (refused, no kernel started)"))
    }

    @Test func aMarkerTheBootLoaderSwallowedIsSentAgain() async throws {
        let fake = try FakeQEMU(fakeUBoot(["   Verifying Hash Integrity ... sha256,rsa2048:dev-  error!",
                                           "Failed to verify required signature 'key-dev'"], swallow: 1))
        let report = try await refusal(fake)
        #expect(report.passed, "\(report.failure ?? "")")
        #expect(report.seen.last == "U-Boot answered at its prompt (BSPGEN-UBOOT-PROMPT-2)")
    }

    @Test func aKernelThatStartsFailsTheRefusal() async throws {
        let fake = try FakeQEMU(fakeUBoot(["   Verifying Hash Integrity ... sha256,rsa2048:dev-  error!", "Starting kernel ..."]))
        let report = try await refusal(fake)
        #expect(!report.passed)
        #expect(report.failure?.contains("a kernel started: Starting kernel ...") == true, "\(report.failure ?? "")")
        #expect(!report.lastConsoleLines.isEmpty)
    }

    /// Refused, but for another reason than the one this image was made to provoke: not a pass.
    @Test func aRefusalForAnotherReasonFails() async throws {
        let fake = try FakeQEMU(fakeUBoot(["   Verifying Hash Integrity ... sha256,rsa2048:dev+ OK",
                                           "Bad hash value for 'hash-1' hash node in 'kernel-1' image node"]))
        let report = try await refusal(fake, timeout: .seconds(3))
        #expect(!report.passed)
        #expect(report.failure?.contains("timed out waiting for: Verifying Hash Integrity ... … sha256,rsa2048:dev-") == true, "\(report.failure ?? "")")
    }

    @Test func aBootLoaderThatNeverComesBackFails() async throws {
        let fake = try FakeQEMU("""
            printf '   Verifying Hash Integrity ... sha256,rsa2048:dev-  error!\\r\\n'
            printf "Failed to verify required signature 'key-dev'\\r\\n"
            sleep 30
            """)
        // Long enough for the fake to start on a loaded machine; the refusal then waits for the prompt until it ends.
        let report = try await refusal(fake, timeout: .seconds(10))
        #expect(!report.passed)
        #expect(report.failure?.contains("did not come back to its prompt") == true, "\(report.failure ?? "")")
        #expect(report.seen.count == 2)
    }

    @Test func qemuEndingFirstFails() async throws {
        let fake = try FakeQEMU("printf 'U-Boot 2023.01\\r\\n'\nexit 1")
        let report = try await refusal(fake)
        #expect(!report.passed)
        #expect(report.failure?.contains("QEMU ended before the refusal was seen (0 of 2 lines)") == true, "\(report.failure ?? "")")
    }
}

@Suite struct SignatureCheckedBootTests {
    let verified = ConsoleExpectation(name: "U-Boot verified the signature", lines: [["Verifying Hash Integrity ...", "sha256,rsa2048:dev+", "OK"]])
    let refusalLines = ["Failed to verify required signature", "Bad hash value for", "Bad Data Hash"]

    func boot(_ fake: FakeQEMU, timeout: Duration = .seconds(20)) async throws -> BootReport {
        try await QEMURunner.bootTest(fake.commandLine(), expectedMachine: "x86_64", log: fake.log,
                                      options: BootTestOptions(timeout: timeout, poweroffGrace: .seconds(3), consoleExpectations: [verified],
                                                               refusalLines: refusalLines))
    }

    @Test func theSignatureLineBeforeTheBannerIsACheck() async throws {
        let fake = try FakeQEMU(["printf '   Verifying Hash Integrity ... sha256,rsa2048:dev+ OK\\r\\n'", FakeQEMU.banner(), FakeQEMU.shell()]
            .joined(separator: "\n"))
        let report = try await boot(fake)
        #expect(report.passed, "\(report.failure.map(String.init(describing:)) ?? "")")
        #expect(report.checks.first?.name == "U-Boot verified the signature")
        #expect(report.checks.first?.obtained == "Verifying Hash Integrity ... sha256,rsa2048:dev+ OK")
    }

    /// A boot loader that boots without checking the signature (no key) fails the test, though the guest is fine.
    @Test func aBootWithoutTheSignatureLineFails() async throws {
        let fake = try FakeQEMU(["printf '   Verifying Hash Integrity ... sha256+ OK\\r\\n'", FakeQEMU.banner(), FakeQEMU.shell()].joined(separator: "\n"))
        let report = try await boot(fake)
        #expect(!report.passed)
        #expect(report.failure == .checkFailed(check: "U-Boot verified the signature", expected: verified.summary,
                                               obtained: "not on the console before the banner"))
    }

    @Test func aRefusedGoodImageFailsAtOnce() async throws {
        let fake = try FakeQEMU("printf \"Failed to verify required signature 'key-dev'\\r\\n\"\nsleep 1000")
        let start = ContinuousClock.now
        let report = try await boot(fake, timeout: .seconds(300))
        #expect(ContinuousClock.now - start < .seconds(60), "well before the 300 s timeout, however loaded the host")
        #expect(report.failure == .bootLoaderRefused(line: "Failed to verify required signature 'key-dev'"))
        #expect(report.failure?.kind == "boot-loader-refused")
    }

    @Test func theKeyTreeGoesToTheFirmwareWithDtb() throws {
        let out = URL(fileURLWithPath: "/work/out/board")
        let board = try makeBoard(arch: "aarch64", cmdline: "console=ttyAMA0",
                                  qemu: #"{"binary": "qemu-system-aarch64", "machine": "virt", "cpu": "cortex-a53", "memory": "256M"}"#)
        let plan = BootPlan(name: "uboot", board: "fake", arch: "aarch64", kvmCPUFlags: [], qemu: try #require(board.qemu), qemuPackage: nil,
                            kernel: "Image", initramfs: "initramfs.cpio.gz", deviceTree: nil, firmware: FirmwareFile(path: "u-boot.bin", package: nil),
                            loader: nil, disks: [PlannedDisk(artifact: "disk.img", attachment: .virtioMMIO)], cmdline: KernelCommandLine("console=ttyAMA0"),
                            checks: [], expectedMachine: "aarch64", runScript: "run-qemu-uboot.sh", needsImages: true,
                            firmwareDeviceTree: "u-boot-pubkey.dtb")
        let line = try QEMUCommandLine(plan: plan, folder: out, accelerator: .tcg)
        let bios = try #require(line.argv.firstIndex(of: "-bios"))
        #expect(Array(line.argv[bios...].prefix(4)) == ["-bios", "/work/out/board/u-boot.bin", "-dtb", "/work/out/board/u-boot-pubkey.dtb"])
        #expect(try line.runScript(in: out).contains("-dtb u-boot-pubkey.dtb"))
    }
}

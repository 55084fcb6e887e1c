import BoardModel
import Foundation
import Host
import Testing
@testable import QEMU

/// `run-qemu.sh` is an output file with its checksum in the manifest: the same board and artifact names must give
/// the same bytes on every host, and the host that runs it chooses the accelerator.
@Suite struct RunScriptTests {
    private func commandLine(arch: String = "x86_64", binary: String = "qemu-system-x86_64", in folder: URL,
                             accelerator: Accelerator) throws -> QEMUCommandLine {
        let board = try makeBoard(arch: arch, qemu: #"{"binary": "\#(binary)", "machine": "q35", "cpu": "max", "memory": "256M"}"#)
        return try QEMUCommandLine(board: board, artifacts: BootArtifacts(kernel: folder.appendingPathComponent("bzImage"),
                                                                          initramfs: folder.appendingPathComponent("initramfs.cpio.gz")),
                                   accelerator: accelerator)
    }

    @Test func theTextDependsNeitherOnTheProbeNorOnTheOutputFolder() throws {
        let one = URL(fileURLWithPath: "/work/out/board")
        let other = URL(fileURLWithPath: "/home/someone/elsewhere/out/board")
        let texts = try [(one, Accelerator.kvm), (one, .tcg), (other, .kvm), (other, .tcg)].map { folder, accelerator in
            try commandLine(in: folder, accelerator: accelerator).runScript(in: folder)
        }
        #expect(Set(texts).count == 1)
        let text = try #require(texts.first)
        #expect(!text.contains("/work") && !text.contains("/home"), "no path of the build host")
        #expect(text.contains(#"-accel "$accelerator""#))
        #expect(!text.contains("-accel tcg"))
    }

    @Test func anArtifactOutsideTheScriptFolderIsRefused() throws {
        let folder = URL(fileURLWithPath: "/work/out/board")
        let board = try makeBoard(qemu: #"{"binary": "qemu-system-x86_64", "machine": "q35", "memory": "256M"}"#)
        let line = try QEMUCommandLine(board: board, artifacts: BootArtifacts(kernel: URL(fileURLWithPath: "/work/cache/bzImage"),
                                                                              initramfs: folder.appendingPathComponent("initramfs.cpio.gz")),
                                       accelerator: .tcg)
        #expect(throws: QEMUError.artifactOutsideScriptFolder(board: "fake", path: "/work/cache/bzImage", folder: folder.path)) {
            try line.runScript(in: folder)
        }
    }

    /// Runs the script with `uname` and QEMU faked on PATH; returns the accelerator QEMU was started with and
    /// whether the KVM trial ran.
    private func run(hostMachine: String, trialSucceeds: Bool, forced: String? = nil) async throws -> (accelerator: String?, trial: Bool) {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bin = folder.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        func executable(_ name: String, _ text: String) throws {
            let url = bin.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        }
        try executable("uname", "#!/bin/sh\necho \(hostMachine)\n")
        // The trial is the call with -S: it leaves a mark and answers; the boot records its -accel value.
        try executable("qemu-system-fake", """
            #!/bin/sh
            case " $* " in
            *" -S "*) touch "$MARKS/trial"; exit \(trialSucceeds ? 0 : 1) ;;
            esac
            while [ $# -gt 0 ]; do
                if [ "$1" = -accel ]; then echo "$2" > "$MARKS/accelerator"; fi
                shift
            done

            """)
        let line = try commandLine(arch: "aarch64", binary: "qemu-system-fake", in: folder, accelerator: .tcg)
        let script = folder.appendingPathComponent("run-qemu.sh")
        try line.runScript(in: folder).write(to: script, atomically: true, encoding: .utf8)
        let path = bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let result = try await ProcessRunner.capture(Command("sh", [script.path], environment: [
            "PATH": path, "MARKS": folder.path, "BSPGEN_ACCEL": forced,
        ]))
        #expect(result.succeeded, "\(result.statusText)")
        let accelerator = try? String(contentsOf: folder.appendingPathComponent("accelerator"), encoding: .utf8)
        return (accelerator?.trimmingCharacters(in: .whitespacesAndNewlines),
                FileManager.default.fileExists(atPath: folder.appendingPathComponent("trial").path))
    }

    @Test func theScriptTriesKVMOnAHostOfTheGuestsArchitectureAndFallsBackToTCG() async throws {
        let works = try await run(hostMachine: "aarch64", trialSucceeds: true)
        #expect(works.accelerator == "kvm" && works.trial)
        let fails = try await run(hostMachine: "aarch64", trialSucceeds: false)
        #expect(fails.accelerator == "tcg" && fails.trial)
        let otherHost = try await run(hostMachine: "riscv64", trialSucceeds: true)
        #expect(otherHost.accelerator == "tcg" && !otherHost.trial, "KVM cannot run another architecture's guest")
        let forced = try await run(hostMachine: "aarch64", trialSucceeds: true, forced: "tcg")
        #expect(forced.accelerator == "tcg" && !forced.trial)
    }
}

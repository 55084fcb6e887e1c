import BoardModel
import Foundation
import Host
@testable import QEMU

/// A board as the YAML loader would produce it, with only what QEMU looks at varying.
func makeBoard(name: String = "fake", arch: String = "x86_64", cmdline: String = "console=ttyS0 quiet", qemu: String) throws -> Board {
    let json = """
        {"name": "\(name)", "description": "test", "arch": "\(arch)", "toolchain": "t", "cmdline": "\(cmdline)",
         "console": "ttyS0", "kernel": {"base_config": "tinyconfig", "image": "bzImage"}, "busybox": {},
         "qemu": \(qemu)}
        """
    return try JSONDecoder().decode(Board.self, from: Data(json.utf8))
}

/// Every folder of `temporaryDirectory()` is in one folder, removed when the test process exits (a fake QEMU's folder
/// holds its script, which may still be running when the test's own code is done).
private let scratchFolder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-qemu-tests-\(getpid())").path
private let scratchRemovedAtExit: Void = { atexit { try? FileManager.default.removeItem(atPath: scratchFolder) } }()

func temporaryDirectory() throws -> URL {
    scratchRemovedAtExit
    let url = URL(fileURLWithPath: scratchFolder).appendingPathComponent(UUID().uuidString)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Whether `pid` is alive; a killed process whose parent is gone may stay a zombie (state Z) a while.
func isRunning(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    let state = stat.split(separator: ")").last?.split(separator: " ").first
    return state != "Z"
}

/// A stand-in for QEMU: a shell script that prints like a booting guest and answers on its "console".
struct FakeQEMU {
    let folder: URL
    let script: URL

    /// Boot noise with carriage returns and escape sequences, as QEMU's serial console shows it.
    static let noise = #"""
        printf '\033c\033[?7l\033[2JSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n'
        printf 'Booting from ROM...\r\n'
        printf '[    0.000000] Linux version 6.1.0 (gcc 12.2.0)\r\n'
        printf '[    0.512345] Run /init as init process\r\n'
        """#

    static func banner(_ board: String = "fake") -> String {
        #"printf '\r\n=== bspgen: board \#(board) is up (Linux 6.1.0, x86_64) ===\r\n'"#
    }

    /// A shell on the console: echoes each line like a terminal, then runs it with `uname`, `cat` and
    /// `poweroff` faked.
    /// `kernelMessage`: printed on the console (not the command's output) while `uname` answers, as the kernel does.
    static func shell(machine: String = "x86_64", cmdline: String = "console=ttyS0 quiet", poweroff: String = "exit 0",
                      skipFirstLine: Bool = false, kernelMessage: String? = nil) -> String {
        """
        exec 3>&1
        uname() { \(kernelMessage.map { "printf '%s\\r\\n' '\($0)' >&3; " } ?? "")echo '\(machine)'; }
        cat() { echo '\(cmdline)'; }
        poweroff() { printf 'reboot: Power down\\r\\n'; \(poweroff); }
        \(skipFirstLine ? "read -r lost" : "")
        printf '~ # '
        while IFS= read -r line; do
            printf '%s\\r\\n' "$line"
            eval "$line"
            printf '~ # '
        done
        """
    }

    /// `body` runs after the script has written its pid to `pid` in its folder.
    init(_ body: String) throws {
        folder = try temporaryDirectory()
        script = folder.appendingPathComponent("qemu-system-fake")
        try "#!/bin/sh\necho $$ > \"$(dirname \"$0\")/pid\"\n\(body)\n".write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
    }

    func pid(_ name: String = "pid") throws -> Int32 {
        let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    var log: URL { folder.appendingPathComponent("console.log") }

    func commandLine(board: String = "fake") throws -> QEMUCommandLine {
        let board = try makeBoard(name: board, qemu: #"{"binary": "\#(script.path)", "machine": "q35", "memory": "256M"}"#)
        let artifacts = BootArtifacts(kernel: folder.appendingPathComponent("bzImage"), initramfs: folder.appendingPathComponent("initramfs.cpio.gz"))
        return try QEMUCommandLine(board: board, artifacts: artifacts, accelerator: .tcg)
    }

    func bootTest(timeout: Duration = .seconds(20), poweroffGrace: Duration = .seconds(3)) async throws -> BootReport {
        try await QEMURunner.bootTest(commandLine(), expectedMachine: "x86_64", log: log,
                                      options: BootTestOptions(timeout: timeout, poweroffGrace: poweroffGrace))
    }
}

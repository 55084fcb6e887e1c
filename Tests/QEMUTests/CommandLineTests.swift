import BoardModel
import Foundation
import Host
import Testing
@testable import QEMU

@Suite struct CommandLineTests {
    let out = URL(fileURLWithPath: "/work/out/board")

    @Test func x86WithoutNetworkGetsNicNoneOnceFromTheBoard() throws {
        let board = try makeBoard(qemu: #"{"binary": "qemu-system-x86_64", "machine": "q35", "cpu": "max", "memory": "256M", "extra_args": ["-nic", "none"]}"#)
        let line = try QEMUCommandLine(board: board, artifacts: BootArtifacts(kernel: out.appendingPathComponent("bzImage"),
                                                                              initramfs: out.appendingPathComponent("initramfs.cpio.gz")),
                                       accelerator: .tcg)
        #expect(line.argv == ["qemu-system-x86_64", "-M", "q35", "-cpu", "max", "-m", "256M", "-accel", "tcg",
                              "-kernel", "/work/out/board/bzImage", "-initrd", "/work/out/board/initramfs.cpio.gz",
                              "-append", "console=ttyS0 quiet", "-nographic", "-no-reboot", "-nic", "none"])
        #expect(line.timeoutSeconds == 300)
    }

    @Test func arm64VirtWithCPUAndSMPGetsNoNetworkByDefault() throws {
        let board = try makeBoard(arch: "aarch64", cmdline: "console=ttyAMA0",
                                  qemu: #"{"binary": "qemu-system-aarch64", "machine": "virt", "cpu": "cortex-a53", "memory": "1G", "smp": 2, "timeout": 90}"#)
        let line = try QEMUCommandLine(board: board, artifacts: BootArtifacts(kernel: out.appendingPathComponent("Image"),
                                                                              initramfs: out.appendingPathComponent("initramfs.cpio.gz")),
                                       accelerator: .kvm)
        #expect(line.argv == ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a53", "-m", "1G", "-smp", "2", "-accel", "kvm",
                              "-kernel", "/work/out/board/Image", "-initrd", "/work/out/board/initramfs.cpio.gz",
                              "-append", "console=ttyAMA0", "-nographic", "-no-reboot", "-nic", "none"])
        #expect(line.command.executable == "qemu-system-aarch64")
        #expect(line.command.arguments == Array(line.argv.dropFirst()))
        #expect(line.timeoutSeconds == 90)
    }

    @Test func deviceTreeIsPassedWhenTheBoardAsksAndRequiredThen() throws {
        let board = try makeBoard(arch: "aarch64", qemu: #"{"binary": "qemu-system-aarch64", "machine": "raspi3b", "memory": "1G", "dtb": true}"#)
        let artifacts = BootArtifacts(kernel: out.appendingPathComponent("Image"), initramfs: out.appendingPathComponent("initramfs.cpio.gz"),
                                      deviceTree: out.appendingPathComponent("bcm2837-rpi-3-b.dtb"))
        let line = try QEMUCommandLine(board: board, artifacts: artifacts, accelerator: .tcg)
        #expect(line.argv.contains("-dtb"))
        #expect(line.argv[(line.argv.firstIndex(of: "-dtb") ?? 0) + 1] == "/work/out/board/bcm2837-rpi-3-b.dtb")
        #expect(!line.argv.contains("-cpu"))

        var withoutTree = artifacts
        withoutTree.deviceTree = nil
        #expect(throws: QEMUError.missingDeviceTree(board: "fake")) {
            try QEMUCommandLine(board: board, artifacts: withoutTree, accelerator: .tcg)
        }
    }

    @Test func allowedExtraArgumentsAreAppendedAndNicNoneIsNotRepeated() throws {
        let board = try makeBoard(qemu: #"{"binary": "qemu-system-x86_64", "machine": "q35", "memory": "256M", "extra_args": ["-nic", "none", "-device", "virtio-rng-pci", "-usb"]}"#)
        let line = try QEMUCommandLine(board: board, artifacts: BootArtifacts(kernel: out, initramfs: out), accelerator: .tcg)
        #expect(line.argv.filter { $0 == "-nic" }.count == 1)
        #expect(line.argv.suffix(5) == ["-nic", "none", "-device", "virtio-rng-pci", "-usb"])
    }

    /// The options that decide the guest's machine, as written in an argv: `-M`'s machine without its
    /// `dumpdtb=` property, CPU, memory, CPUs, network and the board's devices, in order. A disk's device
    /// (`drive=`) is left out: it plugs into a transport the machine has either way (virtio-mmio, PCI).
    private func machineWords(_ argv: [String]) -> [String] {
        let valued: Set<String> = ["-M", "-cpu", "-m", "-smp", "-nic", "-device", "-global"]
        let flags: Set<String> = ["-usb", "-nodefaults", "-no-hpet"]
        var words: [String] = []
        var index = argv.startIndex
        while index < argv.endIndex {
            let word = argv[index]
            if valued.contains(word), index + 1 < argv.endIndex {
                let value = argv[index + 1]
                if word == "-device", value.contains("drive=") {
                    index += 2
                    continue
                }
                words += [word, word == "-M" ? value.split(separator: ",").filter { !$0.hasPrefix("dumpdtb=") }.joined(separator: ",") : value]
                index += 2
            } else {
                if flags.contains(word) { words.append(word) }
                index += 1
            }
        }
        return words
    }

    @Test(arguments: [nil, URL(fileURLWithPath: "/usr/lib/u-boot/qemu_arm64/u-boot.bin")])
    func theDumpedDeviceTreeIsTheBootedMachines(firmware: URL?) throws {
        let board = try makeBoard(arch: "aarch64", cmdline: "console=ttyAMA0",
                                  qemu: #"{"binary": "qemu-system-aarch64", "machine": "virt", "cpu": "cortex-a53", "memory": "1G", "smp": 2, "extra_args": ["-device", "virtio-rng-device", "-global", "virtio-mmio.force-legacy=false"]}"#)
        let artifacts = BootArtifacts(kernel: out.appendingPathComponent("Image"), initramfs: out.appendingPathComponent("initramfs.cpio.gz"))
        let boot = try QEMUCommandLine(board: board, artifacts: artifacts, accelerator: .kvm, firmware: firmware,
                                       disks: firmware == nil ? [] : [QEMUDisk(image: out.appendingPathComponent("disk.img"), attachment: .virtioMMIO)])
        let destination = URL(fileURLWithPath: "/tmp/qemu-virt.dtb")
        let dump = try QEMUCommandLine.dumpDeviceTreeCommand(board: board, to: destination, firmware: firmware)
        let dumpArgv = [dump.executable] + dump.arguments
        #expect(machineWords(boot.argv) == ["-M", "virt", "-cpu", "cortex-a53", "-m", "1G", "-smp", "2", "-nic", "none",
                                            "-device", "virtio-rng-device", "-global", "virtio-mmio.force-legacy=false"])
        #expect(machineWords(dumpArgv) == machineWords(boot.argv))
        #expect(dump.executable == boot.argv.first)
        #expect(dump.arguments.contains("virt,dumpdtb=/tmp/qemu-virt.dtb"))
        #expect(dump.arguments.contains("-bios") == (firmware != nil))
    }

    @Test(arguments: [["-virtfs", "local,path=/,mount_tag=host"], ["-drive", "file=/dev/sda"], ["--kernel", "x"],
                      ["-device", "loader,file=/etc/shadow"], ["-netdev", "user,id=n,smb=/home"], ["-accel", "kvm"],
                      ["-nic", "user"], ["-netdev", "user,id=n0"], ["-display", "vnc=:0"], ["-device"], ["none"], ["-frobnicate"],
                      ["-device", "virtio-serial", "-chardev", "socket,path=/tmp/x,id=c"]])
    func argumentsThatReachTheHostOrOverrideBSPGenAreRejected(_ extra: [String]) throws {
        let quoted = extra.map { "\"\($0)\"" }.joined(separator: ", ")
        let board = try makeBoard(qemu: #"{"binary": "qemu-system-x86_64", "machine": "q35", "memory": "256M", "extra_args": [\#(quoted)]}"#)
        #expect(throws: QEMUError.self) { try QEMUCommandLine(board: board, artifacts: BootArtifacts(kernel: out, initramfs: out), accelerator: .tcg) }
    }

    @Test func boardWithoutQEMUIsNotEmulated() throws {
        var board = try makeBoard(qemu: #"{"binary": "qemu-system-x86_64", "machine": "q35", "memory": "256M"}"#)
        board.qemu = nil
        #expect(throws: QEMUError.notEmulated(board: "fake")) {
            try QEMUCommandLine(board: board, artifacts: BootArtifacts(kernel: out, initramfs: out), accelerator: .tcg)
        }
    }

    @Test func runScriptIsValidShellWithRelativePathsAndQuotedCmdline() async throws {
        let folder = try temporaryDirectory()
        // The fake QEMU records where it runs and what it got, so the script can be run for real.
        let recorder = folder.appendingPathComponent("qemu-system-record")
        try "#!/bin/sh\n{ pwd; for a in \"$@\"; do echo \"[$a]\"; done; } > \"$RECORD\"\n".write(to: recorder, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: recorder.path)
        let board = try makeBoard(cmdline: "console=ttyS0 it's \\\"quoted\\\"",
                                  qemu: #"{"binary": "\#(recorder.path)", "machine": "q35", "memory": "256M", "extra_args": ["-nic", "none"]}"#)
        let line = try QEMUCommandLine(board: board, artifacts: BootArtifacts(kernel: folder.appendingPathComponent("bzImage"),
                                                                              initramfs: folder.appendingPathComponent("initramfs.cpio.gz")),
                                       accelerator: .tcg)
        let text = try line.runScript(in: folder)
        #expect(text.hasPrefix("#!/bin/sh\n"))
        #expect(text.contains("cd \"$(dirname \"$0\")\""))
        #expect(text.contains("-kernel bzImage"))
        #expect(text.contains(#"-append 'console=ttyS0 it'\''s "quoted"'"#))
        #expect(text.contains("Ctrl-A"))

        let script = folder.appendingPathComponent("run-qemu.sh")
        try text.write(to: script, atomically: true, encoding: .utf8)
        #expect(try await ProcessRunner.capture(Command("sh", ["-n", script.path])).succeeded)

        let record = folder.appendingPathComponent("record")
        // TCG forced: the trial would run the recorder too, and its answer depends on this host.
        let result = try await ProcessRunner.capture(Command("sh", [script.path, "-S"], environment: ["RECORD": record.path, "BSPGEN_ACCEL": "tcg"],
                                                             workingDirectory: URL(fileURLWithPath: "/")))
        #expect(result.succeeded)
        let lines = try String(contentsOf: record, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.first.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path } == folder.resolvingSymlinksInPath().path)
        #expect(lines.dropFirst().map { String($0.dropFirst().dropLast()) } == Array(line.argv(relativeTo: folder).dropFirst()) + ["-S"])
    }
}

import BoardModel
import Foundation
import Host
import Testing
@testable import QEMU

@Suite struct DiskBootCommandLineTests {
    let out = URL(fileURLWithPath: "/work/out/board")

    @Test func firmwareBootsTheDiskInsteadOfQEMULoadingTheKernel() throws {
        let board = try makeBoard(arch: "aarch64", cmdline: "console=ttyAMA0",
                                  qemu: #"{"binary": "qemu-system-aarch64", "machine": "virt", "cpu": "cortex-a53", "memory": "256M", "dtb": true}"#)
        let line = try QEMUCommandLine(board: board, artifacts: BootArtifacts(kernel: out.appendingPathComponent("Image"),
                                                                              initramfs: out.appendingPathComponent("initramfs.cpio.gz")),
                                       accelerator: .tcg, firmware: URL(fileURLWithPath: "/usr/lib/u-boot/qemu_arm64/u-boot.bin"),
                                       disks: [QEMUDisk(image: out.appendingPathComponent("disk.img"), attachment: .virtioMMIO)])
        #expect(line.argv == ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a53", "-m", "256M", "-accel", "tcg",
                              "-bios", "/usr/lib/u-boot/qemu_arm64/u-boot.bin",
                              "-drive", "if=none,id=disk0,format=raw,snapshot=on,file=/work/out/board/disk.img",
                              "-device", "virtio-blk-device,drive=disk0", "-nographic", "-no-reboot", "-nic", "none"])
        // The console check expects what the boot loader passes, by default the board's command line.
        #expect(line.cmdline == "console=ttyAMA0")
        #expect(!line.argv.contains("-append") && !line.argv.contains("-kernel") && !line.argv.contains("-dtb"))
    }

    @Test func aRootDiskIsAttachedBesideTheKernelAndTheScriptKeepsItRelative() throws {
        let board = try makeBoard(qemu: #"{"binary": "qemu-system-x86_64", "machine": "q35", "memory": "256M"}"#)
        let line = try QEMUCommandLine(board: board, artifacts: BootArtifacts(kernel: out.appendingPathComponent("bzImage"),
                                                                              initramfs: out.appendingPathComponent("initramfs.cpio.gz")),
                                       accelerator: .tcg, disks: [QEMUDisk(image: out.appendingPathComponent("rootfs.ext4"), attachment: .virtioPCI)],
                                       cmdline: "console=ttyS0 quiet bspgen.root=/dev/vda")
        #expect(line.argv.contains("-kernel"))
        #expect(line.argv.contains("virtio-blk-pci,drive=disk0"))
        #expect(line.argv[(line.argv.firstIndex(of: "-append") ?? 0) + 1] == "console=ttyS0 quiet bspgen.root=/dev/vda")
        let script = try line.runScript(in: out)
        #expect(script.contains("-drive if=none,id=disk0,format=raw,snapshot=on,file=rootfs.ext4"), "\(script)")
    }

    @Test func commasInDiskPathsAreEscapedForQEMU() throws {
        let board = try makeBoard(qemu: #"{"binary": "qemu-system-arm", "machine": "vexpress-a9", "memory": "256M"}"#)
        let line = try QEMUCommandLine(board: board, artifacts: BootArtifacts(kernel: out, initramfs: out), accelerator: .tcg,
                                       disks: [QEMUDisk(image: URL(fileURLWithPath: "/tmp/a,b/sd.img"), attachment: .sd)])
        #expect(line.argv.contains("if=sd,format=raw,snapshot=on,file=/tmp/a,,b/sd.img"))
    }
}

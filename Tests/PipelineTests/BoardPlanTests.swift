import BoardModel
@testable import Pipeline
import Foundation
import QEMU
import Testing

private func repositoryBoard(_ name: String) throws -> ResolvedBoard {
    try Catalog(boardsDirectory: repositoryRoot.appendingPathComponent("boards"),
                toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains")).board(named: name)
}

@Suite struct BoardPlanTests {
    @Test func optionsChooseTheBootPath() throws {
        #expect(try BootSelection(method: nil, rootfs: nil) == .kernel)
        #expect(try BootSelection(method: "uboot", rootfs: nil) == .method("uboot"))
        #expect(try BootSelection(method: nil, rootfs: "ext4") == .rootfs)
        #expect(throws: PlanError.self) { try BootSelection(method: nil, rootfs: "btrfs") }
        #expect(throws: PlanError.self) { try BootSelection(method: "disk", rootfs: "ext4") }
    }

    @Test func eachBootPathHasItsOwnCommandLineAndChecks() throws {
        let plan = BoardPlan(board: try repositoryBoard("qemu-arm64-virt"))
        #expect(plan.boots.map(\.name) == ["kernel", "uboot", "uboot-debian", "rootfs-ext4"])
        let kernel = try plan.boot(.kernel)
        let rootfs = try plan.boot(.rootfs)
        let uboot = try plan.boot(.method("uboot"))
        #expect(rootfs.cmdline == kernel.cmdline.appending("bspgen.root=/dev/vda"))
        #expect(!kernel.needsImages && rootfs.needsImages && uboot.needsImages)
        // The U-Boot bspgen built is an artifact of the output folder; Debian's is a file of a package.
        #expect(uboot.firmware == FirmwareFile(path: "u-boot.bin", package: nil) && uboot.firmware?.isArtifact == true)
        #expect(try plan.boot(.method("uboot-debian")).firmware?.package == "u-boot-qemu")
        #expect(uboot.disks.map(\.artifact) == ["disk.img"])
        // The device tree's bootargs are whatever this boot gave the kernel: each plan expects its own.
        for boot in plan.boots {
            let bootargs = boot.checks.first { $0.name == "dt /chosen/bootargs" }
            #expect(bootargs?.expected == boot.cmdline.description, "\(boot.name)")
        }
        #expect(rootfs.checks.contains { $0.name == "root file system" && $0.expected == "/dev/vda ext4" })
        #expect(Set(plan.boots.map(\.runScript)).count == plan.boots.count)
    }

    @Test func aBootLoaderPutsItsOwnParametersInFront() throws {
        let plan = BoardPlan(board: try repositoryBoard("qemu-x86_64"))
        let disk = try plan.boot(.method("disk"))
        #expect(disk.cmdline.parameters.first == "BOOT_IMAGE=/bzImage")
        #expect(disk.cmdline.parameters.dropFirst() == plan.boots[0].cmdline.parameters[...])
        // No device tree on this board: nothing to expect in /proc/device-tree.
        #expect(!plan.boots.flatMap(\.checks).contains { $0.name.hasPrefix("dt ") })
    }

    @Test func aBootPathTheBoardDoesNotHaveIsRefusedWithTheOnesItHas() throws {
        let plan = BoardPlan(board: try repositoryBoard("qemu-arm64-virt"))
        #expect(throws: PlanError.self) { try plan.boot(.method("grub")) }
        do {
            _ = try plan.boot(.method("grub"))
        } catch {
            #expect(error.description.contains("kernel, uboot, uboot-debian"), "\(error)")
        }
        let real = BoardPlan(board: try repositoryBoard("beaglebone-black"))
        #expect(real.boots.isEmpty)
        #expect(throws: PlanError.self) { try real.boot(.kernel) }
    }

    @Test func imageStagesAndTheirRunScriptsArePlannedOnlyWithImages() throws {
        let board = try repositoryBoard("qemu-arm64-virt")
        let plain = BoardPlan(board: board)
        let images = BoardPlan(board: board, includeImages: true)
        #expect(!plain.stages.contains { $0.name.hasPrefix("disk image") || $0.name == "root file system" })
        #expect(images.stages.contains { $0.name == "disk image disk.img" } && images.stages.contains { $0.name == "root file system" })
        #expect(plain.stages.contains { $0.name == "FIT image" })
        #expect(plain.runScriptBoots.map(\.runScript) == ["run-qemu.sh"])
        #expect(images.runScriptBoots.map(\.runScript) == ["run-qemu.sh", "run-qemu-uboot.sh", "run-qemu-uboot-debian.sh", "run-qemu-rootfs-ext4.sh"])
        #expect(plain.stages.suffix(3).map(\.name) == ["kernel sizes", "output folder", "report"])
    }

    /// The SBOM's walk of the builds is a stage of its own, before the documents, and reads no initramfs or image:
    /// a changed initramfs file remakes the documents only.
    @Test func theFileListsComeBeforeTheSBOMAndReadOnlyTheBuilds() throws {
        let stages = BoardPlan(board: try repositoryBoard("qemu-arm64-virt"), includeImages: true).stages
        let names = stages.map(\.name)
        let lists = try #require(stages.first { $0.name == "file lists" })
        #expect(try #require(names.firstIndex(of: "file lists")) < (try #require(names.firstIndex(of: "sbom"))))
        #expect(lists.inputs.contains("bootloader") && lists.inputs.contains("kernel modules"))
        #expect(!lists.inputs.contains { $0.contains("initramfs") || $0.contains("image.itb") || $0.contains("disk") })
        #expect(stages.first { $0.name == "sbom" }?.inputs.contains("file lists") == true)
    }

    /// The kernel, BusyBox and boot loader chains build at the same time; what reads their results waits.
    @Test func theCompiledComponentsAreChainsThatRunAtTheSameTime() throws {
        let stages = BoardPlan(board: try repositoryBoard("qemu-arm64-virt")).stages
        func lane(_ name: String) -> String? { stages.first { $0.name == name }?.lane }
        #expect(lane("kernel patches") == "kernel" && lane("kernel modules") == "kernel")
        #expect(lane("busybox") == "busybox" && lane("bootloader source") == "bootloader")
        #expect(lane("initramfs") == nil && lane("FIT image") == nil && lane("output folder") == nil)
    }

    @Test func aKernelCommandLineKeepsItsParametersInOrder() {
        let line = KernelCommandLine("console=ttyS0  panic=-1")
        #expect(line.parameters == ["console=ttyS0", "panic=-1"])
        #expect(line.prepending(KernelCommandLine("BOOT_IMAGE=/bzImage")).description == "BOOT_IMAGE=/bzImage console=ttyS0 panic=-1")
        #expect(KernelCommandLine("").prepending(line) == line)
    }

    @Test func aBootLoaderBuiltByBspgenIsLoadedInPlaceOfTheKernel() throws {
        let plan = BoardPlan(board: try repositoryBoard("vexpress-a9"), includeImages: true)
        let uboot = try plan.boot(.method("uboot"))
        #expect(uboot.loader == "u-boot" && uboot.firmware == nil)
        #expect(uboot.disks == [PlannedDisk(artifact: "sdcard.img", attachment: .sd)])
        let bootloader = try #require(plan.stages.first { $0.name == "bootloader" })
        #expect(bootloader.outputs == ["u-boot"] && bootloader.inputs.contains("vexpress_ca9x4_defconfig"))
        // QEMU gets U-Boot as -kernel, the card, and no -initrd or -append: U-Boot's script loads and boots the kernel.
        let words = try QEMUCommandLine(plan: uboot, folder: URL(fileURLWithPath: "/out/vexpress-a9"), accelerator: .tcg).argv
        #expect(words.contains("/out/vexpress-a9/u-boot") && !words.contains("-initrd") && !words.contains("-append"))
        #expect(words.contains { $0.hasPrefix("if=sd,") && $0.hasSuffix("file=/out/vexpress-a9/sdcard.img") })
    }
}

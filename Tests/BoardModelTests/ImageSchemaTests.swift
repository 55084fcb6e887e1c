import BoardModel
import Foundation
import Testing

/// The image and boot-method sections: a good board loads, and each mistake is reported at its field.
@Suite struct ImageSchemaTests {
    static let imageBoard = """
        name: image-board
        description: a board with images
        arch: aarch64
        toolchain: aarch64-linux-gnu
        kernel:
          base_config: tinyconfig
          image: Image
        cmdline: console=ttyAMA0
        console: ttyAMA0
        busybox: {}
        boot_files:
          - {name: boot.scr, template: boot.cmd, kind: uboot-script}
        fit_image: {name: image.itb, kernel_address: 0x40400000, ramdisk_address: 0x44000000}
        rootfs: {size: 16M, attach: virtio-mmio}
        disk_images:
          - name: disk.img
            table: mbr
            partitions:
              - {label: BOOT, type: fat, bootable: true, filesystem: fat16, size: 16M, files: [boot.scr, {from: image.itb, to: fit/image.itb}]}
              - {label: rootfs, type: linux, image: rootfs.ext4}
        boot:
          uboot: {firmware: /usr/lib/u-boot/qemu_arm64/u-boot.bin, package: u-boot-qemu, disk: disk.img, attach: virtio-mmio}
        qemu: {binary: qemu-system-aarch64, machine: virt, memory: 256M}
        """

    func load(_ yaml: String) throws -> Catalog {
        let project = try FixtureProject(board: "image-board")
        try project.write("setenv bootargs \"@CMDLINE@\"\nload virtio 0:1 0x48000000 fit/@FIT@\n", to: "boards/image-board/boot.cmd")
        return try project.load(yaml)
    }

    @Test func aBoardWithImagesLoads() throws {
        let catalog = try load(Self.imageBoard)
        #expect(catalog.diagnostics.map(\.description) == [])
        let board = try #require(catalog.boards["image-board"]).board
        #expect(board.fitImage?.kernelAddress == 0x4040_0000)
        #expect(board.fitImage?.sourceName == "image.its")
        #expect(board.diskImages?.first?.partitions.first?.files == [PartitionFileSpec(from: "boot.scr"), PartitionFileSpec(from: "image.itb", to: "fit/image.itb")])
        #expect(board.diskImages?.first?.partitions.last?.image == "rootfs.ext4")
        #expect(board.boot?["uboot"]?.attach == .virtioMMIO)
        #expect(board.rootfs?.resolvedDevice == "/dev/vda")
        #expect(board.artifactNames.contains("rootfs.ext4") && board.artifactNames.contains("image.its"))
        let image = try #require(board.diskImages?.first)
        #expect(image.bmapName == image.name + ".bmap" && board.artifactNames.contains(image.bmapName))
    }

    @Test(arguments: [
        ("size: 16M, files", "size: 16 megabytes, files", "disk_images[0].partitions[0].size: expected a size with a K, M or G suffix", 19),
        ("filesystem: fat16, size: 16M", "filesystem: fat32, size: 16M", "FAT32 needs at least 34M", 19),
        ("files: [boot.scr,", "files: [boot.src,", "'boot.src' is not an artifact of this board", 19),
        ("{from: image.itb, to: fit/image.itb}", "{from: image.itb, to: /fit/image.itb}", "expected a relative path inside the partition", 19),
        ("{from: image.itb, to: fit/image.itb}", "{from: image.itb, to: BOOT.SCR}", "is written twice into this partition", 19),
        ("image: rootfs.ext4}", "image: rootfs.ext4, filesystem: fat16}", "either 'filesystem' (and 'files') or 'image'", 20),
        ("rootfs: {size: 16M, attach: virtio-mmio}\n", "", "'rootfs.ext4' is not an artifact of this board", 19),
        ("disk: disk.img", "disk: disc.img", "boot.uboot.disk: 'disc.img' is not one of the board's disk_images", 22),
        ("firmware: /usr/lib/u-boot", "firmware: /home/me/u-boot", "boot.uboot.firmware: expected an absolute path under /usr", 22),
        ("attach: virtio-mmio}\nqemu", "attach: virtio}\nqemu", "'virtio' is not valid here; expected one of: virtio-pci, virtio-mmio, sd", 22),
        ("fit_image: {name: image.itb, kernel_address: 0x40400000, ramdisk_address: 0x44000000}\n", "",
         "uses @FIT@ but the board has no fit_image", 2),   // line 2 of the template, where @FIT@ is written
        ("ramdisk_address: 0x44000000}", "ramdisk_address: 0x44000000, boot_method: efi}", "fit_image.boot_method: 'efi' is not one of the board's boot methods", 13),
        ("table: mbr", "table: apm", "'apm' is not valid here; expected one of: mbr, gpt", 17),
        ("label: BOOT,", "label: BOOT PARTITION,", "expected 1 to 11 letters", 19),
        ("name: disk.img", "name: image.itb", "'image.itb' is already an artifact", 16),
        ("ramdisk_address: 0x44000000}", "ramdisk_address: 0x44000000, fdt_adress: 1}", "unknown key 'fdt_adress'", 13),
    ])
    func mistakesAreReportedAtTheirField(_ change: (old: String, new: String, message: String, line: Int)) throws {
        let yaml = Self.imageBoard.replacingOccurrences(of: change.old, with: change.new)
        #expect(yaml != Self.imageBoard, "the change must apply")
        let catalog = try load(yaml)
        #expect(catalog.boards["image-board"] == nil)
        let diagnostic = try #require(catalog.diagnostics.first { $0.description.contains(change.message) }, "\(catalog.diagnostics)")
        #expect(diagnostic.location.line == change.line, "\(diagnostic)")
    }

    @Test func sizesParseWithBinarySuffixes() {
        #expect(ByteSize.parse("64M") == 64 << 20)
        #expect(ByteSize.parse("2G") == 2 << 30)
        #expect(ByteSize.parse("512K") == 512 << 10)
        #expect(ByteSize.parse("64") == nil)
        #expect(ByteSize.parse("-1M") == nil)
        #expect(ByteSize.parse("M") == nil)
    }

    @Test func shippedBoardsDescribeTheirBootPaths() throws {
        let catalog = Catalog(boardsDirectory: repositoryRoot.appendingPathComponent("boards"),
                              toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains"))
        let x86 = try catalog.board(named: "qemu-x86_64").board
        #expect(x86.boot?["disk"]?.firmware == "/usr/share/ovmf/OVMF.fd")
        #expect(x86.diskImages?.first?.table == .gpt)
        #expect(x86.diskImages?.first?.partitions.first?.type == .efiSystem)
        let arm64 = try catalog.board(named: "qemu-arm64-virt").board
        // U-Boot built from source starts as the machine's firmware; Debian's prebuilt one stays as a second path.
        #expect(arm64.boot?["uboot"]?.firmware == "u-boot.bin" && arm64.boot?["uboot"]?.firmwareIsHostFile == false)
        #expect(arm64.bootloader?.artifacts.map(\.name) == ["u-boot.bin"])
        #expect(arm64.boot?["uboot-debian"]?.package == "u-boot-qemu")
        #expect(arm64.fitImage?.bootMethod == "uboot")
        // The FIT's tree is QEMU's as U-Boot sees the machine, under its own name beside the direct-boot tree.
        #expect(ArtifactNames(board: arm64).deviceTrees == ["qemu-virt.dtb"])
        #expect(ArtifactNames(board: arm64).firmwareDeviceTree == "qemu-virt-uboot.dtb")
        #expect(ArtifactNames(board: x86).firmwareDeviceTree == nil)
        for name in ["vexpress-a9", "raspberrypi3b", "raspberrypi4", "beaglebone-black"] {
            let board = try catalog.board(named: name).board
            let image = try #require(board.diskImages?.first, "\(name) has no SD-card image")
            #expect(image.table == .mbr)
            #expect(image.partitions.first?.filesystem != nil && image.partitions.last?.image == "rootfs.ext4", "\(name)")
            // Every card carries the boot loader bspgen builds for it, on its boot partition (but what only QEMU
            // loads in place of the board's flash, as vexpress's U-Boot ELF).
            let qemuLoaders = Set((board.boot ?? [:]).values.compactMap(\.loader))
            let loaderFiles = try #require(board.bootloader, "\(name) has no bootloader").artifacts.map(\.name).filter { !qemuLoaders.contains($0) }
            let bootFiles = (image.partitions.first?.files ?? []).map(\.destination)
            #expect(loaderFiles.allSatisfy(bootFiles.contains), "\(name): \(loaderFiles) not all in \(bootFiles)")
        }
        // The BeagleBone's ROM wants the SPL with its TI header as MLO, then U-Boot as u-boot.img.
        #expect(try catalog.board(named: "beaglebone-black").board.bootloader?.artifacts.map(\.name) == ["MLO", "u-boot.img"])
    }
}

@Suite struct BootFileReferenceTests {
    /// The shipped boards in a scratch folder, with one board's file edited.
    private func catalog(editing board: String, _ edit: (String) -> String) throws -> (Catalog, URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-references-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("boards"), to: folder)
        let file = folder.appendingPathComponent("\(board).yaml")
        try edit(try String(contentsOf: file, encoding: .utf8)).write(to: file, atomically: true, encoding: .utf8)
        return (Catalog(boardsDirectory: folder, toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains")), folder)
    }

    @Test func aConfigTxtNamingAFileNotOnItsPartitionIsRefusedBeforeAnyBuild() throws {
        let (catalog, folder) = try catalog(editing: "raspberrypi4") { $0.replacingOccurrences(of: "u-boot.bin, boot.scr", with: "boot.scr") }
        defer { try? FileManager.default.removeItem(at: folder) }
        let problem = try #require(catalog.diagnostics.first { $0.field == "disk_images[0].partitions[0].files" }, "\(catalog.diagnostics)")
        #expect(problem.description.contains("config.txt names u-boot.bin"), "\(problem)")
        #expect(problem.location.file.hasSuffix("raspberrypi4.yaml") && (problem.location.line ?? 0) > 0)
    }

    @Test func aBootScriptLoadingAFileNotOnItsPartitionIsRefused() throws {
        let (catalog, folder) = try catalog(editing: "vexpress-a9") { $0.replacingOccurrences(of: "vexpress-v2p-ca9.dtb, initramfs.cpio.gz]", with: "vexpress-v2p-ca9.dtb]") }
        defer { try? FileManager.default.removeItem(at: folder) }
        let problem = try #require(catalog.diagnostics.first { $0.field.hasPrefix("disk_images[0]") }, "\(catalog.diagnostics)")
        #expect(problem.description.contains("boot.scr names initramfs.cpio.gz"), "\(problem)")
        // The shipped boards themselves are consistent.
        #expect(Catalog(boardsDirectory: repositoryRoot.appendingPathComponent("boards"),
                        toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains")).diagnostics.isEmpty)
    }
}

import BoardModel
@testable import Pipeline
import DiskImage
import Foundation
import Host
import Initramfs
import Testing

@Suite struct FITSourceTests {
    let spec = FITImageSpec(name: "image.itb", kernelAddress: 0x4040_0000, fdtAddress: 0x43E0_0000, ramdiskAddress: 0x4400_0000)

    @Test func theSourceNamesEveryImageWithItsHashAndAddresses() {
        let text = FITSource.render(.init(description: "b", arch: "arm64", kernel: "Image", deviceTree: "virt.dtb",
                                          ramdisk: "initramfs.cpio.gz", spec: spec))
        #expect(text.hasPrefix("/dts-v1/;"))
        #expect(text.contains("data = /incbin/(\"Image\");"))
        #expect(text.contains("data = /incbin/(\"virt.dtb\");"))
        #expect(text.contains("data = /incbin/(\"initramfs.cpio.gz\");"))
        #expect(text.components(separatedBy: "algo = \"sha256\";").count == 4)
        #expect(text.contains("load = <0x40400000>;") && text.contains("entry = <0x40400000>;"))
        #expect(text.contains("load = <0x43e00000>;") && text.contains("load = <0x44000000>;"))
        #expect(text.contains("arch = \"arm64\";"))
        #expect(text.contains("fdt = \"fdt-1\";") && text.contains("ramdisk = \"ramdisk-1\";"))
    }

    @Test func withoutADeviceTreeTheConfigurationHasNone() {
        let text = FITSource.render(.init(description: "b", arch: "x86_64", kernel: "bzImage", deviceTree: nil,
                                          ramdisk: "initramfs.cpio.gz", spec: FITImageSpec(name: "i.itb", kernelAddress: 0x100000)))
        #expect(!text.contains("fdt"))
        #expect(text.contains("ramdisk = \"ramdisk-1\";"))
    }

    /// The source is what mkimage takes: built for real, the image verifies with `mkimage -l`-free checks.
    @Test func mkimageBuildsItAndTheCheckerVerifiesTheHashes() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(repeating: 0x11, count: 5000).write(to: folder.appendingPathComponent("Image"))
        try Data(repeating: 0x22, count: 700).write(to: folder.appendingPathComponent("initramfs.cpio.gz"))
        try FITSource.render(.init(description: "test", arch: "arm64", kernel: "Image", deviceTree: nil, ramdisk: "initramfs.cpio.gz",
                                   spec: spec)).write(to: folder.appendingPathComponent("image.its"), atomically: true, encoding: .utf8)
        for name in ["one.itb", "two.itb"] {
            try await ProcessRunner.checked(Command("mkimage", ["-f", "image.its", name], environment: ["SOURCE_DATE_EPOCH": "1704067200"],
                                                    workingDirectory: folder))
        }
        // SOURCE_DATE_EPOCH is the image's timestamp: the same inputs give the same bytes.
        #expect(try Data(contentsOf: folder.appendingPathComponent("one.itb")) == Data(contentsOf: folder.appendingPathComponent("two.itb")))
        let listing = try await ProcessRunner.checked(Command("mkimage", ["-l", folder.appendingPathComponent("one.itb").path]))
        #expect(listing.contains("Hash algo:    sha256"), "\(listing)")
        #expect(listing.contains("Load Address: 0x40400000"), "\(listing)")
    }
}

@Suite struct DebugfsCommandTests {
    @Test func nodesAreMadeInTheirFolderAndEveryInodeGetsTheFixedTime() {
        let staged = StagedTree(paths: ["dev", "dev/console", "bin"], fixups: [
            .node(path: "dev/console", mode: 0o020600, major: 5, minor: 1, uid: 0, gid: 0),
            .owner(path: "bin", uid: 1000, gid: 100),
        ])
        let commands = ImageBuilder.debugfsCommands(staged, epoch: 42)
        #expect(commands.prefix(6) == ["cd \"/dev\"", "mknod \"console\" c 5 1", "cd /", "sif \"/dev/console\" mode 020600",
                                       "sif \"/dev/console\" uid 0", "sif \"/dev/console\" gid 0"])
        #expect(commands.contains("sif \"/bin\" uid 1000") && commands.contains("sif \"/bin\" gid 100"))
        #expect(commands.contains("sif / ctime @42") && commands.contains("sif \"/dev/console\" ctime @42"))
    }

    @Test func debugfsErrorsAreFoundInItsOutput() {
        let output = "debugfs 1.47.0 (5-Feb-2023)\ndebugfs: cd /dev\ndebugfs: sif /nope uid 0\nset_inode_field: File not found by ext2_lookup while ...\n"
        #expect(ImageBuilder.debugfsProblems(output) == ["set_inode_field: File not found by ext2_lookup while ..."])
    }
}

/// Real mkfs.vfat, mtools, mke2fs and debugfs on small fake inputs: the image reads back with the tools, and a
/// second build gives the same bytes.
@Suite struct ImageBuilderIntegrationTests {
    func environment(cache: URL) async throws -> BuildEnvironment {
        let catalog = Catalog(boardsDirectory: repositoryRoot.appendingPathComponent("boards"),
                              toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains"))
        var board = try catalog.board(named: "qemu-arm64-virt")
        board.board.name = "image-test"
        let toolchain = try await ToolchainResolver.resolve(board.toolchain)
        return BuildEnvironment(board: board, workspace: Workspace(cacheDirectory: cache.path, outputDirectory: cache.appendingPathComponent("out").path),
                                toolchain: toolchain, progress: ProgressLine(quiet: true), sourceDateEpoch: 1_704_067_200)
    }

    @Test func aDiskImageWithFATAndExt4PartitionsFromFakeInputs() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let builder = ImageBuilder(environment: try await environment(cache: folder))

        // A tiny tree: a directory source and a list with a device node, as the initramfs is made.
        let tree = folder.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree.appendingPathComponent("bin"), withIntermediateDirectories: true)
        try "#!/bin/sh\necho hi\n".write(to: tree.appendingPathComponent("bin/hello"), atomically: true, encoding: .utf8)
        chmod(tree.appendingPathComponent("bin/hello").path, 0o755)
        try FileManager.default.createSymbolicLink(atPath: tree.appendingPathComponent("bin/hi").path, withDestinationPath: "hello")
        let list = InitramfsSource.listText("dir /dev 0755 0 0\nnod /dev/console 0600 0 0 c 5 1\ndir /tmp 1777 0 0\n", name: "test", baseDirectory: folder)
        let rootfs = try await builder.rootFilesystem(RootFilesystemSpec(size: "8M"), sources: [("tree", .directory(tree)), ("list", list)])

        let kernel = folder.appendingPathComponent("Image")
        try Data(repeating: 0x4B, count: 300_000).write(to: kernel)
        let config = folder.appendingPathComponent("config.txt")
        try "kernel=Image\n".write(to: config, atomically: true, encoding: .utf8)
        let spec = DiskImageSpec(name: "sdcard.img", table: .mbr, partitions: [
            PartitionSpec(label: "BOOT", type: .fat, size: "16M", bootable: true, filesystem: .fat16,
                          files: [PartitionFileSpec(from: "Image"), PartitionFileSpec(from: "config.txt", to: "extra/config.txt")]),
            PartitionSpec(label: "rootfs", type: .linux, image: RootFilesystemSpec.imageName),
        ])
        let artifacts = ["Image": kernel, "config.txt": config, RootFilesystemSpec.imageName: rootfs.url]
        let image = try await builder.diskImage(spec, artifacts: artifacts)
        let first = try Data(contentsOf: image.url)

        // The image stage wrote its bmap beside it: it maps this image, and is one of the stage's outputs.
        let bmapFile = builder.bmapFile(of: spec)
        #expect(bmapFile.name == "sdcard.img.bmap" && bmapFile.url.deletingLastPathComponent() == image.url.deletingLastPathComponent())
        let firstBmap = try String(contentsOf: bmapFile.url, encoding: .utf8)
        #expect(try Bmap.read(bmapFile.url) == (try Bmap.scan(image.url)))
        #expect(try Bmap.read(bmapFile.url).mappedBytes < first.count)

        let table = try PartitionTable.read(from: image.url)
        #expect(table.format == .mbr)
        #expect(table.partitions.map(\.bootable) == [true, false])
        #expect(table.partitions.map(\.kind) == [.fat, .linux])
        // The FAT partition, read by mtools at its offset in the image.
        let listing = try await ProcessRunner.checked(Command("mdir", ["-i", "\(image.url.path)@@\(table.partitions[0].offset)", "-/", "-a", "::/"],
                                                              environment: ["MTOOLS_SKIP_CHECK": "1", "TZ": "UTC"]))
        #expect(listing.contains("Volume in drive : is BOOT"), "\(listing)")
        #expect(listing.contains("Image") && listing.contains("300 000"), "\(listing)")
        #expect(listing.contains("config   txt") || listing.contains("config.txt"), "\(listing)")
        #expect(listing.contains("2024-01-01"), "\(listing)")
        let copied = try await ProcessRunner.checked(Command("mtype", ["-i", "\(image.url.path)@@\(table.partitions[0].offset)", "::/extra/config.txt"],
                                                             environment: ["MTOOLS_SKIP_CHECK": "1"]))
        #expect(copied == "kernel=Image\n")
        // The ext4 partition: clean, with the device node, owner and modes made without root.
        let extracted = folder.appendingPathComponent("rootfs-back.ext4")
        try DiskImageWriter.extract(table.partitions[1], from: image.url, to: extracted)
        let fsck = try await ProcessRunner.capture(Command("e2fsck", ["-fn", extracted.path]))
        #expect(fsck.succeeded, "\(fsck.output)")
        let console = try await ProcessRunner.checked(Command("debugfs", ["-R", "stat /dev/console", rootfs.url.path]))
        #expect(console.contains("Type: character special") && console.contains("Mode:  0600"), "\(console)")
        #expect(console.contains("Device major/minor number: 05:01") || console.contains("major/minor number: 05:01") || console.contains("05:01"), "\(console)")
        let tmp = try await ProcessRunner.checked(Command("debugfs", ["-R", "stat /tmp", rootfs.url.path]))
        #expect(tmp.contains("Mode:  01777") && tmp.contains("User:     0   Group:     0"), "\(tmp)")
        let marker = try await ProcessRunner.checked(Command("debugfs", ["-R", "cat /etc/bspgen/rootfs", rootfs.url.path]))
        #expect(marker.contains("ext4"))
        let link = try await ProcessRunner.checked(Command("debugfs", ["-R", "stat /bin/hi", rootfs.url.path]))
        #expect(link.contains("Type: symlink") && link.contains("Fast link dest: \"hello\""), "\(link)")

        // Unchanged inputs: both stages are skipped, and say so.
        let environment = builder.environment
        _ = try await builder.rootFilesystem(RootFilesystemSpec(size: "8M"), sources: [("tree", .directory(tree)), ("list", list)])
        _ = try await builder.diskImage(spec, artifacts: artifacts)
        let skipped = environment.journal.reports.suffix(2)
        #expect(skipped.map(\.stage) == ["root file system", "disk image sdcard.img"] && skipped.allSatisfy { !$0.ran }, "\(skipped)")

        // Same inputs, same bytes: made again from nothing, the second build is compared with the first.
        try FileManager.default.removeItem(at: rootfs.url)
        try FileManager.default.removeItem(at: image.url)
        _ = try await builder.rootFilesystem(RootFilesystemSpec(size: "8M"), sources: [("tree", .directory(tree)), ("list", list)])
        let again = try await builder.diskImage(spec, artifacts: artifacts)
        #expect(environment.journal.reports.suffix(2).allSatisfy { $0.ran })
        #expect(try Data(contentsOf: again.url) == first, "the disk image is not reproducible")
        #expect(try String(contentsOf: bmapFile.url, encoding: .utf8) == firstBmap, "the bmap is not reproducible")

        // A bmap gone (or from before bspgen wrote them): the image stage runs again to make it.
        try FileManager.default.removeItem(at: bmapFile.url)
        _ = try await builder.diskImage(spec, artifacts: artifacts)
        #expect(environment.journal.reports.last?.reasons == ["output sdcard.img.bmap missing"])
        #expect(try String(contentsOf: bmapFile.url, encoding: .utf8) == firstBmap)

        // One file of a FAT partition changed: the disk image is made again, and says why.
        try "kernel=Image\narm_64bit=1\n".write(to: config, atomically: true, encoding: .utf8)
        _ = try await builder.diskImage(spec, artifacts: artifacts)
        #expect(environment.journal.reports.last?.reasons == ["artifact config.txt changed"])
    }

    @Test func aGPTWithAnEFISystemPartitionAndGRUB() async throws {
        guard FileManager.default.fileExists(atPath: "/usr/lib/grub/x86_64-efi/normal.mod") else {
            Issue.record("GRUB EFI modules missing: apt-get install -y --no-install-recommends grub-efi-amd64-bin")
            return
        }
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let builder = ImageBuilder(environment: try await environment(cache: folder))
        let grub = try await builder.grub(GRUBSpec(name: "BOOTX64.EFI", format: "x86_64-efi", package: "grub-efi-amd64-bin",
                                                   prefix: "/EFI/BOOT", modules: ["part_gpt", "fat", "normal", "linux", "serial"]))
        let pe = try Data(contentsOf: grub.url)
        #expect(pe.prefix(2) == Data("MZ".utf8))
        let spec = DiskImageSpec(name: "disk.img", table: .gpt, partitions: [
            PartitionSpec(label: "ESP", type: .efiSystem, size: "40M", filesystem: .fat32,
                          files: [PartitionFileSpec(from: "BOOTX64.EFI", to: "EFI/BOOT/BOOTX64.EFI")]),
        ])
        let image = try await builder.diskImage(spec, artifacts: ["BOOTX64.EFI": grub.url])
        let table = try PartitionTable.read(from: image.url)
        #expect(table.format == .gpt && table.partitions.first?.kind == .efiSystem && table.partitions.first?.name == "ESP")
        let listing = try await ProcessRunner.checked(Command("mdir", ["-i", "\(image.url.path)@@\(table.partitions[0].offset)", "-/", "::/EFI"],
                                                              environment: ["MTOOLS_SKIP_CHECK": "1"]))
        #expect(listing.contains("BOOTX64  EFI") || listing.contains("BOOTX64.EFI"), "\(listing)")
        // dosfstools' checker finds nothing to repair in the ESP.
        let esp = folder.appendingPathComponent("esp.vfat")
        try DiskImageWriter.extract(table.partitions[0], from: image.url, to: esp)
        let fsck = try await ProcessRunner.capture(Command("fsck.vfat", ["-n", esp.path]))
        #expect(fsck.succeeded, "\(fsck.output)")
    }
}

func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-images-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

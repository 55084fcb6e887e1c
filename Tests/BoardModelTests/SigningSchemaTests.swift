import BoardModel
import Foundation
import Testing

/// `fit_image.signing` and `bootloader.control_dtb`: a good signing board loads, and each mistake is reported at
/// its field, all of them at once.
@Suite struct SigningSchemaTests {
    static let board = """
        name: signing-board
        description: a board that signs its FIT image
        arch: aarch64
        toolchain: aarch64-linux-gnu
        kernel:
          base_config: tinyconfig
          image: Image
        cmdline: console=ttyAMA0
        console: ttyAMA0
        busybox: {}
        bootloader:
          defconfig: qemu_arm64
          files: [u-boot.bin]
          control_dtb: qemu
        device_tree: {from: qemu}
        fit_image:
          name: image.itb
          kernel_address: 0x40400000
          boot_method: uboot
          signing:
            algorithm: sha256,rsa2048
            key_name: dev
            sign: [kernel, fdt, ramdisk]
            required: conf
        disk_images:
          - name: disk.img
            table: mbr
            partitions:
              - {label: BOOT, type: fat, filesystem: fat16, size: 16M, files: [image.itb]}
        boot:
          uboot: {firmware: u-boot.bin, disk: disk.img, attach: virtio-mmio}
        qemu: {binary: qemu-system-aarch64, machine: virt, memory: 256M}
        """

    func load(_ yaml: String, keyFolder: (name: String, files: [String])? = nil) throws -> Catalog {
        let project = try FixtureProject(board: "signing-board")
        if let keyFolder {
            let keys = "boards/signing-board/\(keyFolder.name)"
            try FileManager.default.createDirectory(at: project.root.appendingPathComponent(keys), withIntermediateDirectories: true)
            for file in keyFolder.files { try project.write("not checked here\n", to: "\(keys)/\(file)") }
        }
        return try project.load(yaml)
    }

    @Test func aSigningBoardLoads() throws {
        let catalog = try load(Self.board)
        #expect(catalog.diagnostics.map(\.description) == [])
        let board = try #require(catalog.boards["signing-board"]).board
        let signing = try #require(board.fitImage?.signing)
        #expect(signing == FITSigningSpec(algorithm: .sha256RSA2048, keyName: "dev", sign: [.kernel, .fdt, .ramdisk], required: .conf))
        #expect(signing.algorithm.keyBits == 2048 && FITSigningSpec.Algorithm.sha256RSA4096.keyBits == 4096)
        #expect(signing.keyNodePath == "/signature/key-dev")
        #expect(board.bootloader?.resolvedControlTree == .qemu)
        #expect(board.artifactNames.contains(VerifiedBootNames.publicKeyTree))
        // U-Boot on QEMU takes its tree from QEMU; a U-Boot that appends its own must not let an earlier stage replace it.
        let qemuOptions = signing.requiredBootloaderOptions(controlTree: .qemu).map(\.line)
        #expect(qemuOptions.contains("CONFIG_FIT_SIGNATURE=y") && qemuOptions.contains("CONFIG_OF_BOARD=y"))
        #expect(qemuOptions.contains("# CONFIG_LEGACY_IMAGE_FORMAT is not set"))
        let ownOptions = signing.requiredBootloaderOptions(controlTree: .uBoot).map(\.line)
        #expect(ownOptions.contains("CONFIG_OF_SEPARATE=y") && ownOptions.contains("# CONFIG_OF_BOARD is not set"))
    }

    @Test func aKeyFolderBesideTheBoardLoads() throws {
        let yaml = Self.board.replacingOccurrences(of: "required: conf", with: "required: conf\n    key_dir: keys")
        let catalog = try load(yaml, keyFolder: ("keys", ["dev.key", "dev.crt"]))
        #expect(catalog.diagnostics.map(\.description) == [])
    }

    @Test(arguments: [
        ("algorithm: sha256,rsa2048", "algorithm: sha1,rsa2048", "'sha1,rsa2048' is not valid here; expected one of: sha256,rsa2048, sha256,rsa4096", 21),
        ("required: conf", "required: config", "'config' is not valid here; expected one of: conf, image", 24),
        ("sign: [kernel, fdt, ramdisk]", "sign: [kernel, dtb]", "'dtb' is not valid here; expected one of: kernel, fdt, ramdisk", 23),
        ("sign: [kernel, fdt, ramdisk]", "sign: [fdt, ramdisk]", "fit_image.signing.sign: the signature must cover the kernel", 23),
        ("sign: [kernel, fdt, ramdisk]", "sign: [kernel, kernel]", "fit_image.signing.sign[1]: 'kernel' is listed twice", 23),
        ("sign: [kernel, fdt, ramdisk]", "sign: []", "fit_image.signing.sign: expected the images the signature covers", 23),
        ("sign: [kernel, fdt, ramdisk]\n    required: conf", "sign: [kernel]\n    required: image",
         "with 'required: image' U-Boot refuses every image without a signature of its own, and fdt, ramdisk would have none", 23),
        ("key_name: dev", "key_name: ../dev", "'../dev' is not a key name", 22),
        ("    key_name: dev\n", "", "missing required field 'key_name'", 21),
        ("required: conf", "required: conf\n    key_dir: /nonexistent/bspgen-keys", "the key folder /nonexistent/bspgen-keys does not exist", 25),
        ("  control_dtb: qemu\n", "  control_dtb: bios\n", "'bios' is not valid here; expected one of: u-boot, qemu", 14),
        ("boot:\n  uboot: {firmware: u-boot.bin,", "boot:\n  uboot: {firmware: /usr/lib/u-boot/qemu_arm64/u-boot.bin, package: u-boot-qemu,",
         "with 'qemu' QEMU must start this U-Boot as firmware (-bios)", 14),
        ("  boot_method: uboot\n", "", "with 'qemu' the key goes into QEMU's tree of the machine", 14),
        ("bootloader:\n  defconfig: qemu_arm64\n  files: [u-boot.bin]\n  control_dtb: qemu\n", "",
         "the public key goes into the U-Boot bspgen builds for the board, but the board has no bootloader section", 16),
    ])
    func mistakesAreLocated(original: String, replacement: String, message: String, line: Int) throws {
        let yaml = Self.board.replacingOccurrences(of: original, with: replacement)
        #expect(yaml != Self.board, "the fixture must contain '\(original)'")
        let diagnostics = try load(yaml).diagnostics
        let found = diagnostics.first { $0.description.contains(message) }
        #expect(found != nil, "\(diagnostics.map(\.description))")
        #expect(found?.location.line == line, "\(found?.description ?? "")")
        #expect(found?.location.file.hasSuffix("signing-board.yaml") == true)
    }

    @Test func aKeyFolderWithoutTheCertificateSaysHowToMakeIt() throws {
        let yaml = Self.board.replacingOccurrences(of: "required: conf", with: "required: conf\n    key_dir: keys")
        let diagnostics = try load(yaml, keyFolder: ("keys", ["dev.key"])).diagnostics
        let found = try #require(diagnostics.first { $0.field == "fit_image.signing.key_dir" })
        #expect(found.message.contains("has no dev.crt"), "\(found)")
        #expect(found.hint?.contains("openssl req -batch -new -x509 -key") == true, "\(found)")
    }

    @Test func aBoardWithoutADeviceTreeCannotSignOne() throws {
        let yaml = Self.board.replacingOccurrences(of: "device_tree: {from: qemu}\n", with: "")
            .replacingOccurrences(of: "  boot_method: uboot\n", with: "")
            .replacingOccurrences(of: "  control_dtb: qemu\n", with: "")
        let messages = try load(yaml).diagnostics.map(\.description)
        #expect(messages.contains { $0.contains("fit_image.signing.sign[1]: the FIT image has no fdt") }, "\(messages)")
        #expect(messages.count == 1, "\(messages)")
    }

    @Test func everyProblemOfTheSectionIsReportedAtOnce() throws {
        let yaml = Self.board.replacingOccurrences(of: "key_name: dev", with: "key_name: -dev")
            .replacingOccurrences(of: "sign: [kernel, fdt, ramdisk]", with: "sign: [fdt, fdt]")
        let messages = try load(yaml).diagnostics.map(\.description)
        #expect(messages.contains { $0.contains("'-dev' is not a key name") }, "\(messages)")
        #expect(messages.contains { $0.contains("'fdt' is listed twice") }, "\(messages)")
        #expect(messages.contains { $0.contains("must cover the kernel") }, "\(messages)")
    }
}

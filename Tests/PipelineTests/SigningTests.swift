import BoardModel
import DeviceTree
import Foundation
@testable import Host
import Kconfig
@testable import Pipeline
import QEMU
import Testing

/// Keys made with openssl in a temporary folder, as a user would make them.
enum TestKeys {
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// `NAME.key` from `genpkey` (any of its algorithm options) and its certificate `NAME.crt`.
    static func make(in folder: URL, name: String = "dev", genpkey: [String] = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                     certificate: Bool = true) async throws {
        let key = folder.appendingPathComponent("\(name).key").path
        try await ProcessRunner.checked(Command("openssl", ["genpkey", "-quiet"] + genpkey + ["-out", key]))
        if certificate {
            try await ProcessRunner.checked(Command("openssl", ["req", "-batch", "-new", "-x509", "-key", key, "-subj", "/CN=test",
                                                               "-out", folder.appendingPathComponent("\(name).crt").path]))
        }
    }
}

@Suite struct SigningKeyTests {
    @Test func anRSAKeyOfTheNamedSizeWithItsCertificatePasses() async throws {
        let folder = try TestKeys.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try await TestKeys.make(in: folder)
        let key = try await SigningKey.check(folder: folder, name: "dev", bits: 2048, file: "b.yaml")
        #expect(key.privateKey.lastPathComponent == "dev.key" && key.certificate.lastPathComponent == "dev.crt")
        let pem = try await ProcessRunner.checked(Command("openssl", ["x509", "-in", key.certificate.path, "-noout", "-pubkey"]))
        #expect(key.publicKeySHA256 == Checksum.sha256(pem))
    }

    func failure(_ folder: URL, bits: Int = 2048) async -> String {
        do {
            _ = try await SigningKey.check(folder: folder, name: "dev", bits: bits, file: "b.yaml")
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func aKeyOfAnotherSizeIsRefused() async throws {
        let folder = try TestKeys.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try await TestKeys.make(in: folder, genpkey: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"])
        let message = await failure(folder)
        #expect(message.contains("b.yaml: fit_image.signing:") && message.contains("an RSA key of 1024 bits; the algorithm needs 2048"), "\(message)")
        #expect(message.contains("hint:"), "\(message)")
    }

    @Test func aKeyThatIsNotRSAIsRefused() async throws {
        let folder = try TestKeys.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try await TestKeys.make(in: folder, genpkey: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
        let message = await failure(folder)
        #expect(message.contains("is not an RSA key"), "\(message)")
    }

    @Test func aMissingKeyOrCertificateIsRefusedWithTheCommandThatMakesIt() async throws {
        let folder = try TestKeys.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var message = await failure(folder)
        #expect(message.contains("dev.key does not exist") && message.contains("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048"), "\(message)")
        try await TestKeys.make(in: folder, certificate: false)
        message = await failure(folder)
        #expect(message.contains("dev.crt does not exist") && message.contains("openssl req -batch -new -x509"), "\(message)")
        message = await failure(folder.appendingPathComponent("nothing-here"))
        #expect(message.contains("does not exist"), "\(message)")
    }

    @Test func aCertificateOfAnotherKeyIsRefused() async throws {
        let folder = try TestKeys.folder()
        let other = try TestKeys.folder()
        defer { for url in [folder, other] { try? FileManager.default.removeItem(at: url) } }
        try await TestKeys.make(in: folder)
        try await TestKeys.make(in: other)
        try FileManager.default.removeItem(at: folder.appendingPathComponent("dev.crt"))
        try FileManager.default.copyItem(at: other.appendingPathComponent("dev.crt"), to: folder.appendingPathComponent("dev.crt"))
        let message = await failure(folder)
        #expect(message.contains("certifies another key"), "\(message)")
    }

    @Test func anEncryptedKeyIsRefusedWithoutAskingForItsPassphrase() async throws {
        let folder = try TestKeys.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try await TestKeys.make(in: folder, genpkey: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-aes256", "-pass", "pass:secret"],
                                certificate: false)
        try "placeholder\n".write(to: folder.appendingPathComponent("dev.crt"), atomically: true, encoding: .utf8)
        let message = await failure(folder)
        #expect(message.contains("without a passphrase"), "\(message)")
    }

    /// Without key_dir: one key per name and size in the cache, made once, announced on every build; with a key folder
    /// inside the output folder: an error before anything is written.
    @Test func theDevelopmentKeyIsMadeOnceAndAKeyFolderInTheOutputIsRefused() async throws {
        let scratch = try TestKeys.folder()
        defer { try? FileManager.default.removeItem(at: scratch) }
        var environment = try await testEnvironment(board: "qemu-arm64-virt", as: "signing-test")
        environment.workspace = Workspace(cacheDirectory: scratch.appendingPathComponent("cache").path,
                                          outputDirectory: scratch.appendingPathComponent("out").path)
        let first = try #require(try await SigningKey.resolve(for: environment))
        #expect(first.isDevelopmentKey && first.bits == 2048)
        #expect(first.folder.path.hasPrefix(scratch.appendingPathComponent("cache/signing-keys").path))
        let mode = try FileManager.default.attributesOfItem(atPath: first.folder.path)[.posixPermissions] as? Int
        #expect(mode == 0o700)
        let second = try #require(try await SigningKey.resolve(for: environment))
        #expect(second.publicKeySHA256 == first.publicKeySHA256, "the key is made once")

        let inside = scratch.appendingPathComponent("out/keys")
        try FileManager.default.createDirectory(at: inside, withIntermediateDirectories: true)
        try await TestKeys.make(in: inside)
        environment.board.board.fitImage?.signing?.keyDir = inside.path
        do {
            _ = try await SigningKey.resolve(for: environment)
            Issue.record("a key folder inside the output folder was accepted")
        } catch {
            #expect("\(error)".contains("is inside the output folder"), "\(error)")
        }
        // Outside the output folder, the same keys are the board's own.
        let outside = scratch.appendingPathComponent("keys")
        try FileManager.default.moveItem(at: inside, to: outside)
        environment.board.board.fitImage?.signing?.keyDir = outside.path
        let own = try #require(try await SigningKey.resolve(for: environment))
        #expect(!own.isDevelopmentKey && own.folder.path == outside.path)
    }
}

@Suite struct SignedFITSourceTests {
    let inputs = FITSource.Inputs(description: "b", arch: "arm64", kernel: "Image", deviceTree: "virt.dtb", ramdisk: "initramfs.cpio.gz",
                                  spec: FITImageSpec(name: "image.itb", kernelAddress: 0x4040_0000,
                                                     signing: FITSigningSpec(algorithm: .sha256RSA2048, keyName: "dev",
                                                                             sign: [.kernel, .fdt, .ramdisk], required: .conf)))

    @Test func theConfigurationIsSignedOverTheImagesItNames() {
        let text = FITSource.render(inputs)
        #expect(text.components(separatedBy: "signature-1 {").count == 2)
        #expect(text.contains("""
                        ramdisk = "ramdisk-1";
                        signature-1 {
                            algo = "sha256,rsa2048";
                            key-name-hint = "dev";
                            sign-images = "kernel", "fdt", "ramdisk";
                        };
            """))
        #expect(text.contains("mkimage -f image.its -k KEY_DIR -K u-boot.dtb -r image.itb"))
        // Unsigned, the same image's source has no signature and reads as before signing existed.
        let unsigned = FITSource.render(inputs, signing: nil)
        #expect(!unsigned.contains("signature"))
        var plain = inputs
        plain.spec.signing = nil
        #expect(unsigned == FITSource.render(plain))
    }

    @Test func withRequiredImageEachSignedImageCarriesItsSignature() {
        var spec = inputs.spec
        spec.signing?.required = .image
        let text = FITSource.render(FITSource.Inputs(description: "b", arch: "arm64", kernel: "Image", deviceTree: nil,
                                                     ramdisk: "initramfs.cpio.gz", spec: spec))
        // No device tree in this image: its entry in sign is left out.
        #expect(text.components(separatedBy: "signature-1 {").count == 3)
        #expect(!text.contains("sign-images"))
        #expect(text.contains("""
                        hash-1 {
                            algo = "sha256";
                        };
                        signature-1 {
                            algo = "sha256,rsa2048";
                            key-name-hint = "dev";
                        };
                    };
            """))
    }

    /// Real openssl and mkimage: the rendered sources sign, the key lands in a tree with the `required` mode U-Boot
    /// enforces, and the key written while signing the image equals the one the carrier wrote.
    @Test(arguments: [FITSigningSpec.Required.conf, .image])
    func mkimageSignsTheSourceAndWritesTheKeyForUBoot(required: FITSigningSpec.Required) async throws {
        let folder = try TestKeys.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try await TestKeys.make(in: folder)
        try Data(repeating: 0x11, count: 6000).write(to: folder.appendingPathComponent("Image"))
        try Data(repeating: 0x22, count: 700).write(to: folder.appendingPathComponent("initramfs.cpio.gz"))
        try Data(repeating: 0x33, count: 10).write(to: folder.appendingPathComponent("placeholder.bin"))
        let tree = DeviceTreeTestData.minimal()
        try Data(tree).write(to: folder.appendingPathComponent("carrier.dtb"))
        try Data(tree).write(to: folder.appendingPathComponent("signing.dtb"))
        var spec = inputs.spec
        spec.signing?.required = required
        let signing = try #require(spec.signing)
        try FITSource.render(FITSource.Inputs(description: "t", arch: "arm64", kernel: "Image", deviceTree: nil, ramdisk: "initramfs.cpio.gz", spec: spec))
            .write(to: folder.appendingPathComponent("image.its"), atomically: true, encoding: .utf8)
        try FITSource.keyCarrier(signing, arch: "arm64", data: "placeholder.bin").write(to: folder.appendingPathComponent("key.its"), atomically: true, encoding: .utf8)
        let epoch = ["SOURCE_DATE_EPOCH": "1704067200"]
        try await ProcessRunner.checked(Command("mkimage", ["-f", "key.its", "-k", folder.path, "-K", "carrier.dtb", "-r", "key.itb"],
                                                environment: epoch, workingDirectory: folder))
        for name in ["image.itb", "again.itb"] {
            try await ProcessRunner.checked(Command("mkimage", ["-f", "image.its", "-k", folder.path, "-K", "signing.dtb", "-r", name],
                                                    environment: epoch, workingDirectory: folder))
        }
        // RSA PKCS#1 v1.5 signatures and the SOURCE_DATE_EPOCH timestamp: the same key and inputs give the same bytes.
        #expect(try Data(contentsOf: folder.appendingPathComponent("image.itb")) == Data(contentsOf: folder.appendingPathComponent("again.itb")))
        try VerifiedBootStage.checkKeyNode(in: folder.appendingPathComponent("carrier.dtb"), signing: signing, bits: 2048)
        let carried = try DeviceTreeBlob(contentsOf: folder.appendingPathComponent("carrier.dtb").path).node(at: signing.keyNodePath)
        let written = try DeviceTreeBlob(contentsOf: folder.appendingPathComponent("signing.dtb").path).node(at: signing.keyNodePath)
        #expect(carried == written)
        let image = try DeviceTreeBlob(contentsOf: folder.appendingPathComponent("image.itb").path)
        let signature = required == .conf ? "/configurations/conf-1/signature-1" : "/images/kernel-1/signature-1"
        #expect(try image.property("value", at: signature)?.value.count == 256, "an RSA-2048 signature is 256 bytes")
        // A wrong mode is caught: U-Boot would enforce the other one.
        var other = signing
        other.required = required == .conf ? .image : .conf
        #expect(throws: BuildError.self) { try VerifiedBootStage.checkKeyNode(in: folder.appendingPathComponent("carrier.dtb"), signing: other, bits: 2048) }
        #expect(throws: BuildError.self) { try VerifiedBootStage.checkKeyNode(in: folder.appendingPathComponent("carrier.dtb"), signing: signing, bits: 4096) }
    }
}

enum DeviceTreeTestData {
    /// An empty tree as dtc makes it from `/dts-v1/; / { };`.
    static func minimal() -> [UInt8] {
        var bytes: [UInt8] = []
        func word(_ value: UInt32) { bytes += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
        // header: magic, totalsize, off_dt_struct, off_dt_strings, off_mem_rsvmap, version, last_comp_version,
        // boot_cpuid_phys, size_dt_strings, size_dt_struct
        for value: UInt32 in [0xD00D_FEED, 72, 56, 72, 40, 17, 16, 0, 0, 16] { word(value) }
        for _ in 0..<4 { word(0) }  // the memory reservation block's terminator
        for value: UInt32 in [1, 0, 2, 9] { word(value) }  // begin node "" (padded), end node, end
        return bytes
    }
}

@Suite struct TamperingTests {
    /// The kernel-byte refusal must differ from the signed image in exactly one byte, inside the kernel's data.
    @Test func oneKernelByteChangesAndNothingElse() async throws {
        let folder = try TestKeys.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var kernel = Data(count: 9000)
        for index in kernel.indices { kernel[index] = UInt8(truncatingIfNeeded: index * 7 + index / 251) }
        try kernel.write(to: folder.appendingPathComponent("Image"))
        try Data(repeating: 0x22, count: 700).write(to: folder.appendingPathComponent("initramfs.cpio.gz"))
        try FITSource.render(FITSource.Inputs(description: "t", arch: "arm64", kernel: "Image", deviceTree: nil, ramdisk: "initramfs.cpio.gz",
                                              spec: FITImageSpec(name: "image.itb", kernelAddress: 0x4040_0000)))
            .write(to: folder.appendingPathComponent("image.its"), atomically: true, encoding: .utf8)
        try await ProcessRunner.checked(Command("mkimage", ["-f", "image.its", "image.itb"], environment: ["SOURCE_DATE_EPOCH": "1704067200"],
                                                workingDirectory: folder))
        let image = try Data(contentsOf: folder.appendingPathComponent("image.itb"))
        let changed = try VerifiedBootTest.changingOneKernelByte(of: image)
        #expect(changed.count == image.count)
        let differing = zip(image, changed).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        #expect(differing.count == 1)
        let data = try DeviceTreeBlob(bytes: changed).property("data", at: "/images/kernel-1")?.value ?? []
        #expect(data.count == kernel.count && zip(data, kernel).filter { $0 != $1 }.count == 1)
        #expect(try DeviceTreeBlob(bytes: changed).property("data", at: "/images/ramdisk-1")?.value == Array(repeating: 0x22, count: 700))
    }
}

@Suite struct VerifiedBootOptionsTests {
    /// A U-Boot config without what verified boot needs is an error naming each missing option, why it is needed
    /// and the fragment lines that fix it.
    @Test func missingOptionsAreNamedWithTheLinesThatFixThem() async throws {
        var environment = try await testEnvironment(board: "qemu-arm64-virt", as: "signing-options-test")
        environment.board.board.bootloader?.controlTree = .uBoot
        let config = try temporaryFile("CONFIG_FIT=y\nCONFIG_RSA=y\nCONFIG_RSA_VERIFY=y\nCONFIG_SHA256=y\nCONFIG_OF_CONTROL=y\n"
                                       + "CONFIG_OF_SEPARATE=y\nCONFIG_OF_BOARD=y\nCONFIG_LEGACY_IMAGE_FORMAT=y\n", name: ".config")
        defer { try? FileManager.default.removeItem(at: config) }
        let artifacts = BootloaderArtifacts(files: [], source: SourceTree(source: "test", root: config.appendingPathExtension("no-tree"), version: "0"),
                                            config: config)
        let stage = VerifiedBootStage(environment: environment)
        let signing = try #require(environment.board.board.fitImage?.signing)
        let spec = try #require(environment.board.board.bootloader)
        do {
            try stage.checkOptions(signing, spec: spec, bootloader: artifacts)
            Issue.record("a U-Boot without CONFIG_FIT_SIGNATURE was accepted")
        } catch {
            let message = "\(error)"
            #expect(message.contains("qemu-arm64-virt.yaml: fit_image.signing: U-Boot 'qemu_arm64_defconfig' as configured for signing-options-test"), "\(message)")
            #expect(message.contains("CONFIG_FIT_SIGNATURE=y (checking FIT signatures): the config has not set"), "\(message)")
            #expect(message.contains("CONFIG_OF_BOARD=n") && message.contains("CONFIG_LEGACY_IMAGE_FORMAT=n"), "\(message)")
            #expect(message.contains("# CONFIG_OF_BOARD is not set") && message.contains("# CONFIG_LEGACY_IMAGE_FORMAT is not set"), "\(message)")
            #expect(!message.contains("CONFIG_RSA="), "present options are not named: \(message)")
        }
        try "CONFIG_FIT=y\nCONFIG_FIT_SIGNATURE=y\nCONFIG_RSA=y\nCONFIG_RSA_VERIFY=y\nCONFIG_SHA256=y\nCONFIG_OF_CONTROL=y\nCONFIG_OF_SEPARATE=y\n"
            .write(to: config, atomically: true, encoding: .utf8)
        try stage.checkOptions(signing, spec: spec, bootloader: artifacts)
    }
}

private func shippedBoard(_ name: String) throws -> ResolvedBoard {
    try Catalog(boardsDirectory: repositoryRoot.appendingPathComponent("boards"),
                toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains")).board(named: name)
}

@Suite struct VerifiedBootPlanTests {
    @Test func theBoardsOwnUBootIsGivenItsKeyAndMustRefuseTamperedImages() throws {
        let plan = BoardPlan(board: try shippedBoard("qemu-arm64-virt"), includeImages: true)
        let uboot = try plan.boot(.method("uboot"))
        #expect(uboot.firmwareDeviceTree == VerifiedBootNames.publicKeyTree)
        let verified = try #require(uboot.verifiedBoot)
        #expect(verified.fit == "image.itb" && verified.disk == "disk.img" && verified.partition == 0 && verified.pathOnPartition == "image.itb")
        #expect(verified.refusals.map(\.tampering) == [.kernelByteChanged, .otherKey, .unsigned])
        #expect(verified.verified.lines == [["Verifying Hash Integrity ...", "sha256,rsa2048:dev+", "OK"]])
        // Debian's U-Boot holds no key of the board's: nothing to give it, nothing it must refuse.
        let debian = try plan.boot(.method("uboot-debian"))
        #expect(debian.firmwareDeviceTree == nil && debian.verifiedBoot == nil)
        #expect(try plan.boot(.kernel).verifiedBoot == nil)
        let stage = try #require(plan.stages.first { $0.name == "bootloader key" })
        #expect(stage.outputs == [VerifiedBootNames.publicKeyTree])
        // The key is put in before the image is signed with it.
        #expect((plan.stages.firstIndex { $0.name == "bootloader key" } ?? .max) < (plan.stages.firstIndex { $0.name == "FIT image" } ?? -1))
        #expect(plan.runScriptBoots.contains { $0.runScript == "run-qemu-uboot.sh" && $0.firmwareDeviceTree != nil })
    }

    @Test func aUBootThatCarriesItsOwnTreeIsMadeAgainWithTheKey() throws {
        let plan = BoardPlan(board: try shippedBoard("beaglebone-black"))
        let stage = try #require(plan.stages.first { $0.name == "bootloader key" })
        #expect(stage.outputs == [VerifiedBootNames.publicKeyTree, "MLO", "u-boot.img"])
        #expect(stage.inputs.contains("control tree u-boot"))
    }
}

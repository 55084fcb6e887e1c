@testable import BoardModel
import Foundation
import Kconfig
@testable import Pipeline
import Testing

/// What the modules stage reads from depmod's index, and the toolchain's ABI requirements checked against a
/// kernel config.
@Suite struct KernelModulesTests {
    let index = ModuleIndex(modulesDep: """
        kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/fs/mbcache.ko kernel/lib/crc16.ko
        kernel/fs/jbd2/jbd2.ko: kernel/lib/crc16.ko
        kernel/fs/mbcache.ko:
        kernel/lib/crc16.ko:
        extra/bspgen-hello.ko:

        """, modulesBuiltin: "kernel/drivers/block/virtio_blk.ko\nkernel/fs/fat/vfat.ko\n")

    @Test func aModuleComesWithEveryDependencyOnce() {
        #expect(index.lookup("ext4") == .module(["ext4", "jbd2", "mbcache", "crc16"]))
        #expect(index.lookup("mbcache") == .module(["mbcache"]))
    }

    @Test func dashesAndUnderscoresNameTheSameModule() {
        #expect(index.lookup("bspgen_hello") == .module(["bspgen_hello"]))
        #expect(index.lookup("bspgen-hello") == .module(["bspgen_hello"]))
        #expect(ModuleIndex.name(ofPath: "kernel/drivers/virtio/virtio-mmio.ko.xz") == "virtio_mmio")
    }

    @Test func builtInAndMissingModulesAreToldApart() {
        #expect(index.lookup("virtio_blk") == .builtIn)
        #expect(index.lookup("btrfs") == .absent)
    }

    @Test func eachModuleToLoadBecomesAConsoleCheckOfItAndItsDependencies() {
        let (checks, problems) = index.loadChecks(["ext4", "bspgen-hello"], locations: ["b.yaml:9:20", "b.yaml:9:26"], release: "6.1.0")
        #expect(problems == [])
        #expect(checks.map(\.expected) == ["ext4 jbd2 mbcache crc16", "bspgen_hello"])
        #expect(checks[0].name == "module ext4 loaded with jbd2, mbcache, crc16")
        #expect(checks[0].command == "echo $(for m in ext4 jbd2 mbcache crc16; do grep -q \"^$m \" /proc/modules && echo $m; done)")
    }

    @Test func aModuleBuiltInOrNotBuiltIsAnErrorAtItsLine() {
        let (checks, problems) = index.loadChecks(["virtio_blk", "ext44", "btrfs"], locations: ["b.yaml:9:14", "b.yaml:9:26", "b.yaml:9:33"],
                                                  release: "6.1.0")
        #expect(checks == [])
        #expect(problems.count == 3)
        #expect(problems[0].hasPrefix("b.yaml:9:14: kernel.load_modules[0]: 'virtio_blk' is built into the kernel (=y)"))
        #expect(problems[1].hasPrefix("b.yaml:9:26: kernel.load_modules[1]: no module 'ext44' was built for 6.1.0") && problems[1].contains("ext4"))
        #expect(problems[2].contains("set its option to =m"))
    }

    @Test func anExternalModuleFolderIsKeyedByItsContent() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-module-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try "obj-m += hello.o\n".write(to: folder.appendingPathComponent("Kbuild"), atomically: true, encoding: .utf8)
        try "int x;\n".write(to: folder.appendingPathComponent("sub/hello.c"), atomically: true, encoding: .utf8)
        let before = try KernelModulesBuilder.folderDigest(folder)
        #expect(try KernelModulesBuilder.folderDigest(folder) == before)
        try "int y;\n".write(to: folder.appendingPathComponent("sub/hello.c"), atomically: true, encoding: .utf8)
        #expect(try KernelModulesBuilder.folderDigest(folder) != before)
    }
}

@Suite struct KernelRequirementsTests {
    let toolchain = Toolchain(name: "arm-linux-gnueabihf", description: nil, arch: "arm", kernelArch: "arm", crossCompile: "arm-linux-gnueabihf-",
                              debianPackages: ["gcc-arm-linux-gnueabihf"], minGCCVersion: "10.1", unameMachine: "armv7l",
                              kernelRequires: [KernelRequirement(option: "CONFIG_VFP", value: nil, why: "hard-float code uses VFP instructions",
                                                                 file: "toolchains/arm-linux-gnueabihf.yaml", line: 14),
                                               KernelRequirement(option: "CONFIG_AEABI", value: nil, why: "EABI system calls")])

    @Test func aConfigWithTheRequiredOptionsPasses() throws {
        let config = try KconfigFile.parse(text: "CONFIG_VFP=y\nCONFIG_AEABI=y\n", name: ".config")
        #expect(KernelRequirements.problems(toolchain, obtained: config, index: nil, architecture: "arm") == [])
    }

    @Test func aFragmentThatTurnsFPOffIsRefusedNamingTheToolchainAndWhy() throws {
        let config = try KconfigFile.parse(text: "# CONFIG_VFP is not set\nCONFIG_AEABI=y\n", name: ".config")
        let fragment = try KconfigFile.parse(text: "CONFIG_PRINTK=y\n# CONFIG_VFP is not set\n", name: "boards/b/soft.fragment")
        let problems = KernelRequirements.problems(toolchain, obtained: config, fragments: fragment.assignments, index: nil, architecture: "arm")
        #expect(problems.count == 1)
        let problem = try #require(problems.first)
        #expect(problem.hasPrefix("toolchains/arm-linux-gnueabihf.yaml:14: CONFIG_VFP=y requested, got not set"))
        #expect(problem.contains("boards/b/soft.fragment:2 asks for it off"))
        #expect(problem.contains("toolchain arm-linux-gnueabihf needs it: hard-float code uses VFP instructions"))
        #expect(problem.contains("hint: add CONFIG_VFP=y"))
    }

    /// A board's own requirement (its initramfs's compression) is checked as the toolchain's are, and says so.
    @Test func aBoardRequirementNamesTheBoardAndItsLine() throws {
        let config = try KconfigFile.parse(text: "CONFIG_VFP=y\nCONFIG_AEABI=y\n# CONFIG_RD_XZ is not set\n", name: ".config")
        var board = try Catalog(boardsDirectory: repositoryRoot.appendingPathComponent("boards"),
                                toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains")).board(named: "vexpress-a9")
        board.kernelRequires = [KernelRequirement(option: "RD_XZ", value: nil, why: "the initramfs is xz-compressed", file: "boards/b.yaml", line: 9)]
        let problems = KernelRequirements.problems(toolchain, board: board, obtained: config, index: nil, architecture: "arm")
        #expect(problems.count == 1)
        let problem = try #require(problems.first)
        #expect(problem.hasPrefix("boards/b.yaml:9: CONFIG_RD_XZ=y requested, got not set"), "\(problem)")
        #expect(problem.contains("board vexpress-a9 needs it: the initramfs is xz-compressed"))
    }

    @Test func aToolchainWithoutRequirementsChecksNothing() throws {
        var plain = toolchain
        plain.kernelRequires = nil
        #expect(KernelRequirements.problems(plain, obtained: try KconfigFile.parse(text: "", name: ".config"), index: nil, architecture: "arm") == [])
    }
}

@Suite struct ModuleOrderTests {
    @Test func modulesOrderGivesEachModuleRelativeToItsFolder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-order-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // Linux 6.1 names .ko files, older kernels .o files; the tree's kernel/ folder is a folder; an external module's are absolute.
        try "fs/ext4/ext4.ko\nlib/crc16.o\nkernel/kheaders.ko\n\(folder.standardizedFileURL.path)/hello.ko\n".write(to: folder.appendingPathComponent("modules.order"),
                                                                                                    atomically: true, encoding: .utf8)
        #expect(FileListStage.moduleOrder(folder) == ["fs/ext4/ext4.ko", "lib/crc16.ko", "kernel/kheaders.ko", "hello.ko"])
        #expect(FileListStage.moduleOrder(folder.appendingPathComponent("none")) == [])
    }

    @Test func eachRecordIsNamedByItsInstalledFileCompressedOrNot() throws {
        let names = try FileListStage.installedNames(recorded: ["kernel/fs/ext4/ext4.ko", "extra/sub/hello.ko", "kernel/lib/crc16.ko"],
                                                     installed: ["kernel/lib/crc16.ko", "extra/sub/hello.ko.zst", "kernel/fs/ext4/ext4.ko.xz"],
                                                     release: "6.1.0")
        #expect(names == ["kernel/fs/ext4/ext4.ko.xz", "extra/sub/hello.ko.zst", "kernel/lib/crc16.ko"])
    }

    @Test func aModuleShippedWithoutItsRecordOrRecordedAndNotShippedIsAnError() {
        #expect {
            try FileListStage.installedNames(recorded: ["kernel/fs/ext4/ext4.ko", "extra/hello.ko"],
                                             installed: ["kernel/fs/ext4/ext4.ko", "extra/sub/hello.ko"], release: "6.1.0")
        } throws: { error in
            let text = "\(error)"
            return text.contains("in lib/modules/6.1.0/ but named in no modules.order, so its files are unknown: extra/sub/hello.ko")
                && text.contains("named in a modules.order but not installed in lib/modules/6.1.0/: extra/hello.ko")
                && !text.contains("ext4")
        }
    }
}

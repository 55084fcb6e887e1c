import BoardModel
@testable import Host
@testable import Pipeline
import Foundation
import Testing

/// A stand-in for U-Boot's Kbuild: `<name>_defconfig` copies configs/<name>_defconfig, `olddefconfig` drops what
/// Kconfig would not keep (here CONFIG_UNKNOWN_OPTION), the default target makes the files a board keeps.
private let fakeUBootMakefile = """
    O ?= .
    %_defconfig:
    \t@echo $@ >> $(O)/calls.log
    \t@cp configs/$@ $(O)/.config
    olddefconfig:
    \t@grep -v '^CONFIG_UNKNOWN_OPTION' $(O)/.config > $(O)/.config.new; mv $(O)/.config.new $(O)/.config
    all:
    \t@echo all >> $(O)/calls.log
    \t@cp $(O)/.config $(O)/u-boot.bin
    \t@mkdir -p $(O)/spl && echo spl > $(O)/spl/u-boot-spl.bin
    .DEFAULT_GOAL := all

    """

/// Two boards on a fake U-Boot source folder, with the shipped toolchains and boards/common.
private struct FakeBootloaderProject {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-bootloader-\(UUID().uuidString)")
    var boards: URL { root.appendingPathComponent("boards") }
    var source: URL { boards.appendingPathComponent("u-boot-fake") }
    var cache: URL { root.appendingPathComponent("cache") }

    init() throws {
        try FileManager.default.createDirectory(at: source.appendingPathComponent("configs"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("boards/common"), to: boards.appendingPathComponent("common"))
        try fakeUBootMakefile.write(to: source.appendingPathComponent("Makefile"), atomically: true, encoding: .utf8)
        try "config ARM\n\tbool \"ARM\"\n\nconfig BOOTDELAY\n\tint \"delay\"\n".write(to: source.appendingPathComponent("Kconfig"), atomically: true, encoding: .utf8)
        try "CONFIG_ARM=y\nCONFIG_BOOTDELAY=2\n".write(to: source.appendingPathComponent("configs/fakeboard_defconfig"), atomically: true, encoding: .utf8)
        for name in ["fake-a", "fake-b"] {
            try board(name, files: "[u-boot.bin, {from: spl/u-boot-spl.bin, to: MLO}]")
            try FileManager.default.createDirectory(at: boards.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        try "CONFIG_BOOTDELAY=0\n".write(to: boards.appendingPathComponent("common/loader.fragment"), atomically: true, encoding: .utf8)
    }

    func board(_ name: String, defconfig: String = "fakeboard", files: String) throws {
        try """
            name: \(name)
            description: a board with a stand-in U-Boot
            arch: aarch64
            toolchain: aarch64-linux-gnu
            kernel: {base_config: tinyconfig, image: Image}
            cmdline: console=ttyAMA0
            console: ttyAMA0
            busybox: {}
            bootloader:
              source: {directory: ../u-boot-fake}
              defconfig: \(defconfig)
              fragments: [../common/loader.fragment]
              files: \(files)

            """.write(to: boards.appendingPathComponent("\(name).yaml"), atomically: true, encoding: .utf8)
    }

    func build(_ name: String) async throws -> (BootloaderArtifacts?, [StageReport]) {
        let board = try Catalog(boardsDirectory: boards, toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains"))
            .board(named: name)
        let environment = BuildEnvironment(board: board, workspace: Workspace(cacheDirectory: cache.path, outputDirectory: root.appendingPathComponent("out").path),
                                           toolchain: try await ToolchainResolver.resolve(board.toolchain), progress: ProgressLine(quiet: true), jobs: 1,
                                           compilers: CompilerOptions(ccache: false))
        let artifacts = try await BootloaderBuilder(environment: environment).build()
        return (artifacts, environment.journal.reports.filter { $0.stage == "bootloader" })
    }

    var builds: [URL] { ((try? FileManager.default.contentsOfDirectory(at: cache.appendingPathComponent("bootloader"), includingPropertiesForKeys: nil)) ?? []) }
}

@Suite(.serialized) struct BootloaderTests {
    @Test func keptFilesAreBuiltOnceAndSharedByBoardsWithTheSameInputs() async throws {
        let project = try FakeBootloaderProject()
        defer { try? FileManager.default.removeItem(at: project.root) }
        let (first, firstReports) = try await project.build("fake-a")
        #expect(firstReports.map(\.ran) == [true])
        let files = try #require(first).files
        #expect(files.map(\.name) == ["u-boot.bin", "MLO"])
        // The fragment was merged over the defconfig: what the build used is what the board asked for.
        #expect(try String(contentsOf: files[0].url, encoding: .utf8).contains("CONFIG_BOOTDELAY=0"))
        #expect(try String(contentsOf: files[1].url, encoding: .utf8) == "spl\n")

        let (_, again) = try await project.build("fake-a")
        #expect(again.map(\.ran) == [false])
        // Another board with the same boot loader inputs reuses the same build folder.
        let (other, otherReports) = try await project.build("fake-b")
        #expect(otherReports.map(\.ran) == [false] && otherReports.first?.reasons.first?.contains("shared build") == true)
        #expect(other?.files.map(\.url) == files.map(\.url))
        #expect(project.builds.count == 1)

        try "CONFIG_BOOTDELAY=1\n".write(to: project.boards.appendingPathComponent("common/loader.fragment"), atomically: true, encoding: .utf8)
        let (_, changed) = try await project.build("fake-a")
        #expect(changed.first?.ran == true && changed.first?.reasons == ["fragment loader.fragment changed"])
    }

    @Test func anOptionKconfigDropsIsNamedAndNothingIsKept() async throws {
        let project = try FakeBootloaderProject()
        defer { try? FileManager.default.removeItem(at: project.root) }
        try "CONFIG_UNKNOWN_OPTION=y\n".write(to: project.boards.appendingPathComponent("common/loader.fragment"), atomically: true, encoding: .utf8)
        await #expect {
            try await project.build("fake-a")
        } throws: { error in
            // Named, with why: there is no such symbol in this source's Kconfig files.
            let text = "\(error)"
            return text.contains("CONFIG_UNKNOWN_OPTION") && text.contains("no such symbol")
        }
        let record = try #require(project.builds.first).appendingPathComponent("record.json")
        #expect(!FileManager.default.fileExists(atPath: record.path), "a failed build must not be recorded as done")
    }

    @Test func aMisspeltDefconfigIsNamedWithTheClosestOne() async throws {
        let project = try FakeBootloaderProject()
        defer { try? FileManager.default.removeItem(at: project.root) }
        try project.board("fake-a", defconfig: "fakebord", files: "[u-boot.bin]")
        await #expect {
            try await project.build("fake-a")
        } throws: { error in
            let text = "\(error)"
            return text.contains("fakebord") && text.contains("fakeboard")
        }
    }

    @Test func aFileTheBuildDidNotMakeIsNamedWithWhatItMade() async throws {
        let project = try FakeBootloaderProject()
        defer { try? FileManager.default.removeItem(at: project.root) }
        try project.board("fake-a", files: "[u-boot.img]")
        await #expect {
            try await project.build("fake-a")
        } throws: { error in
            let text = "\(error)"
            return text.contains("u-boot.img") && text.contains("u-boot.bin")
        }
    }
}

@Suite struct BootloaderSchemaTests {
    @Test func badBootloaderAndBootMethodValuesAreLocated() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-bootloader-schema-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("bad"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("boards/common"), to: folder.appendingPathComponent("common"))
        try """
            name: bad
            description: bad bootloader values
            arch: aarch64
            toolchain: aarch64-linux-gnu
            kernel: {base_config: tinyconfig, image: Image}
            cmdline: console=ttyAMA0
            console: ttyAMA0
            busybox: {}
            bootloader:
              defconfig: --eval=x
              files: [../u-boot.bin, u-boot.bin]
            disk_images:
              - {name: disk.img, table: mbr, partitions: [{label: BOOT, type: fat, filesystem: fat16, size: 16M, files: [u-boot.bin]}]}
            boot:
              neither: {disk: disk.img, attach: sd}
              missing: {loader: u-boot.elf, disk: disk.img, attach: sd}
            qemu: {binary: qemu-system-aarch64, machine: virt, memory: 256M}

            """.write(to: folder.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
        let catalog = Catalog(boardsDirectory: folder, toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains"))
        let fields = catalog.diagnostics.compactMap(\.field)
        #expect(fields.contains("bootloader.defconfig"), "\(catalog.diagnostics)")
        #expect(fields.contains("bootloader.files[0]"), "\(catalog.diagnostics)")
        #expect(fields.contains("boot.neither"), "\(catalog.diagnostics)")
        #expect(fields.contains("boot.missing.loader"), "\(catalog.diagnostics)")
        // Each problem is reported at its own line of the file.
        let defconfig = try #require(catalog.diagnostics.first { $0.field == "bootloader.defconfig" })
        #expect(defconfig.location.line == 10)
        let missing = try #require(catalog.diagnostics.first { $0.field == "boot.missing.loader" })
        #expect(missing.description.contains("u-boot.bin"), "the known artifacts are listed: \(missing)")
    }
}

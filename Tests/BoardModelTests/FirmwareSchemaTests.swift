import BoardModel
import Foundation
import Testing

/// The firmware section: a good board loads with its files as artifacts a partition can name, and each mistake
/// is reported at its field with what was expected.
@Suite struct FirmwareSchemaTests {
    static let board = """
        name: fw-board
        description: a board with firmware from Debian packages
        arch: aarch64
        toolchain: aarch64-linux-gnu
        kernel:
          base_config: tinyconfig
          image: Image
        cmdline: console=ttyAMA0
        console: ttyAMA0
        busybox: {}
        firmware:
          - package: raspi-firmware
            architecture: arm64
            component: non-free-firmware
            files:
              - {from: usr/lib/raspi-firmware/bootcode.bin}
              - {from: usr/lib/raspi-firmware/fixup4.dat, to: fixup.dat}
          - package: opensbi
            files: [usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin]
        disk_images:
          - name: sdcard.img
            table: mbr
            partitions:
              - {label: BOOT, type: fat, filesystem: fat16, size: 16M, files: [bootcode.bin, fixup.dat, fw_dynamic.bin]}
        """

    func load(_ yaml: String) throws -> Catalog {
        try FixtureProject(board: "fw-board").load(yaml)
    }

    @Test func aBoardWithFirmwareLoads() throws {
        let catalog = try load(Self.board)
        #expect(catalog.diagnostics.map(\.description) == [])
        let board = try #require(catalog.boards["fw-board"]).board
        let firmware = try #require(board.firmware)
        #expect(firmware[0].architecture == "arm64" && firmware[0].component == "non-free-firmware")
        #expect(firmware[0].files == [FirmwareFileSpec(from: "usr/lib/raspi-firmware/bootcode.bin"),
                                      FirmwareFileSpec(from: "usr/lib/raspi-firmware/fixup4.dat", to: "fixup.dat")])
        #expect(firmware[1].files.map(\.outputName) == ["fw_dynamic.bin"])
        #expect(board.firmwareArtifacts.map(\.name) == ["bootcode.bin", "fixup.dat", "raspi-firmware.copyright", "fw_dynamic.bin", "opensbi.copyright"])
        for name in ["bootcode.bin", "fixup.dat", "fw_dynamic.bin", "raspi-firmware.copyright", "opensbi.copyright"] {
            #expect(board.artifactNames.contains(name))
        }
    }

    @Test(arguments: [
        ("package: raspi-firmware", "package: Raspi_Firmware", "firmware[0].package: 'Raspi_Firmware' is not a Debian package name", 12),
        ("package: opensbi", "package: raspi-firmware", "firmware[1].package: 'raspi-firmware' is already listed as firmware[0]", 18),
        ("architecture: arm64", "architecture: ARM 64", "firmware[0].architecture: 'ARM 64' is not a Debian architecture", 13),
        ("component: non-free-firmware", "component: non free", "firmware[0].component: 'non free' is not an archive component", 14),
        ("{from: usr/lib/raspi-firmware/bootcode.bin}", "{from: /usr/lib/raspi-firmware/bootcode.bin}",
         "firmware[0].files[0].from: '/usr/lib/raspi-firmware/bootcode.bin' must be relative to the package's root", 16),
        ("{from: usr/lib/raspi-firmware/bootcode.bin}", "{from: usr/lib/../../etc/passwd}", "is not a path inside the package", 16),
        ("to: fixup.dat}", "to: boot/fixup.dat}", "firmware[0].files[1].to: 'boot/fixup.dat' is not a plain file name", 17),
        ("to: fixup.dat}", "to: Image}", "firmware[0].files[1].to: 'Image' is already an artifact", 17),
        ("to: fixup.dat}", "to: fw_dynamic.bin}", "firmware[1].files[0].from: 'fw_dynamic.bin' is already an artifact", 19),
        ("files: [usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin]", "files: []", "firmware[1].files: expected at least one file", 19),
        ("component: non-free-firmware", "component: non-free-firmware\n    compnent: main", "unknown key 'compnent'", 15),
        ("files: [bootcode.bin,", "files: [bootcode.elf,", "'bootcode.elf' is not an artifact of this board", 24),
    ])
    func mistakesAreReportedAtTheirField(_ change: (old: String, new: String, message: String, line: Int)) throws {
        let yaml = Self.board.replacingOccurrences(of: change.old, with: change.new)
        #expect(yaml != Self.board, "the change must apply")
        let catalog = try load(yaml)
        #expect(catalog.boards["fw-board"] == nil)
        let diagnostic = try #require(catalog.diagnostics.first { $0.description.contains(change.message) }, "\(catalog.diagnostics)")
        #expect(diagnostic.location.line == change.line, "\(diagnostic)")
        #expect(diagnostic.hint != nil || change.message.contains("already"), "\(diagnostic)")
    }

    @Test func shippedRaspberryPiBoardsPutTheirFirmwareOnTheCard() throws {
        let catalog = Catalog(boardsDirectory: repositoryRoot.appendingPathComponent("boards"),
                              toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains"))
        for (name, files) in [("raspberrypi3b", ["bootcode.bin", "start.elf", "fixup.dat"]), ("raspberrypi4", ["start4.elf", "fixup4.dat"])] {
            let board = try catalog.board(named: name).board
            #expect(board.firmware?.first?.package == "raspi-firmware")
            #expect(board.firmware?.first?.files.map(\.outputName) == files)
            let partition = try #require(board.diskImages?.first?.partitions.first)
            #expect(Array((partition.files ?? []).map(\.from).prefix(files.count)) == files, "\(name)")
        }
    }
}

import BoardModel
import Foundation
import Testing

@Suite struct ShippedArchitectureTests {
    let catalog = Catalog(boardsDirectory: repositoryRoot.appendingPathComponent("boards"),
                          toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains"))

    @Test func everyToolchainHasItsArchitecture() throws {
        #expect(catalog.architectures.keys.sorted() == ["aarch64", "arm", "riscv64", "x86_64"])
        for toolchain in catalog.toolchains.values { #expect(catalog.architectures[toolchain.arch] != nil, "\(toolchain.name)") }
        let riscv = try #require(catalog.architectures["riscv64"])
        #expect(riscv.kernelSourceFolder == "riscv")
        #expect(riscv.elf == ELFIdentity(machine: "riscv", machineNumber: 243, elfClass: 64))
        #expect(riscv.kernelImage(named: "Image")?.magic == [ByteSignature(offset: 0x38, hex: "52534305")])
        #expect(catalog.architectures["x86_64"]?.kernelSourceFolder == "x86")
    }

    @Test func theDefaultBoardsComeFromTheProjectFile() throws {
        #expect(try catalog.defaultBoardName(for: .general) == "qemu-x86_64")
        #expect(try catalog.defaultBoardName(for: .bench) == "qemu-arm64-virt")
    }

    @Test func aProjectWithoutSettingsNamesWhereToSetTheDefault() throws {
        let catalog = Catalog(boardsDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-none-\(UUID().uuidString)/boards"),
                              toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains"))
        let error = #expect(throws: DiagnosticList.self) { try catalog.defaultBoardName(for: .general) }
        #expect(error?.diagnostics.first?.hint?.contains("default_board: BOARD") == true)
    }
}

@Suite struct BrokenArchitectureTests {
    private func load(arch: String, toolchain: String? = nil) throws -> (Catalog, URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-arches-\(UUID().uuidString)")
        for directory in ["arches", "toolchains"] {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
        try arch.write(to: folder.appendingPathComponent("arches/riscv64.yaml"), atomically: true, encoding: .utf8)
        if let toolchain {
            try toolchain.write(to: folder.appendingPathComponent("toolchains/riscv64-linux-gnu.yaml"), atomically: true, encoding: .utf8)
        }
        return (Catalog(boardsDirectory: folder.appendingPathComponent("boards"), toolchainsDirectory: folder.appendingPathComponent("toolchains")), folder)
    }

    private let goodArch = """
        name: riscv64
        kernel_source_folder: riscv
        elf: {machine: riscv, machine_number: 243, class: 64}
        kernel_images:
          - name: Image
            description: RISC-V Image
            magic:
              - offset: 0x38
                hex: "52534305"
        """

    @Test func theGoodArchitectureLoads() throws {
        let (catalog, folder) = try load(arch: goodArch)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(catalog.diagnostics.filter { $0.location.file.hasSuffix(".yaml") }.map(\.description) == [])
        #expect(catalog.architectures["riscv64"]?.elf.machineNumber == 243)
    }

    @Test func badValuesAreReportedAtTheirField() throws {
        let broken = goodArch.replacingOccurrences(of: "class: 64", with: "class: 48")
            .replacingOccurrences(of: "\"52534305\"", with: "\"5253430\"")
        let (catalog, folder) = try load(arch: broken)
        defer { try? FileManager.default.removeItem(at: folder) }
        let messages = catalog.diagnostics.map(\.description)
        #expect(catalog.architectures["riscv64"] == nil)
        #expect(messages.contains { $0.contains("riscv64.yaml:3:") && $0.contains("elf.class: expected 32 or 64, found 48") }, "\(messages)")
        #expect(messages.contains { $0.contains("riscv64.yaml:9:9: kernel_images[0].magic[0].hex: expected bytes as pairs of hex digits") }, "\(messages)")
    }

    @Test func aMisspeltFieldIsReportedWithItsLineAndASuggestion() throws {
        let (catalog, folder) = try load(arch: goodArch + "\nqemu_package: {qemu-system-riscv64: qemu-system-misc}")
        defer { try? FileManager.default.removeItem(at: folder) }
        let diagnostics = catalog.diagnostics.filter { $0.location.file.hasSuffix("arches/riscv64.yaml") }
        #expect(catalog.architectures.isEmpty)
        #expect(diagnostics.contains { $0.location.line == 10 && $0.description.contains("unknown key 'qemu_package'")
            && $0.hint?.contains("qemu_packages") == true }, "\(diagnostics)")
    }

    @Test func aToolchainForAnUnknownArchitectureIsReportedAtItsArchField() throws {
        let toolchain = """
            name: riscv64-linux-gnu
            arch: riscv46
            kernel_arch: riscv
            cross_compile: riscv64-linux-gnu-
            debian_packages: [gcc-riscv64-linux-gnu]
            min_gcc_version: "10.1"
            """
        let (catalog, folder) = try load(arch: goodArch, toolchain: toolchain)
        defer { try? FileManager.default.removeItem(at: folder) }
        let diagnostic = try #require(catalog.diagnostics.first { $0.description.contains("unknown architecture") })
        #expect(diagnostic.description.contains("riscv64-linux-gnu.yaml:2:1: arch: unknown architecture 'riscv46'"), "\(diagnostic)")
        #expect(diagnostic.hint?.contains("riscv64") == true)
        #expect(catalog.toolchains.isEmpty)
    }
}

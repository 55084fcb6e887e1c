import BoardModel
import Foundation
import Host
import Testing

@Suite struct QEMUPackageTests {
    private let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theShippedArchitecturesNameTheirEmulatorsPackages() {
        let catalog = Catalog(boardsDirectory: repositoryRoot.appendingPathComponent("boards"),
                              toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains"))
        let architectures = Array(catalog.architectures.values)
        #expect(HostRequirements.qemuPackage("qemu-system-aarch64", among: architectures) == "qemu-system-arm")
        #expect(HostRequirements.qemuPackage("qemu-system-x86_64", among: architectures) == "qemu-system-x86")
        #expect(HostRequirements.qemuPackage("qemu-system-riscv64", among: architectures) == "qemu-system-misc")
        #expect(HostRequirements.qemuPackage("qemu-system-nonesuch", among: architectures) == nil)
    }

    /// An architecture bspgen's Swift has never heard of gets its install hint from its file alone.
    @Test func aNewArchitectureNeedsOnlyItsDataFile() throws {
        let text = """
            name: loongarch64
            kernel_source_folder: loongarch
            elf: {machine: loongarch, machine_number: 258, class: 64}
            qemu_packages: {qemu-system-loongarch64: qemu-system-misc}
            kernel_images: [{name: vmlinuz.efi, description: LoongArch EFI image, magic: [{offset: 0, hex: "4d5a"}]}]
            """
        let architecture = try YAMLTreeDecoder.decode(Architecture.self, from: text, file: "loongarch64.yaml").0
        #expect(HostRequirements.qemuPackage("qemu-system-loongarch64", among: [architecture]) == "qemu-system-misc")
    }
}

import Foundation

/// Problems of an `arches/<name>.yaml` that decoding alone cannot see, located at the field.
struct ArchitectureChecks {
    let architecture: Architecture
    let file: URL
    let locations: LocationMap

    func problems() -> [Diagnostic] {
        var problems: [Diagnostic] = []
        func problem(_ field: String, _ message: String, hint: String? = nil) {
            problems.append(Diagnostic(locations.location(of: field), field: field, message, hint: hint))
        }
        if let misnamed = Diagnostic.nameDiffersFromFile(name: architecture.name, file: file, locations: locations) { problems.append(misnamed) }
        problems += wordProblems()
        if !Self.isPlainName(architecture.kernelSourceFolder) {
            problem("kernel_source_folder", "expected a folder name under the kernel's arch/, like 'arm64', found \(DescriptionText.quoted(architecture.kernelSourceFolder))")
        }
        if ![32, 64].contains(architecture.elf.elfClass) { problem("elf.class", "expected 32 or 64, found \(architecture.elf.elfClass)") }
        if !(1...Int(UInt16.max)).contains(architecture.elf.machineNumber) {
            problem("elf.machine_number", "expected e_machine from the ELF specification (1 to 65535), found \(architecture.elf.machineNumber)",
                    hint: "see /usr/include/elf.h, e.g. EM_RISCV is 243")
        }
        for (binary, package) in (architecture.qemuPackages ?? [:]).sorted(by: { $0.key < $1.key }) {
            if !binary.hasPrefix("qemu-system-") || !Words.isWord(binary, also: "_-") || !Words.isPackageName(package) {
                problem("qemu_packages.\(binary)", "expected 'qemu-system-NAME: DEBIAN_PACKAGE', found '\(binary): \(package)'")
            }
        }
        if architecture.kernelImages.isEmpty {
            problem("kernel_images", "expected at least one kernel image format, like {name: Image, description: …, magic: […]}")
        }
        var names: Set<String> = []
        for (index, format) in architecture.kernelImages.enumerated() {
            let field = "kernel_images[\(index)]"
            if !Self.isPlainName(format.name) {
                problem(field + ".name", "\(DescriptionText.quoted(format.name)) is not a file name the kernel's make builds, like 'Image'")
            } else if !names.insert(format.name).inserted {
                problem(field + ".name", "\(DescriptionText.quoted(format.name)) is listed twice")
            }
            if format.magic.isEmpty { problem(field + ".magic", "expected at least one {offset, hex} signature to recognise the image by") }
            for (signatureIndex, signature) in format.magic.enumerated() {
                let signatureField = "\(field).magic[\(signatureIndex)]"
                if signature.offset < 0 { problem(signatureField + ".offset", "expected an offset of 0 or more, found \(signature.offset)") }
                if signature.bytes == nil {
                    problem(signatureField + ".hex", "expected bytes as pairs of hex digits, like '41524d64', found \(DescriptionText.quoted(signature.hex))")
                }
            }
        }
        return problems
    }

    private static func isPlainName(_ text: String) -> Bool {
        !text.isEmpty && text.first != "." && text.first != "-"
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-+".contains($0)) }
    }
}

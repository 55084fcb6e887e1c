import Foundation

/// What bspgen knows of a CPU architecture, from `arches/<name>.yaml`: the facts that would otherwise be Swift
/// `switch`es, so a new architecture is a data file.
public struct Architecture: Codable, Sendable, Equatable {
    /// As `uname -m` and board and toolchain files name it (`x86_64`, `aarch64`, `arm`, `riscv64`).
    public var name: String
    public var description: String?
    /// The folder under the kernel's `arch/` that holds its sources, boot images and device trees
    /// (`x86` for both `ARCH=x86_64` and `ARCH=i386`).
    public var kernelSourceFolder: String
    public var elf: ELFIdentity
    /// The Debian package of each QEMU system emulator of this architecture, for install hints.
    public var qemuPackages: [String: String]?
    /// CPU flags in /proc/cpuinfo of a host of this architecture, one of which KVM needs to run an ordinary
    /// kernel; absent when /dev/kvm working is proof enough.
    public var kvmCPUFlags: [String]?
    /// The image files the kernel's make builds for this architecture, and how each is recognised.
    public var kernelImages: [KernelImageFormat]

    enum CodingKeys: String, CodingKey {
        case name, description, elf
        case kernelSourceFolder = "kernel_source_folder"
        case qemuPackages = "qemu_packages"
        case kvmCPUFlags = "kvm_cpu_flags"
        case kernelImages = "kernel_images"
    }

    public func kernelImage(named name: String) -> KernelImageFormat? { kernelImages.first { $0.name == name } }
}

/// What an ELF binary built for the architecture says in its header.
public struct ELFIdentity: Codable, Sendable, Equatable {
    /// As `readelf -h` names the machine (`x86-64`, `aarch64`, `arm`, `riscv`).
    public var machine: String
    /// `e_machine` from the ELF specification (62 for x86-64, 183 for aarch64).
    public var machineNumber: Int
    /// 32 or 64.
    public var elfClass: Int

    enum CodingKeys: String, CodingKey {
        case machine
        case machineNumber = "machine_number"
        case elfClass = "class"
    }

    public init(machine: String, machineNumber: Int, elfClass: Int) {
        self.machine = machine
        self.machineNumber = machineNumber
        self.elfClass = elfClass
    }
}

/// A kernel image file format and the bytes that identify it.
public struct KernelImageFormat: Codable, Sendable, Equatable {
    /// The file name the kernel's make target builds (`bzImage`, `Image`, `zImage`, `Image.gz`).
    public var name: String
    /// What to call it in reports, e.g. `RISC-V Image`.
    public var description: String
    /// All must match.
    public var magic: [ByteSignature]
}

/// Bytes expected at an offset of a file.
public struct ByteSignature: Codable, Sendable, Equatable {
    public var offset: Int
    /// The bytes in hex, in file order (`41524d64` for "ARM\x64").
    public var hex: String

    public init(offset: Int, hex: String) {
        self.offset = offset
        self.hex = hex
    }

    /// nil when `hex` is not an even number of hex digits.
    public var bytes: [UInt8]? {
        let digits = Array(hex.filter { !$0.isWhitespace })
        guard !digits.isEmpty, digits.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(digits[index...index + 1]), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}

/// Why a file is not the kernel image it should be.
public struct KernelImageMismatch: Error, Equatable, CustomStringConvertible {
    public var format: String
    public var offset: Int
    public var expected: String

    public var description: String {
        "no \(format) magic (\(expected) at 0x\(String(offset, radix: 16)))"
    }
}

extension KernelImageFormat {
    /// Checks the start of a kernel image against every signature of the format; a short file fails.
    public func recognise(_ data: Data) throws(KernelImageMismatch) -> String {
        for signature in magic {
            let expected = signature.bytes ?? []
            let start = data.startIndex + signature.offset
            guard signature.offset >= 0, start + expected.count <= data.endIndex,
                  data[start..<start + expected.count].elementsEqual(expected) else {
                throw KernelImageMismatch(format: description, offset: signature.offset, expected: signature.hex)
            }
        }
        return "\(description), \(data.count) bytes"
    }
}

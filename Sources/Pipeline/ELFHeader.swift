import BoardModel
import Foundation

/// The facts of an ELF file that decide whether it runs as the init of a board: class, machine, and whether it
/// needs a dynamic loader (a static BusyBox has no PT_INTERP program header).
public struct ELFHeader: Equatable, Sendable {
    public var elfClass: Int
    public var machine: UInt16
    public var hasInterpreter: Bool

    public init(elfClass: Int, machine: UInt16, hasInterpreter: Bool) {
        self.elfClass = elfClass
        self.machine = machine
        self.hasInterpreter = hasInterpreter
    }

    public init(contentsOf url: URL) throws {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw BuildError.wrongBinary(path: url.path, message: "cannot read it")
        }
        try self.init(data, path: url.path)
    }

    public init(_ data: Data, path: String) throws {
        let bytes = [UInt8](data.prefix(1 << 16))
        guard bytes.count >= 52, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else {
            throw BuildError.wrongBinary(path: path, message: "not an ELF file")
        }
        let is64 = bytes[4] == 2
        let littleEndian = bytes[5] == 1
        func integer(_ offset: Int, _ size: Int) -> Int {
            guard offset + size <= bytes.count else { return 0 }
            let slice = bytes[offset..<offset + size]
            return (littleEndian ? slice.reversed() : Array(slice)).reduce(0) { $0 << 8 | Int($1) }
        }
        elfClass = is64 ? 64 : 32
        machine = UInt16(integer(18, 2))
        let programHeaders = is64 ? integer(32, 8) : integer(28, 4)
        let entrySize = is64 ? integer(54, 2) : integer(42, 2)
        let count = is64 ? integer(56, 2) : integer(44, 2)
        let interpreterType = 3
        hasInterpreter = (0..<count).contains { integer(programHeaders + $0 * entrySize, 4) == interpreterType }
    }

    /// Why this binary cannot be a static executable for `architecture` built with `toolchain`, or nil when it can.
    public func mismatch(for architecture: Architecture, toolchain: Toolchain) -> String? {
        let expected = architecture.elf
        if elfClass != expected.elfClass || Int(machine) != expected.machineNumber {
            return "built for ELF machine \(machine) ELF\(elfClass), expected \(expected.machine) (machine \(expected.machineNumber)) ELF\(expected.elfClass)"
                + " (was the host compiler used instead of \(toolchain.crossCompile)gcc?)"
        }
        if hasInterpreter { return "dynamically linked (has a PT_INTERP header); the initramfs has no C library, so it must be static" }
        return nil
    }
}

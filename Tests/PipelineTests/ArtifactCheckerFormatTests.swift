import BoardModel
import Pipeline
import Foundation
import Initramfs
import Testing

/// The shipped catalog, whose boards are re-targeted here to other architectures and compressions.
private let shippedCatalog = Catalog(boardsDirectory: repositoryRoot.appendingPathComponent("boards"),
                                     toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains"))

/// qemu-arm64-virt moved to `arch`: the checker must then judge its files by that architecture's data.
private func board(on arch: String, compression: CompressionName? = nil) throws -> ResolvedBoard {
    var board = try shippedCatalog.board(named: "qemu-arm64-virt")
    board.architecture = try #require(shippedCatalog.architectures[arch], "no arches/\(arch).yaml")
    board.board.arch = arch
    board.board.initramfs = board.board.initramfs ?? InitramfsSpec()
    board.board.initramfs?.compression = compression
    return board
}

/// A 64-byte kernel image header with `magic` at `offset` and zeros elsewhere.
private func kernelHeader(_ magic: [(offset: Int, bytes: [UInt8])]) -> Data {
    var bytes = [UInt8](repeating: 0, count: 4096)
    for (offset, signature) in magic { bytes.replaceSubrange(offset..<offset + signature.count, with: signature) }
    return Data(bytes)
}

// Documentation/riscv/boot-image-header.rst: "RISCV\0\0\0" at 0x30, "RSC\x05" at 0x38.
private let riscvImage = kernelHeader([(0x30, Array("RISCV".utf8) + [0, 0, 0]), (0x38, Array("RSC".utf8) + [0x05])])
// Documentation/arm64/booting.rst: "ARM\x64" at 0x38.
private let arm64Image = kernelHeader([(0x38, Array("ARM".utf8) + [0x64])])

private func checks(of board: ResolvedBoard, with files: [String: Data]) throws -> [ArtifactCheck] {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-check-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    for (name, data) in files { try data.write(to: folder.appendingPathComponent(name)) }
    return ArtifactChecker(board: board, folder: folder).run()
}

@Suite struct KernelImageCheckTests {
    @Test func aRISCVImagePassesOnARISCVBoardAndAnArm64ImageFails() throws {
        let riscv = try board(on: "riscv64")
        let passing = try #require(try checks(of: riscv, with: ["Image": riscvImage]).first { $0.name == "kernel Image" })
        #expect(passing.passed, "\(passing.detail)")
        #expect(passing.detail.hasPrefix("RISC-V Image"))
        let failing = try #require(try checks(of: riscv, with: ["Image": arm64Image]).first { $0.name == "kernel Image" })
        #expect(!failing.passed)
        #expect(failing.detail.contains("RISC-V Image magic (52534305 at 0x38)"), "\(failing.detail)")
    }

    @Test func anArm64BoardStillTakesArm64ImagesOnly() throws {
        let arm64 = try board(on: "aarch64")
        #expect(try checks(of: arm64, with: ["Image": arm64Image]).first { $0.name == "kernel Image" }?.passed == true)
        #expect(try checks(of: arm64, with: ["Image": riscvImage]).first { $0.name == "kernel Image" }?.passed == false)
    }

    @Test func aTruncatedImageFailsRatherThanCrashing() throws {
        let format = try #require(shippedCatalog.architectures["x86_64"]?.kernelImage(named: "bzImage"))
        #expect(throws: KernelImageMismatch.self) { try format.recognise(Data([0x48, 0x64])) }
        var bzImage = [UInt8](repeating: 0, count: 0x210)
        bzImage.replaceSubrange(0x202..<0x206, with: Array("HdrS".utf8))
        #expect(try format.recognise(Data(bzImage)).hasPrefix("x86 bzImage"))
    }
}

@Suite struct InitramfsCheckTests {
    /// A static aarch64 ELF header (no program headers, so no PT_INTERP): what the check asks of /bin/busybox.
    private var staticAarch64ELF: Data {
        var bytes = [UInt8](repeating: 0, count: 64)
        bytes.replaceSubrange(0..<6, with: [0x7F, 0x45, 0x4C, 0x46, 2, 1])
        bytes[18] = 183
        return Data(bytes)
    }

    private func archive(_ compression: InitramfsCompression, in folder: URL) throws -> Data {
        let tree = folder.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree.appendingPathComponent("bin"), withIntermediateDirectories: true)
        try staticAarch64ELF.write(to: tree.appendingPathComponent("bin/busybox"))
        try "#!/bin/sh\n".write(to: tree.appendingPathComponent("init"), atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tree.appendingPathComponent("init").path)
        let output = folder.appendingPathComponent("archive")
        _ = try InitramfsPacker(sourceDateEpoch: 1_704_067_200).pack([.directory(tree)], to: output, compression: compression)
        return try Data(contentsOf: output)
    }

    @Test(arguments: [(CompressionName.xz, "initramfs.cpio.xz"), (.zstd, "initramfs.cpio.zst"), (.gzip, "initramfs.cpio.gz"), (.none, "initramfs.cpio")])
    func everyCompressionThePackerWritesIsReadBack(_ compression: CompressionName, _ name: String) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-initramfs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = try archive(InitramfsCompression(compression), in: folder)
        let board = try board(on: "aarch64", compression: compression)
        let check = try #require(try checks(of: board, with: [name: data]).first { $0.name == "initramfs \(name)" })
        #expect(check.passed, "\(check.detail)")
        #expect(check.detail.contains("(\(compression.rawValue))"))
    }

    @Test func anArchiveInAnotherCompressionThanTheBoardsFails() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-initramfs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = try archive(.zstd, in: folder)
        let board = try board(on: "aarch64", compression: .xz)
        let check = try #require(try checks(of: board, with: ["initramfs.cpio.xz": data]).first { $0.name == "initramfs initramfs.cpio.xz" })
        #expect(!check.passed)
        #expect(check.detail.contains("zstd-compressed, the board asks for xz"), "\(check.detail)")
    }
}

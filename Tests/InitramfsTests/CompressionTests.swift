import Foundation
import Testing
@testable import Initramfs

/// A tree with an incompressible file larger than a copy chunk, so that every buffer refills.
private func makeCompressionTree(at root: URL) throws {
    try writeFile(root.appendingPathComponent("bin/noise"), noiseData(count: 1 << 20 | 12_345))
    try writeFile(root.appendingPathComponent("share/text"), String(repeating: "initramfs ", count: 100_000))
}

@Test(arguments: [
    (InitramfsCompression.gzip, "gzip"), (.xz, "xz"), (.zstd, "zstd"),
])
func compressedArchiveDecompressesToThePlainOne(_ compression: InitramfsCompression, _ tool: String) throws {
    try withTemporaryDirectory { work in
        let root = work.appendingPathComponent("tree")
        try makeCompressionTree(at: root)
        let plain = try packedBytes([.directory(root)], in: work, name: "plain.cpio")
        let first = try packedBytes([.directory(root)], compression: compression, in: work, name: "first")
        let second = try packedBytes([.directory(root)], compression: compression, in: work, name: "second")

        #expect(first == second)
        #expect(first.count < plain.count)
        let decompressed = try runChecked([tool, "-dc", work.appendingPathComponent("first").path]).output
        #expect(decompressed == plain)
    }
}

@Test func xzArchiveUsesTheCRC32CheckTheKernelNeeds() throws {
    try withTemporaryDirectory { work in
        try writeFile(work.appendingPathComponent("files/init"), "#!/bin/sh\n")
        let list = InitramfsSource.listText("file /init files/init 0755 0 0", name: "xz.list", baseDirectory: work)
        _ = try packedBytes([list], compression: .xz, in: work, name: "initramfs.cpio.xz")

        let info = try runChecked(["xz", "-lvv", work.appendingPathComponent("initramfs.cpio.xz").path]).text

        #expect(info.contains("CRC32"))
        #expect(!info.contains("CRC64"))
        #expect(info.contains("dict=1MiB"))
    }
}

@Test func gzipHeaderHasNoTimestampOrName() throws {
    try withTemporaryDirectory { work in
        let list = InitramfsSource.listText("dir /dev 0755 0 0", name: "gzip.list", baseDirectory: work)
        let compressed = try packedBytes([list], compression: .gzip, in: work, name: "initramfs.cpio.gz")

        // Magic, deflate, no flags, mtime 0, "maximum compression", OS 3 (Unix).
        #expect(Array(compressed.prefix(10)) == [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 2, 3])
    }
}

@Test func readerListsGzipArchives() throws {
    try withTemporaryDirectory { work in
        let root = work.appendingPathComponent("tree")
        try makeCompressionTree(at: root)
        let packer = InitramfsPacker(sourceDateEpoch: testEpoch)
        let plain = work.appendingPathComponent("initramfs.cpio")
        let compressed = work.appendingPathComponent("initramfs.cpio.gz")
        _ = try packer.pack([.directory(root)], to: plain, compression: .none)
        _ = try packer.pack([.directory(root)], to: compressed, compression: .gzip)

        let entries = try CpioArchiveReader.listing(of: compressed)

        #expect(entries == (try CpioArchiveReader.listing(of: plain)))
        #expect(entries.map(\.name) == ["bin", "bin/noise", "share", "share/text"])
    }
}

@Test func readerRejectsSomethingElse() throws {
    try withTemporaryDirectory { work in
        let notAnArchive = work.appendingPathComponent("notes.txt")
        try writeFile(notAnArchive, String(repeating: "not a cpio archive\n", count: 10))

        let error = #expect(throws: InitramfsError.self) { try CpioArchiveReader.listing(of: notAnArchive) }

        #expect(error == .malformedArchive(
            path: notAnArchive.path, offset: 0, reason: "the header does not start with 070701 or 070702"))
    }
}

import CZlib
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

/// With a branch filter, xz's own tool names the filter, unpacks the archive to the plain one, and x86 machine code
/// (this host's own /bin/bash) comes out smaller than without it.
@Test func xzWithABranchFilterIsWhatXzX86WouldWrite() throws {
    try withTemporaryDirectory { work in
        let list = InitramfsSource.listText("file /bin/bash /bin/bash 0755 0 0", name: "bcj.list", baseDirectory: work)
        let plain = try packedBytes([list], in: work, name: "plain.cpio")
        let lzma2Only = try packedBytes([list], compression: .xz, in: work, name: "lzma2.cpio.xz")
        var packer = InitramfsPacker(sourceDateEpoch: testEpoch)
        packer.xzBranchFilter = .x86
        let filtered = work.appendingPathComponent("x86.cpio.xz")
        _ = try packer.pack([list], to: filtered, compression: .xz)

        let info = try runChecked(["xz", "-lvv", filtered.path]).text
        #expect(info.contains("--x86"), "\(info)")
        #expect(info.contains("CRC32"))
        #expect(try runChecked(["xz", "-dc", filtered.path]).output == plain)
        #expect(try Data(contentsOf: filtered).count < lzma2Only.count)
        #expect(try CpioArchiveReader.listing(of: filtered).map(\.name) == ["bin", "bin/bash"])
    }
}

@Test func gzipHeaderHasNoTimestampOrName() throws {
    try withTemporaryDirectory { work in
        let list = InitramfsSource.listText("dir /dev 0755 0 0", name: "gzip.list", baseDirectory: work)
        let compressed = try packedBytes([list], compression: .gzip, in: work, name: "initramfs.cpio.gz")

        // Magic, deflate, no flags, mtime 0, extra flags 2 (level 9), OS 3 (Unix): as `gzip -n -9`.
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

/// Several 512 KiB blocks, compressible and not, so that block boundaries and dictionaries matter.
private func multiBlockData() -> [UInt8] {
    Array(String(repeating: "bspgen initramfs block ", count: 30_000).utf8) + noiseData(count: 300_001)
        + Array(String(repeating: "tail ", count: 10_000).utf8)
}

private func gzipWithThreads(_ data: [UInt8], threads: Int, in work: URL) throws -> [UInt8] {
    let url = work.appendingPathComponent("threads-\(threads).gz")
    let output = try OutputFile(creating: url.path)
    let sink = ParallelGzipSink(output: output, threads: threads)
    // Uneven slices, as the cpio writer hands them over.
    var offset = 0
    var step = 1
    while offset < data.count {
        let end = min(data.count, offset + step * 7_919)
        try data[offset..<end].withUnsafeBytes { try sink.consume($0) }
        offset = end
        step += 1
    }
    try sink.finish()
    return Array(try Data(contentsOf: url))
}

@Test func parallelGzipGivesTheSameBytesOnAnyNumberOfThreads() throws {
    try withTemporaryDirectory { work in
        let data = multiBlockData()
        let one = try gzipWithThreads(data, threads: 1, in: work)
        #expect(try gzipWithThreads(data, threads: 2, in: work) == one)
        #expect(try gzipWithThreads(data, threads: 5, in: work) == one)
        try Data(one).write(to: work.appendingPathComponent("check.gz"))
        #expect(try runChecked(["gzip", "-dc", work.appendingPathComponent("check.gz").path]).output == Data(data))
        #expect(one.count < data.count)
    }
}

/// The kernel's unpacker gives each gzip member to its inflater on its own and fails when a member ends
/// inside a cpio archive; the parallel output must be one member whose end is the end of the file.
@Test func parallelGzipIsOneMemberAsTheKernelNeeds() throws {
    try withTemporaryDirectory { work in
        var data = multiBlockData()
        let compressed = try gzipWithThreads(data, threads: 3, in: work)
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { inflateEnd(stream); stream.deallocate() }
        #expect(inflateInit2_(stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        var input = compressed
        var output = [UInt8](repeating: 0, count: data.count + 1)
        let status = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.pointee.next_in = source.baseAddress
                stream.pointee.avail_in = uInt(source.count)
                stream.pointee.next_out = target.baseAddress
                stream.pointee.avail_out = uInt(target.count)
                return inflate(stream, Z_FINISH)
            }
        }
        #expect(status == Z_STREAM_END)
        #expect(stream.pointee.avail_in == 0, "bytes after the first gzip member")
        #expect(Array(output.prefix(Int(stream.pointee.total_out))) == data)
        data.removeAll()
    }
}

@Test func emptyParallelGzipIsAValidEmptyFile() throws {
    try withTemporaryDirectory { work in
        let compressed = try gzipWithThreads([], threads: 2, in: work)
        try Data(compressed).write(to: work.appendingPathComponent("empty.gz"))
        #expect(try runChecked(["gzip", "-dc", work.appendingPathComponent("empty.gz").path]).output.isEmpty)
    }
}

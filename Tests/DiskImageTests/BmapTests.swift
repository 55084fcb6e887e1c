import Crypto
import DiskImage
import Foundation
import Testing

func temporaryFolder() throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-diskimage-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

/// A sparse file of `size` bytes with `pieces` written at their offsets, the rest holes.
func sparseFile(_ url: URL, size: Int, pieces: [(offset: Int, bytes: Data)]) throws {
    try? FileManager.default.removeItem(at: url)
    #expect(FileManager.default.createFile(atPath: url.path, contents: nil))
    let handle = try FileHandle(forWritingTo: url)
    defer { try? handle.close() }
    try handle.truncate(atOffset: UInt64(size))
    try patch(url, pieces)
}

/// Overwrites bytes of an existing file in place, leaving the rest as it is.
func patch(_ url: URL, _ pieces: [(offset: Int, bytes: Data)]) throws {
    let handle = try FileHandle(forWritingTo: url)
    defer { try? handle.close() }
    for piece in pieces {
        try handle.seek(toOffset: UInt64(piece.offset))
        try handle.write(contentsOf: piece.bytes)
    }
}

func sha256(_ data: Data) -> String {
    SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
}

/// An image shaped like DiskImageWriter's: data, a written run of zeros, a byte at a block's end, a hole, and a
/// short last block.
struct SampleImage {
    static let block = 4096
    static let size = 600 * block + 100
    static let pieces: [(offset: Int, bytes: Data)] = [
        (0, Data(repeating: 0xA5, count: 2 * block)),
        (5 * block + block - 1, Data([1])),
        (10 * block, Data(count: 11 * block)),
        (300 * block + 17, Data((0..<(3 * block)).map { UInt8($0 % 251) })),
        (600 * block, Data(repeating: 0x7E, count: 100)),
    ]

    static func write(_ url: URL) throws { try sparseFile(url, size: size, pieces: pieces) }
}

@Suite struct BmapTests {
    @Test func rangesAreTheBlocksThatHoldDataWithTheirChecksums() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = folder.appendingPathComponent("sdcard.img")
        try SampleImage.write(image)
        let bytes = try Data(contentsOf: image)

        let bmap = try Bmap.scan(image)
        #expect(bmap.imageSize == SampleImage.size && bmap.blockSize == 4096 && bmap.blocksCount == 601)
        // The run of written zeros is not mapped; the data at 300*4096+17 spans blocks 300...303.
        #expect(bmap.ranges.map { [$0.first, $0.last] } == [[0, 1], [5, 5], [300, 303], [600, 600]])
        #expect(bmap.mappedBlocksCount == 8)
        #expect(bmap.mappedBytes == 7 * 4096 + 100)
        for range in bmap.ranges {
            let bytesOfRange = bytes[bmap.byteRange(of: range)]
            #expect(range.sha256 == sha256(Data(bytesOfRange)), "range \(range.first)-\(range.last)")
        }
        // Every byte outside the ranges is zero: writing only the ranges to a zeroed card gives the image.
        var covered = Data(count: bytes.count)
        for range in bmap.ranges { covered.replaceSubrange(bmap.byteRange(of: range), with: bytes[bmap.byteRange(of: range)]) }
        #expect(covered == bytes)
    }

    @Test func theFileSaysWhatBmaptoolReadsAndChecksItself() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = folder.appendingPathComponent("sdcard.img")
        try SampleImage.write(image)
        let text = try Bmap.make(for: image)

        #expect(text.hasPrefix("<?xml version=\"1.0\" ?>\n"))
        for line in ["<bmap version=\"2.0\">", "<ImageSize> \(SampleImage.size) </ImageSize>", "<BlockSize> 4096 </BlockSize>",
                     "<BlocksCount> 601 </BlocksCount>", "<MappedBlocksCount> 8 </MappedBlocksCount>", "<ChecksumType> sha256 </ChecksumType>",
                     "> 0-1 </Range>", "> 5 </Range>", "> 300-303 </Range>", "> 600 </Range>"] {
            #expect(text.contains(line), "\(line)")
        }
        // BmapFileChecksum is the sha256 of the file with that field all zeros.
        let recorded = try #require(text.split(separator: "\n").first { $0.contains("<BmapFileChecksum>") })
            .replacingOccurrences(of: "<BmapFileChecksum>", with: "").replacingOccurrences(of: "</BmapFileChecksum>", with: "")
            .trimmingCharacters(in: .whitespaces)
        #expect(sha256(Data(text.replacingOccurrences(of: recorded, with: String(repeating: "0", count: 64)).utf8)) == recorded)

        let read = try Bmap.parse(text, file: "sdcard.img.bmap")
        #expect(read == (try Bmap.scan(image)))
    }

    @Test func theSameImageGivesTheSameBytesWithOrWithoutHoles() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let sparse = folder.appendingPathComponent("sparse.img")
        try SampleImage.write(sparse)
        // The same bytes, every one written: no holes at all.
        let dense = folder.appendingPathComponent("dense.img")
        try Data(contentsOf: sparse).write(to: dense)
        let first = try Bmap.make(for: sparse)
        #expect(try Bmap.make(for: sparse) == first)
        #expect(try Bmap.make(for: dense) == first)

        // One byte changed changes its range's checksum, and so the file's.
        try patch(dense, [(300 * 4096 + 20, Data([0xFF]))])
        let changed = try Bmap.scan(dense)
        #expect(changed.ranges[2].sha256 != (try Bmap.scan(sparse)).ranges[2].sha256)
        #expect(try Bmap.make(for: dense) != first)
    }

    @Test func anEmptyOrAllZeroImageMapsNothing() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = folder.appendingPathComponent("zeros.img")
        try sparseFile(image, size: 1 << 20, pieces: [(4096, Data(count: 8192))])
        let bmap = try Bmap.scan(image)
        #expect(bmap.ranges.isEmpty && bmap.blocksCount == 256)
        #expect(try Bmap.parse(bmap.text, file: "zeros.img.bmap") == bmap)
    }

    @Test func aBrokenBmapIsRefusedWithWhatIsWrong() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = folder.appendingPathComponent("sdcard.img")
        try SampleImage.write(image)
        let text = try Bmap.make(for: image)

        func problem(_ edited: String) -> String? {
            do {
                _ = try Bmap.parse(edited, file: "x.bmap")
                return nil
            } catch {
                return error.description
            }
        }
        /// An edit with the file checksum made right again, so that the check after it is the one that fails.
        func resigned(_ edited: String) throws -> String {
            let recorded = try #require(edited.split(separator: "\n").first { $0.contains("<BmapFileChecksum>") })
                .split(separator: " ").first { $0.count == 64 }.map(String.init)
            let unsigned = edited.replacingOccurrences(of: try #require(recorded), with: String(repeating: "0", count: 64))
            return unsigned.replacingOccurrences(of: String(repeating: "0", count: 64), with: sha256(Data(unsigned.utf8)))
        }

        #expect(problem(text.replacingOccurrences(of: "> 0-1 </Range>", with: "> 0-2 </Range>"))?.contains("checksum") == true)
        #expect(problem(String(text.prefix(text.count / 2)))?.contains("x.bmap") == true)
        #expect(problem(try resigned(text.replacingOccurrences(of: "<BlocksCount> 601 </BlocksCount>", with: "<BlocksCount> 602 </BlocksCount>")))?
            .contains("BlocksCount") == true)
        #expect(problem(try resigned(text.replacingOccurrences(of: "<MappedBlocksCount> 8 </MappedBlocksCount>", with: "<MappedBlocksCount> 9 </MappedBlocksCount>")))?
            .contains("MappedBlocksCount") == true)
        #expect(problem(try resigned(text.replacingOccurrences(of: "> 600 </Range>", with: "> 601 </Range>")))?.contains("ends past") == true)
        #expect(problem(try resigned(text.replacingOccurrences(of: "> 5 </Range>", with: "> 1 </Range>")))?.contains("out of order") == true)
        #expect(problem(try resigned(text.replacingOccurrences(of: "<bmap version=\"2.0\">", with: "<bmap version=\"3.0\">")))?.contains("version 3.0") == true)
        #expect(problem(try resigned(text.replacingOccurrences(of: "<ChecksumType> sha256 </ChecksumType>", with: "<ChecksumType> md5 </ChecksumType>")))?
            .contains("md5") == true)
        #expect(problem("") != nil && problem("<bmap version=\"2.0\"></bmap>") != nil)
    }
}

/// bmaptool itself (scripts/setup.sh installs it) copies an image by the bmap bspgen wrote.
@Suite struct BmaptoolTests {
    @Test func bmaptoolCopiesTheImageByOurBmapByteForByte() throws {
        let bmaptool = try #require(["/usr/bin/bmaptool", "/usr/local/bin/bmaptool"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                    "bmaptool is not installed: scripts/setup.sh installs bmap-tools")
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = folder.appendingPathComponent("sdcard.img")
        try SampleImage.write(image)
        let bmapFile = folder.appendingPathComponent("sdcard.img.bmap")
        try Bmap.make(for: image).write(to: bmapFile, atomically: true, encoding: .utf8)
        let copy = folder.appendingPathComponent("copy.raw")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: bmaptool)
        process.arguments = ["copy", "--bmap", bmapFile.path, image.path, copy.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let log = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(log)")
        #expect(try Data(contentsOf: copy) == Data(contentsOf: image))

        // And our reader reads bmaptool's own bmap (which maps the written zeros too: it goes by holes only).
        let created = Process()
        created.executableURL = URL(fileURLWithPath: bmaptool)
        created.arguments = ["create", "-o", folder.appendingPathComponent("theirs.bmap").path, image.path]
        created.standardError = FileHandle.nullDevice
        try created.run()
        created.waitUntilExit()
        let theirs = try Bmap.read(folder.appendingPathComponent("theirs.bmap"))
        let bytes = try Data(contentsOf: image)
        #expect(theirs.imageSize == SampleImage.size && !theirs.ranges.isEmpty)
        for range in theirs.ranges { #expect(range.sha256 == sha256(Data(bytes[theirs.byteRange(of: range)]))) }

        // bmaptool checks every range's chksum while it copies: a wrong one (in a file whose own checksum is
        // right) fails the copy, so the success above means it accepted our checksums.
        var bmap = try Bmap.scan(image)
        bmap.ranges[1].sha256 = String(repeating: "1", count: 64)
        try bmap.text.write(to: bmapFile, atomically: true, encoding: .utf8)
        let failing = Process()
        failing.executableURL = URL(fileURLWithPath: bmaptool)
        failing.arguments = ["copy", "--bmap", bmapFile.path, image.path, folder.appendingPathComponent("copy2.raw").path]
        failing.standardOutput = FileHandle.nullDevice
        failing.standardError = FileHandle.nullDevice
        try failing.run()
        failing.waitUntilExit()
        #expect(failing.terminationStatus != 0)
    }
}

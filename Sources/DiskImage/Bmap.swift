import Crypto
import Foundation
import UserInput
#if canImport(Glibc)
import Glibc
#endif

public enum BmapError: Error, CustomStringConvertible, Equatable {
    case io(path: String, message: String)
    case malformed(file: String, message: String)

    public var description: String {
        switch self {
        case let .io(path, message): "\(path): \(message)"
        case let .malformed(file, message): "\(file): not a usable bmap: \(message)"
        }
    }
}

/// The block map of a disk image in bmaptool's format (version 2.0): which 4 KiB blocks hold data, with the
/// sha256 of each run of them, so that `bmaptool copy` and `bspgen flash` write only those and can check them.
///
/// A block is mapped when it holds a byte that is not zero, whatever the file system says about holes: the
/// same image gives the same bmap on any host, after any copy. Holes are only used to avoid reading what
/// cannot hold data.
public struct Bmap: Sendable, Equatable {
    /// A run of mapped blocks, `first...last`, and the sha256 of their bytes (up to the end of the image).
    public struct BlockRange: Sendable, Equatable {
        public var first: Int
        public var last: Int
        public var sha256: String

        public init(first: Int, last: Int, sha256: String) {
            self.first = first
            self.last = last
            self.sha256 = sha256
        }
    }

    public static let defaultBlockSize = 4096
    public static let fileExtension = "bmap"

    public var imageSize: Int
    public var blockSize: Int
    public var ranges: [BlockRange]

    public init(imageSize: Int, blockSize: Int = Bmap.defaultBlockSize, ranges: [BlockRange]) {
        self.imageSize = imageSize
        self.blockSize = blockSize
        self.ranges = ranges
    }

    public var blocksCount: Int { (imageSize + blockSize - 1) / blockSize }
    public var mappedBlocksCount: Int { ranges.reduce(0) { $0 + $1.last - $1.first + 1 } }
    /// The bytes a range covers; the last block of an image whose size is not a multiple of the block size is short.
    public func byteRange(of range: BlockRange) -> Range<Int> {
        range.first * blockSize..<min(imageSize, (range.last + 1) * blockSize)
    }
    /// Bytes that get written: what the mapped ranges cover.
    public var mappedBytes: Int { ranges.reduce(0) { $0 + byteRange(of: $1).count } }

    /// The name of the bmap that goes beside an image.
    public static func fileName(forImage name: String) -> String { name + "." + fileExtension }

    // MARK: making

    /// The bmap file's text for the image at `imageURL`: the same image always gives the same bytes.
    public static func make(for imageURL: URL) throws(BmapError) -> String {
        try scan(imageURL).text
    }

    /// Reads the image's data (skipping holes) and maps every block that holds a non-zero byte.
    public static func scan(_ imageURL: URL, blockSize: Int = defaultBlockSize) throws(BmapError) -> Bmap {
        let path = imageURL.path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(path: path, message: "cannot open for reading: \(errnoText())") }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .io(path: path, message: "cannot read its size: \(errnoText())") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .io(path: path, message: "not a regular file") }
        let size = Int(info.st_size)

        var ranges: [BlockRange] = []
        var current: (first: Int, last: Int, hasher: SHA256)?
        func closeRange() {
            guard let run = current else { return }
            ranges.append(BlockRange(first: run.first, last: run.last, sha256: Hex.string(run.hasher.finalize())))
            current = nil
        }
        let chunkSize = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: blockSize)
        defer { buffer.deallocate() }
        let zeros = [UInt8](repeating: 0, count: blockSize)

        var position = 0
        while position < size {
            guard let extent = try nextDataExtent(descriptor, from: position, size: size, path: path) else { break }
            let start = extent.lowerBound / blockSize * blockSize
            let end = min(size, (extent.upperBound + blockSize - 1) / blockSize * blockSize)
            var offset = start
            while offset < end {
                let count = min(chunkSize, end - offset)
                try readFully(descriptor, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]), at: offset, path: path)
                var index = 0
                while index < count {
                    let length = min(blockSize, count - index)
                    let block = UnsafeRawBufferPointer(rebasing: buffer[index..<index + length])
                    let number = (offset + index) / blockSize
                    let isZero = zeros.withUnsafeBytes { zero in
                        guard let zeroStart = zero.baseAddress, let blockStart = block.baseAddress else { return true }
                        return memcmp(zeroStart, blockStart, length) == 0
                    }
                    if isZero {
                        closeRange()
                    } else {
                        if let run = current, run.last != number - 1 { closeRange() }
                        if current == nil { current = (number, number, SHA256()) }
                        current?.last = number
                        current?.hasher.update(bufferPointer: block)
                    }
                    index += length
                }
                offset += count
            }
            closeRange()
            position = max(end, position + blockSize)
        }
        closeRange()
        return Bmap(imageSize: size, blockSize: blockSize, ranges: ranges)
    }

    /// The next run of bytes the file system says may hold data, at or after `position`; nil when only a hole is left.
    /// A file system that cannot tell holes says everything is data.
    private static func nextDataExtent(_ descriptor: Int32, from position: Int, size: Int, path: String) throws(BmapError) -> Range<Int>? {
        let start = lseek(descriptor, off_t(position), seekData)
        if start < 0 {
            if errno == ENXIO { return nil }
            if errno == EINVAL { return position..<size }
            throw .io(path: path, message: "cannot find its data (SEEK_DATA): \(errnoText())")
        }
        let end = lseek(descriptor, start, seekHole)
        return Int(start)..<(end > start ? min(size, Int(end)) : size)
    }

    // MARK: the file

    /// The bmap file, laid out as bmaptool writes it, with its own checksum in `BmapFileChecksum`.
    public var text: String {
        let unsigned = render(fileChecksum: String(repeating: "0", count: 64))
        return render(fileChecksum: Hex.string(SHA256.hash(data: Data(unsigned.utf8))))
    }

    /// Comments must not hold "--" (XML forbids it, and bmaptool's parser refuses the file).
    private func render(fileChecksum: String) -> String {
        let percent = blocksCount == 0 ? 0 : Double(mappedBlocksCount) * 100 / Double(blocksCount)
        var text = """
            <?xml version="1.0" ?>
            <!-- The block map of a disk image made by bspgen: the blocks that hold data, which are all that
                 has to be written to a card. "bspgen flash" and "bmaptool copy" read it; the other blocks
                 of the image are zeros and are not written.

                 The 'version' attribute is the block map file format version of bmaptool. -->

            <bmap version="2.0">
                <!-- Image size in bytes: \(Self.humanSize(imageSize)) -->
                <ImageSize> \(imageSize) </ImageSize>

                <!-- Size of a block in bytes -->
                <BlockSize> \(blockSize) </BlockSize>

                <!-- Count of blocks in the image file -->
                <BlocksCount> \(blocksCount) </BlocksCount>

                <!-- Count of mapped blocks: \(Self.humanSize(mappedBlocksCount * blockSize)) or \(String(format: "%.1f", percent))% -->
                <MappedBlocksCount> \(mappedBlocksCount) </MappedBlocksCount>

                <!-- Type of checksum used in this file -->
                <ChecksumType> sha256 </ChecksumType>

                <!-- The checksum of this bmap file. When it is calculated, the value of
                     the checksum has to be zero (all ASCII "0" symbols).  -->
                <BmapFileChecksum> \(fileChecksum) </BmapFileChecksum>

                <!-- The block map which consists of elements which may either be a
                     range of blocks or a single block. The 'chksum' attribute
                     is the checksum of this block range. -->
                <BlockMap>

            """
        for range in ranges {
            let blocks = range.first == range.last ? "\(range.first)" : "\(range.first)-\(range.last)"
            text += "        <Range chksum=\"\(range.sha256)\"> \(blocks) </Range>\n"
        }
        text += "    </BlockMap>\n</bmap>\n"
        return text
    }

    public static func humanSize(_ bytes: Int) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) bytes" : String(format: "%.1f %@", value, units[unit])
    }

    // MARK: reading

    /// Reads a bmap file (bspgen's or bmaptool's, version 2.0 with sha256) and checks that it holds together:
    /// its own checksum, the counts, and ranges in order inside the image, each with a checksum.
    public static func read(_ url: URL) throws(BmapError) -> Bmap {
        let data: [UInt8]
        do { data = try UserFile.read(url.path, limit: UserFile.Limit.text) } catch { throw .io(path: url.path, message: "cannot read: \(error.reason)") }
        return try parse(String(decoding: data, as: UTF8.self), file: url.path)
    }

    public static func parse(_ file: String, file path: String) throws(BmapError) -> Bmap {
        func fail(_ message: String) -> BmapError { .malformed(file: path, message: message) }
        // bmaptool's comments name the elements ("<MappedBlocksCount> blocks instead of <BlocksCount> blocks").
        let text = withoutComments(file)
        guard let version = between(text, "<bmap version=\"", "\"") else { throw fail("no <bmap version=\"...\"> element") }
        // bmaptool 3.0 wrote version 1.4 for what is 2.0; they are the same format.
        guard version.hasPrefix("2.") || version == "1.4" else { throw fail("version \(version); bspgen reads version 2.0") }
        func number(_ tag: String) throws(BmapError) -> Int {
            guard let value = between(text, "<\(tag)>", "</\(tag)>") else { throw fail("no <\(tag)>") }
            guard let number = Int(value.trimmingCharacters(in: .whitespacesAndNewlines)), number >= 0 else {
                throw fail("<\(tag)> is not a count: \(value)")
            }
            return number
        }
        let imageSize = try number("ImageSize")
        let blockSize = try number("BlockSize")
        let blocksCount = try number("BlocksCount")
        let mappedCount = try number("MappedBlocksCount")
        guard blockSize > 0 else { throw fail("<BlockSize> is 0") }
        let type = between(text, "<ChecksumType>", "</ChecksumType>")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard type == "sha256" else { throw fail("checksum type '\(type)'; bspgen checks sha256 only") }
        guard let fileChecksum = between(text, "<BmapFileChecksum>", "</BmapFileChecksum>")?.trimmingCharacters(in: .whitespacesAndNewlines),
              isSHA256(fileChecksum) else { throw fail("no sha256 in <BmapFileChecksum>") }
        // As bmaptool checks it: the file's sha256 with the checksum's first appearance replaced by zeros.
        guard let place = file.range(of: fileChecksum) else { throw fail("no sha256 in <BmapFileChecksum>") }
        let unsigned = file.replacingCharacters(in: place, with: String(repeating: "0", count: 64))
        let actual = Hex.string(SHA256.hash(data: Data(unsigned.utf8)))
        guard actual == fileChecksum else {
            throw fail("its checksum is \(actual), not \(fileChecksum) as it says: it was edited or cut short")
        }

        let bmap = Bmap(imageSize: imageSize, blockSize: blockSize, ranges: try ranges(in: text, fail: fail))
        guard blocksCount == bmap.blocksCount else {
            throw fail("<BlocksCount> \(blocksCount) does not match <ImageSize> \(imageSize) (\(bmap.blocksCount) blocks of \(blockSize) bytes)")
        }
        var next = 0
        for range in bmap.ranges {
            guard range.first <= range.last, range.first >= next else { throw fail("range \(range.first)-\(range.last) is out of order or overlaps the one before") }
            guard range.last < blocksCount else { throw fail("range \(range.first)-\(range.last) ends past the image's \(blocksCount) blocks") }
            next = range.last + 1
        }
        guard mappedCount == bmap.mappedBlocksCount else {
            throw fail("<MappedBlocksCount> \(mappedCount) but the ranges hold \(bmap.mappedBlocksCount) blocks")
        }
        return bmap
    }

    private static func ranges(in text: String, fail: (String) -> BmapError) throws(BmapError) -> [BlockRange] {
        guard let mapStart = text.range(of: "<BlockMap>"), let mapEnd = text.range(of: "</BlockMap>", range: mapStart.upperBound..<text.endIndex) else {
            throw fail("no <BlockMap>")
        }
        var ranges: [BlockRange] = []
        var rest = text[mapStart.upperBound..<mapEnd.lowerBound]
        while let open = rest.range(of: "<Range") {
            guard let tagEnd = rest.range(of: ">", range: open.upperBound..<rest.endIndex),
                  let close = rest.range(of: "</Range>", range: tagEnd.upperBound..<rest.endIndex) else { throw fail("a <Range> is not closed") }
            let attributes = String(rest[open.upperBound..<tagEnd.lowerBound])
            let blocks = rest[tagEnd.upperBound..<close.lowerBound].split(separator: "-", maxSplits: 1)
                .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            guard let first = blocks.first.flatMap({ Int($0) }), let last = blocks.count == 2 ? Int(blocks[1]) : first else {
                throw fail("a <Range> is not a block number or first-last: \(rest[tagEnd.upperBound..<close.lowerBound])")
            }
            guard let sum = between(attributes, "chksum=\"", "\""), isSHA256(sum) else {
                throw fail("range \(first)-\(last) has no sha256 chksum; bspgen checks every range")
            }
            ranges.append(BlockRange(first: first, last: last, sha256: sum))
            rest = rest[close.upperBound...]
        }
        return ranges
    }

    private static func withoutComments(_ text: String) -> String {
        var result = ""
        var rest = text[...]
        while let open = rest.range(of: "<!--") {
            result += rest[..<open.lowerBound]
            guard let close = rest.range(of: "-->", range: open.upperBound..<rest.endIndex) else { return result }
            rest = rest[close.upperBound...]
        }
        return result + rest
    }

    private static func between(_ text: some StringProtocol, _ start: String, _ end: String) -> String? {
        guard let open = text.range(of: start), let close = text.range(of: end, range: open.upperBound..<text.endIndex) else { return nil }
        return String(text[open.upperBound..<close.lowerBound])
    }

    private static func isSHA256(_ text: String) -> Bool {
        text.count == 64 && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }
}

/// sha256 in the lowercase hex bmaptool and the manifest use.
enum Hex {
    static func string(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in digest { text += [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]] }
        return String(decoding: text, as: UTF8.self)
    }
}

#if os(Linux)
let seekData: Int32 = 3
let seekHole: Int32 = 4
#else
let seekData: Int32 = SEEK_DATA
let seekHole: Int32 = SEEK_HOLE
#endif

func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

/// `pread` until `buffer` is full: a short read means the file is shorter than it said.
func readFully(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws(BmapError) {
    var done = 0
    while done < buffer.count {
        let count = pread(descriptor, buffer.baseAddress.map { $0 + done }, buffer.count - done, off_t(offset + done))
        if count < 0, errno == EINTR { continue }
        guard count > 0 else {
            throw .io(path: path, message: count == 0 ? "ends at \(offset + done) bytes, before the data it should hold" : "cannot read at \(offset + done): \(errnoText())")
        }
        done += count
    }
}

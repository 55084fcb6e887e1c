import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes a disk image to a card by its bmap: only the mapped ranges, then fsync, then every range read back
/// from the card and compared with its sha256. Blocks the bmap leaves out are not written: they keep what the
/// card held, as with `bmaptool copy`.
public struct ImageFlasher {
    public enum Phase: String, Sendable {
        case checking = "checking image"
        case writing = "writing"
        case verifying = "verifying"
    }

    public let image: URL
    public let bmap: Bmap
    public let bmapName: String
    /// Called after each chunk with the phase and the bytes done out of `bmap.mappedBytes`.
    public var progress: (Phase, Int, Int) -> Void = { _, _, _ in }
    /// Checked between chunks: Ctrl-C stops a write between two chunks, not in the middle of one.
    public var isCancelled: () -> Bool = { false }

    static let chunkSize = 1 << 20

    public init(image: URL, bmap: Bmap, bmapName: String) {
        self.image = image
        self.bmap = bmap
        self.bmapName = bmapName
    }

    /// The image still is what its bmap says: its size, and every mapped range's sha256. Run before writing,
    /// so that a changed image is found before the card is touched.
    public func checkImage() throws(FlashError) {
        let size = (try? FileManager.default.attributesOfItem(atPath: image.path)[.size] as? NSNumber)?.intValue
        guard size == bmap.imageSize else {
            throw .imageChanged(image: image.path, bmap: bmapName, blocks: "size \(size.map(String.init) ?? "unknown"), not \(bmap.imageSize)")
        }
        let source = try openFile(image.path, O_RDONLY)
        defer { close(source) }
        var done = 0
        for range in bmap.ranges {
            let sum = try copy(range, from: source, path: image.path, to: nil, phase: .checking, done: &done)
            guard sum == range.sha256 else { throw .imageChanged(image: image.path, bmap: bmapName, blocks: blocks(range)) }
        }
    }

    /// Writes the mapped ranges to `target` and makes sure they reached it (fsync).
    public func write(to target: FlashTarget) throws(FlashError) {
        let source = try openFile(image.path, O_RDONLY)
        defer { close(source) }
        // O_EXCL on a block device fails while anything (a mount, another program) holds it open exclusively.
        let destination = try openFile(target.path, O_WRONLY | (target.kind == .standInFile ? 0 : O_EXCL))
        var closed = false
        defer { if !closed { close(destination) } }
        var done = 0
        for range in bmap.ranges {
            _ = try copy(range, from: source, path: image.path, to: (destination, target.path), phase: .writing, done: &done)
        }
        guard fsync(destination) == 0 else { throw .io(path: target.path, message: "fsync failed: \(errnoText()); the card may not hold the image") }
        // Drop the cached pages so that the read-back below comes from the card, not from memory.
        _ = posix_fadvise(destination, 0, 0, Int32(POSIX_FADV_DONTNEED))
        closed = true
        guard close(destination) == 0 else { throw .io(path: target.path, message: "close failed: \(errnoText())") }
    }

    /// Reads every mapped range back from `target` and compares it with the bmap's sha256.
    public func verify(_ target: FlashTarget) throws(FlashError) {
        let device = try openFile(target.path, O_RDONLY)
        defer { close(device) }
        _ = posix_fadvise(device, 0, 0, Int32(POSIX_FADV_DONTNEED))
        var done = 0
        for range in bmap.ranges {
            let sum = try copy(range, from: device, path: target.path, to: nil, phase: .verifying, done: &done)
            guard sum == range.sha256 else { throw .verifyFailed(path: target.path, blocks: blocks(range)) }
        }
    }

    /// Reads one range in chunks, writing each to `destination` when given; returns the range's sha256.
    private func copy(_ range: Bmap.BlockRange, from source: Int32, path: String, to destination: (descriptor: Int32, path: String)?,
                      phase: Phase, done: inout Int) throws(FlashError) -> String {
        let bytes = bmap.byteRange(of: range)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 4096)
        defer { buffer.deallocate() }
        var hasher = SHA256()
        var offset = bytes.lowerBound
        while offset < bytes.upperBound {
            if isCancelled() { throw .interrupted(path: destination?.path ?? path) }
            let count = min(Self.chunkSize, bytes.upperBound - offset)
            let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
            do {
                try readFully(source, into: chunk, at: offset, path: path)
            } catch {
                throw .io(path: path, message: error.description)
            }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(chunk))
            if let destination { try writeFully(destination.descriptor, UnsafeRawBufferPointer(chunk), at: offset, path: destination.path) }
            offset += count
            done += count
            progress(phase, done, bmap.mappedBytes)
        }
        return Hex.string(hasher.finalize())
    }

    private func writeFully(_ descriptor: Int32, _ buffer: UnsafeRawBufferPointer, at offset: Int, path: String) throws(FlashError) {
        var written = 0
        while written < buffer.count {
            let count = pwrite(descriptor, buffer.baseAddress.map { $0 + written }, buffer.count - written, off_t(offset + written))
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                throw .io(path: path, message: "cannot write at byte \(offset + written): \(count < 0 ? errnoText() : "no space"); the card holds part of the image")
            }
            written += count
        }
    }

    private func openFile(_ path: String, _ flags: Int32) throws(FlashError) -> Int32 {
        let descriptor = open(path, flags | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            let hint = code == EBUSY ? " (something holds it open: a mount, or a file manager that mounted it)" : code == EACCES ? " (writing a disk usually needs root: sudo)" : ""
            throw .io(path: path, message: "cannot open: \(errnoText(code))\(hint)")
        }
        return descriptor
    }

    private func blocks(_ range: Bmap.BlockRange) -> String {
        range.first == range.last ? "\(range.first)" : "\(range.first)-\(range.last)"
    }
}

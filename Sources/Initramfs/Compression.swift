import CLZMA
import CZlib
import CZstd
import Foundation
import UserInput

/// Takes the archive's bytes in order; nothing is held beyond a fixed-size buffer.
protocol ByteSink: AnyObject {
    func consume(_ bytes: UnsafeRawBufferPointer) throws
    /// Writes out whatever is still held; no bytes may follow.
    func finish() throws
}

extension InitramfsCompression {
    func sink(writingTo output: OutputFile, xzBranchFilter: XzBranchFilter? = nil) throws -> any ByteSink {
        switch self {
        case .none: output
        case .gzip: ParallelGzipSink(output: output)
        case .xz: CompressingSink(codec: try XzCodec(branchFilter: xzBranchFilter), output: output)
        case .zstd: CompressingSink(codec: try ZstdCodec(), output: output)
        }
    }
}

/// A new file, written through a 1 MiB buffer and synced to disk on `finish`.
final class OutputFile: ByteSink {
    private static let bufferSize = 1 << 20

    let path: String
    /// What errors call the file: the name it will be renamed to, not its temporary name.
    let reportedPath: String
    private var descriptor: Int32
    /// Filled with memcpy: no per-byte work, even in a debug build.
    private let pending = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
    private var pendingCount = 0
    private(set) var bytesWritten: UInt64 = 0

    init(creating path: String, reportingAs reportedPath: String? = nil) throws {
        self.path = path
        self.reportedPath = reportedPath ?? path
        descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        // `pending` is freed by deinit, which runs for this instance even when init throws: every stored property
        // is set by now.
        guard descriptor >= 0 else { throw Self.failure(self.reportedPath) }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        pending.deallocate()
    }

    func consume(_ bytes: UnsafeRawBufferPointer) throws {
        if pendingCount + bytes.count > Self.bufferSize {
            try flush()
        }
        if bytes.count >= Self.bufferSize {
            try writeAll(bytes)
        } else {
            UnsafeMutableRawBufferPointer(rebasing: pending[pendingCount..<(pendingCount + bytes.count)]).copyMemory(from: bytes)
            pendingCount += bytes.count
        }
        bytesWritten += UInt64(bytes.count)
    }

    func finish() throws {
        try flush()
        guard fsync(descriptor) == 0 else { throw Self.failure(reportedPath) }
        let status = close(descriptor)
        descriptor = -1
        guard status == 0 else { throw Self.failure(reportedPath) }
    }

    private func flush() throws {
        try writeAll(UnsafeRawBufferPointer(rebasing: pending[..<pendingCount]))
        pendingCount = 0
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let count = write(descriptor, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw Self.failure(reportedPath) }
            offset += count
        }
    }

    private static func failure(_ path: String) -> InitramfsError {
        .outputFailed(path: path, reason: UserFile.systemReason(errno))
    }
}

/// One step of a streaming compressor.
protocol StreamCodec: AnyObject {
    /// Takes what it can of `input` (advancing it) and fills `output` from its start. Returns the
    /// bytes produced and, when `finishing`, whether the compressed stream is now complete.
    func step(_ input: inout UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, finishing: Bool)
        throws -> (produced: Int, complete: Bool)
}

final class CompressingSink: ByteSink {
    private let codec: any StreamCodec
    private let output: OutputFile
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 1)

    init(codec: any StreamCodec, output: OutputFile) {
        self.codec = codec
        self.output = output
    }

    deinit {
        buffer.deallocate()
    }

    func consume(_ bytes: UnsafeRawBufferPointer) throws {
        var input = bytes
        var produced = 0
        // A full output buffer may mean the codec holds more output.
        repeat {
            produced = try codec.step(&input, into: buffer, finishing: false).produced
            try output.consume(UnsafeRawBufferPointer(rebasing: buffer[..<produced]))
        } while !input.isEmpty || produced == buffer.count
    }

    func finish() throws {
        var input = UnsafeRawBufferPointer(start: nil, count: 0)
        var complete = false
        while !complete {
            let (produced, done) = try codec.step(&input, into: buffer, finishing: true)
            try output.consume(UnsafeRawBufferPointer(rebasing: buffer[..<produced]))
            complete = done
        }
        try output.finish()
    }
}

/// LZMA2 with a CRC32 check, as the kernel's `xz --check=crc32 --lzma2=dict=1MiB`: the kernel's
/// decoder knows no other check, and the small dictionary keeps memory low while booting. A branch filter,
/// when given, comes first (`xz --x86 …`).
final class XzCodec: StreamCodec {
    // LZMA_FILTER_LZMA2 and LZMA_VLI_UNKNOWN, which Swift cannot import from their macros.
    private static let lzma2FilterID: lzma_vli = 0x21
    private static let filterListEnd: lzma_vli = .max

    private let stream = UnsafeMutablePointer<lzma_stream>.allocate(capacity: 1)

    init(branchFilter: XzBranchFilter? = nil) throws {
        stream.initialize(to: lzma_stream())
        var options = lzma_options_lzma()
        guard lzma_lzma_preset(&options, 6) == 0 else {
            throw InitramfsError.compressionFailed(.xz, reason: "liblzma has no preset 6")
        }
        options.dict_size = 1 << 20
        let status = withUnsafeMutablePointer(to: &options) { options in
            var filters = (branchFilter.map { [lzma_filter(id: $0.liblzmaID, options: nil)] } ?? []) + [
                lzma_filter(id: Self.lzma2FilterID, options: options),
                lzma_filter(id: Self.filterListEnd, options: nil),
            ]
            return lzma_stream_encoder(stream, &filters, LZMA_CHECK_CRC32)
        }
        guard status == LZMA_OK else {
            throw InitramfsError.compressionFailed(.xz, reason: "liblzma could not start (status \(status.rawValue))")
        }
    }

    /// The reading side, for the artifact check: any xz stream, within a memory limit no initramfs comes near.
    init(decodingMemoryLimit: UInt64) throws {
        stream.initialize(to: lzma_stream())
        let status = lzma_stream_decoder(stream, decodingMemoryLimit, 0)
        guard status == LZMA_OK else {
            throw InitramfsError.compressionFailed(.xz, reason: "liblzma could not start decoding (status \(status.rawValue))")
        }
    }

    deinit {
        lzma_end(stream)
        stream.deallocate()
    }

    func step(_ input: inout UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, finishing: Bool)
        throws -> (produced: Int, complete: Bool)
    {
        stream.pointee.next_in = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_in = input.count
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_out = output.count
        let status = lzma_code(stream, finishing ? LZMA_FINISH : LZMA_RUN)
        guard status == LZMA_OK || status == LZMA_STREAM_END else {
            throw InitramfsError.compressionFailed(.xz, reason: "liblzma status \(status.rawValue)")
        }
        input = UnsafeRawBufferPointer(rebasing: input[(input.count - stream.pointee.avail_in)...])
        return (output.count - stream.pointee.avail_out, status == LZMA_STREAM_END)
    }
}

/// Level 19 as the kernel's `zstd -19`, with the content checksum the zstd tool adds by default.
final class ZstdCodec: StreamCodec {
    private let context: OpaquePointer

    init() throws {
        guard let context = ZSTD_createCCtx() else {
            throw InitramfsError.compressionFailed(.zstd, reason: "libzstd could not allocate a context")
        }
        self.context = context
        for (parameter, value) in [(ZSTD_c_compressionLevel, Int32(19)), (ZSTD_c_checksumFlag, 1)] {
            try Self.check(ZSTD_CCtx_setParameter(context, parameter, value))
        }
    }

    deinit {
        ZSTD_freeCCtx(context)
    }

    func step(_ input: inout UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, finishing: Bool)
        throws -> (produced: Int, complete: Bool)
    {
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let remaining = ZSTD_compressStream2(context, &outBuffer, &inBuffer, finishing ? ZSTD_e_end : ZSTD_e_continue)
        try Self.check(remaining)
        input = UnsafeRawBufferPointer(rebasing: input[inBuffer.pos...])
        return (outBuffer.pos, finishing && remaining == 0)
    }

    static func check(_ code: Int) throws {
        guard ZSTD_isError(code) == 0 else {
            throw InitramfsError.compressionFailed(.zstd, reason: String(cString: ZSTD_getErrorName(code)))
        }
    }
}

/// The reading side of `ZstdCodec`, for the artifact check.
final class ZstdDecodingCodec: StreamCodec {
    private let context: OpaquePointer

    init() throws {
        guard let context = ZSTD_createDCtx() else {
            throw InitramfsError.compressionFailed(.zstd, reason: "libzstd could not allocate a decoding context")
        }
        self.context = context
    }

    deinit {
        ZSTD_freeDCtx(context)
    }

    func step(_ input: inout UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, finishing: Bool)
        throws -> (produced: Int, complete: Bool)
    {
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let remaining = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
        try ZstdCodec.check(remaining)
        input = UnsafeRawBufferPointer(rebasing: input[inBuffer.pos...])
        // 0 means a frame is complete and flushed.
        return (outBuffer.pos, remaining == 0)
    }
}

/// Deflate at level 9, as the kernel's own `gzip -n -9` for a built-in initramfs (on qemu-x86_64's 2.3 MB
/// archive, mostly a static BusyBox, level 6 gave 1,226,189 bytes and level 9 1,222,146, smaller than one-stream
/// `gzip -9`'s 1,222,319, for about 0.1 s more CPU) in one gzip member (no name, mtime 0, OS 3), compressed on several threads as pigz
/// does: the data is cut into 512 KiB blocks, each block is deflated on its own with the previous block's last
/// 32 KiB as its dictionary and ends with a sync flush (an empty stored block, so it ends on a byte), the last
/// with the final block bit. Their concatenation is one ordinary deflate stream.
///
/// One member, not several: the kernel's initramfs unpacker (init/initramfs.c, unpack_to_rootfs) hands each
/// gzip member to its inflater separately and fails with "junk at the end of compressed archive" unless the
/// cpio parser is between archives when a member ends; a single member is safe wherever the blocks fall.
/// Block boundaries depend only on the data, never on the number of threads, so the bytes are the same on
/// every machine.
final class ParallelGzipSink: ByteSink {
    static let level: Int32 = 9
    static let blockSize = 512 << 10
    static let dictionarySize = 32 << 10

    private let output: OutputFile
    private let threads: Int
    private var pending: [[UInt8]] = []
    /// The block being filled, copied into with memcpy: no per-byte work on the way in.
    private let current = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
    private var filled = 0
    private var dictionary: [UInt8] = []
    private var crc: uLong = crc32(0, nil, 0)
    private var length: UInt64 = 0
    private var headerWritten = false

    init(output: OutputFile, threads: Int = min(8, max(1, ProcessInfo.processInfo.activeProcessorCount))) {
        self.output = output
        self.threads = threads
    }

    deinit {
        current.deallocate()
    }

    private func writeHeader() throws {
        guard !headerWritten else { return }
        headerWritten = true
        // Magic, deflate, no flags, mtime 0, extra flags 2 (maximum compression), OS 3 (Unix): as `gzip -n -9`.
        try [UInt8]([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 2, 3]).withUnsafeBytes { try output.consume($0) }
    }

    func consume(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        try writeHeader()
        crc = crc32(crc, base.assumingMemoryBound(to: Bytef.self), uInt(bytes.count))
        length += UInt64(bytes.count)
        var offset = 0
        while offset < bytes.count {
            let take = min(bytes.count - offset, Self.blockSize - filled)
            UnsafeMutableRawBufferPointer(rebasing: current[filled..<(filled + take)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
            filled += take
            offset += take
            if filled == Self.blockSize {
                pending.append(Self.copy(UnsafeRawBufferPointer(current)))
                filled = 0
                // Two blocks per thread in memory at most: memory stays flat however large the archive.
                if pending.count == threads * 2 { try compressPending(finishing: false) }
            }
        }
    }

    func finish() throws {
        try writeHeader()
        // The remainder, possibly empty, is the last block.
        pending.append(Self.copy(UnsafeRawBufferPointer(rebasing: current[..<filled])))
        filled = 0
        try compressPending(finishing: true)
        var trailer: [UInt8] = []
        for shift in stride(from: 0, to: 32, by: 8) { trailer.append(UInt8(truncatingIfNeeded: UInt64(crc) >> UInt64(shift))) }
        for shift in stride(from: 0, to: 32, by: 8) { trailer.append(UInt8(truncatingIfNeeded: length >> UInt64(shift))) }
        try trailer.withUnsafeBytes { try output.consume($0) }
        try output.finish()
    }

    /// An array of `bytes`, copied with memcpy.
    private static func copy(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: bytes.count) { buffer, count in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: bytes)
            count = bytes.count
        }
    }

    /// The batch being deflated on other threads while this one fills the next: reading and deflating overlap.
    private var inFlight: (jobs: [DeflateBlock], group: DispatchGroup)?

    private func compressPending(finishing: Bool) throws {
        var jobs: [DeflateBlock] = []
        for (index, block) in pending.enumerated() {
            jobs.append(DeflateBlock(input: block, dictionary: dictionary, last: finishing && index == pending.count - 1))
            dictionary = block.withUnsafeBytes { Self.copy(UnsafeRawBufferPointer(rebasing: $0[max(0, $0.count - Self.dictionarySize)...])) }
        }
        pending.removeAll()
        let group = DispatchGroup()
        for job in jobs { DispatchQueue.global().async(group: group) { job.run() } }
        try writeInFlight()
        inFlight = (jobs, group)
        if finishing { try writeInFlight() }
    }

    /// Waits for the batch in flight and writes its blocks, in order.
    private func writeInFlight() throws {
        guard let (jobs, group) = inFlight else { return }
        inFlight = nil
        group.wait()
        for job in jobs {
            if let failure = job.failure { throw InitramfsError.compressionFailed(.gzip, reason: failure) }
            try job.output.withUnsafeBytes { try output.consume($0) }
        }
    }
}

/// One block of `ParallelGzipSink`, deflated on whichever thread runs it; nothing else touches it meanwhile.
private final class DeflateBlock: @unchecked Sendable {
    let input: [UInt8]
    let dictionary: [UInt8]
    let last: Bool
    private(set) var output: [UInt8] = []
    private(set) var failure: String?

    init(input: [UInt8], dictionary: [UInt8], last: Bool) {
        self.input = input
        self.dictionary = dictionary
        self.last = last
    }

    func run() {
        // zlib keeps a pointer to its stream and checks it on every call: it must not move.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        // Raw deflate (negative window bits): the gzip wrapper is written once around all blocks.
        var status = deflateInit2_(stream, ParallelGzipSink.level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            failure = "zlib could not start (status \(status))"
            return
        }
        defer { deflateEnd(stream) }
        if !dictionary.isEmpty {
            status = dictionary.withUnsafeBufferPointer { deflateSetDictionary(stream, $0.baseAddress, uInt($0.count)) }
            guard status == Z_OK else {
                failure = "zlib refused the dictionary (status \(status))"
                return
            }
        }
        var chunk = [UInt8](repeating: 0, count: Int(deflateBound(stream, uLong(input.count))) + 64)
        input.withUnsafeBufferPointer { source in
            // zlib does not write through next_in; its type only lacks the const.
            stream.pointee.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.pointee.avail_in = uInt(source.count)
            repeat {
                status = chunk.withUnsafeMutableBufferPointer { target in
                    stream.pointee.next_out = target.baseAddress
                    stream.pointee.avail_out = uInt(target.count)
                    return deflate(stream, last ? Z_FINISH : Z_SYNC_FLUSH)
                }
                let produced = chunk.count - Int(stream.pointee.avail_out)
                chunk.withUnsafeBytes { output.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[..<produced])) }
                // A full output buffer may mean zlib holds more.
            } while (status == Z_OK && stream.pointee.avail_out == 0) || (last && status == Z_OK)
        }
        if status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR {
            failure = "zlib status \(status)"
        }
    }
}

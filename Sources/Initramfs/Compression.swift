import CLZMA
import CZlib
import CZstd
import Foundation

/// Takes the archive's bytes in order; nothing is held beyond a fixed-size buffer.
protocol ByteSink: AnyObject {
    func consume(_ bytes: UnsafeRawBufferPointer) throws
    /// Writes out whatever is still held; no bytes may follow.
    func finish() throws
}

extension InitramfsCompression {
    func sink(writingTo output: OutputFile) throws -> any ByteSink {
        switch self {
        case .none: output
        case .gzip: CompressingSink(codec: try GzipCodec(), output: output)
        case .xz: CompressingSink(codec: try XzCodec(), output: output)
        case .zstd: CompressingSink(codec: try ZstdCodec(), output: output)
        }
    }
}

/// A new file, written through a 1 MiB buffer and synced to disk on `finish`.
final class OutputFile: ByteSink {
    private static let bufferSize = 1 << 20

    let path: String
    private var descriptor: Int32
    private var pending: [UInt8] = []
    private(set) var bytesWritten: UInt64 = 0

    init(creating path: String) throws {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Self.failure(path) }
        pending.reserveCapacity(Self.bufferSize)
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    func consume(_ bytes: UnsafeRawBufferPointer) throws {
        if pending.count + bytes.count > Self.bufferSize {
            try flush()
        }
        if bytes.count >= Self.bufferSize {
            try writeAll(bytes)
        } else {
            pending.append(contentsOf: bytes)
        }
        bytesWritten += UInt64(bytes.count)
    }

    func finish() throws {
        try flush()
        guard fsync(descriptor) == 0 else { throw Self.failure(path) }
        let status = close(descriptor)
        descriptor = -1
        guard status == 0 else { throw Self.failure(path) }
    }

    private func flush() throws {
        try pending.withUnsafeBytes { try writeAll($0) }
        pending.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let count = write(descriptor, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw Self.failure(path) }
            offset += count
        }
    }

    private static func failure(_ path: String) -> InitramfsError {
        .outputFailed(path: path, reason: String(cString: strerror(errno)))
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

/// Deflate at level 9 in a gzip wrapper, as the kernel's `gzip -n -9`.
final class GzipCodec: StreamCodec {
    // zlib keeps pointers to both, so they must not move.
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private let header = UnsafeMutablePointer<gz_header>.allocate(capacity: 1)

    init() throws {
        stream.initialize(to: z_stream())
        // No name, mtime 0, and OS 3 (Unix) even on hosts whose zlib would write another OS byte.
        header.initialize(to: gz_header())
        header.pointee.os = 3
        // Window bits 15 + 16: the largest window, with a gzip wrapper instead of zlib's.
        var status = deflateInit2_(
            stream, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        if status == Z_OK {
            status = deflateSetHeader(stream, header)
        }
        guard status == Z_OK else {
            throw InitramfsError.compressionFailed(.gzip, reason: "zlib could not start (status \(status))")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        header.deallocate()
    }

    func step(_ input: inout UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, finishing: Bool)
        throws -> (produced: Int, complete: Bool)
    {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        let status = deflate(stream, finishing ? Z_FINISH : Z_NO_FLUSH)
        // Z_BUF_ERROR only says that this call could make no progress.
        guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
            throw InitramfsError.compressionFailed(.gzip, reason: "zlib status \(status)")
        }
        input = UnsafeRawBufferPointer(rebasing: input[(input.count - Int(stream.pointee.avail_in))...])
        return (output.count - Int(stream.pointee.avail_out), status == Z_STREAM_END)
    }
}

/// LZMA2 with a CRC32 check, as the kernel's `xz --check=crc32 --lzma2=dict=1MiB`: the kernel's
/// decoder knows no other check, and the small dictionary keeps memory low while booting.
final class XzCodec: StreamCodec {
    // LZMA_FILTER_LZMA2 and LZMA_VLI_UNKNOWN, which Swift cannot import from their macros.
    private static let lzma2FilterID: lzma_vli = 0x21
    private static let filterListEnd: lzma_vli = .max

    private let stream = UnsafeMutablePointer<lzma_stream>.allocate(capacity: 1)

    init() throws {
        stream.initialize(to: lzma_stream())
        var options = lzma_options_lzma()
        guard lzma_lzma_preset(&options, 6) == 0 else {
            throw InitramfsError.compressionFailed(.xz, reason: "liblzma has no preset 6")
        }
        options.dict_size = 1 << 20
        let status = withUnsafeMutablePointer(to: &options) { options in
            var filters = [
                lzma_filter(id: Self.lzma2FilterID, options: options),
                lzma_filter(id: Self.filterListEnd, options: nil),
            ]
            return lzma_stream_encoder(stream, &filters, LZMA_CHECK_CRC32)
        }
        guard status == LZMA_OK else {
            throw InitramfsError.compressionFailed(.xz, reason: "liblzma could not start (status \(status.rawValue))")
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

    private static func check(_ code: Int) throws {
        guard ZSTD_isError(code) == 0 else {
            throw InitramfsError.compressionFailed(.zstd, reason: String(cString: ZSTD_getErrorName(code)))
        }
    }
}

import Testing
@testable import DeviceTree

/// `bytes` with the big-endian word at `offset` replaced. Header words by offset: 0 magic, 4 totalsize,
/// 8 off_dt_struct, 12 off_dt_strings, 16 off_mem_rsvmap, 20 version, 24 last_comp_version,
/// 28 boot_cpuid_phys, 32 size_dt_strings, 36 size_dt_struct.
func replacingWord(at offset: Int, with value: UInt32, in bytes: [UInt8]) -> [UInt8] {
    var result = bytes
    result.replaceSubrange(offset..<offset + 4, with: value.bigEndianBytes)
    return result
}

/// Opening `bytes` fails with a DeviceTreeError whose message contains every one of `fragments`.
func expectOpenFails(_ bytes: [UInt8], mentioning fragments: String..., sourceLocation: SourceLocation = #_sourceLocation) {
    let error = #expect(throws: DeviceTreeError.self, sourceLocation: sourceLocation) { try DeviceTreeBlob(bytes: bytes) }
    for fragment in fragments {
        #expect(error?.message.contains(fragment) == true, "\(error?.description ?? "no error")", sourceLocation: sourceLocation)
    }
}

struct MalformedTests {
    let valid: [UInt8]

    init() throws {
        valid = try Scratch.with { try $0.blob(compiling: Fixtures.tiny).bytes }
    }

    @Test func badMagic() {
        expectOpenFails(replacingWord(at: 0, with: 0xfeed_d00d, in: valid), mentioning: "FDT_ERR_BADMAGIC", "0xfeedd00d")
        expectOpenFails(Array("/dts-v1/; / { };".utf8), mentioning: "FDT_ERR_BADMAGIC")
    }

    @Test func truncatedAtEveryLength() throws {
        for length in 0..<valid.count {
            expectOpenFails(Array(valid.prefix(length)), mentioning: "FDT_ERR_TRUNCATED")
        }
        #expect(try DeviceTreeBlob(bytes: valid).bytes == valid)
        // Trailing bytes past totalsize are not part of the tree.
        #expect(try DeviceTreeBlob(bytes: valid + [1, 2, 3]).bytes == valid)
    }

    @Test func totalSizeBeyondTheData() {
        expectOpenFails(replacingWord(at: 4, with: UInt32(valid.count + 100), in: valid),
                        mentioning: "FDT_ERR_TRUNCATED", "totalsize is \(valid.count + 100) bytes but only \(valid.count)")
        expectOpenFails(replacingWord(at: 4, with: 12, in: valid), mentioning: "smaller than the 40-byte header")
    }

    @Test func blockOffsetsOutOfRange() {
        expectOpenFails(replacingWord(at: 8, with: 0xffff_0000, in: valid), mentioning: "structure block at offset 4294901760")
        expectOpenFails(replacingWord(at: 12, with: UInt32(valid.count), in: valid), mentioning: "strings block")
        expectOpenFails(replacingWord(at: 16, with: UInt32(valid.count - 8), in: valid), mentioning: "memory reservation block")
        expectOpenFails(replacingWord(at: 36, with: UInt32(valid.count), in: valid), mentioning: "structure block")
    }

    @Test func unsupportedVersion() {
        // Newer trees that stay compatible with v16 are fine; ones that do not, or older than v2, are not.
        #expect(throws: Never.self) { try DeviceTreeBlob(bytes: replacingWord(at: 20, with: 99, in: valid)) }
        expectOpenFails(replacingWord(at: 24, with: 99, in: valid), mentioning: "FDT_ERR_BADVERSION")
        expectOpenFails(replacingWord(at: 20, with: 1, in: valid), mentioning: "FDT_ERR_BADVERSION")
        // libfdt 1.6.1 itself crashes checking this one (a v15 root name without '/').
        expectOpenFails(replacingWord(at: 24, with: 2, in: replacingWord(at: 20, with: 15, in: valid)),
                        mentioning: "FDT_ERR_BADVERSION", "version 15 is older than 16")
    }

    @Test func garbageInTheStructureBlock() {
        let structure = valid.word(at: 8) // off_dt_struct
        // After the root's FDT_BEGIN_NODE and its empty, padded name comes the first property's token.
        expectOpenFails(replacingWord(at: structure + 8, with: 0xdead_beef, in: valid), mentioning: "FDT_ERR_BADSTRUCTURE")
        // An FDT_END where the root's properties should be: the tree stops with nodes still open.
        expectOpenFails(replacingWord(at: structure + 8, with: 9, in: valid), mentioning: "FDT_ERR_BADSTRUCTURE")
        // Just an FDT_END: libfdt's check passes it, but there is no root node to read.
        expectOpenFails(replacingWord(at: structure, with: 9, in: valid), mentioning: "does not start with the root node")
        // The empty `flag` property (after `compatible`, 16 bytes) with length -1, which libfdt's check passes.
        expectOpenFails(replacingWord(at: structure + 28, with: 0xffff_ffff, in: valid), mentioning: "invalid length -1")
        // A property whose name points outside the strings block.
        expectOpenFails(replacingWord(at: structure + 16, with: 0x00ff_ffff, in: valid), mentioning: "FDT_ERR_BADOFFSET")
        // A property whose length runs off the end of the structure block.
        expectOpenFails(replacingWord(at: structure + 12, with: 0x0000_ffff, in: valid), mentioning: "FDT_ERR_BADSTRUCTURE")
        // A root with a name.
        expectOpenFails(replacingWord(at: structure + 4, with: 0x6100_0000, in: valid), mentioning: "FDT_ERR_BADSTRUCTURE")
    }

    @Test func nestingDeeperThanAnyBoard() throws {
        let depth = Int(DeviceTreeBlob.maximumDepth) + 10
        let source = "/dts-v1/;\n/ {" + String(repeating: " n {", count: depth) + String(repeating: " };", count: depth) + " };\n"
        let bytes = try Scratch.with { scratch in
            try File.readAll(scratch.compile(source, to: "deep.dtb"), operation: "read")
        }
        expectOpenFails(bytes, mentioning: "nested deeper than \(DeviceTreeBlob.maximumDepth) levels")
    }
}

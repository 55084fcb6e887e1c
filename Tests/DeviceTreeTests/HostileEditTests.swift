import Foundation
import Testing
@testable import DeviceTree

/// Edits that would write a blob dtc refuses, and blobs whose blocks share bytes: refused, never written or printed.
struct HostileEditTests {
    let valid: [UInt8]

    init() throws {
        valid = try Scratch.with { try $0.blob(compiling: Fixtures.tiny).bytes }
    }

    private func expectSetFails(_ property: String, at path: String, create: Bool = false, saying text: String,
                                sourceLocation: SourceLocation = #_sourceLocation) throws {
        var tree = try DeviceTreeBlob(bytes: valid)
        let error = #expect(throws: DeviceTreeError.self, sourceLocation: sourceLocation) {
            try tree.setProperty(property, .string("v"), at: path, createNodes: create)
        }
        #expect(error?.description.contains(text) == true, "\(error?.description ?? "no error")", sourceLocation: sourceLocation)
        #expect(tree.bytes == valid, "the tree is unchanged", sourceLocation: sourceLocation)
    }

    @Test func propertyNamesAreThoseDtcAccepts() throws {
        try expectSetFails("bad name", at: "/", saying: "invalid property name 'bad name': a space may not appear")
        try expectSetFails("a/b", at: "/", saying: "'/' may not appear in a property name")
        try expectSetFails("x\u{1B}[2J", at: "/", saying: "'x\\e[2J'")
        try expectSetFails("n@1", at: "/", saying: "'@' may not appear in a property name")
        try expectSetFails("", at: "/", saying: "an empty property name")
        var tree = try DeviceTreeBlob(bytes: valid)
        for name in ["linux,initrd-start", "#address-cells", "status", "a.b_c+d?*"] {
            try tree.setProperty(name, .string("ok"), at: "/")
        }
    }

    @Test func pathsHaveNoDotComponentsAndValidNodeNames() throws {
        try expectSetFails("p", at: "/node@1/../evil", create: true, saying: "'..' is not a node")
        try expectSetFails("p", at: "/./node@1", saying: "'.' is not a node")
        try expectSetFails("p", at: "/a%b", create: true, saying: "'%' may not appear in a node name")
        try expectSetFails("p", at: "/uart@1@2", create: true, saying: "one '@'")
        try expectSetFails("p", at: "/@1", create: true, saying: "one '@'")
        try expectSetFails("p", at: "/new node", create: true, saying: "invalid node name 'new node'")
        var tree = try DeviceTreeBlob(bytes: valid)
        try tree.setProperty("p", .string("v"), at: "/soc/uart@1000,0/port-1_a+b", createNodes: true)
        #expect(try tree.property("p", at: "/soc/uart@1000,0/port-1_a+b") != nil)
        // What is written opens again, and dtc reads it.
        let written = try DeviceTreeBlob(bytes: tree.bytes)
        try Scratch.with { scratch in
            let file = try scratch.write(written, to: "edited.dtb")
            #expect(try scratch.run("dtc", ["-q", "-I", "dtb", "-O", "dts", file]).status == 0)
        }
    }

    /// libfdt 1.6.1's own check never returns on this one: -12 makes the next tag the same tag.
    @Test func aPropertyLengthThatStepsBackIsRefusedBeforeLibfdtLoops() {
        let structure = valid.word(at: 8)
        expectOpenFails(replacingWord(at: structure + 28, with: 0xffff_fff4, in: valid), mentioning: "invalid length -12")
        // Further back, libfdt itself finds the tag out of range.
        expectOpenFails(replacingWord(at: structure + 28, with: 0xffff_fff0, in: valid))
    }

    @Test func blobsWhoseBlocksOverlapAreRefused() {
        let structure = valid.word(at: 8)
        // The strings block moved into the structure block, keeping its size.
        expectOpenFails(replacingWord(at: 12, with: UInt32(structure + 8), in: valid), mentioning: "FDT_ERR_BADLAYOUT",
                        "the structure block", "the strings block", "overlap")
        // The structure block starting inside the memory reservation block.
        let reservations = valid.word(at: 16)
        let moved = replacingWord(at: 8, with: UInt32(reservations + 16), in: valid)
        #expect(throws: DeviceTreeError.self) { try DeviceTreeBlob(bytes: moved) }
    }
}

import Foundation
import Testing
@testable import DeviceTree

@Test func readsTypedProperties() throws {
    try Scratch.with { scratch in
        let tree = try scratch.blob(compiling: Fixtures.board)
        #expect(try tree.property("compatible", at: "/")?.strings == ["acme,board", "acme,soc"])
        #expect(try tree.property("compatible", at: "/")?.string == nil)
        #expect(try tree.property("status", at: "/uart@1000")?.string == "disabled")
        #expect(try tree.property("reg", at: "/uart@1000")?.u32Cells == [0x1000, 0x100])
        #expect(try tree.property("wide", at: "/")?.u64Cells == [0x1234_5678_9abc_def0])
        #expect(try tree.property("bytes", at: "/")?.value == [1, 2, 3])
        #expect(try tree.property("bytes", at: "/")?.u32Cells == nil)
        #expect(try tree.property("empty", at: "/")?.value == [])
        #expect(try tree.property("absent", at: "/") == nil)
        // Aliases resolve like libfdt's path lookup.
        #expect(try tree.property("compatible", at: "serial0")?.string == "ns16550a")
        #expect(try tree.addressCells(at: "/") == 1)
        #expect(try tree.memoryReservations() == [MemoryReservation(address: 0x1000_0000, size: 0x4000)])
    }
}

@Test func walksNodesAndPhandles() throws {
    try Scratch.with { scratch in
        let tree = try scratch.blob(compiling: Fixtures.board, symbols: true)
        let root = try tree.node()
        #expect(root.path == "/" && root.name == "")
        #expect(root.children.map(\.name) == ["aliases", "uart@1000", "memory@80000000", "chosen", "__symbols__"])
        let uart = try tree.node(at: "/uart")
        #expect(uart.path == "/uart@1000")
        #expect(uart.phandle == 1)
        #expect(uart.children.map(\.path) == ["/uart@1000/sub"])
        #expect(root.children[0].phandle == nil)
    }
}

@Test func reportsWhatWentWrongWhereItWentWrong() throws {
    try Scratch.with { scratch in
        var tree = try scratch.blob(compiling: Fixtures.board)
        let missingNode = #expect(throws: DeviceTreeError.self) {
            try tree.setProperty("bootargs", .string("x"), at: "/nowhere")
        }
        #expect(missingNode?.description == "set /nowhere property 'bootargs': FDT_ERR_NOTFOUND: no such node")
        #expect(missingNode?.code == 1)

        let missingParent = #expect(throws: DeviceTreeError.self) { try tree.addNode(at: "/a/b") }
        #expect(missingParent?.nodePath == "/a")
        #expect(missingParent?.message.contains("FDT_ERR_NOTFOUND") == true)

        let existing = #expect(throws: DeviceTreeError.self) { try tree.addNode(at: "/chosen") }
        #expect(existing?.message.hasPrefix("FDT_ERR_EXISTS") == true)

        let relative = #expect(throws: DeviceTreeError.self) { try tree.addNode(at: "chosen/x", createParents: true) }
        #expect(relative?.message.hasPrefix("FDT_ERR_BADPATH") == true)

        let missingProperty = #expect(throws: DeviceTreeError.self) { try tree.deleteProperty("nope", at: "/") }
        #expect(missingProperty?.property == "nope")

        #expect(throws: DeviceTreeError.self) { try tree.deleteNode(at: "/") }
        #expect(throws: DeviceTreeError.self) {
            try tree.addNode(at: String(repeating: "/n", count: Int(DeviceTreeBlob.maximumDepth)), createParents: true)
        }
        #expect(throws: DeviceTreeError.self) { try tree.setProperty("", .string("x"), at: "/") }
        let unreadable = #expect(throws: DeviceTreeError.self) { try DeviceTreeBlob(contentsOf: scratch.path("missing.dtb")) }
        #expect(unreadable?.description.contains("no such file or directory") == true)
    }
}

@Test func writtenBytesArePacked() throws {
    try Scratch.with { scratch in
        let file = try scratch.compile(Fixtures.board, to: "board.dtb")
        var tree = try DeviceTreeBlob(contentsOf: file)
        try tree.setProperty("bootargs", .string("quiet"), at: "/chosen")
        try scratch.write(tree, to: "board.dtb")
        #expect(try scratch.check("fdtget", [file, "/chosen", "bootargs"]) == "quiet\n")
        // Packed: what was written is exactly the tree, with no free space.
        #expect(try scratch.check("fdtdump", [file]).contains("// totalsize:"))
        #expect(tree.bytes.count == Int(try scratch.check("stat", ["-c", "%s", file]).dropLast()))
    }
}

@Test(arguments: [(Fixtures.board, 1), (Fixtures.board64, 2)])
func chosenMatchesAddressCells(source: String, addressCells: Int) throws {
    try Scratch.with { scratch in
        var tree = try scratch.blob(compiling: source)
        try tree.setChosen(bootargs: "console=ttyAMA0 rdinit=/init", stdoutPath: "serial0:115200n8",
                           initrd: 0x4800_0000..<0x4812_3456)
        let file = try scratch.write(tree, to: "chosen.dtb")
        func get(_ property: String, _ type: String) throws -> String {
            try scratch.check("fdtget", ["-t", type, file, "/chosen", property])
        }
        #expect(try get("bootargs", "s") == "console=ttyAMA0 rdinit=/init\n")
        #expect(try get("stdout-path", "s") == "serial0:115200n8\n")
        let (start, end) = addressCells == 1 ? ("48000000\n", "48123456\n") : ("0 48000000\n", "0 48123456\n")
        #expect(try get("linux,initrd-start", "x") == start)
        #expect(try get("linux,initrd-end", "x") == end)
    }
}

@Test func chosenRefusesAddressesTooWideForOneCell() throws {
    try Scratch.with { scratch in
        var tree = try scratch.blob(compiling: Fixtures.board)
        let error = #expect(throws: DeviceTreeError.self) {
            try tree.setChosen(bootargs: nil, stdoutPath: nil, initrd: 0x1_0000_0000..<0x1_0001_0000)
        }
        #expect(error?.description.contains("#address-cells = <1>") == true)
        #expect(error?.property == "linux,initrd-start")
    }
}

@Test func zeroedPaddingMakesEqualContentEqualBytes() throws {
    try Scratch.with { scratch in
        var resized = try scratch.blob(compiling: Fixtures.board)
        // Shrinking a value in place leaves its old last byte in the padding: [ff ff ff ff] → [01 02 03] + ff.
        try resized.setProperty("bytes", .bytes([0xFF, 0xFF, 0xFF, 0xFF]), at: "/")
        try resized.setProperty("bytes", .bytes([1, 2, 3]), at: "/")
        var fresh = try scratch.blob(compiling: Fixtures.board)
        resized.pack()
        fresh.pack()
        #expect(resized.bytes != fresh.bytes, "libfdt is expected to leave the stale byte; if not, this test proves nothing")
        resized.zeroPadding()
        fresh.zeroPadding()
        #expect(resized.bytes == fresh.bytes)
        #expect(try resized.property("bytes", at: "/")?.value == [1, 2, 3])
    }
}

import Testing
@testable import DeviceTree

@Test func rendersLikeDtc() throws {
    try Scratch.with { scratch in
        let tree = try scratch.blob(compiling: Fixtures.tiny)
        #expect(try tree.dts() == """
            /dts-v1/;

            /memreserve/\t0x0000000000001000 0x0000000000000010;
            / {
            \tcompatible = "a", "b";
            \tflag;

            \tnode@1 {
            \t\treg = <0x01>;
            \t\tx = [01 02 03];
            \t};
            };

            """)
        #expect(try tree.dts(from: "/node") == "node@1 {\n\treg = <0x01>;\n\tx = [01 02 03];\n};\n")
    }
}

@Test func tellsStringsCellsAndBytesApart() {
    #expect(DTS.value(Array("a\"b\\c\t\n\0".utf8)) == #""a\"b\\c\t\n""#)
    #expect(DTS.value(Array("one\0\0three\0".utf8)) == #""one", "", "three""#)
    #expect(DTS.value([0, 0, 0, 0]) == "<0x00>")
    #expect(DTS.value([0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0xab]) == "<0x12345678 0xab>")
    #expect(DTS.value([0x41, 0x42, 0, 0xff, 0]) == "[41 42 00 ff 00]")
    #expect(DTS.value(Array("no terminator".utf8)) == "[6e 6f 20 74 65 72 6d 69 6e 61 74 6f 72]")
}

@Test(arguments: [Fixtures.board, Fixtures.board64, Fixtures.tiny])
func renderedSourceCompilesBackToTheSameTree(_ source: String) throws {
    try Scratch.with { scratch in
        let original = try scratch.compile(source, to: "original.dtb", symbols: true)
        let tree = try DeviceTreeBlob(contentsOf: original)
        let rendered = try scratch.write(tree.dts(), to: "rendered.dts")
        try scratch.check("dtc", ["-q", "-I", "dts", "-O", "dtb", "-o", scratch.path("recompiled.dtb"), rendered])
        #expect(try scratch.decompile(scratch.path("recompiled.dtb")) == scratch.decompile(original))
        let recompiled = try DeviceTreeBlob(contentsOf: scratch.path("recompiled.dtb"))
        #expect(try recompiled.dts() == tree.dts())
        #expect(try DeviceTreeDiff(from: tree, to: recompiled).isEmpty)
    }
}

@Test func diffsNodesPropertiesAndReservations() throws {
    try Scratch.with { scratch in
        let old = try scratch.blob(compiling: Fixtures.tiny)
        var new = old
        #expect(try DeviceTreeDiff(from: old, to: new).description == "")
        try new.setProperty("compatible", .strings(["a", "c"]), at: "/")
        try new.deleteProperty("flag", at: "/")
        try new.setProperty("reg", .u32([2]), at: "/node@1")
        try new.setProperty("status", .string("okay"), at: "/node@1")
        try new.setProperty("y", .bytes([]), at: "/added/child", createNodes: true)
        let removed = try scratch.blob(compiling: """
            /dts-v1/;
            / { compatible = "a", "b"; flag; node@1 { reg = <1>; x = [01 02 03]; }; gone { p = <7>; }; };
            """)
        let diff = try DeviceTreeDiff(from: removed, to: new)
        #expect(diff.description == """
            +/memreserve/\t0x0000000000001000 0x0000000000000010;
             / {
            -\tcompatible = "a", "b";
            +\tcompatible = "a", "c";
            -\tflag;
             };
             /node@1 {
            -\treg = <0x01>;
            +\treg = <0x02>;
            +\tstatus = "okay";
             };
            -/gone {
            -\tp = <0x07>;
            -};
            +/added {
            +
            +\tchild {
            +\t\ty;
            +\t};
            +};

            """)
        #expect(diff.changes.first == .reservations(old: [], new: [MemoryReservation(address: 0x1000, size: 0x10)]))
        #expect(diff.changes.contains(.nodeRemoved(Node(name: "gone", path: "/gone", properties: [Property(name: "p", value: [0, 0, 0, 7])]))))
    }
}

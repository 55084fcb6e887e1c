import Testing
@testable import DeviceTree

/// The same edit made by fdtput and by DeviceTreeBlob; the trees must decompile to the same text.
struct Edit: Sendable, CustomTestStringConvertible {
    var testDescription: String
    /// fdtput invocations, each without the file name (inserted after the options).
    var fdtput: [(options: [String], operands: [String])]
    var apply: @Sendable (inout DeviceTreeBlob) throws -> Void

    static let all: [Edit] = [
        Edit(testDescription: "set string", fdtput: [(["-t", "s"], ["/chosen", "bootargs", "console=ttyS0 root=/dev/vda"])]) {
            try $0.setProperty("bootargs", .string("console=ttyS0 root=/dev/vda"), at: "/chosen")
        },
        Edit(testDescription: "replace string list", fdtput: [(["-t", "s"], ["/", "compatible", "vendor,a", "vendor,b", "c"])]) {
            try $0.setProperty("compatible", .strings(["vendor,a", "vendor,b", "c"]), at: "/")
        },
        Edit(testDescription: "set u32 cells", fdtput: [(["-t", "u"], ["/uart@1000", "reg", "8192", "512"])]) {
            try $0.setProperty("reg", .u32([0x2000, 0x200]), at: "/uart@1000")
        },
        Edit(testDescription: "set u64 as its two cells", fdtput: [(["-t", "x"], ["/chosen", "base", "1", "80000000"])]) {
            try $0.setProperty("base", .u64([0x1_8000_0000]), at: "/chosen")
        },
        Edit(testDescription: "set bytes", fdtput: [(["-t", "bx"], ["/", "blob", "1", "ff", "7"])]) {
            try $0.setProperty("blob", .bytes([1, 0xff, 7]), at: "/")
        },
        Edit(testDescription: "set on a node named without its unit address", fdtput: [(["-t", "s"], ["/uart", "status", "okay"])]) {
            try $0.setProperty("status", .string("okay"), at: "/uart")
        },
        Edit(testDescription: "create node", fdtput: [(["-c"], ["/chosen/framebuffer@0"])]) {
            try $0.addNode(at: "/chosen/framebuffer@0")
        },
        Edit(testDescription: "create nodes with parents", fdtput: [(["-c", "-p"], ["/soc/bus@0/i2c@100", "/uart@1000/sub"])]) {
            try $0.addNode(at: "/soc/bus@0/i2c@100", createParents: true)
            try $0.addNode(at: "/uart@1000/sub", createParents: true)
        },
        Edit(testDescription: "set property creating nodes", fdtput: [(["-p", "-t", "s"], ["/soc/gpio@200", "compatible", "acme,gpio"])]) {
            try $0.setProperty("compatible", .string("acme,gpio"), at: "/soc/gpio@200", createNodes: true)
        },
        Edit(testDescription: "delete node", fdtput: [(["-r"], ["/uart@1000/sub", "/memory@80000000"])]) {
            try $0.deleteNode(at: "/uart@1000/sub")
            try $0.deleteNode(at: "/memory@80000000")
        },
        Edit(testDescription: "delete property", fdtput: [(["-d"], ["/uart@1000", "status", "reg"])]) {
            try $0.deleteProperty("status", at: "/uart@1000")
            try $0.deleteProperty("reg", at: "/uart@1000")
        },
        Edit(testDescription: "grow for a large value and many edits",
             fdtput: [(["-t", "s"], ["/chosen", "bootargs", String(repeating: "quiet ", count: 20_000)])]
                + (0..<50).map { (["-p", "-t", "u"], ["/many/node\($0)", "value\($0)", "\($0)"]) }) {
            try $0.setProperty("bootargs", .string(String(repeating: "quiet ", count: 20_000)), at: "/chosen")
            for index in 0..<50 {
                try $0.setProperty("value\(index)", .u32([UInt32(index)]), at: "/many/node\(index)", createNodes: true)
            }
        },
    ]
}

@Test(arguments: Edit.all)
func editMatchesFdtput(_ edit: Edit) throws {
    try Scratch.with { scratch in
        let reference = try scratch.compile(Fixtures.board, to: "reference.dtb")
        for call in edit.fdtput {
            try scratch.check("fdtput", call.options + [reference] + call.operands)
        }
        var ours = try DeviceTreeBlob(contentsOf: scratch.compile(Fixtures.board, to: "ours.dtb"))
        try edit.apply(&ours)
        #expect(try scratch.decompile(ours) == scratch.decompile(reference))
    }
}

enum Overlays {
    static let labelled = """
        /dts-v1/;
        /plugin/;
        &uart {
        	status = "okay";
        	serial = <&uart>;
        	leds = <&led>;
        	led: led { label = "heartbeat"; };
        };
        &{/chosen} { bootargs = "console=ttyS0"; };
        """

    static let fragments = """
        /dts-v1/;
        /plugin/;
        / {
        	fragment@0 {
        		target-path = "/";
        		__overlay__ { soc { gpio: gpio@200 { compatible = "acme,gpio"; }; }; };
        	};
        	fragment@1 {
        		target-path = "/memory@80000000";
        		__overlay__ { reg = <0x80000000 0x10000000>; };
        	};
        };
        """

    static let missingLabel = """
        /dts-v1/;
        /plugin/;
        &nosuchlabel { status = "okay"; };
        """
}

@Test(arguments: [[Overlays.labelled], [Overlays.fragments], [Overlays.labelled, Overlays.fragments]])
func overlayMatchesFdtoverlay(_ overlays: [String]) throws {
    try Scratch.with { scratch in
        let basePath = try scratch.compile(Fixtures.board, to: "base.dtb", symbols: true)
        let overlayPaths = try overlays.enumerated().map { try scratch.compile($1, to: "overlay\($0).dtbo", symbols: true) }
        try scratch.check("fdtoverlay", ["-i", basePath, "-o", scratch.path("reference.dtb")] + overlayPaths)

        let base = try DeviceTreeBlob(contentsOf: basePath)
        let ours = try overlayPaths.reduce(base) { try $0.applying(DeviceTreeBlob(contentsOf: $1)) }
        #expect(try scratch.decompile(ours) == scratch.decompile(scratch.path("reference.dtb")))
        // The base is a value: applying made a new tree and left it alone.
        #expect(try base.bytes == DeviceTreeBlob(contentsOf: basePath).bytes)
    }
}

@Test func failedOverlayLeavesBothTreesIntact() throws {
    try Scratch.with { scratch in
        let base = try scratch.blob(compiling: Fixtures.board, symbols: true)
        let overlay = try scratch.blob(compiling: Overlays.missingLabel, symbols: true)
        let (baseBefore, overlayBefore) = (base.bytes, overlay.bytes)
        let error = #expect(throws: DeviceTreeError.self) { try base.applying(overlay) }
        #expect(error?.description.contains("FDT_ERR_NOTFOUND") == true)
        #expect(error?.operation == "apply overlay")
        #expect(base.bytes == baseBefore)
        #expect(overlay.bytes == overlayBefore)
        // And the intact overlay still applies where its label exists.
        let labelled = try scratch.blob(compiling: Overlays.labelled, symbols: true)
        #expect(try base.applying(labelled).property("status", at: "/uart@1000")?.string == "okay")
    }
}

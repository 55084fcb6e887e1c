import Foundation
import Testing
@testable import DeviceTree

/// A directory of its own for one test, with helpers that run the reference dtc tools in it.
struct Scratch {
    let directory: String

    /// Runs `body` with a fresh directory, removed afterwards.
    static func with<Result>(_ body: (Scratch) throws -> Result) throws -> Result {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("dt-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try body(Scratch(directory: directory))
    }

    func path(_ name: String) -> String { directory + "/" + name }

    @discardableResult
    func write(_ text: String, to name: String) throws -> String {
        try text.write(toFile: path(name), atomically: false, encoding: .utf8)
        return path(name)
    }

    @discardableResult
    func write(_ blob: DeviceTreeBlob, to name: String) throws -> String {
        try Data(blob.bytes).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    struct ToolFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `tool` from PATH with `arguments`; returns its status, standard output and standard error.
    func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let id = UUID().uuidString
        let outputPath = path("\(id).out"), errorsPath = path("\(id).err")
        try Data().write(to: URL(fileURLWithPath: outputPath))
        try Data().write(to: URL(fileURLWithPath: errorsPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorsPath))
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, try String(contentsOfFile: outputPath, encoding: .utf8),
                try String(contentsOfFile: errorsPath, encoding: .utf8))
    }

    /// Runs `tool` and returns its output, failing when it does.
    @discardableResult
    func check(_ tool: String, _ arguments: [String]) throws -> String {
        let result = try run(tool, arguments)
        guard result.status == 0 else {
            throw ToolFailure(description: "\(tool) \(arguments.joined(separator: " ")) failed: \(result.errors)")
        }
        return result.output
    }

    /// Compiles dts source to `name` (with `__symbols__` when `symbols`) and returns the dtb's path.
    @discardableResult
    func compile(_ source: String, to name: String, symbols: Bool = false) throws -> String {
        let sourcePath = try write(source, to: name + ".dts")
        try check("dtc", ["-q", "-I", "dts", "-O", "dtb"] + (symbols ? ["-@"] : []) + ["-o", path(name), sourcePath])
        return path(name)
    }

    func blob(compiling source: String, symbols: Bool = false) throws -> DeviceTreeBlob {
        try DeviceTreeBlob(contentsOf: compile(source, to: "\(UUID().uuidString).dtb", symbols: symbols))
    }

    /// dtc's own decompilation of the dtb at `file`: the reference text trees are compared by.
    func decompile(_ file: String) throws -> String {
        try check("dtc", ["-q", "-I", "dtb", "-O", "dts", file])
    }

    func decompile(_ blob: DeviceTreeBlob) throws -> String {
        try decompile(write(blob, to: "\(UUID().uuidString).dtb"))
    }
}

enum Fixtures {
    /// A board-like tree with every kind of value the renderer tells apart.
    static let board = """
        /dts-v1/;
        /memreserve/ 0x10000000 0x4000;
        / {
        	#address-cells = <1>;
        	#size-cells = <1>;
        	compatible = "acme,board", "acme,soc";
        	model = "Acme \\"Board\\"\\t1 \\\\ 2";
        	empty;
        	bytes = [01 02 03];
        	nuls = [00 00 00 00];
        	mixed = [41 42 00 ff 00];
        	wide = /bits/ 64 <0x123456789abcdef0>;
        	aliases { serial0 = &uart; };
        	uart: uart@1000 {
        		compatible = "ns16550a";
        		reg = <0x1000 0x100>;
        		status = "disabled";
        		sub { x = <1>; };
        	};
        	memory@80000000 { device_type = "memory"; reg = <0x80000000 0x8000000>; };
        	chosen { };
        };
        """

    /// A 64-bit board without /chosen.
    static let board64 = """
        /dts-v1/;
        / {
        	#address-cells = <2>;
        	#size-cells = <2>;
        	compatible = "acme,board64";
        	memory@40000000 { device_type = "memory"; reg = <0x0 0x40000000 0x0 0x20000000>; };
        };
        """
}

extension Fixtures {
    /// Small enough that a corpus of its mutations stays small.
    static let tiny = """
        /dts-v1/;
        /memreserve/ 0x1000 0x10;
        / {
        	compatible = "a", "b";
        	flag;
        	node@1 {
        		reg = <1>;
        		x = [01 02 03];
        	};
        };
        """
}

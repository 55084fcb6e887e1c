@testable import BoardModel
import Build
import Foundation
import Testing

/// The check that keeps a host-compiled or dynamic BusyBox out of an initramfs, on binaries made by the real
/// compilers.
@Suite struct ELFHeaderTests {
    private func compile(_ compiler: String, static isStatic: Bool) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-elf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let source = folder.appendingPathComponent("main.c")
        try "int main(void) { return 0; }\n".write(to: source, atomically: true, encoding: .utf8)
        let binary = folder.appendingPathComponent("main")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [compiler] + (isStatic ? ["-static"] : []) + ["-o", binary.path, source.path]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(compiler) failed; run scripts/setup.sh")
        return binary
    }

    private func toolchain(_ name: String) throws -> Toolchain {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("toolchains/\(name).yaml")
        return try YAMLTreeDecoder.decode(Toolchain.self, from: String(contentsOf: file, encoding: .utf8), file: file.path).0
    }

    @Test func staticCrossBinaryMatchesItsToolchain() throws {
        let arm64 = try ELFHeader(contentsOf: try compile("aarch64-linux-gnu-gcc", static: true))
        #expect(arm64 == ELFHeader(elfClass: 64, machine: 183, hasInterpreter: false))
        #expect(arm64.mismatch(for: try toolchain("aarch64-linux-gnu")) == nil)
        let arm = try ELFHeader(contentsOf: try compile("arm-linux-gnueabihf-gcc", static: true))
        #expect(arm.mismatch(for: try toolchain("arm-linux-gnueabihf")) == nil)
    }

    @Test func hostBinaryOrDynamicBinaryIsRefused() throws {
        let host = try ELFHeader(contentsOf: try compile("gcc", static: true))
        #expect(host.mismatch(for: try toolchain("aarch64-linux-gnu"))?.contains("built for x86-64 ELF64, expected aarch64 ELF64") == true)
        let dynamic = try ELFHeader(contentsOf: try compile("aarch64-linux-gnu-gcc", static: false))
        #expect(dynamic.mismatch(for: try toolchain("aarch64-linux-gnu"))?.contains("dynamically linked") == true)
        #expect(throws: BuildError.self) { try ELFHeader(Data("#!/bin/sh\n".utf8), path: "script") }
    }
}

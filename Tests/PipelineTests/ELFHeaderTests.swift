@testable import BoardModel
import Pipeline
import Foundation
import Testing

/// The check that keeps a host-compiled or dynamic BusyBox out of an initramfs, on binaries made by the real
/// compilers.
@Suite struct ELFHeaderTests {
    /// The ELF header of an empty program built with `compiler`.
    private func compiledHeader(_ compiler: String, static isStatic: Bool) throws -> ELFHeader {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-elf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = folder.appendingPathComponent("main.c")
        try "int main(void) { return 0; }\n".write(to: source, atomically: true, encoding: .utf8)
        let binary = folder.appendingPathComponent("main")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [compiler] + (isStatic ? ["-static"] : []) + ["-o", binary.path, source.path]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(compiler) failed; run scripts/setup.sh")
        return try ELFHeader(contentsOf: binary)
    }

    private let catalog = Catalog(boardsDirectory: repositoryRoot.appendingPathComponent("boards"),
                                  toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains"))

    private func target(_ name: String) throws -> (Architecture, Toolchain) {
        let toolchain = try #require(catalog.toolchains[name])
        return (try #require(catalog.architectures[toolchain.arch]), toolchain)
    }

    @Test func staticCrossBinaryMatchesItsToolchain() throws {
        let arm64 = try compiledHeader("aarch64-linux-gnu-gcc", static: true)
        #expect(arm64 == ELFHeader(elfClass: 64, machine: 183, hasInterpreter: false))
        let (arm64Architecture, arm64Toolchain) = try target("aarch64-linux-gnu")
        #expect(arm64.mismatch(for: arm64Architecture, toolchain: arm64Toolchain) == nil)
        let arm = try compiledHeader("arm-linux-gnueabihf-gcc", static: true)
        let (armArchitecture, armToolchain) = try target("arm-linux-gnueabihf")
        #expect(arm.mismatch(for: armArchitecture, toolchain: armToolchain) == nil)
    }

    @Test func hostBinaryOrDynamicBinaryIsRefused() throws {
        let host = try compiledHeader("gcc", static: true)
        let (architecture, toolchain) = try target("aarch64-linux-gnu")
        #expect(host.mismatch(for: architecture, toolchain: toolchain)?.contains("built for ELF machine 62 ELF64, expected aarch64 (machine 183) ELF64") == true)
        let dynamic = try compiledHeader("aarch64-linux-gnu-gcc", static: false)
        #expect(dynamic.mismatch(for: architecture, toolchain: toolchain)?.contains("dynamically linked") == true)
        #expect(throws: BuildError.self) { try ELFHeader(Data("#!/bin/sh\n".utf8), path: "script") }
    }
}

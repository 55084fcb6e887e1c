@testable import BoardModel
@testable import Host
import Foundation
import Testing

private let aarch64 = Toolchain(name: "aarch64-linux-gnu", description: nil, arch: "aarch64", kernelArch: "arm64",
                                crossCompile: "aarch64-linux-gnu-", debianPackages: ["gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross"],
                                minGCCVersion: "10.1", unameMachine: nil)

/// A directory holding a fake `<prefix>gcc` that answers like GCC would.
private func fakeCompiler(prefix: String, version: String = "12.2.0", machine: String = "aarch64-linux-gnu") throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-fakecc-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let script = directory.appendingPathComponent("\(prefix)gcc")
    try """
        #!/bin/sh
        case "$1" in
          --version) echo "\(prefix)gcc (Fake) \(version)"; echo "Copyright";;
          -dumpfullversion) echo "\(version)";;
          -dumpmachine) echo "\(machine)";;
          *) exit 1;;
        esac
        """.write(to: script, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
    return directory
}

@Suite struct ToolchainResolverTests {
    @Test func findsTheCompilerOnPath() async throws {
        let directory = try fakeCompiler(prefix: "aarch64-linux-gnu-")
        defer { try? FileManager.default.removeItem(at: directory) }
        let found = try await ToolchainResolver.resolve(aarch64, environment: ["PATH": directory.path])
        #expect(found.version == "12.2.0")
        #expect(found.origin == "PATH")
        #expect(found.crossCompile == "aarch64-linux-gnu-")
        #expect(found.versionLine == "aarch64-linux-gnu-gcc (Fake) 12.2.0")
    }

    @Test func toolchainDirectoryComesBeforePath() async throws {
        let onPath = try fakeCompiler(prefix: "aarch64-linux-gnu-", version: "11.1.0")
        let installation = try fakeCompiler(prefix: "aarch64-linux-gnu-", version: "13.2.0")
        defer { [onPath, installation].forEach { try? FileManager.default.removeItem(at: $0) } }
        let found = try await ToolchainResolver.resolve(aarch64, toolchainDirectory: installation, environment: ["PATH": onPath.path])
        #expect(found.version == "13.2.0")
        #expect(found.origin == "--toolchain-dir")
        #expect(found.crossCompile == installation.appendingPathComponent("aarch64-linux-gnu-").path)
    }

    @Test func explicitCrossCompileWins() async throws {
        let onPath = try fakeCompiler(prefix: "aarch64-linux-gnu-")
        let custom = try fakeCompiler(prefix: "my-aarch64-", version: "14.1.0")
        defer { [onPath, custom].forEach { try? FileManager.default.removeItem(at: $0) } }
        let found = try await ToolchainResolver.resolve(aarch64, environment: ["PATH": "\(onPath.path):\(custom.path)", "CROSS_COMPILE": "my-aarch64-"])
        #expect(found.version == "14.1.0")
        #expect(found.origin == "CROSS_COMPILE environment variable")
    }

    @Test func missingCompilerNamesThePackagesToInstall() async throws {
        await #expect {
            try await ToolchainResolver.resolve(aarch64, environment: ["PATH": "/nonexistent"])
        } throws: { error in
            "\(error)".contains("apt-get install -y --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross")
        }
    }

    @Test func tooOldOrWrongTargetIsRefused() async throws {
        let old = try fakeCompiler(prefix: "aarch64-linux-gnu-", version: "9.4.0")
        let wrong = try fakeCompiler(prefix: "aarch64-linux-gnu-", machine: "x86_64-linux-gnu")
        defer { [old, wrong].forEach { try? FileManager.default.removeItem(at: $0) } }
        await #expect { try await ToolchainResolver.resolve(aarch64, environment: ["PATH": old.path]) } throws: {
            "\($0)".contains("is GCC 9.4.0; at least 10.1 is needed")
        }
        await #expect { try await ToolchainResolver.resolve(aarch64, environment: ["PATH": wrong.path]) } throws: {
            "\($0)".contains("builds for x86_64-linux-gnu, not aarch64")
        }
    }
}

@Suite struct DebSourceEntriesTests {
    @Test func deb822StanzasBecomeDebSrc() {
        let host = """
            Types: deb
            # a comment
            URIs: http://archive.example/debian
            Suites: bookworm bookworm-updates
            Components: main
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

            Types: deb
            URIs: http://other.example/x
            Suites: stable
            Components: main
            Enabled: no
            """
        #expect(DebSourceEntries.fromDeb822(host) == ["""
            Types: deb-src
            URIs: http://archive.example/debian
            Suites: bookworm bookworm-updates
            Components: main
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
            """])
    }

    @Test func oneLineEntriesBecomeDebSrc() {
        let host = "deb [arch=amd64 signed-by=/k.gpg] http://archive.example/debian bookworm main contrib\n# deb http://x y z\ndeb-src http://a b c"
        #expect(DebSourceEntries.fromOneLine(host) == ["Types: deb-src\nURIs: http://archive.example/debian\nSuites: bookworm\nComponents: main contrib\nSigned-By: /k.gpg"])
    }
}

@Suite struct AtomicFileTests {
    @Test func replacesFilesAndDirectoriesWhole() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-atomic-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("a/b.txt")
        try AtomicFile.write("one", to: file)
        try AtomicFile.write("two", to: file)
        #expect(try String(contentsOf: file, encoding: .utf8) == "two")
        let target = folder.appendingPathComponent("tree")
        for content in ["first", "second"] {
            let temporary = try AtomicFile.temporaryDirectory(beside: target)
            try content.write(to: temporary.appendingPathComponent("f"), atomically: false, encoding: .utf8)
            try AtomicFile.replace(target, with: temporary)
        }
        #expect(try String(contentsOf: target.appendingPathComponent("f"), encoding: .utf8) == "second")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["a", "tree"])
    }

    /// `bspgen dt set` rewrites a user's dtb in place through AtomicFile: its permissions stay.
    @Test func replacingAFileKeepsItsPermissions() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-atomic-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("board.dtb")
        try AtomicFile.write("old", to: file)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: file.path)
        try AtomicFile.write("new", to: file)
        #expect(try String(contentsOf: file, encoding: .utf8) == "new")
        let permissions = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? NSNumber
        #expect(permissions?.intValue == 0o640)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["board.dtb"])
    }

    @Test func workspaceHonoursOverrides() {
        #expect(Workspace(environment: ["HOME": "/h"]).cacheDirectory.path == "/h/.cache/bspgen")
        #expect(Workspace(environment: ["HOME": "/h", "BSPGEN_CACHE": "/c"]).cacheDirectory.path == "/c")
        #expect(Workspace(cacheDirectory: "/d", environment: ["BSPGEN_CACHE": "/c"]).cacheDirectory.path == "/d")
    }
}

/// Class 4 of issue 21: nothing make would expand or a shell would interpret reaches `CROSS_COMPILE=` or a printed
/// install command, wherever it comes from.
@Suite struct ToolchainInjectionTests {
    @Test(arguments: ["$(shell touch /tmp/pwned)aarch64-linux-gnu-", "/opt/my tools/bin/aarch64-linux-gnu-", "aarch64;id;-", "a`id`-"])
    func aCrossCompilePrefixMakeWouldExpandIsRefused(_ prefix: String) async throws {
        await #expect {
            try await ToolchainResolver.resolve(aarch64, environment: ["PATH": "/nonexistent", "CROSS_COMPILE": prefix])
        } throws: { error in
            let text = "\(error)"
            return text.contains("CROSS_COMPILE prefix") && text.contains("from CROSS_COMPILE environment variable")
        }
    }

    @Test func aToolchainDirectoryWithADollarIsRefused() async throws {
        await #expect {
            try await ToolchainResolver.resolve(aarch64, toolchainDirectory: URL(fileURLWithPath: "/opt/$(id)"), environment: ["PATH": "/nonexistent"])
        } throws: { "\($0)".contains("contains '$', which make would expand") }
    }

    @Test func anInstallCommandQuotesAnythingThatIsNotAPackageName() {
        #expect(aptInstallCommand(["gcc-aarch64-linux-gnu", "libc6:arm64"]) == "apt-get install -y --no-install-recommends gcc-aarch64-linux-gnu libc6:arm64")
        #expect(aptInstallCommand(["gcc; rm -rf ~"]) == "apt-get install -y --no-install-recommends 'gcc; rm -rf ~'")
        #expect(aptInstallCommand(["$(reboot)"]) == "apt-get install -y --no-install-recommends '$(reboot)'")
    }
}

import BSPGenCLI
import Foundation
import Testing

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Runs `script` with /bin/sh in the project folder; its standard output and exit status.
private func shell(_ script: String) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", script]
    process.currentDirectoryURL = root
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// What scripts/setup.sh installs: completions that the shells accept and a man page naming every command.
@Suite struct ShellIntegrationTests {
    static let binary = root.appendingPathComponent(".build/debug/bspgen").path
    static let commands = ["list", "show", "validate", "doctor", "config", "menuconfig", "kernel", "initramfs", "cpio", "build", "image",
                           "legal-info", "flash", "boot", "test", "diff", "bench", "dt"]

    @Test func bashCompletionParsesAndOffersEveryCommand() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build bspgen first (swift build)")
        let script = try shell("'\(Self.binary)' --generate-completion-script bash > \"$TMPDIR_BSPGEN\" 2>/dev/null; "
            .replacingOccurrences(of: "\"$TMPDIR_BSPGEN\"", with: "/tmp/bspgen-completion-$$")
            + "bash -n /tmp/bspgen-completion-$$ && cat /tmp/bspgen-completion-$$; status=$?; rm -f /tmp/bspgen-completion-$$; exit $status")
        #expect(script.status == 0)
        for command in Self.commands { #expect(script.output.contains(command), "\(command)") }
        for shellName in ["zsh", "fish"] {
            let generated = try shell("'\(Self.binary)' --generate-completion-script \(shellName)")
            #expect(generated.status == 0 && generated.output.contains("diff"), "\(shellName)")
        }
    }

    @Test func manPageHasEveryCommandAndItsOptions() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build bspgen first (swift build)")
        let page = try shell("'\(Self.binary)' --experimental-dump-help | python3 scripts/man-page.py")
        #expect(page.status == 0)
        #expect(page.output.hasPrefix(".TH BSPGEN 1"))
        for command in Self.commands {
            #expect(page.output.contains(".SS bspgen \(command.replacingOccurrences(of: "-", with: "\\-"))\n"), "\(command)")
        }
        #expect(page.output.contains("\\fB\\-\\-html <html>\\fR"))
        // No line may start with a dot that roff would take for a request it does not know.
        let requests = Set(page.output.split(separator: "\n").filter { $0.hasPrefix(".") }.map { $0.split(separator: " ").first.map(String.init) ?? "" })
        #expect(requests.isSubset(of: [".TH", ".SH", ".SS", ".PP", ".TP"]), "\(requests)")
    }

    @Test func diffRefusesWhatIsNotABuild() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-diff-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(await BSPGen.main(["diff", folder.path, folder.path]) == 1)
        #expect(await BSPGen.main(["diff", folder.appendingPathComponent("none").path, folder.path]) == 1)
        try Data(#"{"board": "b", "artifacts": [{"path": "Image", "size": 3, "sha256": "aa"}]}"#.utf8).write(to: folder.appendingPathComponent("manifest.json"))
        #expect(await BSPGen.main(["diff", folder.path, folder.appendingPathComponent("manifest.json").path, "--json"]) == 0)
        // --html never writes through a link (see OutputPath).
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("link.html").path, withDestinationPath: "/dev/null")
        #expect(await BSPGen.main(["diff", folder.path, folder.path, "--html", folder.appendingPathComponent("link.html").path]) == 1)
        #expect(await BSPGen.main(["diff", folder.path, folder.path, "--html", folder.appendingPathComponent("diff.html").path]) == 0)
        let page = try String(contentsOf: folder.appendingPathComponent("diff.html"), encoding: .utf8)
        #expect(page.contains("No differences."))
    }

    /// `--json` prints one JSON document on standard output and nothing else there, on commands that need no build.
    @Test func jsonOutputIsJSON() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build bspgen first (swift build)")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-json-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("tree/etc"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("x\n".utf8).write(to: folder.appendingPathComponent("tree/etc/motd"))
        let commands: [(arguments: String, key: String)] = [
            ("list --json", "name"), ("validate --json", "valid"), ("doctor qemu-arm64-virt --json", "checks"),
            ("cpio --dir '\(folder.path)/tree' -o '\(folder.path)/a.cpio' --compress none --json", "entries"),
        ]
        for command in commands {
            let result = try shell("'\(Self.binary)' \(command.arguments)")
            let value = try? JSONSerialization.jsonObject(with: Data(result.output.utf8))
            let object = (value as? [String: Any]) ?? ((value as? [[String: Any]])?.first)
            #expect(object?[command.key] != nil, "\(command.arguments): \(result.output.prefix(200))")
        }
    }
}

import Foundation
import Testing
@testable import Report

@Suite struct OutputDiffTests {
    /// Two output folders as two builds leave them, the second with one more fragment line (CONFIG_SQUASHFS=y),
    /// which Kconfig follows with options of its own and the kernel with new objects.
    func fabricatedOutputs() throws -> (root: URL, before: URL, after: URL) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-diff-\(UUID().uuidString)")
        let before = root.appendingPathComponent("a"), after = root.appendingPathComponent("b")
        for folder in [before, after] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        var old = sampleReport()
        var new = sampleReport()
        new.kernel?.objects += [.init(name: "fs/squashfs/super.o", bytes: 6_000), .init(name: "fs/squashfs/block.o", bytes: 2_500)]
        new.kernel?.objects[0].bytes += 100
        new.initramfs?.files.append(.init(path: "/etc/issue", bytes: 12, kind: "overlay rootfs"))
        new.components[1].version = "6.1.193"
        old.artifacts[0].size = 3_000_000
        new.artifacts[0] = ArtifactEntry(path: "Image", size: 3_008_600, sha256: String(repeating: "77", count: 32))
        new.artifacts.append(ArtifactEntry(path: "extra.dtb", size: 100, sha256: String(repeating: "12", count: 32)))
        for (folder, report) in [(before, old), (after, new)] {
            let manifest = try JSONSerialization.data(withJSONObject: [
                "board": report.board, "arch": report.arch, "bspgenVersion": "0.1.0",
                "artifacts": report.artifacts.map { ["path": $0.path, "size": $0.size, "sha256": $0.sha256] },
            ])
            try manifest.write(to: folder.appendingPathComponent("manifest.json"))
            try report.encoded().write(to: folder.appendingPathComponent("report.json"))
        }
        let config = "CONFIG_PRINTK=y\nCONFIG_BLOCK=y\n# CONFIG_MISC_FILESYSTEMS is not set\nCONFIG_LOCALVERSION=\"\"\n"
        try Data(config.utf8).write(to: before.appendingPathComponent("linux.config"))
        try Data(config.replacingOccurrences(of: "# CONFIG_MISC_FILESYSTEMS is not set\n", with: """
            CONFIG_MISC_FILESYSTEMS=y
            CONFIG_SQUASHFS=y
            CONFIG_SQUASHFS_FILE_CACHE=y
            CONFIG_SQUASHFS_ZLIB=y

            """).replacingOccurrences(of: "CONFIG_LOCALVERSION=\"\"", with: "CONFIG_LOCALVERSION=\"-x\"").utf8)
            .write(to: after.appendingPathComponent("linux.config"))
        return (root, before, after)
    }

    @Test func oneFragmentLineShowsTheLineWhatItPulledInAndTheSizeChange() throws {
        let (root, before, after) = try fabricatedOutputs()
        defer { try? FileManager.default.removeItem(at: root) }
        let diff = OutputDiff(try OutputSnapshot.load(before.path), try OutputSnapshot.load(after.path))
        #expect(diff.config?.map(\.line) == [
            "LOCALVERSION \"\" -> \"-x\"", "MISC_FILESYSTEMS n -> y",
            "+SQUASHFS y", "+SQUASHFS_FILE_CACHE y", "+SQUASHFS_ZLIB y",
        ])
        #expect(diff.kernelTotal?.delta == 8_600)
        #expect(diff.kernelSubsystems == [OutputDiff.Change(name: "fs", before: 40_000, after: 48_500),
                                          OutputDiff.Change(name: "kernel", before: 80_000, after: 80_100)])
        #expect(diff.kernelObjects?.map(\.name) == ["fs/squashfs/super.o", "fs/squashfs/block.o", "kernel/sched/core.o"])
        #expect(diff.artifacts == [OutputDiff.Change(name: "Image", before: 3_000_000, after: 3_008_600),
                                   OutputDiff.Change(name: "extra.dtb", before: nil, after: 100)])
        #expect(diff.initramfsFiles == [OutputDiff.Change(name: "/etc/issue", before: nil, after: 12)])
        #expect(diff.components?.map(\.name) == ["linux"])

        let text = diff.text
        #expect(text.contains("  +SQUASHFS y\n"))
        #expect(text.contains("add/remove: 2/0 grow/shrink: 1/0 up/down: 8600/0 (8600)"))
        #expect(text.contains("artifacts: 1 changed, 1 added, 0 removed"))
        #expect(text.contains("linux: 6.1.192 -> 6.1.193"))
        var crafted = diff
        crafted.artifacts[0].name = "Image\u{1B}[2J"
        #expect(!crafted.text.contains("\u{1B}") && crafted.text.contains("Image\\e[2J"))
        let json = String(decoding: try JSONEncoder().encode(diff), as: UTF8.self)
        #expect(json.contains(#""delta":8600"#))
        let page = diff.html
        #expect(page.contains("+SQUASHFS y"))
        #expect(page.contains("fs/squashfs/super.o"))
    }

    @Test func aBuildComparedWithItselfHasNoDifferences() throws {
        let (root, before, _) = try fabricatedOutputs()
        defer { try? FileManager.default.removeItem(at: root) }
        let snapshot = try OutputSnapshot.load(before.appendingPathComponent("manifest.json").path)
        let diff = OutputDiff(snapshot, snapshot)
        #expect(diff.isEmpty)
        #expect(diff.text.hasSuffix("no differences\n"))
    }

    /// Two manifests alone compare their artifacts; the rest needs the folders' other files on both sides.
    @Test func withoutReportsOnlyTheArtifactsAreCompared() throws {
        let (root, before, after) = try fabricatedOutputs()
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.removeItem(at: after.appendingPathComponent("report.json"))
        let diff = OutputDiff(try OutputSnapshot.load(before.path), try OutputSnapshot.load(after.path))
        #expect(diff.kernelObjects == nil && diff.initramfsFiles == nil && diff.components == nil)
        #expect(diff.artifacts.count == 2)
        #expect(!diff.text.contains("kernel size"))
    }

    @Test func badInputNamesTheFileAndWhatIsWrong() throws {
        let (root, before, _) = try fabricatedOutputs()
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(throws: OutputDiffError.self) { try OutputSnapshot.load(root.appendingPathComponent("missing").path) }
        do {
            _ = try OutputSnapshot.load(root.path)
            Issue.record("a folder without manifest.json was accepted")
        } catch {
            #expect(error.description.contains("manifest.json"))
            #expect(error.description.contains("out/BOARD"))
        }
        try Data(#"{"board": 3}"#.utf8).write(to: before.appendingPathComponent("manifest.json"))
        do {
            _ = try OutputSnapshot.load(before.path)
            Issue.record("a manifest with a wrong field was accepted")
        } catch {
            #expect(error.description.contains("not a bspgen manifest"))
        }
        try Data("{}".utf8).write(to: before.appendingPathComponent("report.json"))
        try Data(#"{"board": "b", "artifacts": []}"#.utf8).write(to: before.appendingPathComponent("manifest.json"))
        var future = sampleReport()
        future.format = BuildReport.currentFormat + 1
        try future.encoded().write(to: before.appendingPathComponent("report.json"))
        do {
            _ = try OutputSnapshot.load(before.path)
            Issue.record("a report of a newer format was accepted")
        } catch {
            #expect(error.description.contains("a report of format \(BuildReport.currentFormat + 1)"))
        }
        // Sizes no build has, which sums would overflow: refused, not added up.
        var huge = sampleReport()
        huge.kernel?.objects[0].bytes = Int.max
        try huge.encoded().write(to: before.appendingPathComponent("report.json"))
        do {
            _ = try OutputSnapshot.load(before.path)
            Issue.record("a report with an impossible size was accepted")
        } catch {
            #expect(error.description.contains("kernel.objects.kernel/sched/core.o: \(Int.max) is not a size"))
        }
        try Data(#"{"board": "b", "artifacts": [{"path": "Image", "size": -1, "sha256": "aa"}]}"#.utf8)
            .write(to: before.appendingPathComponent("manifest.json"))
        #expect(throws: OutputDiffError.self) { try OutputSnapshot.load(before.path) }
        try Data(#"{"board": "b", "artifacts": []}"#.utf8).write(to: before.appendingPathComponent("manifest.json"))
        try Data("{}".utf8).write(to: before.appendingPathComponent("report.json"))
        do {
            _ = try OutputSnapshot.load(before.path)
            Issue.record("a report of another format was accepted")
        } catch {
            #expect(error.description.contains("report.json"))
            #expect(error.description.contains("build the board again"))
        }
    }
}

import Foundation
import Testing
@testable import Pipeline

@Suite struct ReproducibilityCheckTests {
    @Test func namesTheFirstDifferingFileAndByteAndFilesOnOneSide() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-repro-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let (a, b) = (root.appendingPathComponent("a"), root.appendingPathComponent("b"))
        for folder in [a, b] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        func write(_ folder: URL, _ name: String, _ text: String) throws { try Data(text.utf8).write(to: folder.appendingPathComponent(name)) }
        try write(a, "Image", "same bytes"); try write(b, "Image", "same bytes")
        try write(a, "initramfs.cpio.gz", "abcdef"); try write(b, "initramfs.cpio.gz", "abcXef")
        try write(a, "manifest.json", "{}"); try write(b, "manifest.json", "{}\n")
        try write(a, "zImage.only-here", "x")

        let check = try ReproducibilityCheck(first: a, second: b)
        #expect(check.identical == ["Image"])
        #expect(check.differences.map(\.description) == [
            "initramfs.cpio.gz differs from byte 3 on (sizes 6 and 6)",
            "manifest.json differs from byte 2 on (sizes 2 and 3)",
            "zImage.only-here exists only in \(a.path)",
        ])
        #expect(try ReproducibilityCheck(first: a, second: a).differences.isEmpty)
    }

    /// The report holds host timings: two builds' reports differ, and that is not a reproducibility failure.
    @Test func leavesTheReportOut() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-repro-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let (a, b) = (root.appendingPathComponent("a"), root.appendingPathComponent("b"))
        for folder in [a, b] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        try Data("same".utf8).write(to: a.appendingPathComponent("Image"))
        try Data("same".utf8).write(to: b.appendingPathComponent("Image"))
        try Data("built in 1.0 s".utf8).write(to: a.appendingPathComponent("report.html"))
        try Data("built in 2.0 s".utf8).write(to: b.appendingPathComponent("report.html"))
        try Data("{}".utf8).write(to: a.appendingPathComponent("report.json"))
        let check = try ReproducibilityCheck(first: a, second: b)
        #expect(check.differences.isEmpty)
        #expect(check.identical == ["Image"])
        #expect(try ArtifactChecker.outputFiles(a) == ["Image"])
    }
}

/// `--check-reproducible` compares the SBOMs and the licence lists too; legal-info, made on request, is left out.
@Suite struct ReproducibilityOfSBOMTests {
    @Test func theDocumentsAndListsInSubfoldersAreCompared() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-repro-sbom-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let (a, b) = (root.appendingPathComponent("a"), root.appendingPathComponent("b"))
        func write(_ folder: URL, _ name: String, _ text: String) throws {
            let url = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        for folder in [a, b] {
            try write(folder, "sbom.cdx.json", "{\"same\": 1}")
            try write(folder, "legal-info/manifest.csv", folder == a ? "one" : "other")
        }
        try write(a, "sbom.spdx.json", "{\"created\": \"2024-01-01T00:00:00Z\"}")
        try write(b, "sbom.spdx.json", "{\"created\": \"2024-01-02T00:00:00Z\"}")
        try write(a, "licences/linux-files.tsv", "init/main.c\tsource\n")
        try write(b, "licences/linux-files.tsv", "init/main.c\tsource\n")
        try write(a, "licences/linux-modules-files.tsv", "kernel/fs/x.ko\n")

        let check = try ReproducibilityCheck(first: a, second: b)
        #expect(check.identical == ["licences/linux-files.tsv", "sbom.cdx.json"])
        #expect(check.differences.map(\.description) == [
            "licences/linux-modules-files.tsv exists only in \(a.path)",
            "sbom.spdx.json differs from byte 22 on (sizes 35 and 35)",
        ])
    }
}

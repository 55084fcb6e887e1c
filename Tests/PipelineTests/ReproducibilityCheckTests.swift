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

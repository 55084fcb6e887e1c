import Foundation
import Testing
@testable import Report

/// The page as a browser lays it out: scripts/check-report.py opens it in headless Chromium (installed by
/// scripts/setup.sh) at 1280 and 390 px and reads back what the page's own script measured.
@Suite(.serialized) struct BrowserCheckTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Writes `page` as `NAME/report.html` in a new folder and runs the check on it: its exit status and output.
    func check(_ page: String, name: String, screenshots: Bool = true) throws -> (status: Int32, output: String, artifacts: URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-browser-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent(name), withIntermediateDirectories: true)
        try Data(page.utf8).write(to: folder.appendingPathComponent("\(name)/report.html"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.root.appendingPathComponent("scripts/check-report.py").path,
                             "--artifacts", folder.appendingPathComponent("shots").path] + (screenshots ? [] : ["--no-screenshots"])
            + [folder.appendingPathComponent("\(name)/report.html").path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output, folder)
    }

    @Test func theReportPassesAtBothWidthsWithScreenshots() throws {
        let result = try check(ReportPage.html(sampleReport()), name: "sample")
        defer { try? FileManager.default.removeItem(at: result.artifacts) }
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("sample 1280 px: 4 stage bars, 4 size bars adding up"))
        #expect(result.output.contains("sample  390 px: 4 stage bars, 4 size bars adding up"))
        for width in [1280, 390] {
            let shot = result.artifacts.appendingPathComponent("shots/sample-\(width).png")
            let header = FileManager.default.contents(atPath: shot.path)?.prefix(8)
            #expect(header == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "a PNG screenshot at \(width) px")
        }
    }

    /// The check fails on what it is there to catch: parts that do not add up, a missing bar, a page too wide.
    @Test func theCheckFailsOnABrokenPage() throws {
        let page = ReportPage.html(sampleReport())
        let total = try #require(page.range(of: "data-total=\""))
        let wrongTotal = page.replacingCharacters(in: total, with: "data-total=\"7")
        let bar = try #require(page.range(of: #"<rect class="stage-bar ran""#))
        let missingBar = page.replacingCharacters(in: bar, with: #"<rect class="gone ran""#)
        let tooWide = page.replacingOccurrences(of: "<section id=\"sizes\">", with: "<div style=\"width:700px;height:2px\"></div><section id=\"sizes\">")
        for (name, broken, expected) in [("total", wrongTotal, "parts add up to"), ("bar", missingBar, "3 bars for 4 stages"),
                                         ("wide", tooWide, "px wide in a 390 px window")] {
            let result = try check(broken, name: name, screenshots: false)
            defer { try? FileManager.default.removeItem(at: result.artifacts) }
            #expect(result.status == 1, "\(name): \(result.output)")
            #expect(result.output.contains(expected), "\(name): \(result.output)")
        }
    }
}

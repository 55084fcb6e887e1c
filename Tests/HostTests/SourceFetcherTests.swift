import BoardModel
@testable import Host
import Foundation
import Testing

@Suite struct SourceFetcherTests {
    /// A cache and a small tarball with one top-level folder, like a release tarball.
    private func fixture() throws -> (workspace: Workspace, tarball: URL, folder: URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-sources-\(UUID().uuidString)")
        let tree = folder.appendingPathComponent("pkg-1.0")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try "all:\n".write(to: tree.appendingPathComponent("Makefile"), atomically: true, encoding: .utf8)
        let tarball = folder.appendingPathComponent("pkg-1.0.tar.gz")
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-czf", tarball.path, "-C", folder.path, "pkg-1.0"]
        try tar.run()
        tar.waitUntilExit()
        return (Workspace(cacheDirectory: folder.appendingPathComponent("cache").path), tarball, folder)
    }

    @Test func tarballWithTheRightChecksumIsUnpackedOnce() async throws {
        let (workspace, tarball, folder) = try fixture()
        defer { try? FileManager.default.removeItem(at: folder) }
        let sum = try Checksum.sha256(of: tarball)
        let fetcher = SourceFetcher(workspace: workspace)
        let tree = try await fetcher.fetch(.tarball(path: tarball.path, sha256: sum), relativeTo: folder, log: folder.appendingPathComponent("log"))
        #expect(tree.root.lastPathComponent == "pkg-1.0")
        #expect(FileManager.default.fileExists(atPath: tree.root.appendingPathComponent("Makefile").path))
        #expect(tree.sha256 == sum)
        let again = try await fetcher.fetch(.tarball(path: "pkg-1.0.tar.gz", sha256: nil), relativeTo: folder, log: folder.appendingPathComponent("log"))
        #expect(again.root == tree.root)
    }

    @Test func checksumMismatchNamesBothSumsAndExtractsNothing() async throws {
        let (workspace, tarball, folder) = try fixture()
        defer { try? FileManager.default.removeItem(at: folder) }
        let wrong = String(repeating: "0", count: 64)
        let actual = try Checksum.sha256(of: tarball)
        await #expect {
            try await SourceFetcher(workspace: workspace).fetch(.tarball(path: tarball.path, sha256: wrong), relativeTo: folder,
                                                                log: folder.appendingPathComponent("log"))
        } throws: { error in
            "\(error)".contains("expected sha256 \(wrong), got \(actual); nothing was extracted")
        }
        #expect(!FileManager.default.fileExists(atPath: workspace.sources.path))
    }

    @Test func directoryWithoutMakefileIsRefused() async throws {
        let (workspace, _, folder) = try fixture()
        defer { try? FileManager.default.removeItem(at: folder) }
        await #expect(throws: HostError.self) {
            try await SourceFetcher(workspace: workspace).fetch(.directory(folder.path), relativeTo: folder, log: folder.appendingPathComponent("log"))
        }
        let tree = try await SourceFetcher(workspace: workspace).fetch(.directory("pkg-1.0"), relativeTo: folder, log: folder.appendingPathComponent("log"))
        #expect(tree.root.lastPathComponent == "pkg-1.0")
    }
}

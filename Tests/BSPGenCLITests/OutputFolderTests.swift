@testable import BSPGenCLI
import Pipeline
import Foundation
import Host
import Testing

/// Every file of a folder by name, to see whether anything in it changed.
private func contents(of folder: URL) throws -> [String: Data] {
    var files: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
        files[name] = try Data(contentsOf: folder.appendingPathComponent(name))
    }
    return files
}

/// Only the build's output stage writes `out/BOARD/`, whole and with the manifest describing it; the commands that
/// make one part leave it in the board's build folder.
@Suite(.serialized) struct OutputFolderTests {
    @Test func configLeavesTheOutputFolderAndItsManifestUntouched() async throws {
        let project = try FakeBoardProject()
        defer { project.cleanUp() }
        let folder = project.output.appendingPathComponent("fake")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // A previous build's output: the manifest lists linux.config with its size and checksum.
        let config = "CONFIG_FROM_THE_LAST_BUILD=y\n"
        try config.write(to: folder.appendingPathComponent("linux.config"), atomically: true, encoding: .utf8)
        try #"{"artifacts": [{"path": "linux.config", "size": \#(config.utf8.count), "sha256": "\#(Checksum.sha256(config))"}]}"#
            .write(to: folder.appendingPathComponent("manifest.json"), atomically: true, encoding: .utf8)
        let before = try contents(of: folder)

        let (bspgen, _) = try project.start(["config", "fake"])
        bspgen.waitUntilExit()
        #expect(bspgen.terminationStatus == 0)
        #expect(try contents(of: folder) == before, "out/fake is written only by the build's output stage")
        let built = try String(contentsOf: project.kernelBuild.appendingPathComponent(".config"), encoding: .utf8)
        #expect(built.contains("CONFIG_PRINTK=y"), "the config is in the build folder")
    }

    @Test func initramfsIsPackedInTheBuildFolderNotInTheOutputFolder() async throws {
        let project = try FakeBoardProject()
        defer { project.cleanUp() }
        let options = try BuildOptions.parse(["--boards", project.boards.path,
                                              "--toolchains", project.toolchains.path,
                                              "--cache-dir", project.cache.path, "--out", project.output.path])
        let environment = try await options.environment("fake")
        let destination = BoardBuild(environment: environment).initramfsDestination.standardizedFileURL.path
        #expect(destination.hasPrefix(project.cache.appendingPathComponent("build/fake").standardizedFileURL.path + "/"))
        #expect(!destination.hasPrefix(project.output.standardizedFileURL.path + "/"))
    }
}

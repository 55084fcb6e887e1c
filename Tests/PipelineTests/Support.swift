import BoardModel
import Pipeline
import Foundation
import Host
import Testing

extension Tag {
    /// Runs the real kernel or BusyBox build system (seconds to minutes); results are cached in the bspgen cache.
    @Tag static var realBuild: Self
}

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A shipped board under another name, so tests build in their own folders of the shared cache (sources are
/// shared with real builds; build directories are not).
func testEnvironment(board name: String, as testName: String) async throws -> BuildEnvironment {
    let catalog = Catalog(boardsDirectory: repositoryRoot.appendingPathComponent("boards"),
                          toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains"))
    var board = try catalog.board(named: name)
    board.board.name = testName
    let toolchain = try await ToolchainResolver.resolve(board.toolchain)
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-test-out-\(UUID().uuidString)")
    return BuildEnvironment(board: board, workspace: Workspace(outputDirectory: output.path), toolchain: toolchain,
                            progress: ProgressLine(quiet: true))
}

func temporaryFile(_ text: String, name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-\(UUID().uuidString)-\(name)")
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url
}

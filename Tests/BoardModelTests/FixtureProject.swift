import BoardModel
import Foundation

/// Every fixture project of this test process is in one folder, removed when the process exits (a catalog may
/// read its project's files after the test is done with the project itself).
private let fixturesFolder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-fixtures-\(getpid())").path
private let fixturesRemovedAtExit: Void = { atexit { try? FileManager.default.removeItem(atPath: fixturesFolder) } }()

/// A throw-away project with one board file, `boards/common/` with the default list and /init, and the
/// repository's own toolchains: each schema test writes the board and the files it names, then loads it.
struct FixtureProject {
    let root: URL
    let board: String

    init(board: String) throws {
        fixturesRemovedAtExit
        root = URL(fileURLWithPath: fixturesFolder).appendingPathComponent("\(board)-\(UUID().uuidString)")
        self.board = board
        for directory in ["boards/\(board)", "boards/common"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
        for file in ["boards/common/base.list", "boards/common/init"] { try write("# fixture\n", to: file) }
    }

    /// `path` relative to the project root; folders are made as needed.
    func write(_ text: String, to path: String) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    func load(_ yaml: String) throws -> Catalog {
        try write(yaml, to: "boards/\(board).yaml")
        return Catalog(boardsDirectory: root.appendingPathComponent("boards"), toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains"))
    }
}

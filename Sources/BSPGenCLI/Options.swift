import ArgumentParser
import BoardModel
import Foundation
import Host

/// Where the board and toolchain descriptions are.
struct ProjectOptions: ParsableArguments {
    @Option(name: .customLong("boards"), help: "Directory of board descriptions.")
    var boardsDirectory = "boards"

    @Option(name: .customLong("toolchains"), help: "Directory of toolchain descriptions.")
    var toolchainsDirectory = "toolchains"

    func catalog(onlyFiles: [URL]? = nil) -> Catalog {
        Catalog(boardsDirectory: URL(fileURLWithPath: boardsDirectory), toolchainsDirectory: URL(fileURLWithPath: toolchainsDirectory),
                onlyFiles: onlyFiles)
    }

    func board(_ name: String) throws -> ResolvedBoard {
        try catalog().board(named: name)
    }
}

/// Where bspgen may write, and where toolchains may be found.
struct WorkspaceOptions: ParsableArguments {
    @Option(name: .customLong("cache-dir"), help: "Cache for sources and stage results (default: $BSPGEN_CACHE or ~/.cache/bspgen).")
    var cacheDirectory: String?

    @Option(name: .customLong("out"), help: "Output directory; each board gets a folder in it.")
    var outputDirectory = "out"

    @Option(name: .customLong("toolchain-dir"), help: "A toolchain installation to search before PATH (its bin/ or itself).")
    var toolchainDirectory: String?

    var workspace: Workspace { Workspace(cacheDirectory: cacheDirectory, outputDirectory: outputDirectory) }
    var toolchainDirectoryURL: URL? { toolchainDirectory.map { URL(fileURLWithPath: $0) } }
}

func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

extension ProjectOptions {
    /// The board commands use when none is named.
    func defaultBoard() throws -> String { "qemu-x86_64" }
}

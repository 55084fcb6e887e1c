import ArgumentParser
import BoardModel
import Foundation
import Host

/// Where the board, toolchain and architecture descriptions are.
struct ProjectOptions: ParsableArguments {
    @Option(name: .customLong("boards"), help: "Directory of board descriptions.")
    var boardsDirectory = "boards"

    @Option(name: .customLong("toolchains"), help: "Directory of toolchain descriptions.")
    var toolchainsDirectory = "toolchains"

    @Option(name: .customLong("arches"), help: "Directory of architecture descriptions.")
    var archesDirectory = "arches"

    func catalog(onlyFiles: [URL]? = nil) -> Catalog {
        Catalog(boardsDirectory: URL(fileURLWithPath: boardsDirectory), toolchainsDirectory: URL(fileURLWithPath: toolchainsDirectory),
                archesDirectory: URL(fileURLWithPath: archesDirectory), onlyFiles: onlyFiles)
    }

    func board(_ name: String) throws -> ResolvedBoard {
        try catalog().board(named: name)
    }

    /// The boards a command was given, every board with `all`, or the project's default for `use`
    /// (`bspgen.yaml`) when none was named.
    func boardNames(_ named: [String], all: Bool = false, default use: DefaultBoardUse = .general) throws -> [String] {
        if all { return catalog().boardNames }
        return named.isEmpty ? [try catalog().defaultBoardName(for: use)] : named
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

/// A small JSON value for commands whose `--json` is a few named strings and lists.
enum JSONValue: Encodable {
    case string(String)
    case strings([String])

    init(_ text: String) { self = .string(text) }
    init(_ texts: [String]) { self = .strings(texts) }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let text): try container.encode(text)
        case .strings(let texts): try container.encode(texts)
        }
    }
}

import Foundation

/// Project-wide choices from `bspgen.yaml` beside `boards/`: which board a command means when none is named.
public struct ProjectSettings: Codable, Sendable, Equatable {
    /// What `build`, `boot` and `test` use without a board name.
    public var defaultBoard: String?
    /// What `bench` measures without a board name.
    public var benchBoard: String?

    enum CodingKeys: String, CodingKey {
        case defaultBoard = "default_board"
        case benchBoard = "bench_board"
    }

    public init(defaultBoard: String? = nil, benchBoard: String? = nil) {
        self.defaultBoard = defaultBoard
        self.benchBoard = benchBoard
    }
}

/// The commands whose board may be left out, each with the setting that names its board.
public enum DefaultBoardUse: Sendable {
    case general, bench

    var field: String {
        switch self {
        case .general: "default_board"
        case .bench: "bench_board"
        }
    }
}

extension Catalog {
    /// The board `bspgen.yaml` names for `use`, or a diagnostic saying where to name one.
    public func defaultBoardName(for use: DefaultBoardUse) throws(DiagnosticList) -> String {
        let name = switch use {
        case .general: settings.defaultBoard
        case .bench: settings.benchBoard ?? settings.defaultBoard
        }
        guard let name else {
            throw DiagnosticList([Diagnostic(SourceLocation(file: settingsFile.path), field: use.field, "no board was named and there is no default",
                                             hint: "name a board, or set '\(use.field): BOARD' in \(settingsFile.path)")])
        }
        return name
    }

}

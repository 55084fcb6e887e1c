import Foundation
import Pipeline

/// Several boards built cold, first one after another (each with the whole `-j` budget), then all at once through
/// `build`'s own path for several boards under the same budget. Both runs start from an empty private cache
/// without ccache and keep it for the whole run, so a stage two boards share (the same BusyBox) is built once in
/// both: the difference between them is how the builds use the machine, not what they reuse.
public struct SeveralBoardsBench: Sendable {
    public typealias Adjust = @Sendable (inout BuildEnvironment) -> Void
    /// Builds one board with the whole budget, its environment changed by `adjust`.
    public typealias BuildOne = @Sendable (_ board: String, _ adjust: @escaping Adjust) async throws -> BoardBuildResult
    /// Builds every board as `bspgen build BOARD... -j N` does, each environment changed by `adjust`.
    public typealias BuildAll = @Sendable (_ boards: [String], _ adjust: @escaping Adjust) async throws -> Void

    public let boards: [String]
    public let jobs: Int
    /// The runs' private cache, emptied before each run and removed at the end.
    public let folder: URL
    public let buildOne: BuildOne
    public let buildAll: BuildAll

    public init(boards: [String], jobs: Int, folder: URL, buildOne: @escaping BuildOne, buildAll: @escaping BuildAll) {
        self.boards = boards
        self.jobs = jobs
        self.folder = folder
        self.buildOne = buildOne
        self.buildAll = buildAll
    }

    public func run() async throws -> SeveralBoardsReport {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        defer { try? FileManager.default.removeItem(at: folder) }
        try? FileManager.default.removeItem(at: folder)
        var sequence: [SeveralBoardsReport.BoardBuild] = []
        for board in boards {
            let (result, measurement) = try await StepMeasurement.of(cores: cores) { try await buildOne(board, BoardBench.cold(in: folder)) }
            sequence.append(SeveralBoardsReport.BoardBuild(board: board, measurement: measurement, note: Self.note(result)))
        }
        try? FileManager.default.removeItem(at: folder)
        let (_, atOnce) = try await StepMeasurement.of(cores: cores) { try await buildAll(boards, BoardBench.cold(in: folder)) }
        return SeveralBoardsReport(boards: boards, jobs: jobs, oneAfterAnother: sequence, atOnce: atOnce,
                                   conditions: BenchConditions.coldBuild + ", one cache for the whole run")
    }

    /// The board's longest stages, and what it found already built by a board before it.
    static func note(_ result: BoardBuildResult) -> String {
        let skipped = result.stages.filter { !$0.ran }.map(\.stage)
        return BoardBench.longestStages(result) + (skipped.isEmpty ? "" : "; skipped: " + skipped.joined(separator: ", "))
    }
}

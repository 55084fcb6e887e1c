import Foundation
import Host

/// Builds several boards side by side under one job budget: `-j N` is the total, so up to N boards build at
/// once, and every make of every board is a client of one jobserver of N tokens: a token a board does not use
/// (its serial config runs, its packing) goes to another's compiles. Results are handed back in the order the
/// boards were named, each as soon as it and every board named before it are done, so reports never interleave.
public struct BoardScheduler: Sendable {
    /// What one board's build gets from the scheduler.
    public struct Slot: Sendable, Equatable {
        /// Parallel make jobs for this board when there is no shared jobserver; nil: the environment's default.
        public var jobs: Int?
        /// Labels the board's progress lines when boards build side by side.
        public var progressPrefix: String?
    }

    public let boards: [String]
    /// How many boards build at once.
    public let parallelBoards: Int
    /// Shared by every board's makes: `totalJobs` tokens (without `-j`, one per CPU).
    public let jobserver: Jobserver?
    /// Make jobs each board gets when several build at once and the jobserver could not be made: an even split.
    public let jobsPerBoard: Int?

    /// `totalJobs` is `-j`; without it boards build one after the other, each with every CPU.
    public init(boards: [String], totalJobs: Int?, processors: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.boards = boards
        parallelBoards = boards.count > 1 ? min(boards.count, max(1, totalJobs ?? 1)) : 1
        jobserver = Jobserver(tokens: max(1, totalJobs ?? processors))
        jobsPerBoard = parallelBoards > 1 && jobserver == nil ? max(1, (totalJobs ?? parallelBoards) / parallelBoards) : nil
    }

    public func slot(for board: String) -> Slot {
        Slot(jobs: jobsPerBoard, progressPrefix: parallelBoards > 1 ? "\(board):" : nil)
    }

    /// Runs `build` for every board, at most `parallelBoards` at once, and `deliver` for each result in the
    /// boards' order. The first error stops the boards still building and is thrown.
    public func run<Result: Sendable>(_ build: @escaping @Sendable (_ board: String, _ slot: Slot) async throws -> Result,
                                      deliver: (_ board: String, _ result: Result) async throws -> Void) async throws {
        let boards = self.boards
        try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            var next = 0
            func start() {
                let index = next
                let board = boards[index]
                let slot = slot(for: board)
                next += 1
                group.addTask { (index, try await build(board, slot)) }
            }
            while next < min(parallelBoards, boards.count) { start() }
            var finished: [Int: Result] = [:]
            var delivered = 0
            while let (index, result) = try await group.next() {
                finished[index] = result
                while delivered < boards.count, let result = finished.removeValue(forKey: delivered) {
                    try await deliver(boards[delivered], result)
                    delivered += 1
                }
                if next < boards.count { start() }
            }
        }
    }
}

import Foundation

/// Builds several boards side by side under one job budget: `-j N` is the total, so up to N boards build at
/// once and each one's makes get an even share of the N jobs. Results are handed back in the order the boards
/// were named, each as soon as it and every board named before it are done, so reports never interleave.
public struct BoardScheduler: Sendable {
    /// What one board's build gets from the scheduler.
    public struct Slot: Sendable, Equatable {
        /// Parallel make jobs for this board; nil: the environment's default (one board builds alone).
        public var jobs: Int?
        /// Labels the board's progress lines when boards build side by side.
        public var progressPrefix: String?
    }

    public let boards: [String]
    /// How many boards build at once.
    public let parallelBoards: Int
    /// Make jobs each board gets when several build at once; nil when one builds at a time.
    public let jobsPerBoard: Int?

    /// `totalJobs` is `-j`; without it boards build one after the other, each with every CPU.
    public init(boards: [String], totalJobs: Int?) {
        self.boards = boards
        parallelBoards = boards.count > 1 ? min(boards.count, max(1, totalJobs ?? 1)) : 1
        jobsPerBoard = parallelBoards > 1 ? max(1, (totalJobs ?? parallelBoards) / parallelBoards) : nil
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

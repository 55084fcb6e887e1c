import Foundation
import Testing
@testable import Pipeline

/// Counts the builds running at once and remembers the most seen.
private actor ConcurrencyGauge {
    private(set) var running = 0
    private(set) var peak = 0
    private(set) var slots: [String: BoardScheduler.Slot] = [:]

    func enter(_ board: String, _ slot: BoardScheduler.Slot) {
        running += 1
        peak = max(peak, running)
        slots[board] = slot
    }

    func leave() { running -= 1 }
}

@Suite struct BoardSchedulerTests {
    @Test func oneBoardOrNoJobCountBuildsOneAtATimeWithTheDefaultJobs() {
        let alone = BoardScheduler(boards: ["a"], totalJobs: 8)
        #expect(alone.parallelBoards == 1)
        #expect(alone.slot(for: "a") == BoardScheduler.Slot(jobs: nil, progressPrefix: nil))
        let withoutJ = BoardScheduler(boards: ["a", "b", "c"], totalJobs: nil)
        #expect(withoutJ.parallelBoards == 1)
        #expect(withoutJ.jobsPerBoard == nil)
        #expect(BoardScheduler(boards: ["a", "b"], totalJobs: nil, processors: 6).jobserver?.tokens == 6)
    }

    /// Through one jobserver of N tokens, not by a fixed split of N between the boards.
    @Test func theJobCountIsSharedBetweenTheBoardsBuiltAtOnce() {
        let scheduler = BoardScheduler(boards: ["a", "b", "c", "d", "e"], totalJobs: 4)
        #expect(scheduler.parallelBoards == 4)
        #expect(scheduler.jobserver?.tokens == 4)
        #expect(scheduler.jobsPerBoard == nil)
        #expect(scheduler.slot(for: "b") == BoardScheduler.Slot(jobs: nil, progressPrefix: "b:"))
        let fewBoards = BoardScheduler(boards: ["a", "b"], totalJobs: 9)
        #expect(fewBoards.parallelBoards == 2)
        #expect(fewBoards.jobserver?.tokens == 9)
    }

    /// Boards named first take longest, so they finish last: the reports must still come in the named order,
    /// and no more boards than the bound may build at once.
    @Test func resultsComeInTheNamedOrderAndAtMostTheBoundBuildAtOnce() async throws {
        let boards = ["a", "b", "c", "d", "e", "f"]
        let scheduler = BoardScheduler(boards: boards, totalJobs: 3)
        let gauge = ConcurrencyGauge()
        var delivered: [String] = []
        try await scheduler.run({ board, slot in
            await gauge.enter(board, slot)
            let index = boards.firstIndex(of: board) ?? 0
            try await Task.sleep(for: .milliseconds(20 * (boards.count - index)))
            await gauge.leave()
            return board.uppercased()
        }, deliver: { board, result in
            #expect(result == board.uppercased())
            delivered.append(board)
        })
        #expect(delivered == boards)
        #expect(await gauge.peak == 3)
        #expect(await gauge.running == 0)
        #expect(await gauge.slots["f"] == BoardScheduler.Slot(jobs: nil, progressPrefix: "f:"))
    }

    @Test func aFailedBuildIsThrownAndNothingAfterItIsDelivered() async throws {
        struct Broken: Error {}
        let scheduler = BoardScheduler(boards: ["a", "b", "c"], totalJobs: 1)
        var delivered: [String] = []
        await #expect(throws: Broken.self) {
            try await scheduler.run({ board, _ in
                if board == "b" { throw Broken() }
                return board
            }, deliver: { board, _ in delivered.append(board) })
        }
        #expect(delivered == ["a"])
    }
}

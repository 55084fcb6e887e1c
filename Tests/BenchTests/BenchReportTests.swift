import Bench
import Foundation
import Host
import Initramfs
import Testing

/// Equal up to floating-point rounding.
private func close(_ value: Double?, _ expected: Double) -> Bool { value.map { abs($0 - expected) < 1e-9 } ?? false }

@Test func ratioIsBspgenOverByHandForTimesAndSizes() {
    #expect(BenchRow(step: "cold build (s)", bspgen: 150, byHand: 300).ratio == 0.5)
    #expect(BenchRow(step: "initramfs (bytes)", unit: .bytes, bspgen: 1_226_189, byHand: 629_867).ratio.map { ($0 * 100).rounded() } == 195)
}

@Test func ratioIsLeftOutWhenASideIsMissingOrZeroOrForUtilisation() {
    #expect(BenchRow(step: "no-op rebuild (s)", bspgen: 0.1).ratio == nil)
    #expect(BenchRow(step: "no-op rebuild (s)", bspgen: nil, byHand: 2).ratio == nil)
    #expect(BenchRow(step: "no-op rebuild (s)", bspgen: 0.1, byHand: 0).ratio == nil)
    #expect(BenchRow(step: "cold build utilisation", unit: .utilisation, bspgen: 0.9, byHand: 0.6).ratio == nil)
}

@Test func utilisationIsCPUOverCoresTimesWall() throws {
    let measurement = StepMeasurement(wallSeconds: 100, childCPUSeconds: 140, ownCPUSeconds: 10, cores: 2)
    #expect(measurement.cpuSeconds == 150)
    #expect(close(measurement.utilisation, 0.75))
    #expect(measurement.cpuBoundSeconds == 75)
    #expect(StepMeasurement(wallSeconds: 0, childCPUSeconds: 1, cores: 2).utilisation == nil)
    // A machine reported with no cores counts as one, never a division by zero.
    #expect(close(StepMeasurement(wallSeconds: 10, childCPUSeconds: 5, cores: 0).utilisation, 0.5))
}

@Test func measurementsOneAfterAnotherAddUp() {
    let sum = StepMeasurement.sum([StepMeasurement(wallSeconds: 100, childCPUSeconds: 180, ownCPUSeconds: 2, cores: 2),
                               StepMeasurement(wallSeconds: 50, childCPUSeconds: 60, ownCPUSeconds: 1, cores: 2)])
    #expect(sum.wallSeconds == 150)
    #expect(sum.cpuSeconds == 243)
    #expect(sum.cores == 2)
    #expect(close(sum.utilisation, 0.81))
}

/// The CPU time of a process bspgen starts and waits for lands in the measurement's children: the bench's CPU
/// figures rest on it.
@Test func measurementCountsTheCPUTimeOfChildProcesses() async throws {
    let (_, measurement) = try await StepMeasurement.of(cores: 2) {
        _ = try await ProcessRunner.checked(Command("sh", ["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"]))
    }
    #expect(measurement.childCPUSeconds > 0.05)
    // No upper bound: getrusage's children are the whole test process's, and other tests' processes end meanwhile.
    #expect(measurement.wallSeconds > 0)
    #if os(Linux)
    // The load is sampled from /proc/loadavg at the step's start at least.
    #expect(measurement.meanLoad != nil)
    #endif
}

@Test func bytesAreGroupedByThousands() {
    #expect(BenchTable.grouped(0) == "0")
    #expect(BenchTable.grouped(999) == "999")
    #expect(BenchTable.grouped(1_000) == "1,000")
    #expect(BenchTable.grouped(1_226_189) == "1,226,189")
    #expect(BenchTable.grouped(-12_345) == "-12,345")
}

@Test func tableLineShowsValuesRatioAndNote() {
    let line = BenchTable.line("qemu-x86_64", BenchRow(step: "cold build (s)", bspgen: 227.04, byHand: 298.5, note: "ran: kernel"))
    #expect(line.hasPrefix("qemu-x86_64      cold build (s)"))
    #expect(line.contains("227.04"))
    #expect(line.contains("298.50"))
    #expect(line.contains("0.76"))
    #expect(line.hasSuffix("  ran: kernel"))

    let size = BenchTable.line("b", BenchRow(step: "initramfs (bytes)", unit: .bytes, bspgen: 1_222_146, byHand: nil))
    #expect(size.contains("1,222,146"))
    #expect(size.split(separator: " ").filter { $0 == "-" }.count == 2)
}

@Test func boardTableStatesHowEachColumnWasMeasured() {
    let report = BoardBenchReport(board: "qemu-x86_64",
                                  conditions: BenchConditions(bspgenCold: BenchConditions.coldBuild, bspgenWarm: BenchConditions.warm(ccache: true),
                                                              byHand: BenchConditions.byHand(jobs: 2), jobs: 2, cores: 2, loadAverage: 1.5),
                                  rows: [BenchRow(step: "cold build (s)", bspgen: 1, byHand: 2)])
    let text = BenchTable.text(report)
    #expect(text.contains("qemu-x86_64: -j2 on 2 cores, load average 1.50 at the start"))
    #expect(text.contains("bspgen cold:  empty private cache"))
    #expect(text.contains("ccache off"))
    #expect(text.contains("bspgen other: the board's cache, ccache on"))
    #expect(text.contains("by hand:      a tutorial's commands one after another, make -j2, plain gcc (no ccache)"))
    #expect(text.contains(BenchTable.header))

    var warmOnly = report
    warmOnly.conditions.bspgenCold = nil
    warmOnly.conditions.byHand = nil
    #expect(!BenchTable.text(warmOnly).contains("bspgen cold:"))
    #expect(!BenchTable.text(warmOnly).contains("by hand:"))
}

@Test func jsonNamesEveryColumnAndTheRatio() throws {
    let report = BenchReport(boards: [BoardBenchReport(
        board: "b",
        conditions: BenchConditions(bspgenCold: nil, bspgenWarm: "w", byHand: nil, jobs: 2, cores: 2, loadAverage: nil),
        rows: [BenchRow(step: "cold build (s)", bspgen: 100, byHand: 200), BenchRow(step: "no-op rebuild (s)", bspgen: 0.1)])])
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let object = try #require(try JSONSerialization.jsonObject(with: encoder.encode(report)) as? [String: Any])
    let board = try #require((object["boards"] as? [[String: Any]])?.first)
    let rows = try #require(board["rows"] as? [[String: Any]])
    #expect(rows[0]["step"] as? String == "cold build (s)")
    #expect(rows[0]["unit"] as? String == "seconds")
    #expect(rows[0]["by_hand"] as? Double == 200)
    #expect(rows[0]["ratio"] as? Double == 0.5)
    // A missing value is null, not left out: every row has the same keys.
    #expect(rows[1]["by_hand"] is NSNull)
    #expect(rows[1]["ratio"] is NSNull)
    let conditions = try #require(board["conditions"] as? [String: Any])
    #expect(conditions["bspgen_warm"] as? String == "w")
    #expect(conditions["jobs"] as? Int == 2)
    #expect(object["several_boards"] == nil || object["several_boards"] is NSNull)
}

@Test func severalBoardsReportComparesAtOnceWithTheCPUBound() throws {
    let report = SeveralBoardsReport(
        boards: ["a", "b"], jobs: 2,
        oneAfterAnother: [.init(board: "a", measurement: StepMeasurement(wallSeconds: 300, childCPUSeconds: 500, cores: 2), note: ""),
                          .init(board: "b", measurement: StepMeasurement(wallSeconds: 200, childCPUSeconds: 300, cores: 2), note: "")],
        atOnce: StepMeasurement(wallSeconds: 440, childCPUSeconds: 800, cores: 2), conditions: "cold")
    #expect(report.oneAfterAnotherTotal.wallSeconds == 500)
    #expect(close(report.oneAfterAnotherTotal.utilisation, 0.8))
    #expect(close(report.atOnceOverCPUBound, 1.1))

    let text = BenchTable.text(report)
    #expect(text.contains("2 boards cold, -j2 on 2 cores: cold"))
    #expect(text.contains("at once / one after another 0.88"))
    #expect(text.contains("target at once: at most 1.10"))

    let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any]
    #expect(close(json?["at_once_wall_over_cpu_bound"] as? Double, 1.1))
    #expect((json?["one_after_another_total"] as? [String: Any])?["wall_seconds"] as? Double == 500)
    #expect(close((json?["at_once"] as? [String: Any])?["utilisation"] as? Double, 800.0 / 880))
}

@Test func archiveDifferenceNamesWhatOnlyOneSideHas() {
    let bspgen: [String: UInt32] = ["bin/busybox": 2_306_168, "init": 2_356, "dev/console": 0, "etc/bspgen/board": 40, "lib/modules/a.ko": 1_000]
    let byHand: [String: UInt32] = ["bin/busybox": 1_100_000, "init": 2_356, "linuxrc": 7]
    let difference = ArchiveDifference(first: bspgen, second: byHand)
    #expect(difference.common == 2)
    #expect(difference.onlyFirst.keys.sorted() == ["dev/console", "etc/bspgen/board", "lib/modules/a.ko"])
    #expect(difference.onlySecond == ["linuxrc": 7])
    #expect(difference.resized.keys.sorted() == ["bin/busybox"])

    let summary = difference.summary(first: "bspgen", second: "by hand", names: 2)
    #expect(summary.hasPrefix("2 entries in both"))
    #expect(summary.contains("only in bspgen's: 3 (1,040 B: dev/console, etc/bspgen/board, ...)"))
    #expect(summary.contains("only in by hand's: 1 (7 B: linuxrc)"))
    #expect(summary.contains("other size: bin/busybox 2,306,168 vs 1,100,000"))
}

@Test func archivesOfTheSameTreeDifferInNothing() {
    let entries: [String: UInt32] = ["bin/busybox": 10, "init": 2]
    let difference = ArchiveDifference(first: entries, second: entries)
    #expect(difference.summary(first: "a", second: "b") == "2 entries in both")
}

/// bspgen's packer and `find . | cpio -o -H newc | gzip -9` name entries differently (`bin/sh` against
/// `./bin/sh`, and `.`): the comparison must see one tree.
@Test func archiveDifferenceReadsBothPackersAsOneTree() async throws {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: work) }
    let tree = work.appendingPathComponent("tree")
    try FileManager.default.createDirectory(at: tree.appendingPathComponent("bin"), withIntermediateDirectories: true)
    try Data(repeating: 7, count: 5_000).write(to: tree.appendingPathComponent("bin/tool"))
    try Data("#!/bin/sh\n".utf8).write(to: tree.appendingPathComponent("init"))
    let ours = work.appendingPathComponent("ours.cpio.gz")
    let theirs = work.appendingPathComponent("theirs.cpio.gz")
    _ = try InitramfsPacker(sourceDateEpoch: 1_704_067_200).pack([.directory(tree)], to: ours, compression: .gzip)
    try await ProcessRunner.checked(Command("sh", ["-c", "find . | cpio -o -H newc 2>/dev/null | gzip -9 > \(shellQuote(theirs.path))"],
                                            workingDirectory: tree))

    let same = try ArchiveDifference(first: ours, second: theirs)
    #expect(same.common == 3)
    #expect(same.onlyFirst.isEmpty && same.onlySecond.isEmpty && same.resized.isEmpty)

    try Data(repeating: 8, count: 10).write(to: tree.appendingPathComponent("extra"))
    try await ProcessRunner.checked(Command("sh", ["-c", "find . | cpio -o -H newc 2>/dev/null | gzip -9 > \(shellQuote(theirs.path))"],
                                            workingDirectory: tree))
    #expect(try ArchiveDifference(first: ours, second: theirs).onlySecond == ["extra": 10])
}

@Test func summedLoadIsWeightedByWallTime() {
    let sum = StepMeasurement.sum([StepMeasurement(wallSeconds: 300, childCPUSeconds: 1, cores: 2, meanLoad: 4),
                               StepMeasurement(wallSeconds: 100, childCPUSeconds: 1, cores: 2, meanLoad: 8),
                               StepMeasurement(wallSeconds: 100, childCPUSeconds: 1, cores: 2)])
    #expect(close(sum.meanLoad, 5))
    #expect(StepMeasurement.sum([StepMeasurement(wallSeconds: 1, childCPUSeconds: 1, cores: 2)]).meanLoad == nil)
}

@Test func linksCompareByTargetNotByHowEachPackerCountsTheirSize() async throws {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: work) }
    let tree = work.appendingPathComponent("tree")
    try FileManager.default.createDirectory(at: tree.appendingPathComponent("bin"), withIntermediateDirectories: true)
    try Data("x".utf8).write(to: tree.appendingPathComponent("bin/busybox"))
    try FileManager.default.createSymbolicLink(atPath: tree.appendingPathComponent("bin/sh").path, withDestinationPath: "busybox")
    let ours = work.appendingPathComponent("ours.cpio.gz")
    let theirs = work.appendingPathComponent("theirs.cpio.gz")
    _ = try InitramfsPacker(sourceDateEpoch: 1_704_067_200).pack([.directory(tree)], to: ours, compression: .gzip)
    try await ProcessRunner.checked(Command("sh", ["-c", "find . | cpio -o -H newc 2>/dev/null | gzip -9 > \(shellQuote(theirs.path))"],
                                            workingDirectory: tree))
    let difference = try ArchiveDifference(first: ours, second: theirs)
    #expect(difference.resized.isEmpty)
    #expect(difference.common == 3)

    try FileManager.default.removeItem(at: tree.appendingPathComponent("bin/sh"))
    try FileManager.default.createSymbolicLink(atPath: tree.appendingPathComponent("bin/sh").path, withDestinationPath: "/bin/busybox")
    _ = try InitramfsPacker(sourceDateEpoch: 1_704_067_200).pack([.directory(tree)], to: ours, compression: .gzip)
    #expect(try ArchiveDifference(first: ours, second: theirs).resized.keys.sorted() == ["bin/sh"])
}

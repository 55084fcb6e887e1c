import Foundation

/// What a bench value counts.
public enum BenchUnit: String, Sendable, Codable {
    case seconds
    case bytes
    /// A share of the machine: CPU seconds / (cores × wall).
    case utilisation
}

/// One measurement of `bspgen bench`: bspgen's value beside the same step by hand.
public struct BenchRow: Sendable, Equatable, Encodable {
    public var step: String
    public var unit: BenchUnit
    public var bspgen: Double?
    public var byHand: Double?
    public var note: String

    public init(step: String, unit: BenchUnit = .seconds, bspgen: Double?, byHand: Double? = nil, note: String = "") {
        self.step = step
        self.unit = unit
        self.bspgen = bspgen
        self.byHand = byHand
        self.note = note
    }

    /// bspgen / by hand, below 1 when bspgen is faster or smaller; none for utilisation, which is read as it is.
    public var ratio: Double? {
        guard unit != .utilisation, let bspgen, let byHand, byHand > 0 else { return nil }
        return bspgen / byHand
    }

    enum CodingKeys: String, CodingKey { case step, unit, bspgen, byHand = "by_hand", ratio, note }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(step, forKey: .step)
        try container.encode(unit, forKey: .unit)
        try container.encode(bspgen, forKey: .bspgen)
        try container.encode(byHand, forKey: .byHand)
        try container.encode(ratio, forKey: .ratio)
        try container.encode(note, forKey: .note)
    }
}

/// How each column was measured, printed above the rows: a cold build is only comparable with another cold one.
public struct BenchConditions: Sendable, Equatable, Codable {
    /// bspgen's cold build.
    public var bspgenCold: String?
    /// bspgen's other steps.
    public var bspgenWarm: String
    public var byHand: String?
    /// `-j`: the make jobs of both columns.
    public var jobs: Int
    public var cores: Int
    /// The machine's 1-minute load average when the board's bench began.
    public var loadAverage: Double?

    public init(bspgenCold: String?, bspgenWarm: String, byHand: String?, jobs: Int, cores: Int, loadAverage: Double?) {
        self.bspgenCold = bspgenCold
        self.bspgenWarm = bspgenWarm
        self.byHand = byHand
        self.jobs = jobs
        self.cores = cores
        self.loadAverage = loadAverage
    }

    enum CodingKeys: String, CodingKey {
        case bspgenCold = "bspgen_cold", bspgenWarm = "bspgen_warm", byHand = "by_hand", jobs, cores, loadAverage = "load_average"
    }

    /// bspgen's cold build: nothing of an earlier build can be reused.
    public static let coldBuild = "empty private cache (kernel, BusyBox, U-Boot all compiled; no shared build), ccache off"
    /// What both sides start from: the bench measures building, not downloading.
    public static let sourcesNote = "sources already unpacked (and patched) on both sides"

    public static func warm(ccache: Bool) -> String { "the board's cache, ccache \(ccache ? "on" : "off")" }

    public static func byHand(jobs: Int) -> String {
        "a tutorial's commands one after another, make -j\(jobs), plain gcc (no ccache); cold compiles everything"
    }
}

/// One board's measurements.
public struct BoardBenchReport: Sendable, Equatable, Encodable {
    public var board: String
    public var conditions: BenchConditions
    public var rows: [BenchRow]

    public init(board: String, conditions: BenchConditions, rows: [BenchRow]) {
        self.board = board
        self.conditions = conditions
        self.rows = rows
    }
}

/// Several boards built cold one after another, then all at once under the same `-j` budget.
public struct SeveralBoardsReport: Sendable, Equatable, Encodable {
    public struct BoardBuild: Sendable, Equatable, Encodable {
        public var board: String
        public var measurement: StepMeasurement
        /// The stages that ran: a later board may reuse what an earlier one built (the same BusyBox).
        public var note: String

        public init(board: String, measurement: StepMeasurement, note: String) {
            self.board = board
            self.measurement = measurement
            self.note = note
        }
    }

    public var boards: [String]
    public var jobs: Int
    public var oneAfterAnother: [BoardBuild]
    public var atOnce: StepMeasurement
    public var conditions: String

    public init(boards: [String], jobs: Int, oneAfterAnother: [BoardBuild], atOnce: StepMeasurement, conditions: String) {
        self.boards = boards
        self.jobs = jobs
        self.oneAfterAnother = oneAfterAnother
        self.atOnce = atOnce
        self.conditions = conditions
    }

    public var oneAfterAnotherTotal: StepMeasurement { StepMeasurement.sum(oneAfterAnother.map(\.measurement)) }

    /// The at-once wall time against what its CPU seconds allow on these cores; the target is at most 1.1.
    public var atOnceOverCPUBound: Double? {
        atOnce.cpuBoundSeconds > 0 ? atOnce.wallSeconds / atOnce.cpuBoundSeconds : nil
    }

    enum CodingKeys: String, CodingKey {
        case boards, jobs, oneAfterAnother = "one_after_another", oneAfterAnotherTotal = "one_after_another_total"
        case atOnce = "at_once", atOnceOverCPUBound = "at_once_wall_over_cpu_bound", conditions
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(boards, forKey: .boards)
        try container.encode(jobs, forKey: .jobs)
        try container.encode(oneAfterAnother, forKey: .oneAfterAnother)
        try container.encode(oneAfterAnotherTotal, forKey: .oneAfterAnotherTotal)
        try container.encode(atOnce, forKey: .atOnce)
        try container.encode(atOnceOverCPUBound, forKey: .atOnceOverCPUBound)
        try container.encode(conditions, forKey: .conditions)
    }
}

/// Everything one `bspgen bench` measured, as `--json` prints it.
public struct BenchReport: Sendable, Equatable, Encodable {
    public var boards: [BoardBenchReport]
    public var severalBoards: SeveralBoardsReport?

    public init(boards: [BoardBenchReport], severalBoards: SeveralBoardsReport? = nil) {
        self.boards = boards
        self.severalBoards = severalBoards
    }

    enum CodingKeys: String, CodingKey { case boards, severalBoards = "several_boards" }
}

/// The bench's reports as text tables.
public enum BenchTable {
    public static let header = "board            step                           bspgen     by hand   ratio  note"

    /// The conditions, the column header and one line per row.
    public static func text(_ report: BoardBenchReport) -> String {
        let conditions = report.conditions
        var lines = ["\(report.board): -j\(conditions.jobs) on \(conditions.cores) cores"
                     + (conditions.loadAverage.map { String(format: ", load average %.2f at the start", $0) } ?? "")]
        if let cold = conditions.bspgenCold { lines.append("  bspgen cold:  \(cold)") }
        lines.append("  bspgen other: \(conditions.bspgenWarm)")
        if let byHand = conditions.byHand { lines.append("  by hand:      \(byHand)") }
        lines.append("  both:         \(BenchConditions.sourcesNote)")
        lines.append(header)
        lines += report.rows.map { line(report.board, $0) }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func line(_ board: String, _ row: BenchRow) -> String {
        board.padded(16) + " " + row.step.padded(29)
            + value(row.bspgen, row.unit).leftPadded(10) + value(row.byHand, row.unit).leftPadded(12)
            + (row.ratio.map { String(format: "%.2f", $0) } ?? "-").leftPadded(8) + (row.note.isEmpty ? "" : "  " + row.note)
    }

    public static func value(_ number: Double?, _ unit: BenchUnit) -> String {
        guard let number else { return "-" }
        switch unit {
        case .bytes: return grouped(Int(number.rounded()))
        case .seconds, .utilisation: return String(format: "%.2f", number)
        }
    }

    /// Bytes with thousands separators, as the README's tables write them.
    public static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var text = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { text.append(",") }
            text.append(digit)
        }
        return (value < 0 ? "-" : "") + text
    }

    public static func text(_ report: SeveralBoardsReport) -> String {
        let sequence = report.oneAfterAnotherTotal
        let atOnce = report.atOnce
        func seconds(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "-" }
        var lines = ["\(report.boards.count) boards cold, -j\(report.jobs) on \(atOnce.cores) cores: \(report.conditions)",
                     "step".padded(46) + "one after another".leftPadded(18) + "at once".leftPadded(10)]
        func row(_ step: String, _ first: String, _ second: String, _ note: String = "") {
            lines.append(step.padded(46) + first.leftPadded(18) + second.leftPadded(10) + (note.isEmpty ? "" : "  " + note))
        }
        row("wall (s)", seconds(sequence.wallSeconds), seconds(atOnce.wallSeconds),
            sequence.wallSeconds > 0 ? String(format: "at once / one after another %.2f", atOnce.wallSeconds / sequence.wallSeconds) : "")
        row("CPU (s)", seconds(sequence.cpuSeconds), seconds(atOnce.cpuSeconds), "user + system of every process, bspgen's own included")
        row("utilisation", seconds(sequence.utilisation), seconds(atOnce.utilisation), "CPU / (cores × wall)")
        row("mean load", seconds(sequence.meanLoad), seconds(atOnce.meanLoad), "above the cores, other work took CPU too")
        row("CPU / cores (s)", seconds(sequence.cpuBoundSeconds), seconds(atOnce.cpuBoundSeconds), "the least wall time that CPU allows")
        row("wall / (CPU / cores)", seconds(sequence.cpuBoundSeconds > 0 ? sequence.wallSeconds / sequence.cpuBoundSeconds : nil),
            seconds(report.atOnceOverCPUBound), "target at once: at most 1.10")
        for build in report.oneAfterAnother {
            row("  \(build.board) (s)", seconds(build.measurement.wallSeconds), "-",
                String(format: "CPU %.1f s, utilisation %.2f; ", build.measurement.cpuSeconds, build.measurement.utilisation ?? 0) + build.note)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension String {
    func padded(_ width: Int) -> String { count >= width ? self : padding(toLength: width, withPad: " ", startingAt: 0) }
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

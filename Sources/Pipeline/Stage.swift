import Foundation
import Host

/// Builds a stage key from named inputs. The names make keys of different stages differ and let a later run
/// say which input changed; the parts are kept in the stage record for that.
struct StageKey {
    private(set) var parts: [(name: String, value: String)] = []

    /// A value longer than this is recorded by its hash.
    private static let longValue = 160

    mutating func add(_ name: String, _ value: String) {
        var unique = name
        var number = 2
        while parts.contains(where: { $0.name == unique }) {
            unique = "\(name) #\(number)"
            number += 1
        }
        parts.append((unique, value.count > Self.longValue ? "sha256:" + Checksum.sha256(value) : value))
    }

    /// By content and file name, not by path: another checkout of the same boards reuses the results.
    mutating func addFile(_ name: String, _ url: URL) throws {
        add("\(name) \(url.lastPathComponent)", try Checksum.sha256(of: url))
    }

    func encodable<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? String(describing: value)
    }

    var inputs: [String: String] { Dictionary(parts.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first }) }
    var value: String { Checksum.sha256(parts.map { "\($0.name)=\($0.value)" }.joined(separator: "\n")) }
}

/// A stage's record of the inputs its result was made from. It is written last, after the result is complete,
/// so an interrupted stage is never taken for a finished one.
struct StageRecord: Codable, Equatable {
    var key: String
    /// The named parts of the key, so that the next run can say which one changed.
    var inputs: [String: String]?
    var notes: [String] = []
    /// sha256 of result files, so that a result edited behind bspgen's back (menuconfig, by hand) is not reused.
    var outputs: [String: String] = [:]

    init(key: StageKey, notes: [String] = [], outputs: [URL] = []) throws {
        self.key = key.value
        inputs = key.inputs
        self.notes = notes
        self.outputs = Dictionary(uniqueKeysWithValues: try outputs.map { ($0.path, try Checksum.sha256(of: $0)) })
    }

    static func read(_ url: URL) -> StageRecord? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(StageRecord.self, from: data)
    }

    func write(_ url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: url)
    }

    /// Why a stage with the record at `url` must run for `key`, or nil when its result can be reused.
    /// `required` are results that must exist (beyond the recorded outputs, which must also be unedited).
    static func staleness(of url: URL, for key: StageKey, required: [URL] = [], forced: String? = nil) -> [String]? {
        if let forced { return [forced] }
        guard let record = read(url) else {
            return [FileManager.default.fileExists(atPath: url.path) ? "stage record unreadable" : "no previous record"]
        }
        var reasons: [String] = []
        if record.key != key.value {
            if let old = record.inputs {
                let new = key.inputs
                for name in Set(old.keys).union(new.keys).sorted() {
                    switch (old[name], new[name]) {
                    case let (before?, after?) where before != after: reasons.append("\(name) changed")
                    case (nil, _?): reasons.append("\(name) added")
                    case (_?, nil): reasons.append("\(name) removed")
                    default: break
                    }
                }
                if reasons.isEmpty { reasons.append("order of inputs changed") }
            } else {
                reasons.append("record from an older bspgen")
            }
        }
        for (path, sum) in record.outputs.sorted(by: { $0.key < $1.key }) {
            let name = URL(fileURLWithPath: path).lastPathComponent
            if !FileManager.default.fileExists(atPath: path) {
                reasons.append("output \(name) missing")
            } else if (try? Checksum.sha256(of: URL(fileURLWithPath: path))) != sum {
                reasons.append("output \(name) edited since")
            }
        }
        for url in required where record.outputs[url.path] == nil && !FileManager.default.fileExists(atPath: url.path) {
            reasons.append("output \(url.lastPathComponent) missing")
        }
        return reasons.isEmpty ? nil : reasons
    }
}

/// What happened to one stage in one build, for `bspgen build --explain`.
public struct StageReport: Sendable, Codable, Equatable {
    public var stage: String
    public var ran: Bool
    /// Why it ran (inputs that changed), or why it was skipped.
    public var reasons: [String]
    public var seconds: Double
    /// When it started, in seconds since the board's build began: with `seconds`, the stage's bar on a timeline.
    public var started: Double
    /// e.g. ccache's hits and misses for a compile stage.
    public var detail: String?

    public init(stage: String, ran: Bool, reasons: [String], seconds: Double, started: Double = 0, detail: String? = nil) {
        self.stage = stage
        self.ran = ran
        self.reasons = reasons
        self.seconds = seconds
        self.started = started
        self.detail = detail
    }
}

/// The stage reports of one board's build, in the order the stages ended.
public final class StageJournal: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [StageReport] = []
    /// The moment the board's build began: stage start times count from it.
    public let origin = Date()

    public init() {}

    public var reports: [StageReport] { lock.withLock { entries } }

    func add(_ report: StageReport) { lock.withLock { entries.append(report) } }

    func skipped(_ stage: String, _ reason: String) {
        add(StageReport(stage: stage, ran: false, reasons: [reason], seconds: 0, started: Date().timeIntervalSince(origin)))
    }

    func ran(_ stage: String, because reasons: [String], since start: Date, detail: String? = nil) {
        add(StageReport(stage: stage, ran: true, reasons: reasons, seconds: Date().timeIntervalSince(start),
                        started: start.timeIntervalSince(origin), detail: detail))
    }
}

/// One step of a board's build as the runner sees it: its name, the named inputs its result depends on (the
/// key), where its record lives and which files it leaves. The step's work is the closure given to `run`.
struct Stage {
    var name: String
    var key: StageKey
    var record: URL
    /// Result files: they must exist, and their sha256 goes into the record, so that a result edited behind
    /// bspgen's back is not reused.
    var outputs: [URL] = []
    /// Runs the stage whatever its record says (extra fragments, an explicit command), with this reason.
    var forced: String?
    /// A second record that explains what changed when `record` is new: for results shared between boards in a
    /// folder named by the key, where a changed input means a new folder.
    var history: URL?
    /// What the progress line and the journal say when the stage is skipped.
    var skipNote = "inputs unchanged"
    /// The log the stage's tools write to (`logs/<logName>.log`), named by errors.
    var logName: String

    init(_ name: String, key: StageKey, record: URL, outputs: [URL] = [], logName: String? = nil) {
        self.name = name
        self.logName = logName ?? name.replacingOccurrences(of: " ", with: "-")
        self.key = key
        self.record = record
        self.outputs = outputs
    }
}

/// What a stage's work reports back to the runner.
struct StageWork {
    /// Kept in the record and handed back when the stage is skipped (e.g. the config proof's warnings).
    var notes: [String] = []
    /// For `--explain`, e.g. ccache's hit rate.
    var detail: String?
}

struct StageOutcome {
    var ran: Bool
    var notes: [String]
}

extension BuildEnvironment {
    /// The one place that decides whether a stage runs: key and outputs against its record, then the work, the
    /// record written last (so an interrupted stage is never taken for a finished one), timing and the journal.
    @discardableResult
    func run(_ stage: Stage, _ work: () async throws -> StageWork) async throws -> StageOutcome {
        var stale = StageRecord.staleness(of: stage.record, for: stage.key, required: stage.outputs, forced: stage.forced)
        if stale == ["no previous record"], let history = stage.history,
           let changed = StageRecord.staleness(of: history, for: stage.key), changed != ["no previous record"] {
            stale = changed
        }
        guard let stale else {
            let record = StageRecord.read(stage.record)
            if let history = stage.history { try? StageRecord(key: stage.key).write(history) }
            progress.skip(stage.name, stage.skipNote)
            journal.skipped(stage.name, stage.skipNote)
            return StageOutcome(ran: false, notes: record?.notes ?? [])
        }
        let start = Date()
        try? FileManager.default.removeItem(at: stage.record)
        try FileManager.default.createDirectory(at: stage.record.deletingLastPathComponent(), withIntermediateDirectories: true)
        let result = try await work()
        for output in stage.outputs where !FileManager.default.fileExists(atPath: output.path) {
            throw BuildError.missingOutput(what: "stage '\(stage.name)'", path: output.path, log: log(stage.logName))
        }
        try StageRecord(key: stage.key, notes: result.notes, outputs: stage.outputs).write(stage.record)
        if let history = stage.history { try? StageRecord(key: stage.key).write(history) }
        journal.ran(stage.name, because: stale, since: start, detail: result.detail)
        return StageOutcome(ran: true, notes: result.notes)
    }

    /// A step that keeps its own cache (an unpacked source tree): journaled like a stage.
    func note(external name: String, ranBecause reason: String?, since start: Date, detail: String) {
        if let reason {
            journal.ran(name, because: [reason], since: start, detail: detail)
        } else {
            journal.skipped(name, detail)
        }
    }
}


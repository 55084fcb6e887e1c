import BoardModel
import Foundation
import Host

/// What every stage of one board's build needs: the board, where to write, the compiler, how to report.
public struct BuildEnvironment: Sendable {
    public var board: ResolvedBoard
    public var workspace: Workspace
    public var toolchain: HostToolchain
    public var progress: ProgressLine
    public var jobs: Int
    /// Stamped on everything that has no time of its own (initramfs entries, kernel build timestamp).
    public var sourceDateEpoch: Int64

    public init(board: ResolvedBoard, workspace: Workspace, toolchain: HostToolchain, progress: ProgressLine,
                jobs: Int = ProcessInfo.processInfo.activeProcessorCount, sourceDateEpoch: Int64? = nil) {
        self.board = board
        self.workspace = workspace
        self.toolchain = toolchain
        self.progress = progress
        self.jobs = max(1, jobs)
        self.sourceDateEpoch = sourceDateEpoch ?? Self.sourceDateEpochFromEnvironment()
    }

    /// SOURCE_DATE_EPOCH when set, else a fixed date (2024-01-01), recorded in the manifest.
    public static func sourceDateEpochFromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int64 {
        environment["SOURCE_DATE_EPOCH"].flatMap { Int64($0) } ?? 1_704_067_200
    }

    public var buildDirectory: URL { workspace.build(board.name) }
    public func log(_ name: String) -> URL { workspace.logs(board.name).appendingPathComponent("\(name).log") }
}

public enum BuildError: Error, CustomStringConvertible {
    case kernelConfig(problems: [String], config: URL, log: URL)
    case missingOutput(what: String, path: String, log: URL)
    case wrongBinary(path: String, message: String)
    case deviceTree(file: String, message: String)
    case bootFile(name: String, message: String)
    case image(name: String, message: String)

    public var description: String {
        switch self {
        case let .kernelConfig(problems, config, log):
            return "Kconfig did not keep \(problems.count) option(s) the fragments asked for:\n"
                + problems.map { "  " + $0.replacingOccurrences(of: "\n", with: "\n  ") }.joined(separator: "\n")
                + "\n    resulting config: \(config.path)\n    log: \(log.path)"
                + "\n    hint: fix the fragment, or mark a line '# optional' if losing it is acceptable"
        case let .missingOutput(what, path, log):
            return "\(what) was not produced at \(path)\n    log: \(log.path)"
        case let .wrongBinary(path, message), let .deviceTree(path, message):
            return "\(path): \(message)"
        case let .bootFile(name, message):
            return "boot file \(name): \(message)"
        case let .image(name, message):
            return "image \(name): \(message)"
        }
    }
}

/// A stage's record of the inputs its result was made from. It is written last, after the result is complete,
/// so an interrupted stage is never taken for a finished one.
struct StageRecord: Codable, Equatable {
    var key: String
    var notes: [String] = []
    /// sha256 of result files, so that a result edited behind bspgen's back (menuconfig, by hand) is not reused.
    var outputs: [String: String] = [:]

    /// Whether this record is for `key` and every recorded output still has its recorded content.
    func matches(_ key: String) -> Bool {
        self.key == key && outputs.allSatisfy { path, sum in (try? Checksum.sha256(of: URL(fileURLWithPath: path))) == sum }
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
}

/// Builds a stage key from named inputs; the names keep keys of different stages from colliding.
struct StageKey {
    private var parts: [String] = []

    mutating func add(_ name: String, _ value: String) { parts.append("\(name)=\(value)") }

    /// By content and file name, not by path: another checkout of the same boards reuses the results.
    mutating func addFile(_ name: String, _ url: URL) throws {
        add(name, url.lastPathComponent + ":" + (try Checksum.sha256(of: url)))
    }

    var value: String { Checksum.sha256(parts.joined(separator: "\n")) }
}

import Foundation
import Kconfig
import UserInput

/// What `bspgen diff` compares of one build: read from an output folder (its `manifest.json`, `linux.config`
/// and `report.json`), or from a lone `manifest.json` (then only the artifacts and, when the manifest's folder
/// has them, the rest).
public struct OutputSnapshot: Sendable, Equatable {
    public var name: String
    public var board: String
    public var artifacts: [ArtifactEntry]
    /// `linux.config` as symbol → value (`n` for `# CONFIG_X is not set`, as scripts/diffconfig reads it).
    public var config: [String: String]?
    public var report: BuildReport?

    public init(name: String, board: String, artifacts: [ArtifactEntry], config: [String: String]? = nil, report: BuildReport? = nil) {
        self.name = name
        self.board = board
        self.artifacts = artifacts
        self.config = config
        self.report = report
    }

    /// The parts of `manifest.json` a diff needs; the rest of it is not read.
    struct ManifestFacts: Decodable {
        var board: String
        var artifacts: [ArtifactEntry]
    }

    /// `path` is an output folder or a `manifest.json`. The manifest is required; `linux.config` and
    /// `report.json` are compared when both sides have them.
    public static func load(_ path: String) throws(OutputDiffError) -> OutputSnapshot {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw OutputDiffError(path: path, reason: "does not exist; name an output folder (out/BOARD) or its manifest.json")
        }
        let folder = isFolder.boolValue ? URL(fileURLWithPath: path) : URL(fileURLWithPath: path).deletingLastPathComponent()
        let manifestPath = isFolder.boolValue ? folder.appendingPathComponent("manifest.json").path : path
        let facts: ManifestFacts
        do {
            facts = try JSONDecoder().decode(ManifestFacts.self, from: Data(try UserFile.read(manifestPath, limit: UserFile.Limit.text)))
        } catch let error as UserFileError {
            throw OutputDiffError(path: manifestPath, reason: error.reason + (isFolder.boolValue ? "; is this a bspgen output folder (out/BOARD)?" : ""))
        } catch {
            throw OutputDiffError(path: manifestPath, reason: "not a bspgen manifest: \(Self.reason(error))")
        }
        if let artifact = facts.artifacts.first(where: { !(0...BuildReport.largestSize).contains($0.size) }) {
            throw OutputDiffError(path: manifestPath, reason: "artifact '\(artifact.path)': \(artifact.size) is not a file size")
        }
        var snapshot = OutputSnapshot(name: path, board: facts.board, artifacts: facts.artifacts)
        let configPath = folder.appendingPathComponent("linux.config").path
        if FileManager.default.fileExists(atPath: configPath) {
            do {
                let text = String(decoding: try UserFile.read(configPath, limit: UserFile.Limit.text), as: UTF8.self)
                snapshot.config = try KconfigFile.parse(text: text, name: configPath).values.mapValues { value in
                    if case .string(let string) = value { return "\"\(string)\"" }
                    return value.description
                }
            } catch let error as UserFileError {
                throw OutputDiffError(path: configPath, reason: error.reason)
            } catch {
                throw OutputDiffError(path: configPath, reason: "\(error)")
            }
        }
        let reportPath = folder.appendingPathComponent(BuildReport.dataFileName).path
        if FileManager.default.fileExists(atPath: reportPath) {
            do {
                let report = try BuildReport.decode(Data(try UserFile.read(reportPath, limit: UserFile.Limit.text)))
                guard report.format == BuildReport.currentFormat else {
                    throw OutputDiffError(path: reportPath, reason: "a report of format \(report.format), this bspgen reads format "
                                          + "\(BuildReport.currentFormat); build the board again to rewrite it")
                }
                if let problem = report.problems.first {
                    throw OutputDiffError(path: reportPath, reason: "not a report bspgen wrote: \(problem)"
                                          + (report.problems.count > 1 ? " (and \(report.problems.count - 1) more)" : "")
                                          + "; build the board again to rewrite it")
                }
                snapshot.report = report
            } catch let error as OutputDiffError {
                throw error
            } catch let error as UserFileError {
                throw OutputDiffError(path: reportPath, reason: error.reason)
            } catch {
                throw OutputDiffError(path: reportPath, reason: "not a report of this bspgen (\(Self.reason(error))); build the board again to rewrite it")
            }
        }
        return snapshot
    }

    static func reason(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "no field '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type"
        case DecodingError.dataCorrupted(let context): "not JSON (\(context.debugDescription))"
        default: "\(error)"
        }
    }
}

public struct OutputDiffError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String

    public var description: String { "\(UserText.escaped(path)): \(reason)" }
}

/// Two builds compared, as `bspgen diff` prints it: artifacts, kernel options (as scripts/diffconfig), the kernel
/// per subsystem and per object (as scripts/bloat-o-meter), initramfs files and SBOM components.
public struct OutputDiff: Codable, Sendable, Equatable {
    public struct Change: Codable, Sendable, Equatable {
        public var name: String
        /// nil: absent on that side.
        public var before: Int?
        public var after: Int?
        public var delta: Int { (after ?? 0) - (before ?? 0) }

        enum CodingKeys: String, CodingKey { case name, before, after, delta }

        public init(name: String, before: Int?, after: Int?) {
            self.name = name
            self.before = before
            self.after = after
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            before = try container.decodeIfPresent(Int.self, forKey: .before)
            after = try container.decodeIfPresent(Int.self, forKey: .after)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(before, forKey: .before)
            try container.encode(after, forKey: .after)
            try container.encode(delta, forKey: .delta)
        }
    }

    public struct ConfigChange: Codable, Sendable, Equatable {
        public var symbol: String
        public var before: String?
        public var after: String?

        /// As scripts/diffconfig prints it: `-FOO y`, `+FOO y`, `FOO n -> y`.
        public var line: String {
            switch (before, after) {
            case let (old?, new?): "\(symbol) \(old) -> \(new)"
            case let (old?, nil): "-\(symbol) \(old)"
            case let (nil, new?): "+\(symbol) \(new)"
            case (nil, nil): symbol
            }
        }
    }

    public var before: String
    public var after: String
    /// Files of the manifests that were added, removed or changed (sha256), with their sizes.
    public var artifacts: [Change]
    /// nil: a side has no `linux.config`.
    public var config: [ConfigChange]?
    /// Per subsystem, then per object, only what changed; nil when a side has no kernel sizes.
    public var kernelSubsystems: [Change]?
    public var kernelObjects: [Change]?
    public var kernelTotal: Change?
    public var initramfsFiles: [Change]?
    public var initramfsTotal: Change?
    public var components: [ComponentChange]?

    public struct ComponentChange: Codable, Sendable, Equatable {
        public var name: String
        public var before: String?
        public var after: String?
    }

    public var isEmpty: Bool {
        artifacts.isEmpty && (config ?? []).isEmpty && (kernelObjects ?? []).isEmpty && (initramfsFiles ?? []).isEmpty && (components ?? []).isEmpty
    }

    public init(_ a: OutputSnapshot, _ b: OutputSnapshot) {
        before = a.name
        after = b.name
        let oldArtifacts = Dictionary(a.artifacts.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let newArtifacts = Dictionary(b.artifacts.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        artifacts = Set(oldArtifacts.keys).union(newArtifacts.keys).sorted().compactMap { name in
            let (old, new) = (oldArtifacts[name], newArtifacts[name])
            return old?.sha256 == new?.sha256 ? nil : Change(name: name, before: old?.size, after: new?.size)
        }
        if let old = a.config, let new = b.config { config = Self.diffconfig(old, new) }
        if let old = a.report?.kernel, let new = b.report?.kernel {
            kernelSubsystems = Self.changes(old.subsystems, new.subsystems)
            kernelObjects = Self.changes(old.objects, new.objects)
            kernelTotal = Change(name: "vmlinux objects", before: old.objectsTotal, after: new.objectsTotal)
        }
        if let old = a.report?.initramfs, let new = b.report?.initramfs {
            initramfsFiles = Self.changes(old.files.map { .init(name: $0.path, bytes: $0.bytes) }, new.files.map { .init(name: $0.path, bytes: $0.bytes) },
                                          keepingEqual: false)
            initramfsTotal = Change(name: old.file, before: old.compressedSize, after: new.compressedSize)
        }
        if let old = a.report?.components, let new = b.report?.components, !old.isEmpty || !new.isEmpty {
            let before = Dictionary(old.map { ($0.name, $0.version) }, uniquingKeysWith: { first, _ in first })
            let after = Dictionary(new.map { ($0.name, $0.version) }, uniquingKeysWith: { first, _ in first })
            components = Set(before.keys).union(after.keys).sorted().compactMap { name in
                before[name] == after[name] ? nil : ComponentChange(name: name, before: before[name], after: after[name])
            }
        }
    }

    /// scripts/diffconfig's order: removed, changed, added, each by name.
    static func diffconfig(_ old: [String: String], _ new: [String: String]) -> [ConfigChange] {
        let removed = old.keys.filter { new[$0] == nil }.sorted().map { ConfigChange(symbol: $0, before: old[$0], after: nil) }
        let changed = old.keys.filter { new[$0] != nil && new[$0] != old[$0] }.sorted()
            .map { ConfigChange(symbol: $0, before: old[$0], after: new[$0]) }
        let added = new.keys.filter { old[$0] == nil }.sorted().map { ConfigChange(symbol: $0, before: nil, after: new[$0]) }
        return removed + changed + added
    }

    /// Named sizes compared as bloat-o-meter does: every name whose size changed, largest change first.
    /// Files of the initramfs compare by size only (`keepingEqual` false keeps them out when the size is equal).
    static func changes(_ old: [SizeBreakdown.Part], _ new: [SizeBreakdown.Part], keepingEqual: Bool = false) -> [Change] {
        var before: [String: Int] = [:]
        var after: [String: Int] = [:]
        for part in old { before[part.name, default: 0] += part.bytes }
        for part in new { after[part.name, default: 0] += part.bytes }
        return Set(before.keys).union(after.keys).compactMap { name in
            let change = Change(name: name, before: before[name], after: after[name])
            return change.before == change.after && !keepingEqual ? nil : change
        }.sorted { (abs($0.delta), $1.name) > (abs($1.delta), $0.name) }
    }
}

import Foundation

/// One patch of a series as builds and manifests record it.
public struct PatchRecord: Sendable, Codable, Equatable {
    public var name: String
    public var sha256: String
}

/// A patch that did not apply, with the file and hunk that failed as `patch` reported them.
public struct PatchFailure: Error, CustomStringConvertible, Sendable {
    public var patch: String
    public var source: String
    /// `patch`'s lines about what failed, e.g. `init/main.c: hunk #2 FAILED at 1510`.
    public var failures: [String]
    public var log: URL

    public var description: String {
        "patch \(patch) does not apply to \(source):\n" + failures.map { "    " + $0 }.joined(separator: "\n")
            + "\n    nothing was kept: the source stays as it was\n    full log: \(log.path)"
            + "\n    hint: refresh the patch against this source version (e.g. with quilt refresh or git rebase)"
    }
}

extension SourceFetcher {
    /// The tree with `patches` applied in order, in its own folder of the cache named by the pristine tree and
    /// the patches' contents: the pristine tree stays untouched for every other board. The copy is hard-linked
    /// (GNU patch writes each patched file anew, so a link is never written through) and appears under its
    /// final name only once every patch applied; a failing patch leaves nothing behind.
    public func patched(_ tree: SourceTree, with patches: [URL], log: URL) async throws -> SourceTree {
        guard !patches.isEmpty else { return tree }
        var records: [PatchRecord] = []
        for patch in patches {
            records.append(PatchRecord(name: patch.lastPathComponent, sha256: try Checksum.sha256(of: patch)))
        }
        let identity = ([tree.sha256 ?? tree.root.path] + records.map { "\($0.name) \($0.sha256)" }).joined(separator: "\n")
        let folder = workspace.sources.appendingPathComponent("patched-\(Checksum.sha256(identity).prefix(16))", isDirectory: true)
        let patchedRoot = folder.appendingPathComponent("tree", isDirectory: true)
        var result = SourceTree(source: tree.source, root: patchedRoot, version: tree.version, sha256: tree.sha256, archive: tree.archive,
                                patches: records)
        try await FileLock.withLock(workspace.lock("source-\(folder.lastPathComponent)")) {
            if FileManager.default.fileExists(atPath: patchedRoot.path) { return }
            result.fetchedNow = true
            let temporary = try AtomicFile.temporaryDirectory(beside: folder)
            do {
                let copy = temporary.appendingPathComponent("tree").path
                let linked = try await ProcessRunner.capture(Command("cp", ["-al", tree.root.path, copy]))
                if !linked.succeeded {
                    // A source on another file system cannot be linked: copy it.
                    try? FileManager.default.removeItem(atPath: copy)
                    try await ProcessRunner.logged(Command("cp", ["-a", tree.root.path, copy]), log: log)
                }
                for (patch, record) in zip(patches, records) {
                    try await apply(patch, record: record, to: copy, source: tree.source, log: log)
                }
                try AtomicFile.replace(folder, with: temporary)
            } catch {
                try? FileManager.default.removeItem(at: temporary)
                throw error
            }
        }
        return result
    }

    private func apply(_ patch: URL, record: PatchRecord, to tree: String, source: String, log: URL) async throws {
        // --forward: a patch already in the source is a failure, not a silent reversal. --fuzz=0: a hunk whose
        // context lines differ may land in the wrong place, so it fails (as Yocto's patch-fuzz check); moved lines
        // (an offset) are fine.
        let command = Command("patch", ["-d", tree, "-p1", "--batch", "--forward", "--fuzz=0", "--no-backup-if-mismatch", "--reject-file=-",
                                        "-i", patch.path], environment: ["LC_ALL": "C"])
        let result = try await ProcessRunner.capture(command)
        let logFile = try LogFile(log)
        logFile.write("$ \(command)\n" + result.output)
        guard result.succeeded else {
            throw PatchFailure(patch: patch.path, source: source, failures: Self.failures(in: result.output), log: log)
        }
    }

    /// The lines of `patch`'s output that say what failed, each with the file it was patching.
    static func failures(in output: String) -> [String] {
        var file = ""
        var failures: [String] = []
        for line in output.split(whereSeparator: \.isNewline).map(String.init) {
            if line.hasPrefix("patching file ") {
                file = String(line.dropFirst("patching file ".count)).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
            } else if line.hasPrefix("Hunk #"), line.contains("FAILED") {
                failures.append("\(file): " + line.replacingOccurrences(of: "Hunk #", with: "hunk #").trimmingCharacters(in: CharacterSet(charactersIn: ".")))
            } else if line.contains("can't find file to patch") || line.contains("No file to patch") || line.contains("Reversed (or previously applied)")
                        || line.contains("malformed patch") || line.contains("Only garbage") {
                failures.append((file.isEmpty ? "" : "\(file): ") + line)
            }
        }
        return failures.isEmpty ? [output.split(whereSeparator: \.isNewline).suffix(5).joined(separator: "\n    ")] : failures
    }
}

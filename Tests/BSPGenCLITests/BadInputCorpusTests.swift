import Foundation
import Testing

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
private let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

/// One case of the bad-input corpus (`Tests/BSPGenCLITests/Corpus/CLASS/CASE/`, described in the README there).
struct CorpusCase: Sendable, CustomTestStringConvertible {
    var folder: URL
    var name: String { folder.deletingLastPathComponent().lastPathComponent + "/" + folder.lastPathComponent }
    var testDescription: String { name }

    /// Every case folder, sorted; a folder is a case when it has an `args` file.
    static let all: [CorpusCase] = {
        let classes = (try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []
        return classes.sorted().flatMap { group -> [CorpusCase] in
            let groupFolder = corpus.appendingPathComponent(group)
            let cases = (try? FileManager.default.contentsOfDirectory(atPath: groupFolder.path)) ?? []
            return cases.sorted().map { groupFolder.appendingPathComponent($0) }
                .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("args").path) }
                .map { CorpusCase(folder: $0) }
        }
    }()

    /// Lines of a case file, without `#` comments and blank lines.
    func lines(_ file: String) -> [String]? {
        guard let text = try? String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8) else { return nil }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            .filter { !$0.hasPrefix("#") && !$0.isEmpty }
    }
}

/// What a scratch folder holds, entry by entry, without following links: enough to see any file written, changed,
/// replaced by another kind of file, or left behind. Directory times are left out (a temporary file that was
/// made and removed again changes them and leaves nothing).
private func snapshot(of folder: URL, skipping skipped: Set<String> = []) -> [String: String] {
    var entries: [String: String] = [:]
    guard let walker = FileManager.default.enumerator(atPath: folder.path) else { return entries }
    while let relative = walker.nextObject() as? String {
        if skipped.contains(where: { relative == $0 || relative.hasPrefix($0 + "/") }) {
            walker.skipDescendants()
            continue
        }
        let path = folder.appendingPathComponent(relative).path
        var info = stat()
        guard lstat(path, &info) == 0 else { continue }
        let type = info.st_mode & S_IFMT
        var entry = "type=\(String(type, radix: 8)) mode=\(String(info.st_mode & 0o7777, radix: 8))"
        switch type {
        case S_IFDIR: break
        case S_IFREG:
            // Reading a regular file cannot block; only those are opened.
            let data = FileManager.default.contents(atPath: path) ?? Data()
            entry += " size=\(info.st_size) mtime=\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) hash=\(data.hashValue)"
        case S_IFLNK:
            entry += " target=\((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?")"
        default:
            entry += " rdev=\(info.st_rdev) mtime=\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        }
        entries[relative] = entry
    }
    return entries
}

/// Names a failed or killed run of bspgen might leave: its temporary files and folders, and old folders moved aside.
private func temporaryNames(in folder: URL) -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: folder.path) else { return [] }
    return walker.compactMap { $0 as? String }.filter { path in
        let name = URL(fileURLWithPath: path).lastPathComponent
        return name.contains(".tmp") || name.contains(".old-")
    }
}

/// Characters that must never reach a terminal from bspgen's messages: C0 controls but tab and newline, DEL, and
/// the C1 controls (U+0080 to U+009F, which some terminals read as escape sequences).
private func controlCharacters(in text: String) -> [String] {
    text.unicodeScalars.filter { scalar in
        (scalar.value < 0x20 && scalar != "\n" && scalar != "\t") || (0x7F...0x9F).contains(scalar.value)
    }.map { String(format: "U+%04X", $0.value) }
}

private func runShell(_ script: URL, in directory: URL) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-eu", script.path]
    process.currentDirectoryURL = directory
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

/// Every case of the corpus runs the real `bspgen` binary and must: end by itself within its time (a hang is
/// stopped and reported), exit with a status from 1 to 125 (no signal, no crash), print no crash report, say every
/// line of `expect` on standard error, print no control characters and no line longer than 2,000 characters,
/// leave the scratch folder exactly as it was (no file written, changed or left behind) and no temporary name in
/// its cache.
@Suite(.serialized) struct BadInputCorpusTests {
    static let binary = root.appendingPathComponent(".build/debug/bspgen")
    static let crashMarkers = ["Fatal error", "Program crashed", "Backtrac", "Stack dump", "Current stack trace", "Illegal instruction",
                               "Segmentation fault"]

    @Test func theCorpusHasCases() {
        #expect(CorpusCase.all.count >= 10, "cases found in \(corpus.path): \(CorpusCase.all.count)")
    }

    @Test(arguments: CorpusCase.all)
    func badInputIsRefusedCleanly(_ item: CorpusCase) async throws {
        let fileManager = FileManager.default
        try #require(fileManager.isExecutableFile(atPath: Self.binary.path), "build bspgen first (swift build)")
        let scratch = fileManager.temporaryDirectory.appendingPathComponent("bspgen-corpus-\(UUID().uuidString)")
        let work = scratch.appendingPathComponent("case")
        let cache = scratch.appendingPathComponent("cache")
        let temporary = scratch.appendingPathComponent("tmp")
        try fileManager.createDirectory(at: scratch, withIntermediateDirectories: true)
        try fileManager.copyItem(at: item.folder, to: work)
        try fileManager.createDirectory(at: cache, withIntermediateDirectories: true)
        try fileManager.createDirectory(at: temporary, withIntermediateDirectories: true)
        let control = ["args", "expect", "setup", "teardown", "timeout"]
        for name in control { try? fileManager.removeItem(at: work.appendingPathComponent(name)) }
        defer {
            if fileManager.fileExists(atPath: item.folder.appendingPathComponent("teardown").path) {
                _ = try? runShell(item.folder.appendingPathComponent("teardown"), in: work)
            }
            // Foundation cannot remove a tree deeper than PATH_MAX (a case makes one); rm walks it with openat.
            if (try? fileManager.removeItem(at: scratch)) == nil {
                let remover = Process()
                remover.executableURL = URL(fileURLWithPath: "/bin/rm")
                remover.arguments = ["-rf", scratch.path]
                try? remover.run()
                remover.waitUntilExit()
            }
        }
        if fileManager.fileExists(atPath: item.folder.appendingPathComponent("setup").path) {
            let status = try runShell(item.folder.appendingPathComponent("setup"), in: work)
            try #require(status == 0, "\(item.name): setup failed with status \(status)")
        }

        let substitute = { (text: String) in
            text.replacingOccurrences(of: "{ROOT}", with: root.path).replacingOccurrences(of: "{CASE}", with: work.path)
        }
        let arguments = (item.lines("args") ?? []).map(substitute)
        var expected: [String] = []
        var expectedStatus: Int32?
        for line in item.lines("expect") ?? [] {
            if line.hasPrefix("exit "), let status = Int32(line.dropFirst(5)) { expectedStatus = status } else { expected.append(substitute(line)) }
        }
        let seconds = Double(item.lines("timeout")?.first ?? "") ?? 20

        let before = snapshot(of: scratch, skipping: ["cache"])
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        process.currentDirectoryURL = work
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BSPGEN_") }
        environment["BSPGEN_CACHE"] = cache.path
        environment["TMPDIR"] = temporary.path
        process.environment = environment
        let outputFile = scratch.appendingPathComponent("stdout")
        let errorFile = scratch.appendingPathComponent("stderr")
        #expect(fileManager.createFile(atPath: outputFile.path, contents: nil))
        #expect(fileManager.createFile(atPath: errorFile.path, contents: nil))
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        process.standardError = try FileHandle(forWritingTo: errorFile)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let hung = process.isRunning
        if hung {
            process.terminate()
            let grace = Date().addingTimeInterval(5)
            while process.isRunning && Date() < grace { try await Task.sleep(for: .milliseconds(50)) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        let output = String(decoding: (try? Data(contentsOf: outputFile)) ?? Data(), as: UTF8.self)
        let errors = String(decoding: (try? Data(contentsOf: errorFile)) ?? Data(), as: UTF8.self)
        try? fileManager.removeItem(at: outputFile)
        try? fileManager.removeItem(at: errorFile)
        let shown = "\(item.name): bspgen \(arguments.joined(separator: " "))\n--- stderr:\n\(errors.prefix(4000))\n--- stdout:\n\(output.prefix(2000))"

        #expect(!hung, "did not end within \(seconds) s (stopped): \(shown)")
        #expect(process.terminationReason == .exit, "ended by signal \(process.terminationStatus): \(shown)")
        if let expectedStatus {
            #expect(process.terminationStatus == expectedStatus, "exit status \(process.terminationStatus), expected \(expectedStatus): \(shown)")
        } else {
            #expect((1...125).contains(process.terminationStatus), "exit status \(process.terminationStatus): \(shown)")
        }
        for marker in Self.crashMarkers {
            #expect(!errors.contains(marker) && !output.contains(marker), "crash report ('\(marker)'): \(shown)")
        }
        #expect(!errors.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "no message on standard error: \(shown)")
        for text in expected {
            #expect(errors.contains(text), "standard error does not say '\(text)': \(shown)")
        }
        #expect(controlCharacters(in: errors + output).isEmpty, "control characters \(controlCharacters(in: errors + output)): \(shown)")
        let longest = (errors + "\n" + output).split(separator: "\n").map(\.count).max() ?? 0
        #expect(longest <= 2000, "a line of \(longest) characters: \(shown)")
        let after = snapshot(of: scratch, skipping: ["cache"])
        let changed = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
        #expect(changed.isEmpty, "changed or left behind: \(changed.map { "\($0): \(before[$0] ?? "absent") -> \(after[$0] ?? "absent")" }): \(shown)")
        let leftovers = temporaryNames(in: cache)
        #expect(leftovers.isEmpty, "temporary names left in the cache: \(leftovers): \(shown)")
    }
}

import Foundation
import Host
import Testing

private func withFolder<T>(_ body: (URL) throws -> T) throws -> T {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-atomic-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    return try body(folder)
}

private func withFolder<T>(_ body: (URL) async throws -> T) async throws -> T {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-atomic-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    return try await body(folder)
}

private func runTool(_ tool: String, _ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

/// The pid of a process that has ended.
private func goneProcess() throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/true")
    try process.run()
    process.waitUntilExit()
    return process.processIdentifier
}

struct AtomicFileFaultTests {
    @Test func aLinkOrASpecialFileUnderTheNameIsRefusedAndKept() throws {
        try withFolder { folder in
            let target = folder.appendingPathComponent("target")
            try AtomicFile.write("keep", to: target)
            let link = folder.appendingPathComponent("link")
            try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "target")
            let error = #expect(throws: HostError.self) { try AtomicFile.write("new", to: link) }
            #expect(error?.description.contains("symbolic link") == true)
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == "target")
            #expect(try String(contentsOf: target, encoding: .utf8) == "keep")
            #expect(throws: HostError.self) { try AtomicFile.write("new", to: URL(fileURLWithPath: "/dev/null")) }
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["link", "target"])
        }
    }

    /// A full disk (a tmpfs of 64 KiB; the tests run as root) fails the write after the temporary name was made.
    @Test func aFailedWriteLeavesNoTemporaryFile() throws {
        try withFolder { folder in
            try #require(try runTool("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", folder.path]) == 0, "mount a tmpfs (needs root)")
            defer { _ = try? runTool("umount", [folder.path]) }
            let final = folder.appendingPathComponent("record.json")
            #expect(throws: HostError.self) { try AtomicFile.write(Data(count: 1 << 20), to: final) }
            #expect(!FileManager.default.fileExists(atPath: final.path))
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains(".tmp") }.isEmpty)
        }
    }

    /// Two writes of one file at once from one process (two builds sharing a cache file) do not share a temporary name.
    @Test func concurrentWritesOfOneFileEachUseTheirOwnTemporaryName() async throws {
        try await withFolder { folder in
            let final = folder.appendingPathComponent("shared.sources")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<16 {
                    group.addTask { for _ in 0..<20 { try AtomicFile.write(String(repeating: "\(index)", count: 4096), to: final) } }
                }
                try await group.waitForAll()
            }
            let text = try String(contentsOf: final, encoding: .utf8)
            #expect(text.count >= 4096 && Set(text).count <= 2, "one writer's whole content")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["shared.sources"])
        }
    }

    @Test func leftoversOfKilledProcessesAreRemovedByTheNextWrite() throws {
        try withFolder { folder in
            let gone = try goneProcess()
            for name in [".out.tmp-\(gone)", ".out.old-\(gone)"] {
                try FileManager.default.createDirectory(at: folder.appendingPathComponent(name), withIntermediateDirectories: true)
            }
            try AtomicFile.write("x", to: folder.appendingPathComponent("out"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out"])
            let board = folder.appendingPathComponent("qemu-x86_64")
            try FileManager.default.createDirectory(at: folder.appendingPathComponent(".qemu-x86_64.tmp-\(gone)"), withIntermediateDirectories: true)
            let temporary = try AtomicFile.temporaryDirectory(beside: board)
            try AtomicFile.replace(board, with: temporary)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["out", "qemu-x86_64"])
        }
    }

    @Test func replacingAFolderKeepsTheOldOneWhenTheNewCannotMoveIn() throws {
        try withFolder { folder in
            let output = folder.appendingPathComponent("board")
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            try AtomicFile.write("old", to: output.appendingPathComponent("manifest.json"))
            // The temporary is missing: the rename into place fails after the old folder was moved aside.
            let error = #expect(throws: HostError.self) {
                try AtomicFile.replace(output, with: folder.appendingPathComponent(".board.tmp-\(getpid())"))
            }
            #expect(error != nil)
            #expect(try String(contentsOf: output.appendingPathComponent("manifest.json"), encoding: .utf8) == "old")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["board"])
        }
    }
}

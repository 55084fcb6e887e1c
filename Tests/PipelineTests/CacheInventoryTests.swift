import Foundation
import Testing
import Host
@testable import Pipeline

@Suite struct CacheInventoryTests {
    /// A cache with two kernel folders, a BusyBox build and a source tree; one board's last build used the first
    /// kernel and the tree.
    private func makeCache() throws -> (URL, Workspace) {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-inventory-\(UUID().uuidString)")
        let workspace = Workspace(cacheDirectory: cache.path)
        for folder in ["kernels/aaaa/linux", "kernels/bbbb/linux", "busybox/cccc/build", "sources/linux-6.1/tree", "build/board1"] {
            try FileManager.default.createDirectory(at: cache.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        try Data(count: 8192).write(to: cache.appendingPathComponent("kernels/bbbb/linux/vmlinux.o"))
        let uses = CacheUses()
        uses.add(cache.appendingPathComponent("kernels/aaaa/linux"))
        uses.add(cache.appendingPathComponent("sources/linux-6.1/tree"))
        try uses.write(to: cache.appendingPathComponent("build/board1"))
        return (cache, workspace)
    }

    @Test func foldersAreListedWithTheBoardsThatUseThem() throws {
        let (cache, workspace) = try makeCache()
        defer { try? FileManager.default.removeItem(at: cache) }
        let entries = CacheInventory(workspace: workspace).entries()
        let users = Dictionary(uniqueKeysWithValues: entries.map { (URL(fileURLWithPath: $0.path).lastPathComponent, $0.users) })
        #expect(users == ["aaaa": ["board1"], "bbbb": [], "cccc": [], "linux-6.1": ["board1"]])
        #expect(entries.map(\.kind) == ["kernel", "kernel", "busybox", "source"])
        #expect((entries.first { $0.path.hasSuffix("bbbb") }?.bytes ?? 0) >= 8192)
    }

    @Test func gcRemovesOnlyWhatNoBoardUses() throws {
        let (cache, workspace) = try makeCache()
        defer { try? FileManager.default.removeItem(at: cache) }
        let inventory = CacheInventory(workspace: workspace)
        let planned = try #require(try inventory.removeUnused(dryRun: true))
        #expect(planned.map { URL(fileURLWithPath: $0.path).lastPathComponent } == ["bbbb", "cccc"])
        #expect(FileManager.default.fileExists(atPath: cache.appendingPathComponent("kernels/bbbb").path), "a dry run removes nothing")
        let removed = try #require(try inventory.removeUnused(dryRun: false))
        #expect(removed == planned)
        #expect(inventory.entries().map { URL(fileURLWithPath: $0.path).lastPathComponent } == ["aaaa", "linux-6.1"])
    }

    /// A child another thread is starting holds a copy of the lock's descriptor until its exec: without waiting that
    /// moment out, about one gc in five failed while this process started children (seen in CI as a gc that found
    /// its own just-released lock taken).
    @Test func gcTakesTheLockWhileThisProcessStartsChildren() async throws {
        let (cache, workspace) = try makeCache()
        defer { try? FileManager.default.removeItem(at: cache) }
        let inventory = CacheInventory(workspace: workspace)
        let spawner = Task.detached {
            while !Task.isCancelled {
                let child = Process()
                child.executableURL = URL(fileURLWithPath: "/bin/true")
                try child.run()
                child.waitUntilExit()
            }
        }
        defer { spawner.cancel() }
        var refused = 0
        for _ in 0..<200 where try inventory.removeUnused(dryRun: true) == nil {
            refused += 1
        }
        #expect(refused == 0)
    }

    /// A build that has not recorded its folders yet holds the cache's shared lock: gc removes nothing.
    @Test func gcWaitsForNoBuildAndRemovesNothingWhileOneRuns() throws {
        let (cache, workspace) = try makeCache()
        defer { try? FileManager.default.removeItem(at: cache) }
        try FileManager.default.createDirectory(at: workspace.locks, withIntermediateDirectories: true)
        let descriptor = open(workspace.lock("cache").path, O_RDWR | O_CREAT, 0o644)
        #expect(descriptor >= 0)
        #expect(flock(descriptor, LOCK_SH) == 0)
        #expect(try CacheInventory(workspace: workspace).removeUnused(dryRun: false) == nil)
        #expect(FileManager.default.fileExists(atPath: cache.appendingPathComponent("kernels/bbbb").path))
        close(descriptor)
        #expect(try CacheInventory(workspace: workspace).removeUnused(dryRun: false)?.count == 2)
    }
}

import Foundation
import Host
import UserInput

/// The cache's shared folders one board's build used: its kernel build folder, BusyBox and boot loader builds,
/// source trees (pristine and patched). Written to `build/<board>/.bspgen-uses.json` after each build, so that
/// `bspgen cache gc` knows which folders a board still needs.
public final class CacheUses: @unchecked Sendable {
    private let lock = NSLock()
    private var paths: Set<String> = []

    public init() {}

    static let recordName = ".bspgen-uses.json"

    func add(_ url: URL) { lock.withLock { _ = paths.insert(url.standardizedFileURL.path) } }

    func write(to buildDirectory: URL) throws {
        let sorted = lock.withLock { paths.sorted() }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(sorted), to: buildDirectory.appendingPathComponent(Self.recordName))
    }
}

/// What the cache holds that builds share, which boards use each folder, and the removal of folders no board
/// uses any more (kernels of a renamed fragment, BusyBox builds of an old fragment, trees of an old patch series).
public struct CacheInventory: Sendable {
    public struct Entry: Codable, Equatable, Sendable {
        /// kernel, busybox, bootloader or source.
        public var kind: String
        public var path: String
        public var bytes: Int64
        /// Boards whose last build used it (from their `.bspgen-uses.json`), sorted.
        public var users: [String]
    }

    public let workspace: Workspace

    public init(workspace: Workspace) { self.workspace = workspace }

    /// Every shared folder, by kind then path.
    public func entries() -> [Entry] {
        let uses = boardUses()
        let roots: [(String, URL)] = [("kernel", workspace.kernels), ("busybox", workspace.busybox),
                                      ("bootloader", workspace.bootloader), ("source", workspace.sources)]
        var entries: [Entry] = []
        for (kind, root) in roots {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
            for name in names {
                let folder = root.appendingPathComponent(name).standardizedFileURL.path
                let users = uses.filter { _, paths in paths.contains { $0 == folder || $0.hasPrefix(folder + "/") } }.map(\.key).sorted()
                entries.append(Entry(kind: kind, path: folder, bytes: Self.size(of: folder), users: users))
            }
        }
        return entries
    }

    /// Removes every entry no board uses (all of them when `dryRun` is false) and returns them, or nil when
    /// another bspgen process is using the cache (a build not yet recorded may need any folder).
    public func removeUnused(dryRun: Bool) throws -> [Entry]? {
        try CacheUse.withExclusive(workspace) {
            let unused = entries().filter(\.users.isEmpty)
            if !dryRun {
                for entry in unused {
                    do {
                        try FileManager.default.removeItem(atPath: entry.path)
                    } catch {
                        throw HostError.fileSystem(path: entry.path, message: "cannot remove: \(UserFile.reason(of: error))")
                    }
                }
            }
            return unused
        }
    }

    /// Board name -> the folders its last build used.
    private func boardUses() -> [String: [String]] {
        let builds = workspace.buildRoot.appendingPathComponent("build")
        var uses: [String: [String]] = [:]
        for board in (try? FileManager.default.contentsOfDirectory(atPath: builds.path)) ?? [] {
            let record = builds.appendingPathComponent(board).appendingPathComponent(CacheUses.recordName)
            guard let data = try? Data(contentsOf: record), let paths = try? JSONDecoder().decode([String].self, from: data) else { continue }
            uses[board] = paths
        }
        return uses
    }

    /// Bytes of the files under `path` (links not followed, hard-linked files counted once per link).
    static func size(of path: String) -> Int64 {
        guard let walker = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: Int64 = 0
        for case let name as String in walker {
            var info = stat()
            if lstat(path + "/" + name, &info) == 0, info.st_mode & S_IFMT == S_IFREG { total += Int64(info.st_blocks) * 512 }
        }
        return total
    }
}

import Crypto
import Foundation
import UserInput

/// Where bspgen keeps things: the cache (sources, unpacked trees, stage results) and the output directory
/// (what the user keeps). Nothing is written anywhere else.
public struct Workspace: Sendable {
    public let cacheDirectory: URL
    public private(set) var outputDirectory: URL
    /// Where board builds and BusyBox builds go: the cache, or a scratch folder for a second, clean build.
    public private(set) var buildRoot: URL

    /// `--cache-dir` wins over `BSPGEN_CACHE`, which wins over `~/.cache/bspgen`; `--out` over `out/`.
    public init(cacheDirectory: String? = nil, outputDirectory: String? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        let cache = cacheDirectory ?? environment["BSPGEN_CACHE"] ?? home.appendingPathComponent(".cache/bspgen").path
        self.cacheDirectory = URL(fileURLWithPath: cache).standardizedFileURL
        self.outputDirectory = URL(fileURLWithPath: outputDirectory ?? "out").standardizedFileURL
        buildRoot = self.cacheDirectory
    }

    /// The same sources, downloads and locks, but board builds, BusyBox builds and the output under `directory`:
    /// for a build from scratch that shares nothing it could be wrongly reused from.
    public func isolated(in directory: URL) -> Workspace {
        var copy = self
        copy.buildRoot = directory
        copy.outputDirectory = directory.appendingPathComponent("out", isDirectory: true)
        return copy
    }

    public var downloads: URL { cacheDirectory.appendingPathComponent("downloads", isDirectory: true) }
    public var sources: URL { cacheDirectory.appendingPathComponent("sources", isDirectory: true) }
    /// Process groups of running bspgen processes (see ProcessGroupRegistry).
    public var running: URL { cacheDirectory.appendingPathComponent("running", isDirectory: true) }
    public var apt: URL { cacheDirectory.appendingPathComponent("apt", isDirectory: true) }
    /// BusyBox builds by input hash: boards with the same toolchain, source and fragments share one.
    public var busybox: URL { buildRoot.appendingPathComponent("busybox", isDirectory: true) }
    /// Boot loader builds by input hash: boards with the same source, toolchain, defconfig and fragments share one.
    public var bootloader: URL { buildRoot.appendingPathComponent("bootloader", isDirectory: true) }
    /// Kernel build folders, named by what makes two boards' kernels the same build (see KernelBuilder).
    public var kernels: URL { buildRoot.appendingPathComponent("kernels", isDirectory: true) }
    /// Lock files (flock) for resources shared between boards and processes.
    public var locks: URL { cacheDirectory.appendingPathComponent("locks", isDirectory: true) }
    public func lock(_ name: String) -> URL { locks.appendingPathComponent(name + ".lock") }
    /// ccache's own cache (CCACHE_DIR), and the compiler wrapper links bspgen puts first on make's PATH.
    public var ccache: URL { cacheDirectory.appendingPathComponent("ccache", isDirectory: true) }
    public var wrappers: URL { cacheDirectory.appendingPathComponent("wrappers", isDirectory: true) }
    public func build(_ board: String) -> URL { buildRoot.appendingPathComponent("build/\(board)", isDirectory: true) }
    public func output(_ board: String) -> URL { outputDirectory.appendingPathComponent(board, isDirectory: true) }
    public func logs(_ board: String) -> URL { build(board).appendingPathComponent("logs", isDirectory: true) }
}

/// Writes that never leave a half-written file under the final name: write beside it (`TemporaryName`), then rename.
/// On any failure the temporary name is removed; those of killed processes are removed by the next write.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        do {
            // A link, a device or a FIFO under the name would be replaced, not written (see OutputPath).
            try OutputPath.checkFile(url.path, folderMustExist: false)
        } catch {
            throw HostError.fileSystem(path: url.path, message: error.reason)
        }
        let directory = url.deletingLastPathComponent()
        let temporary = TemporaryName.unique(beside: url)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            TemporaryName.removeStale(beside: url)
            try data.write(to: temporary)
            // A file edited in place (`bspgen dt set`) keeps its permissions.
            var existing = stat()
            if stat(url.path, &existing) == 0, existing.st_mode & S_IFMT == S_IFREG {
                chmod(temporary.path, existing.st_mode & 0o7777)
            }
            try replace(url, with: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            if let error = error as? HostError { throw error }
            throw HostError.fileSystem(path: url.path, message: "cannot write: \(UserFile.reason(of: error))")
        }
    }

    public static func write(_ text: String, to url: URL) throws { try write(Data(text.utf8), to: url) }

    /// Moves a completed `temporary` (file or directory) to `url`, replacing what was there. On failure `url` is as
    /// it was and `temporary` is removed.
    public static func replace(_ url: URL, with temporary: URL) throws {
        if rename(temporary.path, url.path) == 0 { return }
        // rename(2) cannot replace a non-empty directory: move the old one aside first.
        let aside = TemporaryName.aside(url)
        var reason = UserFile.systemReason(errno)
        if rename(url.path, aside.path) == 0 {
            if rename(temporary.path, url.path) == 0 {
                try? FileManager.default.removeItem(at: aside)
                return
            }
            reason = UserFile.systemReason(errno)
            // Put the old one back: the name holds the previous result or the new one, never nothing.
            _ = rename(aside.path, url.path)
        }
        try? FileManager.default.removeItem(at: temporary)
        throw HostError.fileSystem(path: url.path, message: "cannot move \(temporary.lastPathComponent) into place: \(reason)")
    }

    /// A fresh temporary directory beside `url`, to be filled and then passed to `replace` (or removed on failure).
    /// Temporary directories that killed processes left beside `url` are removed first.
    public static func temporaryDirectory(beside url: URL) throws -> URL {
        TemporaryName.removeStale(beside: url)
        let temporary = TemporaryName.unique(beside: url)
        do {
            try? FileManager.default.removeItem(at: temporary)
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw HostError.fileSystem(path: temporary.path, message: "cannot create: \(UserFile.reason(of: error))")
        }
        return temporary
    }
}

public enum Checksum {
    /// SHA-256 of a file, streamed in 1 MiB blocks.
    public static func sha256(of url: URL) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw HostError.fileSystem(path: url.path, message: "cannot open for reading")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let block = try? handle.read(upToCount: 1 << 20), !block.isEmpty { hasher.update(data: block) }
        return Hex.lowercase(hasher.finalize())
    }

    public static func sha256(_ data: Data) -> String { Hex.lowercase(SHA256.hash(data: data)) }
    public static func sha256(_ text: String) -> String { sha256(Data(text.utf8)) }
}

extension AtomicFile {
    /// Copies `source` to `destination` so that the destination is either the old file or the whole new one.
    public static func copy(_ source: URL, to destination: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: source)
        } catch {
            throw HostError.fileSystem(path: source.path, message: "cannot read: \(UserFile.reason(of: error))")
        }
        try write(data, to: destination)
    }
}

import BoardModel
import Foundation
import Host

/// Images made from the board's other artifacts: the FIT image, the GRUB EFI loader, the ext4 root file
/// system and the disk/SD-card images. Everything is made without root and without loop devices, with fixed
/// identifiers and times, so the same inputs give the same bytes. Each kind of image is a stage of its own, in
/// its own file (FITImageStage, GRUBStage, RootFilesystemStage, DiskImageStage); this file holds what they share.
public struct ImageBuilder: Sendable {
    public let environment: BuildEnvironment

    public init(environment: BuildEnvironment) { self.environment = environment }

    var board: ResolvedBoard { environment.board }
    var directory: URL { environment.buildDirectory.appendingPathComponent("images", isDirectory: true) }
    var log: URL { environment.log("images") }
    var epoch: String { String(environment.sourceDateEpoch) }

    /// The environment every image tool runs with: times from SOURCE_DATE_EPOCH, UTC for FAT's local times.
    var toolEnvironment: [String: String?] {
        ["SOURCE_DATE_EPOCH": epoch, "E2FSPROGS_FAKE_TIME": epoch, "TZ": "UTC", "MTOOLS_SKIP_CHECK": "1", "MTOOLSRC": "/dev/null"]
    }

    func prepare() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func run(_ program: String, _ arguments: [String], in folder: URL? = nil) async throws {
        try HostRequirements.require(program)
        try await ProcessRunner.logged(Command(program, arguments, environment: toolEnvironment, workingDirectory: folder), log: log)
    }

    func appendToLog(_ text: String) {
        try? FileManager.default.createDirectory(at: log.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: log.path) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: Data(text.utf8))
    }

    func setTime(_ url: URL) throws {
        do {
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: TimeInterval(environment.sourceDateEpoch))],
                                                  ofItemAtPath: url.path)
        } catch {
            throw HostError.fileSystem(path: url.path, message: "cannot set its time: \(ErrorText.reason(error))")
        }
    }

    func fileSize(_ url: URL) throws -> Int {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue else {
            throw HostError.fileSystem(path: url.path, message: "cannot read its size")
        }
        return size
    }

    func sizeNote(_ url: URL) -> String {
        ((try? fileSize(url)).map { "\($0 / 1024) KiB" }) ?? ""
    }

    /// Removes a staged tree, making its directories writable first (a 0555 directory cannot be emptied).
    func removeTree(_ url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        if let walker = FileManager.default.enumerator(atPath: url.path) {
            for case let path as String in walker {
                let full = url.appendingPathComponent(path).path
                var info = stat()
                if lstat(full, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { chmod(full, 0o755) }
            }
        }
        chmod(url.path, 0o755)
        try FileManager.default.removeItem(at: url)
    }
}

import ArgumentParser
import BoardModel
import Pipeline
import DiskImage
import Foundation
import Host
import Initramfs
import Kconfig
import UserInput

/// `bspgen build BOARD...`: the boards under one `-j` budget (`BoardScheduler`), each result handed to `deliver` in
/// the order named. `bench` measures several boards at once through here too, with `adjust` giving them a cold cache.
func buildBoards(_ names: [String], options: BuildOptions, images: Bool = false,
                 adjust: @escaping @Sendable (inout BuildEnvironment) -> Void = { _ in },
                 deliver: (_ board: String, _ result: BoardBuildResult) async throws -> Void) async throws {
    let scheduler = BoardScheduler(boards: names, totalJobs: options.jobs)
    try await scheduler.run({ name, slot in
        try await buildBoard(name, options: options, images: images, jobs: slot.jobs, jobserver: scheduler.jobserver,
                             progressPrefix: slot.progressPrefix, adjust: adjust).1
    }, deliver: deliver)
}

struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "build",
        abstract: "Build a board's BSP into out/BOARD/: kernel, device trees, initramfs, configs, run-qemu.sh, manifest.json.")

    @OptionGroup var options: BuildOptions

    @Argument(help: "Board names (default: default_board in bspgen.yaml).")
    var boards: [String] = []

    @Flag(help: "Build every board.")
    var all = false

    @Flag(help: "Then build each board again from scratch (own build folders, no ccache) and compare the two outputs byte by byte, naming the first file that differs.")
    var checkReproducible = false

    @Flag(help: "Also make the disk/SD-card images, the GRUB loader and the ext4 root file system (as 'bspgen image').")
    var images = false

    @Flag(help: "After each board, print every stage: run or skipped, why (which input changed), its time and ccache's hit rate.")
    var explain = false

    @Option(name: .customLong("kernel-fragment"), help: ArgumentHelp(
        "An extra kernel fragment for this build only (repeatable), merged after the board's: out/BOARD/ (config, image, SBOMs) is built with it.",
        valueName: "FILE"))
    var kernelFragments: [String] = []

    @Flag(help: "Print JSON: per board its output folder, report page, artifacts and stages (and the reproducibility check's result).")
    var json = false

    /// One board's build as `--json` prints it.
    struct BuiltBoard: Encodable {
        var board: String
        var output: String
        var report: String
        var artifacts: [ManifestArtifact]
        var stages: [StageReport]
        /// With --check-reproducible: the files found byte-identical.
        var reproducibleFiles: [String]?
    }

    func run() async throws {
        let names = try options.project.boardNames(boards, all: all)
        let options = self.options
        let images = self.images
        // Read and parsed before anything is built, as `config --fragment` does: a bad line is an error now.
        let extra = try kernelFragments.map { path in
            let url = URL(fileURLWithPath: path).standardizedFileURL
            _ = try KconfigFile.load(url, name: path)
            return url
        }
        let withFragments: @Sendable (inout BuildEnvironment) -> Void = { $0.extraKernelFragments = extra }
        var built: [BuiltBoard] = []
        try await buildBoards(names, options: options, images: images, adjust: withFragments) { name, result in
            if json {
                built.append(BuiltBoard(board: name, output: result.outputDirectory.path, report: result.outputDirectory.appendingPathComponent("report.html").path,
                                        artifacts: result.manifest.artifacts, stages: result.stages))
            } else {
                print(Self.report(name, result, explain: explain), terminator: "")
            }
        }
        if checkReproducible {
            for (index, name) in names.enumerated() {
                let reproducibility = ReproducibilityRun(board: name, workspace: options.workspaceOptions.workspace)
                if !json { print("\(name): building again from scratch in \(reproducibility.scratch.path) to compare") }
                let check = try await reproducibility.run { isolate in
                    try await buildBoard(name, options: options, images: images, adjust: { withFragments(&$0); isolate(&$0) }).1
                }
                if json, index < built.count {
                    built[index].reproducibleFiles = check.identical
                } else {
                    print("\(name): reproducible: \(check.identical.count) files byte-identical (\(check.identical.joined(separator: ", ")))")
                }
            }
        }
        if json { try printJSON(built) }
    }

    static func report(_ name: String, _ result: BoardBuildResult, explain: Bool) -> String {
        var text = "\(name): \(result.outputDirectory.path)\n"
        for artifact in result.manifest.artifacts {
            text += "  \(artifact.path.padding(toLength: 24, withPad: " ", startingAt: 0)) \(String(format: "%9d", artifact.size))  \(artifact.sha256.prefix(16))\n"
        }
        if explain { text += explanation(result.stages) }
        return text
    }

    /// One line per stage: ran or skipped, its time, why, and details such as ccache's hits.
    static func explanation(_ stages: [StageReport]) -> String {
        var text = "  stages:\n"
        let width = stages.map(\.stage.count).max() ?? 0
        for stage in stages {
            let time = stage.ran ? String(format: "%7.2f s", stage.seconds) : "         "
            text += "    \(stage.ran ? "ran    " : "skipped") \(stage.stage.padding(toLength: width, withPad: " ", startingAt: 0)) \(time)  "
                + stage.reasons.joined(separator: "; ") + (stage.detail.map { $0.isEmpty ? "" : " [\($0)]" } ?? "") + "\n"
        }
        return text
    }
}

struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "image",
        abstract: "Build a board with its disk/SD-card images (and ext4 root file system) into out/BOARD/, and show their partitions.",
        discussion: """
            The images are made without root or loop devices: FAT partitions by mkfs.vfat and mtools, the ext4 root \
            file system by mke2fs -d and debugfs, the MBR or GPT table by bspgen. Identifiers and times are fixed, so \
            the same inputs give the same bytes.
            """)

    @OptionGroup var options: BuildOptions

    @Argument(help: "Board names.")
    var boards: [String] = []

    @Flag(help: "Every board that has disk images.")
    var all = false

    @Flag(help: "Print JSON: each image with its table, size and partitions, and the image checks.")
    var json = false

    struct ImageResult: Encodable {
        struct Part: Encodable {
            var label: String
            var offset: Int
            var size: Int
            var content: String
        }
        var board: String
        var image: String
        var table: String
        var size: Int
        var partitions: [Part]
    }

    struct BoardImages: Encodable {
        var board: String
        var images: [ImageResult]
        var rootFilesystem: String?
        var checks: [ArtifactCheck]
    }

    func run() async throws {
        var results: [BoardImages] = []
        defer { if json { try? printJSON(results) } }
        let catalog = options.project.catalog()
        let names = all ? catalog.boardNames.filter { !(catalog.boards[$0]?.board.diskImages ?? []).isEmpty } : boards
        guard !names.isEmpty else { throw ValidationError("name a board, or use --all") }
        for name in names {
            let (environment, result) = try await buildBoard(name, options: options, images: true)
            let images = environment.board.board.diskImages ?? []
            if images.isEmpty && environment.board.board.rootfs == nil {
                throw CommandFailure(message: "\(name) describes no disk_images and no rootfs; see README 'Disk images'")
            }
            var boardImages = BoardImages(board: name, images: [], checks: [])
            for spec in images {
                let url = result.outputDirectory.appendingPathComponent(spec.name)
                let table = try PartitionTable.read(from: url)
                boardImages.images.append(ImageResult(board: name, image: url.path, table: table.format.rawValue, size: table.totalSize, partitions:
                    zip(table.partitions, spec.partitions).map { partition, described in
                        .init(label: described.label, offset: partition.offset, size: partition.size,
                              content: described.image ?? described.filesystem?.rawValue ?? "")
                    }))
                if json { continue }
                print("\(url.path): \(table.format.rawValue), \(table.totalSize >> 20) MiB")
                for (partition, partitionSpec) in zip(table.partitions, spec.partitions) {
                    let content = partitionSpec.image ?? partitionSpec.filesystem?.rawValue ?? ""
                    print("  \(partitionSpec.label.padding(toLength: 12, withPad: " ", startingAt: 0)) \(String(format: "%6d", partition.size >> 20)) MiB at \(String(format: "%6d", partition.offset >> 20)) MiB  \(content)"
                          + (partitionSpec.files.map { ": " + $0.map(\.destination).joined(separator: ", ") } ?? ""))
                }
            }
            if environment.board.board.rootfs != nil {
                boardImages.rootFilesystem = result.outputDirectory.appendingPathComponent(RootFilesystemSpec.imageName).path
                if !json { print("\(result.outputDirectory.appendingPathComponent(RootFilesystemSpec.imageName).path): ext4 root file system") }
            }
            // The same image checks as bspgen test: tables, labels, image partitions, every FAT file read back.
            let checker = ArtifactChecker(board: environment.board, folder: result.outputDirectory)
            let checks = checker.run().filter { $0.name.hasPrefix("disk image") || $0.name.hasPrefix("root file system") }
                + (await checker.checkImageContents())
            boardImages.checks = checks
            results.append(boardImages)
            if !json { for check in checks { print("  \(check.passed ? "ok  " : "FAIL") \(check.name): \(check.detail)") } }
            if checks.contains(where: { !$0.passed }) { throw CommandFailure(message: "\(name): an image check failed") }
        }
    }
}

struct InitramfsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "initramfs",
        abstract: "Build a board's BusyBox (and kernel modules, when its kernel has them) and pack its initramfs (BusyBox tree, modules, overlays, lists, /init).")

    @OptionGroup var options: BuildOptions

    @Argument(help: "Board name.")
    var board: String

    @Flag(help: "Print JSON: the archive's path and size.")
    var json = false

    func run() async throws {
        let environment = try await options.environment(board)
        let build = BoardBuild(environment: environment)
        try await environment.withBoardLock { try await build.initramfs() }
        if json {
            let size = (try? FileManager.default.attributesOfItem(atPath: build.initramfsDestination.path)[.size] as? NSNumber)?.intValue
            return try printJSON(["board": board, "initramfs": build.initramfsDestination.path, "size": size.map(String.init) ?? ""])
        }
        print("initramfs: \(build.initramfsDestination.path)")
        print("`bspgen build \(board)` puts it into \(environment.workspace.output(board).path) with the other artifacts")
    }
}

struct CpioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cpio",
        abstract: "Pack directories and gen_init_cpio lists into a cpio newc archive (no root needed for device nodes).",
        discussion: "Inputs are applied in the order given (all --dir, then all --list); later entries for the same path win. Entries with no file behind them get SOURCE_DATE_EPOCH; newer file mtimes are lowered to it.")

    @Option(name: .customLong("dir"), help: "A directory tree to include at / (repeatable).")
    var directories: [String] = []

    @Option(name: .customLong("list"), help: "A list in the kernel's gen_init_cpio syntax (repeatable).")
    var lists: [String] = []

    @Option(name: .shortAndLong, help: "The archive to write.")
    var output: String

    @Option(help: "gzip, xz, zstd or none.")
    var compress: String = "gzip"

    @Option(name: .customLong("xz-bcj"), help: "With --compress xz: a branch filter for machine code (\(XzBranchFilter.allCases.map(\.rawValue).joined(separator: ", "))), as xz --x86.")
    var xzBCJ: String?

    @Option(name: .customLong("source-date-epoch"), help: "Timestamp for entries (default: $SOURCE_DATE_EPOCH, else 2024-01-01).")
    var sourceDateEpoch: Int64?

    @Flag(help: "Print JSON: the archive, its entries and sizes.")
    var json = false

    struct Packed: Encodable {
        var archive: String
        var entries: Int
        var uncompressedSize: UInt64
        var compressedSize: UInt64
        var compression: String
    }

    func run() throws {
        guard let compression = InitramfsCompression(rawValue: compress) else {
            throw ValidationError("--compress \(compress): expected one of \(InitramfsCompression.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let filter = try xzBCJ.map { name in
            guard let filter = XzBranchFilter(rawValue: name) else {
                throw ValidationError("--xz-bcj \(name): expected one of \(XzBranchFilter.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard compression == .xz else { throw ValidationError("--xz-bcj is a filter of xz: add --compress xz") }
            return filter
        }
        guard !directories.isEmpty || !lists.isEmpty else { throw ValidationError("give at least one --dir or --list") }
        // Before any input is read: an output that cannot be written (or must not be replaced) is said first.
        do {
            try OutputPath.checkFile(output)
        } catch {
            throw InitramfsError.outputFailed(path: output, reason: error.reason)
        }
        let sources = directories.map { InitramfsSource.directory(URL(fileURLWithPath: $0)) } + lists.map { InitramfsSource.list(URL(fileURLWithPath: $0)) }
        let epoch = sourceDateEpoch ?? BuildEnvironment.sourceDateEpochFromEnvironment()
        var packer = InitramfsPacker(sourceDateEpoch: epoch)
        packer.xzBranchFilter = filter
        let summary = try packer.pack(sources, to: URL(fileURLWithPath: output), compression: compression)
        if json {
            return try printJSON(Packed(archive: output, entries: summary.entryCount, uncompressedSize: summary.uncompressedSize,
                                        compressedSize: summary.compressedSize, compression: compression.rawValue))
        }
        print("\(output): \(summary.entryCount) entries, \(summary.uncompressedSize) bytes, \(summary.compressedSize) bytes \(compression.rawValue)")
    }
}

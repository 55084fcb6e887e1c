import BoardModel
import DiskImage
import Foundation
import Host
import Initramfs
import Kconfig
import Report

/// What the report stage reads of a finished build.
struct ReportInputs {
    var configuration: KernelConfiguration
    /// From `ReportStage.kernelSizes`, run before the output folder.
    var kernel: KernelSizes?
    var initramfs: URL
    var initramfsSources: [(name: String, source: InitramfsSource)]
    var output: URL
    var manifest: Manifest
}

/// `out/<board>/report.html` and `report.json`, written after the output folder by every build, and again by
/// `bspgen test` with its verdicts. They hold host timings, so they are not in the manifest, the SBOMs or the
/// reproducibility comparison (`ArtifactChecker.outputFiles` leaves them out); each is written under a temporary
/// name and renamed, so a reader sees the old page or the new one.
struct ReportStage {
    let environment: BuildEnvironment
    var board: ResolvedBoard { environment.board }

    /// The kernel's objects and their sizes, measured once per vmlinux (a stage of its own, keyed by vmlinux); nil
    /// for a kernel build that leaves no vmlinux (the tests' stand-in kernel), which the page then says.
    func kernelSizes(_ configuration: KernelConfiguration, _ kernel: KernelArtifacts) async throws -> KernelSizes? {
        let root = configuration.buildDirectory
        let vmlinux = root.appendingPathComponent("vmlinux")
        guard FileManager.default.fileExists(atPath: vmlinux.path) else { return nil }
        let result = environment.buildDirectory.appendingPathComponent("report/kernel-sizes.json")
        var key = StageKey()
        key.add("stage", "kernel-sizes-1")
        try key.addFile("vmlinux", vmlinux)
        try key.addFile("kernel image", kernel.image)
        key.add("size tool", environment.toolchain.crossCompile + "size")
        let stage = Stage("kernel sizes", key: key, record: environment.buildDirectory.appendingPathComponent(".bspgen-kernel-sizes.json"),
                          outputs: [result], logName: "report")
        try await environment.run(stage) {
            let sizes = try await measureKernel(root: root, image: kernel.image)
            try FileManager.default.createDirectory(at: result.deletingLastPathComponent(), withIntermediateDirectories: true)
            try AtomicFile.write(try sizes.encodedForCache(), to: result)
            return StageWork()
        }
        guard let data = FileManager.default.contents(atPath: result.path), let sizes = try? JSONDecoder().decode(KernelSizes.self, from: data) else {
            throw BuildError.missingOutput(what: "the kernel's sizes", path: result.path, log: environment.log("report"))
        }
        return sizes
    }

    /// `size` (text + data + bss) of every object the linker takes into vmlinux, as the file lists stage's walk finds them
    /// (`ld --trace` over vmlinux.o's own link: vmlinux.a and the libraries' members it uses), and of vmlinux.
    func measureKernel(root: URL, image: URL) async throws -> KernelSizes {
        let inputs = try await FileListStage(environment: environment).vmlinuxInputs(root)
        let objects = (inputs.objects + inputs.members.map(\.member)).filter { $0.hasSuffix(".o") }
            .filter { FileManager.default.fileExists(atPath: root.appendingPathComponent($0).path) }
        var measured: [SizeBreakdown.Part] = []
        // In batches, to stay far below the command line's limit.
        for start in stride(from: 0, to: objects.count, by: 400) {
            let batch = Array(objects[start..<min(start + 400, objects.count)])
            measured += try await berkeleySizes(batch, in: root).map { SizeBreakdown.Part(name: $0.file, bytes: $0.text + $0.data + $0.bss) }
        }
        guard let whole = try await berkeleySizes(["vmlinux"], in: root).first else {
            throw HostError.commandFailed(command: environment.toolchain.crossCompile + "size vmlinux", status: "no output", log: nil, tail: [])
        }
        let imageSize = (try FileManager.default.attributesOfItem(atPath: image.path)[.size] as? NSNumber)?.intValue ?? 0
        return KernelSizes(image: image.lastPathComponent, imageSize: imageSize, vmlinuxText: whole.text, vmlinuxData: whole.data,
                           vmlinuxBSS: whole.bss, objects: measured.sorted { $0.name < $1.name })
    }

    func berkeleySizes(_ files: [String], in root: URL) async throws -> [(file: String, text: Int, data: Int, bss: Int)] {
        let command = Command(environment.toolchain.crossCompile + "size", files, environment: ["LC_ALL": "C"], workingDirectory: root)
        let result = try await ProcessRunner.capture(command)
        guard result.succeeded else {
            throw HostError.commandFailed(command: command.description, status: result.statusText, log: nil,
                                          tail: Array(result.output.split(separator: "\n").suffix(10).map(String.init)))
        }
        return Self.parseBerkeley(result.output)
    }

    /// GNU size's default (Berkeley) output: a heading, then `text data bss dec hex file` per file.
    static func parseBerkeley(_ text: String) -> [(file: String, text: Int, data: Int, bss: Int)] {
        text.split(separator: "\n").compactMap { line in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 6, let text = Int(words[0]), let data = Int(words[1]), let bss = Int(words[2]) else { return nil }
            return (words[5...].joined(separator: " "), text, data, bss)
        }
    }

    /// The initramfs's files, each with the source that put it there (the last source naming a path wins, as
    /// when the tree is packed), and the archive's size before compression.
    static func initramfsSizes(archive: URL, sources: [(name: String, source: InitramfsSource)], sourceDateEpoch: Int64) throws -> InitramfsSizes {
        var owner: [String: String] = [:]
        for (name, source) in sources {
            for item in try source.contentDescription(sourceDateEpoch: sourceDateEpoch) {
                let path = item.line.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
                owner[normalised(path)] = name
            }
        }
        let entries = try CpioArchiveReader.listing(of: archive)
        var files: [InitramfsSizes.File] = []
        var others = 0
        for entry in entries {
            if entry.mode & 0o170000 == 0o100000 {
                files.append(.init(path: "/" + normalised(entry.name), bytes: Int(entry.size), kind: owner[normalised(entry.name)] ?? "other"))
            } else {
                others += 1
            }
        }
        let compressed = (try FileManager.default.attributesOfItem(atPath: archive.path)[.size] as? NSNumber)?.intValue ?? 0
        return InitramfsSizes(file: archive.lastPathComponent, compressedSize: compressed, archiveSize: newcSize(entries),
                              otherEntries: others, files: files)
    }

    static func normalised(_ path: String) -> String {
        var path = Substring(path)
        while path.hasPrefix("./") { path = path.dropFirst(2) }
        while path.hasPrefix("/") { path = path.dropFirst() }
        return String(path)
    }

    /// The bytes of a newc archive of `entries`: per entry a 110-byte header and the name with its NUL, padded to
    /// 4, then the data padded to 4; the trailer; the whole padded to 512 (as the packer writes it).
    static func newcSize(_ entries: [CpioEntry]) -> Int {
        func padded(_ value: Int, _ alignment: Int) -> Int { (value + alignment - 1) / alignment * alignment }
        var total = 0
        for entry in entries {
            total += padded(110 + entry.name.utf8.count + 1, 4)
            let dataSize = entry.mode & 0o170000 == 0o120000 ? (entry.symlinkTarget?.utf8.count ?? Int(entry.size)) : Int(entry.size)
            total += padded(dataSize, 4)
        }
        total += padded(110 + "TRAILER!!!".utf8.count + 1, 4)
        return padded(total, 512)
    }

    /// A disk image's partitions as its table says, named by the board's description, with what each holds.
    func diskImageSizes(_ output: URL, manifest: Manifest) -> [SizeBreakdown] {
        let sizes = Dictionary(manifest.artifacts.map { ($0.path, $0.size) }, uniquingKeysWith: { first, _ in first })
        return (board.board.diskImages ?? []).compactMap { spec in
            let url = output.appendingPathComponent(spec.name)
            guard let table = try? PartitionTable.read(from: url) else { return nil }
            let parts = table.partitions.enumerated().map { index, partition in
                let described = index < spec.partitions.count ? spec.partitions[index] : nil
                var detail: String?
                if let image = described?.image {
                    detail = "image \(image)" + (sizes[image].map { ", \(ByteCount.text($0)) used" } ?? "")
                } else if let files = described?.files {
                    let used = files.compactMap { sizes[$0.outputName] }.reduce(0, +)
                    detail = "\(files.count) files, \(ByteCount.text(used))"
                }
                return SizeBreakdown.Part(name: described?.label ?? partition.name, bytes: partition.size, detail: detail)
            }
            return SizeBreakdown(title: "\(spec.name) by partition", note: "\(table.format) table, \(ByteCount.text(table.totalSize))",
                                 total: table.totalSize, parts: parts, remainder: "partition table and gaps")
        }
    }

    /// Every option the board's fragments ask for, with what the final `.config` has.
    func configOptions(_ configuration: KernelConfiguration) throws -> [ConfigOption] {
        let fragments = try environment.kernelFragments.map { try KconfigFile.load($0, name: $0.lastPathComponent) }
        let requested = KconfigMerge(base: KconfigFile(name: "base"), fragments: fragments).requested
        let obtained = try KconfigFile.load(configuration.config)
        let problems = Set(KconfigCheck.check(requested: requested, obtained: obtained, index: nil).map(\.symbol))
        let values = obtained.values
        return requested.map { assignment in
            ConfigOption(symbol: assignment.symbol, requested: assignment.value.description,
                         obtained: values[assignment.symbol].map(\.description), origin: assignment.origin.description,
                         optional: assignment.isOptional, satisfied: !problems.contains(assignment.symbol))
        }
    }

    /// SBOM components (not the artifacts) with their versions, from the CycloneDX document of the output.
    static func components(_ output: URL) -> [Component] {
        struct Document: Decodable {
            struct Entry: Decodable {
                var type: String?
                var name: String
                var version: String?
            }
            var components: [Entry]?
        }
        guard let data = FileManager.default.contents(atPath: output.appendingPathComponent("sbom.cdx.json").path),
              let document = try? JSONDecoder().decode(Document.self, from: data) else { return [] }
        // The artifacts are `file` components: the manifest already compares them.
        return (document.components ?? []).filter { $0.type != "file" }.map { Component(name: $0.name, version: $0.version ?? "") }.sorted { ($0.name, $0.version) < ($1.name, $1.version) }
    }

    /// Written by every build (its timings are this run's), after the output folder and into it only: it keeps no
    /// record in the cache, so a full cache disk cannot fail a build whose output is already in place.
    func write(_ inputs: ReportInputs) throws {
        let start = Date()
        let manifestData = try Data(contentsOf: inputs.output.appendingPathComponent("manifest.json"))
        let journal = environment.journal
        var report = BuildReport(
            board: board.name, arch: board.board.arch, manifestSHA256: Checksum.sha256(manifestData),
            buildSeconds: Date().timeIntervalSince(journal.origin),
            stages: journal.reports.map { StageBar(name: $0.stage, ran: $0.ran, reasons: $0.reasons, started: $0.started, seconds: $0.seconds, detail: $0.detail) })
        report.kernel = inputs.kernel
        report.initramfs = try Self.initramfsSizes(archive: inputs.output.appendingPathComponent(inputs.initramfs.lastPathComponent),
                                                   sources: inputs.initramfsSources, sourceDateEpoch: environment.sourceDateEpoch)
        report.diskImages = diskImageSizes(inputs.output, manifest: inputs.manifest)
        report.config = try configOptions(inputs.configuration)
        report.artifacts = inputs.manifest.artifacts.map { ArtifactEntry(path: $0.path, size: $0.size, sha256: $0.sha256) }
        report.components = Self.components(inputs.output)
        // Boots and verdicts of the same artifacts (the output folder was not rewritten) stay on the page.
        if let previous = Self.read(inputs.output), previous.manifestSHA256 == report.manifestSHA256 {
            report.boots = previous.boots
            report.verdicts = previous.verdicts
        }
        try Self.save(report, to: inputs.output)
        environment.note(external: "report", ranBecause: "written by every build (its timings are this run's)", since: start, detail: "")
    }

    /// The report in `output`, when it is one this bspgen wrote (an edited or older one is written anew).
    static func read(_ output: URL) -> BuildReport? {
        FileManager.default.contents(atPath: output.appendingPathComponent(BuildReport.dataFileName).path)
            .flatMap { try? BuildReport.decode($0) }
            .flatMap { $0.format == BuildReport.currentFormat && $0.problems.isEmpty ? $0 : nil }
    }

    static func save(_ report: BuildReport, to output: URL) throws {
        try AtomicFile.write(try report.encoded(), to: output.appendingPathComponent(BuildReport.dataFileName))
        try AtomicFile.write(ReportPage.html(report), to: output.appendingPathComponent(BuildReport.pageFileName))
    }

    /// `bspgen test`'s verdicts and boot into the board's report; a board whose report is missing (a build from
    /// an older bspgen) is left as it is.
    static func record(_ test: BoardTestReport, method: String, output: URL) throws {
        guard var report = read(output) else { return }
        report.verdicts = test.artifactChecks.map { Verdict(name: $0.name, passed: $0.passed, detail: $0.detail) }
        if let boot = test.boot {
            report.record(BootRun(method: method, passed: boot.passed, accelerator: boot.accelerator.rawValue, totalSeconds: boot.totalSeconds,
                                  milestones: boot.milestones.map { Milestone(name: $0.name, seconds: $0.seconds) }.sorted { $0.seconds < $1.seconds },
                                  failure: boot.failure?.description,
                                  checks: boot.checks.map { Verdict(name: $0.name, passed: $0.passed, detail: $0.obtained ?? "no answer") }))
        }
        report.verdicts += test.refusals.map { Verdict(name: "refuses \($0.name)", passed: $0.passed, detail: $0.failure ?? "refused") }
        try save(report, to: output)
    }
}

extension KernelSizes {
    func encodedForCache() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }
}

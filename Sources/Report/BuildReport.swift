import Foundation

/// Everything `out/<board>/report.html` shows, kept beside it as `report.json` so that `bspgen test` can add its
/// verdicts and `bspgen diff` can compare two builds. It holds host timings (the stage timeline, boot times), so
/// it is the build's account, not its product: neither file is in the manifest, the SBOMs or the
/// reproducibility comparison.
public struct BuildReport: Codable, Sendable, Equatable {
    /// Raised when a field changes meaning, so that an older file is recognised rather than misread.
    public static let currentFormat = 1
    public static let dataFileName = "report.json"
    public static let pageFileName = "report.html"
    /// The files of an output folder that are the report, not the build's product.
    public static let fileNames: Set<String> = [dataFileName, pageFileName]

    public var format = BuildReport.currentFormat
    public var board: String
    public var arch: String
    /// sha256 of the `manifest.json` this report describes: boots and verdicts recorded for other artifacts are
    /// not carried over.
    public var manifestSHA256: String
    /// Wall time of the whole build, in seconds.
    public var buildSeconds: Double
    public var stages: [StageBar]
    public var kernel: KernelSizes?
    public var initramfs: InitramfsSizes?
    public var diskImages: [SizeBreakdown] = []
    public var config: [ConfigOption] = []
    public var artifacts: [ArtifactEntry] = []
    /// One per boot method, the latest run of each, with its console checks.
    public var boots: [BootRun] = []
    /// The last `bspgen test`'s checks of the artifacts (and the boots a signing board's U-Boot must refuse).
    public var verdicts: [Verdict] = []

    /// Every verdict on the page: the artifacts', then each boot's checks.
    public var allVerdicts: [Verdict] {
        verdicts + boots.flatMap { boot in boot.checks.map { Verdict(name: "boot \(boot.method): \($0.name)", passed: $0.passed, detail: $0.detail) } }
    }
    /// SBOM components, `name version`, for `bspgen diff`.
    public var components: [Component] = []

    public init(board: String, arch: String, manifestSHA256: String, buildSeconds: Double, stages: [StageBar]) {
        self.board = board
        self.arch = arch
        self.manifestSHA256 = manifestSHA256
        self.buildSeconds = buildSeconds
        self.stages = stages
    }

    public static func decode(_ data: Data) throws -> BuildReport {
        try JSONDecoder().decode(BuildReport.self, from: data)
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    /// Sizes beyond this (256 TiB) or below zero, and times beyond a year, are not a build's: a report that has them
    /// was not written by bspgen, and sums of them could overflow.
    public static let largestSize = 1 << 48
    public static let longestSeconds = 365.0 * 24 * 3600

    /// What makes this report unusable, as `field: problem`; empty for every report bspgen writes.
    public var problems: [String] {
        var problems: [String] = []
        func size(_ value: Int, _ field: String) {
            if !(0...Self.largestSize).contains(value) { problems.append("\(field): \(value) is not a size") }
        }
        func seconds(_ value: Double, _ field: String) {
            if !(value.isFinite && (0...Self.longestSeconds).contains(value)) { problems.append("\(field): \(value) is not a time in seconds") }
        }
        seconds(buildSeconds, "buildSeconds")
        for stage in stages {
            seconds(stage.started, "stages.\(stage.name).started")
            seconds(stage.seconds, "stages.\(stage.name).seconds")
        }
        if let kernel {
            for (field, value) in [("imageSize", kernel.imageSize), ("vmlinuxText", kernel.vmlinuxText), ("vmlinuxData", kernel.vmlinuxData),
                                   ("vmlinuxBSS", kernel.vmlinuxBSS)] {
                size(value, "kernel.\(field)")
            }
            for object in kernel.objects { size(object.bytes, "kernel.objects.\(object.name)") }
            if kernel.objects.count > 1_000_000 { problems.append("kernel.objects: \(kernel.objects.count) objects") }
        }
        if let initramfs {
            size(initramfs.compressedSize, "initramfs.compressedSize")
            size(initramfs.archiveSize, "initramfs.archiveSize")
            size(initramfs.otherEntries, "initramfs.otherEntries")
            for file in initramfs.files { size(file.bytes, "initramfs.files.\(file.path)") }
            if initramfs.files.count > 1_000_000 { problems.append("initramfs.files: \(initramfs.files.count) files") }
        }
        for image in diskImages {
            size(image.total, "diskImages.\(image.title).total")
            for part in image.parts { size(part.bytes, "diskImages.\(image.title).\(part.name)") }
        }
        for artifact in artifacts { size(artifact.size, "artifacts.\(artifact.path)") }
        for boot in boots {
            seconds(boot.totalSeconds, "boots.\(boot.method).totalSeconds")
            for milestone in boot.milestones { seconds(milestone.seconds, "boots.\(boot.method).\(milestone.name)") }
        }
        return problems
    }

    /// Adds or replaces the run of `boot.method`, keeping the others (each method is tested by its own command).
    public mutating func record(_ boot: BootRun) {
        boots.removeAll { $0.method == boot.method }
        boots.append(boot)
        boots.sort { $0.method < $1.method }
    }
}

/// One stage on the timeline: when it started (seconds since the board's build began) and for how long.
public struct StageBar: Codable, Sendable, Equatable {
    public var name: String
    public var ran: Bool
    /// Why it ran (inputs that changed), or why it was skipped.
    public var reasons: [String]
    public var started: Double
    public var seconds: Double
    public var detail: String?

    public init(name: String, ran: Bool, reasons: [String], started: Double, seconds: Double, detail: String? = nil) {
        self.name = name
        self.ran = ran
        self.reasons = reasons
        self.started = started
        self.seconds = seconds
        self.detail = detail
    }
}

/// A whole split into named parts that add up to it exactly: the parts are what the page draws, so a part that
/// is not accounted for is a part of its own ("other"), never a gap.
public struct SizeBreakdown: Codable, Sendable, Equatable {
    public struct Part: Codable, Sendable, Equatable {
        public var name: String
        public var bytes: Int
        public var detail: String?

        public init(name: String, bytes: Int, detail: String? = nil) {
            self.name = name
            self.bytes = bytes
            self.detail = detail
        }
    }

    public var title: String
    /// What the total measures, e.g. `sdcard.img, 64 MiB`.
    public var note: String
    public var total: Int
    public var parts: [Part]

    /// `parts` as given, with `remainder` naming whatever of `total` they leave; parts larger than the total
    /// are refused by `isConsistent`, not hidden.
    public init(title: String, note: String, total: Int, parts: [Part], remainder: String = "other") {
        self.title = title
        self.note = note
        self.total = total
        let accounted = parts.reduce(0) { $0 + $1.bytes }
        self.parts = parts.filter { $0.bytes > 0 } + (accounted < total ? [Part(name: remainder, bytes: total - accounted)] : [])
    }

    public var isConsistent: Bool { parts.reduce(0) { $0 + $1.bytes } == total && parts.allSatisfy { $0.bytes >= 0 } }
}

/// The kernel's objects as the linker took them into vmlinux, with the `size` of each (text + data + bss).
public struct KernelSizes: Codable, Sendable, Equatable {
    /// The kernel image in the output, e.g. `bzImage`, and its size.
    public var image: String
    public var imageSize: Int
    /// `size vmlinux`: the kernel as loaded (text, data, bss).
    public var vmlinuxText: Int
    public var vmlinuxData: Int
    public var vmlinuxBSS: Int
    /// Every object, `path` relative to the kernel's build folder, with text + data + bss.
    public var objects: [SizeBreakdown.Part]

    public init(image: String, imageSize: Int, vmlinuxText: Int, vmlinuxData: Int, vmlinuxBSS: Int, objects: [SizeBreakdown.Part]) {
        self.image = image
        self.imageSize = imageSize
        self.vmlinuxText = vmlinuxText
        self.vmlinuxData = vmlinuxData
        self.vmlinuxBSS = vmlinuxBSS
        self.objects = objects
    }

    public var vmlinuxTotal: Int { vmlinuxText + vmlinuxData + vmlinuxBSS }
    public var objectsTotal: Int { objects.reduce(0) { $0 + $1.bytes } }

    /// The subsystem of an object: its top-level folder, and for `arch/` and `drivers/` the next one too
    /// (`arch/x86`, `drivers/tty`), where one level says too little.
    public static func subsystem(of path: String) -> String {
        let components = path.split(separator: "/")
        guard components.count > 1 else { return "(top level)" }
        if ["arch", "drivers"].contains(components[0]), components.count > 2 { return "\(components[0])/\(components[1])" }
        return String(components[0])
    }

    /// Bytes per subsystem, largest first (name order among equals).
    public var subsystems: [SizeBreakdown.Part] {
        var sums: [String: Int] = [:]
        var counts: [String: Int] = [:]
        for object in objects {
            sums[Self.subsystem(of: object.name), default: 0] += object.bytes
            counts[Self.subsystem(of: object.name), default: 0] += 1
        }
        return sums.map { SizeBreakdown.Part(name: $0.key, bytes: $0.value, detail: "\(counts[$0.key] ?? 0) objects") }
            .sorted { ($0.bytes, $1.name) > ($1.bytes, $0.name) }
    }

    /// The breakdown the page draws: subsystems add up to the objects' total; vmlinux itself is told beside it,
    /// since the linker discards some input sections (`.exit.text`, notes) and adds alignment and generated tables.
    public var breakdown: SizeBreakdown {
        SizeBreakdown(title: "Kernel by subsystem",
                      note: "text + data + bss of the \(objects.count) objects linked into vmlinux; vmlinux itself: "
                          + "\(ByteCount.text(vmlinuxTotal)) (\(ByteCount.text(vmlinuxText)) text, \(ByteCount.text(vmlinuxData)) data, "
                          + "\(ByteCount.text(vmlinuxBSS)) bss); \(image): \(ByteCount.text(imageSize))",
                      total: objectsTotal, parts: subsystems)
    }
}

/// The initramfs archive: each file with the source it came from, and the kinds summed.
public struct InitramfsSizes: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        public var path: String
        public var bytes: Int
        /// The source that put it there: `busybox`, `kernel modules`, `overlay NAME`, `list NAME`, `init and board info`.
        public var kind: String

        public init(path: String, bytes: Int, kind: String) {
            self.path = path
            self.bytes = bytes
            self.kind = kind
        }
    }

    public var file: String
    public var compressedSize: Int
    /// The cpio archive before compression.
    public var archiveSize: Int
    /// Entries that are not regular files (folders, links, devices): they cost a header each and no data.
    public var otherEntries: Int
    public var files: [File]

    public init(file: String, compressedSize: Int, archiveSize: Int, otherEntries: Int, files: [File]) {
        self.file = file
        self.compressedSize = compressedSize
        self.archiveSize = archiveSize
        self.otherEntries = otherEntries
        self.files = files.sorted { $0.path < $1.path }
    }

    /// File data per kind, plus the archive's own headers, names and padding: adds up to `archiveSize`.
    public var byKind: SizeBreakdown {
        var sums: [String: Int] = [:]
        var counts: [String: Int] = [:]
        for file in files {
            sums[file.kind, default: 0] += file.bytes
            counts[file.kind, default: 0] += 1
        }
        let parts = sums.map { SizeBreakdown.Part(name: $0.key, bytes: $0.value, detail: "\(counts[$0.key] ?? 0) files") }
            .sorted { ($0.bytes, $1.name) > ($1.bytes, $0.name) }
        return SizeBreakdown(title: "Initramfs by kind",
                             note: "\(file): \(ByteCount.text(compressedSize)) compressed, \(ByteCount.text(archiveSize)) as cpio; "
                                 + "\(files.count) files and \(otherEntries) other entries",
                             total: archiveSize, parts: parts, remainder: "cpio headers, names, links, padding")
    }
}

/// A kernel option a fragment asked for, and what the final `.config` has.
public struct ConfigOption: Codable, Sendable, Equatable {
    public var symbol: String
    public var requested: String
    /// nil: not in the final `.config`.
    public var obtained: String?
    /// `FILE:LINE` of the fragment line.
    public var origin: String
    public var optional: Bool
    public var satisfied: Bool

    public init(symbol: String, requested: String, obtained: String?, origin: String, optional: Bool, satisfied: Bool) {
        self.symbol = symbol
        self.requested = requested
        self.obtained = obtained
        self.origin = origin
        self.optional = optional
        self.satisfied = satisfied
    }
}

public struct ArtifactEntry: Codable, Sendable, Equatable {
    public var path: String
    public var size: Int
    public var sha256: String

    public init(path: String, size: Int, sha256: String) {
        self.path = path
        self.size = size
        self.sha256 = sha256
    }
}

/// A moment of a boot, seen on the console, in seconds since QEMU started.
public struct Milestone: Codable, Sendable, Equatable {
    public var name: String
    public var seconds: Double

    public init(name: String, seconds: Double) {
        self.name = name
        self.seconds = seconds
    }
}

public struct BootRun: Codable, Sendable, Equatable {
    /// `kernel`, `uboot`, `disk`, `rootfs-ext4`, …
    public var method: String
    public var passed: Bool
    public var accelerator: String
    public var totalSeconds: Double
    public var milestones: [Milestone]
    public var failure: String?
    /// The console checks of this boot (banner, `uname -m`, /proc/cmdline, the board's own).
    public var checks: [Verdict]

    public init(method: String, passed: Bool, accelerator: String, totalSeconds: Double, milestones: [Milestone], failure: String? = nil,
                checks: [Verdict] = []) {
        self.method = method
        self.passed = passed
        self.accelerator = accelerator
        self.totalSeconds = totalSeconds
        self.milestones = milestones
        self.failure = failure
        self.checks = checks
    }
}

public struct Verdict: Codable, Sendable, Equatable {
    public var name: String
    public var passed: Bool
    public var detail: String

    public init(name: String, passed: Bool, detail: String) {
        self.name = name
        self.passed = passed
        self.detail = detail
    }
}

public struct Component: Codable, Sendable, Equatable {
    public var name: String
    public var version: String

    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }
}

/// Sizes as people read them: bytes below 10 KiB, then KiB and MiB with one decimal.
public enum ByteCount {
    public static func text(_ bytes: Int) -> String {
        let magnitude = bytes.magnitude
        if magnitude < 10 * 1024 { return "\(bytes) B" }
        if magnitude < 10 * 1024 * 1024 { return String(format: "%.1f KiB", Double(bytes) / 1024) }
        return String(format: "%.1f MiB", Double(bytes) / (1024 * 1024))
    }

    /// A change with its sign: `+1.2 KiB`, `-300 B`, `0 B`.
    public static func delta(_ bytes: Int) -> String { (bytes > 0 ? "+" : "") + text(bytes) }
}

import BoardModel
import Foundation
import Host
import Pipeline
import QEMU

/// The same build done by hand with a tutorial's commands (`make tinyconfig` + `merge_config.sh`, `make`, BusyBox
/// `make`, `find | cpio -o -H newc | gzip`), in a folder of its own, for `bspgen bench` to compare against.
/// Plain compilers: no ccache, no stage cache, nothing of bspgen's.
public struct HandBuild: Sendable {
    public let environment: BuildEnvironment
    public let folder: URL
    public let kernelSource: SourceTree
    public let busyboxSource: SourceTree

    public init(environment: BuildEnvironment, folder: URL, kernelSource: SourceTree, busyboxSource: SourceTree) {
        self.environment = environment
        self.folder = folder
        self.kernelSource = kernelSource
        self.busyboxSource = busyboxSource
    }

    var board: ResolvedBoard { environment.board }
    var linux: URL { folder.appendingPathComponent("linux") }
    var busybox: URL { folder.appendingPathComponent("busybox") }
    public var rootfs: URL { folder.appendingPathComponent("rootfs") }
    public var kernelImage: URL {
        let arch = board.architecture.kernelSourceFolder
        return linux.appendingPathComponent("arch/\(arch)/boot/\(board.board.kernel.image.rawValue)")
    }
    public var initramfs: URL { folder.appendingPathComponent(ArtifactNames(board: board.board).initramfs) }

    /// The tool a tutorial pipes cpio into for the board's compression, with the options bspgen's packer matches
    /// (the kernel's own `usr/Makefile` choices: xz with a CRC32 check and a 1 MiB dictionary, zstd -19).
    public var compressor: String {
        let spec = board.board.initramfsSpec
        switch spec.resolvedCompression {
        case .gzip: return "gzip -9"
        case .xz: return "xz --check=crc32" + (spec.xzBCJ.map { " --\($0.rawValue)" } ?? "") + " --lzma2=dict=1MiB"
        case .zstd: return "zstd -q -19"
        case .none: return "cat"
        }
    }

    private var kernelMake: String {
        "make -s -C \(shellQuote(kernelSource.root.path)) \(shellQuote("O=" + linux.path)) \(shellQuote("ARCH=" + board.toolchain.kernelArch)) \(crossCompile)"
    }
    private var busyboxMake: String {
        "make -s -C \(shellQuote(busyboxSource.root.path)) \(shellQuote("O=" + busybox.path)) \(crossCompile)"
    }
    /// Every value of a board or toolchain file goes into these scripts as one quoted word: the descriptions'
    /// checks admit only plain words, and bash must not get a chance to read one as anything else.
    private var crossCompile: String { shellQuote("CROSS_COMPILE=" + environment.toolchain.crossCompile) }
    private var baseConfig: String { shellQuote(board.board.kernel.baseConfig) }
    /// The image and the board's dtbs, as bspgen's kernel stage builds them.
    private var imageTarget: String {
        ([board.board.kernel.image.rawValue] + (board.board.kernel.deviceTrees ?? [])).map(shellQuote).joined(separator: " ")
    }
    /// The first of the board's dtbs, which QEMU gets with `-dtb` when the board asks for one.
    public var deviceTree: URL? {
        board.board.kernel.deviceTrees?.first.map {
            linux.appendingPathComponent("arch/\(board.architecture.kernelSourceFolder)/boot/dts/\($0)")
        }
    }
    public var busyboxBinary: URL { rootfs.appendingPathComponent("bin/busybox") }

    /// Runs a shell script (bash, pipefail) with its output in `folder/by-hand.log`, and returns its wall time.
    @discardableResult
    func timed(_ script: String) async throws -> Double {
        let start = Date()
        try await ProcessRunner.logged(Command("bash", ["-euo", "pipefail", "-c", script], environment: ["LC_ALL": "C"], workingDirectory: folder),
                                       log: folder.appendingPathComponent("by-hand.log"))
        return Date().timeIntervalSince(start)
    }

    /// Kernel configured and built, BusyBox configured, built and installed into `rootfs`, from nothing.
    public func cold() async throws -> Double {
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: busybox, withIntermediateDirectories: true)
        let fragments = board.kernelFragments.map { shellQuote($0.path) }.joined(separator: " ")
        let busyboxFragments = board.busyboxFragments.map { shellQuote($0.path) }.joined(separator: " ")
        let build = try await timed("""
            \(kernelMake) \(baseConfig)
            (cd \(shellQuote(linux.path)) && \(shellQuote(kernelSource.root.path + "/scripts/kconfig/merge_config.sh")) -m .config \(fragments))
            \(kernelMake) olddefconfig
            \(kernelMake) -j\(environment.jobs) \(imageTarget)
            \(busyboxMake) defconfig
            printf '%s\\n' 'CONFIG_STATIC=y' \(shellQuote("CONFIG_CROSS_COMPILER_PREFIX=\"\(environment.toolchain.crossCompile)\"")) > \(shellQuote(busybox.path + "/static.fragment"))
            (cd \(shellQuote(busybox.path)) && \(shellQuote(kernelSource.root.path + "/scripts/kconfig/merge_config.sh")) -m .config \(busyboxFragments) static.fragment)
            \(busyboxMake) oldconfig < <(yes "")
            \(busyboxMake) -j\(environment.jobs)
            \(busyboxMake) \(shellQuote("CONFIG_PREFIX=" + rootfs.path)) install
            """)
        try checkBusyBox()
        return build + (try await pack())
    }

    /// The by-hand BusyBox must be what bspgen's is (static, for the board's machine), or the sizes and the boot
    /// compare different things: appending `CONFIG_STATIC=y` to BusyBox's `.config`, as some tutorials do, is
    /// ignored by its Kconfig ("trying to reassign symbol STATIC"), which keeps the first value.
    func checkBusyBox() throws {
        if let mismatch = try ELFHeader(contentsOf: busyboxBinary).mismatch(for: board.architecture, toolchain: board.toolchain) {
            throw BuildError.wrongBinary(path: busyboxBinary.path, message: "the by-hand BusyBox is " + mismatch
                                         + "\n    log: \(folder.appendingPathComponent("by-hand.log").path)")
        }
    }

    /// What a tutorial repeats after any change: make in both trees, then the initramfs again.
    public func noOp() async throws -> Double {
        try await timed("""
            \(kernelMake) -j\(environment.jobs) \(imageTarget)
            \(busyboxMake) -j\(environment.jobs)
            \(busyboxMake) \(shellQuote("CONFIG_PREFIX=" + rootfs.path)) install
            """) + (try await pack())
    }

    /// One kernel fragment line changed: merge the fragments again, olddefconfig, make.
    public func fragmentLine(_ fragments: [URL]) async throws -> Double {
        try await timed("""
            \(kernelMake) \(baseConfig)
            (cd \(shellQuote(linux.path)) && \(shellQuote(kernelSource.root.path + "/scripts/kconfig/merge_config.sh")) -m .config \(fragments.map { shellQuote($0.path) }.joined(separator: " ")))
            \(kernelMake) olddefconfig
            \(kernelMake) -j\(environment.jobs) \(imageTarget)
            """)
    }

    /// The initramfs: /init and the board's overlays copied over the BusyBox tree, then `find | cpio |` the board's
    /// compression.
    public func pack() async throws -> Double {
        let overlays = board.overlays.map { "cp -a \(shellQuote($0.path + "/.")) \(shellQuote(rootfs.path + "/"))" }.joined(separator: "\n")
        return try await timed("""
            mkdir -p \(["dev", "proc", "sys", "etc/bspgen"].map { shellQuote(rootfs.path + "/" + $0) }.joined(separator: " "))
            cp \(shellQuote(board.initScript.path)) \(shellQuote(rootfs.path + "/init"))
            echo \(shellQuote("BSPGEN_BOARD=" + board.name)) > \(shellQuote(rootfs.path + "/etc/bspgen/board"))
            \(overlays)
            """) + (try await packOnly(compressor: compressor))
    }

    /// The tutorial's `qemu-system-… -kernel … -initrd … -append …` line with the by-hand kernel, dtb and initramfs:
    /// the machine words, command line and console checks of bspgen's kernel boot `plan`, so the by-hand boot
    /// must reach the same banner and pass the same checks. Returns the report and QEMU's wall time to poweroff.
    public func boot(_ plan: BootPlan, log: URL) async throws -> (BootReport, Double) {
        var plan = plan
        func relative(_ url: URL) -> String { String(url.path.dropFirst(folder.path.count + 1)) }
        plan.kernel = relative(kernelImage)
        plan.initramfs = relative(initramfs)
        plan.deviceTree = plan.deviceTree == nil ? nil : deviceTree.map(relative)
        let commandLine = try await BoardTest.commandLine(for: plan, folder: folder)
        let start = Date()
        let report = try await QEMURunner.bootTest(commandLine, expectedMachine: plan.expectedMachine, log: log,
                                                   options: BootTestOptions(extraChecks: plan.checks))
        return (report, Date().timeIntervalSince(start))
    }

    /// `find . | cpio -o -H newc | gzip -9` (or `compressor`, a command of fixed words) on the prepared tree, alone.
    public func packOnly(compressor: String, to destination: URL? = nil) async throws -> Double {
        try await timed("cd \(shellQuote(rootfs.path)) && find . | cpio -o -H newc 2>/dev/null | \(compressor) > \(shellQuote((destination ?? initramfs).path))")
    }
}

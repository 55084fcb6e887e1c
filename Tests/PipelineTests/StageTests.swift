@testable import Pipeline
import BoardModel
import Foundation
@testable import Host
import Testing

/// A stand-in for Kbuild with the targets bspgen calls: seconds instead of minutes, and a log of what ran.
private let fakeKernelMakefile = """
    # A stand-in for the kernel's Kbuild: the targets bspgen calls, and a log of the ones that ran.
    O ?= .
    tinyconfig:
    \t@sleep 1
    \t@echo $@ >> $(O)/calls.log
    \t@printf 'CONFIG_BASE=y\\nCONFIG_RD_GZIP=y\\n' > $(O)/.config
    olddefconfig:
    \t@echo $@ >> $(O)/calls.log
    savedefconfig:
    \t@cp $(O)/.config $(O)/defconfig
    Image:
    \t@echo $@ >> $(O)/calls.log
    \t@mkdir -p $(O)/arch/$(ARCH)/boot
    \t@cp $(O)/.config $(O)/arch/$(ARCH)/boot/Image

    """

/// A project folder with a board whose kernel is the stand-in (as a tarball, so it is unpacked into the
/// cache) and whose initramfs has an overlay; the shipped toolchains and boards/common are used.
struct FakeProject {
    let root: URL
    var boards: URL { root.appendingPathComponent("boards") }
    var toolchains: URL { repositoryRoot.appendingPathComponent("toolchains") }
    var cache: URL { root.appendingPathComponent("cache") }
    var board: URL { boards.appendingPathComponent("fake-arm64") }
    var fragment: URL { board.appendingPathComponent("linux.fragment") }
    var overlayFile: URL { board.appendingPathComponent("rootfs/etc/motd") }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-stages-\(UUID().uuidString)")
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: root.appendingPathComponent("linux-fake"), withIntermediateDirectories: true)
        try fileManager.createDirectory(at: overlayFile.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fileManager.copyItem(at: repositoryRoot.appendingPathComponent("boards/common"), to: boards.appendingPathComponent("common"))
        try fakeKernelMakefile.write(to: root.appendingPathComponent("linux-fake/Makefile"), atomically: true, encoding: .utf8)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-czf", board.appendingPathComponent("linux-fake.tar.gz").path, "-C", root.path, "linux-fake"]
        try tar.run()
        tar.waitUntilExit()
        try """
            name: fake-arm64
            description: a board with a stand-in kernel, for stage tests
            arch: aarch64
            toolchain: aarch64-linux-gnu
            kernel:
              source: {tarball: linux-fake.tar.gz}
              base_config: tinyconfig
              fragments: [linux.fragment]
              image: Image
            cmdline: console=ttyAMA0
            console: ttyAMA0
            busybox:
              fragments: [../common/busybox.fragment]
            initramfs:
              overlays: [rootfs]

            """.write(to: boards.appendingPathComponent("fake-arm64.yaml"), atomically: true, encoding: .utf8)
        try "CONFIG_PRINTK=y\n".write(to: fragment, atomically: true, encoding: .utf8)
        try "hello\n".write(to: overlayFile, atomically: true, encoding: .utf8)
    }

    func environment() async throws -> BuildEnvironment {
        let board = try Catalog(boardsDirectory: boards, toolchainsDirectory: toolchains).board(named: "fake-arm64")
        let toolchain = try await ToolchainResolver.resolve(board.toolchain)
        return BuildEnvironment(board: board, workspace: Workspace(cacheDirectory: cache.path, outputDirectory: root.appendingPathComponent("out").path),
                                toolchain: toolchain, progress: ProgressLine(quiet: true), jobs: 1)
    }

    /// The board's kernel build folder: the one folder under `kernels/` (named by the kernel's inputs).
    var kernelFolder: URL {
        let kernels = cache.appendingPathComponent("kernels")
        let name = (try? FileManager.default.contentsOfDirectory(atPath: kernels.path))?.first ?? "none"
        return kernels.appendingPathComponent("\(name)/linux")
    }

    /// What the stand-in make ran, in order.
    var calls: [String] {
        let log = kernelFolder.appendingPathComponent("calls.log")
        return ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func remove() { try? FileManager.default.removeItem(at: root) }
}

@Suite(.serialized) struct StageTests {
    @Test func kernelStagesSayWhyTheyRanOrWereSkipped() async throws {
        let project = try FakeProject()
        defer { project.remove() }
        func kernel() async throws -> [StageReport] {
            let environment = try await project.environment()
            let builder = KernelBuilder(environment: environment)
            _ = try await builder.build(try await builder.configure())
            return environment.journal.reports
        }
        func report(_ reports: [StageReport], _ stage: String) -> StageReport? { reports.first { $0.stage == stage } }

        let first = try await kernel()
        #expect(report(first, "kernel source")?.ran == true)
        #expect(report(first, "kernel config")?.reasons == ["no previous record"])
        #expect(report(first, "kernel image")?.ran == true)
        #expect(project.calls == ["tinyconfig", "olddefconfig", "Image"])

        let again = try await kernel()
        #expect(again.allSatisfy { !$0.ran }, "\(again)")
        #expect(project.calls.count == 3)

        try "CONFIG_PRINTK=y\nCONFIG_BUG=y\n".write(to: project.fragment, atomically: true, encoding: .utf8)
        let changed = try await kernel()
        #expect(report(changed, "kernel source")?.ran == false)
        #expect(report(changed, "kernel config")?.reasons == ["fragment linux.fragment changed"])
        #expect(report(changed, "kernel image")?.reasons.contains("kernel config changed") == true)
        // The base config of the same tree and toolchain is kept: a fragment edit merges onto it without tinyconfig.
        #expect(project.calls == ["tinyconfig", "olddefconfig", "Image", "olddefconfig", "Image"])

        // An edit behind bspgen's back is not taken for its own result.
        let config = project.kernelFolder.appendingPathComponent(".config")
        try "CONFIG_BY_HAND=y\n".write(to: config, atomically: true, encoding: .utf8)
        let edited = try await kernel()
        #expect(report(edited, "kernel config")?.reasons == ["output .config edited since"])
    }

    @Test func initramfsIsRepackedOnlyWhenWhatGoesInChanged() async throws {
        let project = try FakeProject()
        defer { project.remove() }
        let staging = project.root.appendingPathComponent("busybox-install")
        try FileManager.default.createDirectory(at: staging.appendingPathComponent("bin"), withIntermediateDirectories: true)
        try "not really busybox".write(to: staging.appendingPathComponent("bin/busybox"), atomically: true, encoding: .utf8)
        let busybox = BusyBoxArtifacts(stagingTree: staging, binary: staging.appendingPathComponent("bin/busybox"),
                                       source: SourceTree(source: "test", root: staging, version: "0", sha256: nil), reused: true)
        func pack() async throws -> StageReport? {
            let environment = try await project.environment()
            let build = BoardBuild(environment: environment)
            try FileManager.default.createDirectory(at: environment.buildDirectory, withIntermediateDirectories: true)
            try await build.initramfsStage(busybox: busybox, modules: nil, to: environment.buildDirectory.appendingPathComponent("initramfs.cpio.gz"))
            return environment.journal.reports.first
        }
        #expect(try await pack()?.reasons == ["no previous record"])
        #expect(try await pack()?.ran == false)
        try "hello again\n".write(to: project.overlayFile, atomically: true, encoding: .utf8)
        #expect(try await pack()?.reasons == ["overlay rootfs changed"])
        try "#!/bin/sh\n".write(to: staging.appendingPathComponent("bin/busybox"), atomically: true, encoding: .utf8)
        #expect(try await pack()?.reasons == ["busybox tree changed"])
        let archive = project.cache.appendingPathComponent("build/fake-arm64/initramfs.cpio.gz")
        try Data("edited".utf8).write(to: archive)
        #expect(try await pack()?.reasons == ["output initramfs.cpio.gz edited since"])
        #expect(try await pack()?.ran == false)
    }

    /// Two real bspgen processes on one board and one cache: the source is unpacked once, each stage runs
    /// once, and both succeed.
    @Test func twoProcessesBuildingOneBoardTakeTurns() async throws {
        let project = try FakeProject()
        defer { project.remove() }
        let binary = repositoryRoot.appendingPathComponent(".build/debug/bspgen")
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build bspgen first (swift build)")
        let processes = try (0..<2).map { _ in
            let process = Process()
            process.executableURL = binary
            process.arguments = ["kernel", "fake-arm64", "--boards", project.boards.path, "--toolchains", project.toolchains.path,
                                 "--cache-dir", project.cache.path, "--out", project.root.appendingPathComponent("out").path, "--quiet"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        for process in processes { process.waitUntilExit() }
        #expect(processes.map(\.terminationStatus) == [0, 0])
        #expect(project.calls == ["tinyconfig", "olddefconfig", "Image"])
        let sources = try FileManager.default.contentsOfDirectory(atPath: project.cache.appendingPathComponent("sources").path)
        #expect(sources.count == 1, "\(sources)")
    }
}

@Test func ccacheStatsLogIsCounted() {
    let log = """
        # a.c
        cache_miss
        direct_cache_miss
        local_storage_miss
        preprocessed_cache_miss
        # a.c
        direct_cache_hit
        local_storage_hit
        # b.c
        preprocessed_cache_hit
        # vmlinux
        called_for_link

        """
    let stats = CCacheStats(log: log)
    #expect(stats.hits == 2)
    #expect(stats.misses == 1)
    #expect(stats.uncacheable == 1)
    #expect(stats.summary == "ccache 2/3 hits (67%)")
}

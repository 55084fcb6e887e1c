import BoardModel
import Foundation
import Host
import Kconfig

public struct BusyBoxArtifacts: Sendable {
    /// `make install` output: bin/, sbin/, usr/ with the applet links.
    public var stagingTree: URL
    public var binary: URL
    public var source: SourceTree
    public var reused: Bool
}

/// BusyBox from defconfig plus the board's fragments, always static, cross-built out of tree, installed into a
/// staging tree, and checked to be a static executable for the board's architecture. The build lives under the
/// cache by input hash, so boards that would build the same BusyBox build it once.
public struct BusyBoxBuilder: Sendable {
    public let environment: BuildEnvironment

    public init(environment: BuildEnvironment) { self.environment = environment }

    var board: ResolvedBoard { environment.board }
    func make(_ source: SourceTree, _ targets: [String], in buildDirectory: URL, jobs: Int? = nil,
              wrappers: CompilerWrappers = .plain) -> Command {
        environment.outOfTreeMake(source, targets, in: buildDirectory, jobs: jobs, wrappers: wrappers, variables: ["KBUILD_BUILD_TIMESTAMP": ""])
    }

    public func build(force: Bool = false) async throws -> BusyBoxArtifacts {
        let progress = environment.progress
        let source = try await environment.preparedSource("busybox", board.board.busybox.resolvedSource, patches: board.busyboxPatches)

        var key = StageKey()
        key.add("stage", "busybox-1")
        key.add(source: source)
        key.add("toolchain", environment.toolchain.versionLine + environment.toolchain.crossCompile)
        for fragment in board.busyboxFragments { try key.addFile("fragment", fragment) }
        let folder = environment.workspace.busybox.appendingPathComponent(String(key.value.prefix(16)), isDirectory: true)
        let buildDirectory = folder.appendingPathComponent("build", isDirectory: true)
        environment.cacheUses.add(folder)
        let stagingTree = folder.appendingPathComponent("install", isDirectory: true)
        let binary = stagingTree.appendingPathComponent("bin/busybox")
        var stage = Stage("busybox", key: key, record: folder.appendingPathComponent("install.json"), outputs: [binary])
        stage.forced = force ? "forced" : nil
        // The shared folder is named by the key, so a changed input means a new folder: what changed is told by
        // this board's own note of the BusyBox it used last.
        stage.history = environment.buildDirectory.appendingPathComponent(".bspgen-busybox.json")
        stage.skipNote = "inputs unchanged (shared build \(folder.lastPathComponent))"
        // Boards with the same BusyBox share this folder: one builds it, the others wait and reuse it.
        let outcome = try await FileLock.withLock(environment.workspace.lock("busybox-\(folder.lastPathComponent)"),
                                                  onWait: { progress.note("[busybox] waiting for another build of \(folder.lastPathComponent)") }) {
            try await environment.run(stage) {
                let wrappers = try environment.compilerWrappers(stage: "busybox")
                try await build(source: source, buildDirectory: buildDirectory, stagingTree: stagingTree, wrappers: wrappers)
                let ccache = wrappers.ccacheSummary()
                return StageWork(detail: ccache.map { "\(wrappers.summary): \($0)" } ?? wrappers.summary)
            }
        }
        return BusyBoxArtifacts(stagingTree: stagingTree, binary: binary, source: source, reused: !outcome.ran)
    }

    private func build(source: SourceTree, buildDirectory: URL, stagingTree: URL, wrappers: CompilerWrappers) async throws {
        let progress = environment.progress
        let binary = stagingTree.appendingPathComponent("bin/busybox")
        func make(_ targets: [String], jobs: Int? = nil) -> Command {
            self.make(source, targets, in: buildDirectory, jobs: jobs, wrappers: wrappers)
        }
        let log = environment.log("busybox")
        try? FileManager.default.removeItem(at: log)
        try FileManager.default.createDirectory(at: buildDirectory, withIntermediateDirectories: true)

        progress.begin("busybox config", "defconfig + \(board.busyboxFragments.count) fragment(s), static")
        try await ProcessRunner.logged(make(["defconfig"]), log: log, onLine: progress.update)
        let config = buildDirectory.appendingPathComponent(".config")
        let forced = try KconfigFile.parse(text: """
            CONFIG_STATIC=y
            CONFIG_CROSS_COMPILER_PREFIX="\(environment.toolchain.crossCompile)"
            """, name: "bspgen (forced)")
        let fragments = try board.busyboxFragments.map { try KconfigFile.load($0, name: $0.path) } + [forced]
        let merge = KconfigMerge(base: try KconfigFile.load(config, name: "defconfig"), fragments: fragments)
        try AtomicFile.write(merge.merged.text, to: config)
        // BusyBox's older Kconfig has no olddefconfig: oldconfig asks about new symbols, and empty answers take defaults.
        try await ProcessRunner.logged(make(["oldconfig"]), log: log, input: String(repeating: "\n", count: 4000), onLine: progress.update)
        let problems = KconfigCheck.check(requested: merge.requested, obtained: try KconfigFile.load(config, name: config.path), index: nil)
        if !problems.filter({ !$0.isOptional }).isEmpty {
            throw BuildError.kernelConfig(problems: problems.filter { !$0.isOptional }.map(\.description), config: config, log: log)
        }
        progress.end()

        progress.begin("busybox build", "make -j\(environment.jobs) (\(wrappers.summary))")
        try await ProcessRunner.logged(make(["busybox"], jobs: environment.jobs), log: log, onLine: progress.update)
        let temporary = try AtomicFile.temporaryDirectory(beside: stagingTree)
        do {
            try await ProcessRunner.logged(make(["install", "CONFIG_PREFIX=\(temporary.path)"]), log: log, onLine: progress.update)
            let installed = temporary.appendingPathComponent("bin/busybox")
            if let mismatch = try ELFHeader(contentsOf: installed).mismatch(for: board.architecture, toolchain: board.toolchain) {
                throw BuildError.wrongBinary(path: installed.path, message: mismatch + "\n    log: \(log.path)")
            }
            try AtomicFile.replace(stagingTree, with: temporary)
        } catch {
            // A failed or interrupted install leaves no half tree beside the staging tree.
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: binary.path)[.size] as? NSNumber)?.intValue ?? 0
        progress.end("static \(board.architecture.elf.machine) binary, \(size / 1024) KiB")
    }
}

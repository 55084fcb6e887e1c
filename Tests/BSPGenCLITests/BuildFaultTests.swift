import Foundation
import Testing

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A board whose kernel and BusyBox "sources" are Makefiles that stand in for Kbuild and BusyBox's build: a whole
/// `bspgen build` takes a second or two, with every stage of the pipeline (kernel config, kernel image, BusyBox,
/// initramfs, output folder) and the real packer, stage runner and output stage. `blockAt` names a make target
/// that waits in a grandchild `sleep` until a file `release` exists in the project folder; `overlayBytes` of
/// random data in an overlay make the initramfs stage take a while.
struct FakeBoardProject {
    let directory: URL
    var boards: URL { directory.appendingPathComponent("boards") }
    var toolchains: URL { directory.appendingPathComponent("toolchains") }
    var cache: URL { directory.appendingPathComponent("cache") }
    var output: URL { directory.appendingPathComponent("out") }
    var board: URL { output.appendingPathComponent("fake") }
    var release: URL { directory.appendingPathComponent("release") }
    var sleeperPID: URL { directory.appendingPathComponent("sleeper.pid") }
    var fragment: URL { boards.appendingPathComponent("fake/linux.fragment") }
    /// The board's kernel build folder: the one folder under `kernels/` (named by the kernel's inputs).
    var kernelBuild: URL {
        let kernels = cache.appendingPathComponent("kernels")
        let name = (try? FileManager.default.contentsOfDirectory(atPath: kernels.path))?.first ?? "none"
        return kernels.appendingPathComponent("\(name)/linux")
    }
    /// Where the board's own stage records are.
    var boardBuild: URL { cache.appendingPathComponent("build/fake") }
    /// Where the stand-in compiles of `jobs` log their starts and ends (see `peakConcurrency`).
    var journal: URL { directory.appendingPathComponent("jobs.journal") }

    /// `jobs`: the kernel image and BusyBox each wait for that many independent stand-in compiles (0.4 s each).
    init(blockAt blocked: String? = nil, overlayBytes: Int = 0, jobs: Int = 0) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-fault-\(UUID().uuidString)")
        let kernel = boards.appendingPathComponent("fake/linux")
        let busybox = boards.appendingPathComponent("fake/busybox")
        for folder in [kernel, busybox, toolchains, cache, output] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        try FileManager.default.copyItem(at: root.appendingPathComponent("boards/common"), to: boards.appendingPathComponent("common"))
        try FileManager.default.copyItem(at: root.appendingPathComponent("toolchains/x86_64-linux-gnu.yaml"),
                                         to: toolchains.appendingPathComponent("x86_64-linux-gnu.yaml"))
        var initramfs = ""
        if overlayBytes > 0 {
            let overlay = boards.appendingPathComponent("fake/overlay")
            try FileManager.default.createDirectory(at: overlay, withIntermediateDirectories: true)
            var generator = SystemRandomNumberGenerator()
            let bytes = (0..<overlayBytes / 8).flatMap { _ in withUnsafeBytes(of: generator.next() as UInt64) { Array($0) } }
            try Data(bytes).write(to: overlay.appendingPathComponent("random.bin"))
            initramfs = "initramfs: {overlays: [overlay]}\n"
        }
        try """
            name: fake
            description: Makefiles standing in for the kernel and BusyBox
            arch: x86_64
            toolchain: x86_64-linux-gnu
            kernel:
              source: {directory: linux}
              base_config: tinyconfig
              fragments: [linux.fragment]
              image: bzImage
            cmdline: console=ttyS0
            console: ttyS0
            busybox:
              source: {directory: busybox}

            """.appending(initramfs).write(to: boards.appendingPathComponent("fake.yaml"), atomically: true, encoding: .utf8)
        try "CONFIG_PRINTK=y\n".write(to: fragment, atomically: true, encoding: .utf8)
        let block = "\tsh -c 'until [ -e \(release.path) ]; do sleep 60 & echo $$! > \(sleeperPID.path); wait $$! || true; done'\n"
        let compiles = jobs > 0 ? (1...jobs).map { " compile\($0)" }.joined() : ""
        let compileRule = "compile%:\n\t@echo \"+ $$(date +%s%N)\" >> \(journal.path); sleep 0.4; echo \"- $$(date +%s%N)\" >> \(journal.path)\n"
        func rule(_ name: String, _ recipe: String) -> String {
            let prerequisites = ["bzImage", "busybox"].contains(name) ? compiles : ""
            return "\(name):\(prerequisites)\n" + (name == blocked ? block : "") + recipe + (name == "tinyconfig" || name == "defconfig" ? compileRule : "")
        }
        try (rule("tinyconfig", "\tprintf 'CONFIG_PRINTK=y\\nCONFIG_RD_GZIP=y\\n' > $(O)/.config\n")
            + rule("olddefconfig", "\ttrue\n")
            + rule("savedefconfig", "\tcp $(O)/.config $(O)/defconfig\n")
            + rule("bzImage", "\tmkdir -p $(O)/arch/x86/boot $(O)/init && echo image > $(O)/arch/x86/boot/bzImage\n"
                   // What the SBOM stage reads of a kernel build: vmlinux.o's record (the archive ld links) and the
                   // record of the one object in it, with its source.
                   + "\t$(CROSS_COMPILE)gcc -c -o $(O)/init/main.o $(CURDIR)/init/main.c\n"
                   // A thin archive, as Kbuild's: its members are named by their paths.
                   + "\tcd $(O) && rm -f vmlinux.a && $(CROSS_COMPILE)ar rcsT vmlinux.a init/main.o\n"
                   + "\techo 'cmd_vmlinux.o := ld -m elf_x86_64 -r -o vmlinux.o --whole-archive vmlinux.a --no-whole-archive' > $(O)/.vmlinux.o.cmd\n"
                   + "\tprintf 'cmd_init/main.o := gcc -c -o init/main.o $(CURDIR)/init/main.c\\nsource_init/main.o := $(CURDIR)/init/main.c\\n"
                   + "deps_init/main.o := $(CURDIR)/init/main.c\\n' > $(O)/init/.main.o.cmd\n"))
            .write(to: kernel.appendingPathComponent("Makefile"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: kernel.appendingPathComponent("init"), withIntermediateDirectories: true)
        try "// SPDX-License-Identifier: GPL-2.0-only\nint fake_kernel_main(void) { return 0; }\n"
            .write(to: kernel.appendingPathComponent("init/main.c"), atomically: true, encoding: .utf8)
        // A static ELF for x86_64 with no C library: what the build checks BusyBox to be.
        try (rule("defconfig", "\techo 'CONFIG_STATIC=y' > $(O)/.config\n")
            + rule("oldconfig", "\tcat > /dev/null\n")
            + rule("busybox", "\tprintf 'void _start(void) { for (;;) ; }\\n' > $(O)/tiny.c\n"
                   + "\t$(CROSS_COMPILE)gcc -static -nostdlib -o $(O)/busybox $(O)/tiny.c\n")
            + rule("install", "\tmkdir -p $(CONFIG_PREFIX)/bin && cp $(O)/busybox $(CONFIG_PREFIX)/bin/busybox\n"))
            .write(to: busybox.appendingPathComponent("Makefile"), atomically: true, encoding: .utf8)
    }

    /// Another board like `fake`: the same BusyBox, and the same kernel fragment (so the same kernel build
    /// folder) unless `ownKernelFragment`, which gives it a copy of the fragment in its own folder.
    func addBoard(_ name: String, ownKernelFragment: Bool = false) throws {
        let text = try String(contentsOf: boards.appendingPathComponent("fake.yaml"), encoding: .utf8)
        try FileManager.default.createDirectory(at: boards.appendingPathComponent(name), withIntermediateDirectories: true)
        if ownKernelFragment { try FileManager.default.copyItem(at: fragment, to: boards.appendingPathComponent("\(name)/linux.fragment")) }
        try text.replacingOccurrences(of: "name: fake\n", with: "name: \(name)\n")
            .replacingOccurrences(of: "{directory: ", with: "{directory: ../fake/")
            .replacingOccurrences(of: "fragments: [", with: ownKernelFragment ? "fragments: [" : "fragments: [../fake/")
            .write(to: boards.appendingPathComponent("\(name).yaml"), atomically: true, encoding: .utf8)
    }

    var arguments: [String] {
        ["--boards", boards.path, "--toolchains", toolchains.path, "--arches", root.appendingPathComponent("arches").path,
         "--cache-dir", cache.path, "--out", output.path, "--quiet", "--no-ccache"]
    }

    /// `command` with the project's options (boards, toolchains, cache, output), or with `--cache-dir` alone
    /// (`buildOptions` false) for commands that take no others.
    func start(_ command: [String] = ["build", "fake"], buildOptions: Bool = true) throws -> (Process, URL) {
        let process = Process()
        process.executableURL = root.appendingPathComponent(".build/debug/bspgen")
        process.arguments = command + (buildOptions ? arguments : ["--cache-dir", cache.path])
        let log = directory.appendingPathComponent("run-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, log)
    }

    /// Runs bspgen to its end: exit status (nil when a signal ended it) and everything it printed.
    func run(_ command: [String] = ["build", "fake"], buildOptions: Bool = true) throws -> (status: Int32?, output: String) {
        let (process, log) = try start(command, buildOptions: buildOptions)
        process.waitUntilExit()
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: log)
        return (process.terminationReason == .exit ? process.terminationStatus : nil, text)
    }

    /// The pid of the grandchild once the fake build blocks.
    func waitForSleeper() async throws -> Int32 {
        for _ in 0..<300 {
            if let text = try? String(contentsOf: sleeperPID, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return pid
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CancellationError()
    }

    func cleanUp() {
        for mount in [cache, output] { unmount(mount) }
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A tmpfs of `kilobytes` at `folder` (the tests run as root): a full disk without loop devices.
func mountTmpfs(_ folder: URL, kilobytes: Int, readOnly: Bool = false) throws {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let status = try shell(["mount", "-t", "tmpfs", "-o", "size=\(kilobytes)k,mode=0755" + (readOnly ? ",ro" : ""), "tmpfs", folder.path])
    try #require(status == 0, "mount a tmpfs at \(folder.path) (needs root)")
}

/// Fills the file system of `folder` with a file `filler` until no byte more fits.
func fill(_ folder: URL) {
    let filler = folder.appendingPathComponent("filler")
    _ = FileManager.default.createFile(atPath: filler.path, contents: nil)
    guard let handle = try? FileHandle(forWritingTo: filler) else { return }
    defer { try? handle.close() }
    let chunk = Data(count: 4096)
    while (try? handle.write(contentsOf: chunk)) != nil {}
}

func remount(_ folder: URL, options: String) throws {
    try #require(try shell(["mount", "-o", "remount," + options, folder.path]) == 0, "remount \(folder.path) \(options)")
}

func unmount(_ folder: URL) {
    while (try? shell(["mountpoint", "-q", folder.path])) == 0 {
        guard (try? shell(["umount", folder.path])) == 0 else {
            _ = try? shell(["umount", "-l", folder.path])
            return
        }
    }
}

@discardableResult
func shell(_ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

/// Names a failed or killed run may leave behind: temporary files and folders, folders moved aside.
func temporaryNames(under folder: URL) -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: folder.path) else { return [] }
    return walker.compactMap { $0 as? String }.filter { path in
        let name = URL(fileURLWithPath: path).lastPathComponent
        return name.contains(".tmp") || name.contains(".old-")
    }
}

/// out/fake is either absent or complete: every file its manifest lists, with that size and sha256, and nothing else
/// but the report (`report.html`, `report.json`), which is written after the folder: a kill may leave it missing, or
/// leave the killed process's temporary name of it (`.report.html.tmp-PID-N`, removed by the next write).
func expectCompleteOrAbsent(_ project: FakeBoardProject, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let folder = project.board
    guard FileManager.default.fileExists(atPath: folder.path) else { return }
    try expectComplete(project, reportWriteMayHaveBeenKilled: true, sourceLocation: sourceLocation)
}

func expectComplete(_ project: FakeBoardProject, reportWriteMayHaveBeenKilled: Bool = false,
                    sourceLocation: SourceLocation = #_sourceLocation) throws {
    let folder = project.board
    struct Manifest: Decodable {
        struct Artifact: Decodable { var path: String; var size: Int; var sha256: String }
        var artifacts: [Artifact]
    }
    let data = try #require(FileManager.default.contents(atPath: folder.appendingPathComponent("manifest.json").path),
                            "out/fake exists without manifest.json", sourceLocation: sourceLocation)
    let manifest = try JSONDecoder().decode(Manifest.self, from: data)
    // Every file, in sub-folders too (licences/), by its path inside out/fake.
    let present = Set((FileManager.default.enumerator(atPath: folder.path)?.compactMap { $0 as? String } ?? []).filter { path in
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: folder.appendingPathComponent(path).path, isDirectory: &isFolder) && !isFolder.boolValue
    }).subtracting(["report.html", "report.json"]).filter { path in
        !(reportWriteMayHaveBeenKilled && (path.hasPrefix(".report.html.tmp-") || path.hasPrefix(".report.json.tmp-")))
    }
    #expect(present == Set(manifest.artifacts.map(\.path) + ["manifest.json"]), "files of out/fake: \(present.sorted())",
            sourceLocation: sourceLocation)
    for artifact in manifest.artifacts {
        let contents = FileManager.default.contents(atPath: folder.appendingPathComponent(artifact.path).path)
        #expect(contents?.count == artifact.size, "\(artifact.path): size", sourceLocation: sourceLocation)
        let sum = try #require(try sha256(folder.appendingPathComponent(artifact.path)), sourceLocation: sourceLocation)
        #expect(sum == artifact.sha256, "\(artifact.path): sha256", sourceLocation: sourceLocation)
    }
    #expect(manifest.artifacts.contains { $0.path == "initramfs.cpio.gz" }, sourceLocation: sourceLocation)
}

private func sha256(_ file: URL) throws -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = [file.path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).split(separator: " ").first.map(String.init)
}

private func isAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
    return !stat.contains(") Z ")
}

/// What a failed build must look like: its own exit status (no signal, no crash report), a message.
private func expectCleanFailure(_ result: (status: Int32?, output: String), mentioning text: String,
                                sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status != nil && result.status != 0, "status \(String(describing: result.status)): \(result.output)",
            sourceLocation: sourceLocation)
    for marker in ["Fatal error", "Program crashed", "Backtrac"] {
        #expect(!result.output.contains(marker), "\(result.output)", sourceLocation: sourceLocation)
    }
    #expect(result.output.lowercased().contains(text.lowercased()), "\(result.output)", sourceLocation: sourceLocation)
}

/// Faults during a build: a full disk under the output or the cache, `kill -9` at any moment, two builds of one
/// board at once, a read-only cache. Afterwards out/fake is complete and correct or absent, no temporary name is
/// left, and the next build succeeds.
@Suite(.serialized) struct BuildFaultTests {
    @Test func aFullOutputDiskLeavesTheOldOutputAndNoTemporaryFolder() async throws {
        let project = try FakeBoardProject()
        defer { project.cleanUp() }
        try mountTmpfs(project.output, kilobytes: 1024)
        let first = try project.run()
        #expect(first.status == 0, "\(first.output)")
        try expectComplete(project)
        // Every build writes its report beside the output, outside the manifest.
        let page = try String(contentsOf: project.board.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(page.contains("<h1>fake</h1>") && page.contains("Kernel sizes were not measured"))
        let before = try FileManager.default.contentsOfDirectory(atPath: project.board.path).sorted()
        let manifest = try Data(contentsOf: project.board.appendingPathComponent("manifest.json"))

        // A changed option makes the output stage run again, on a disk with no room for a second copy.
        try "CONFIG_PRINTK=y\nCONFIG_LOCALVERSION=\"-fault\"\n".write(to: project.fragment, atomically: true, encoding: .utf8)
        fill(project.output)
        for _ in 0..<3 {
            let full = try project.run()
            expectCleanFailure(full, mentioning: "no space left on device")
            #expect(try FileManager.default.contentsOfDirectory(atPath: project.board.path).sorted() == before)
            #expect(try Data(contentsOf: project.board.appendingPathComponent("manifest.json")) == manifest, "the old output is kept")
            #expect(temporaryNames(under: project.output).isEmpty, "left: \(temporaryNames(under: project.output))")
            #expect(temporaryNames(under: project.cache).isEmpty, "left: \(temporaryNames(under: project.cache))")
        }

        try FileManager.default.removeItem(at: project.output.appendingPathComponent("filler"))
        let again = try project.run()
        #expect(again.status == 0, "\(again.output)")
        try expectComplete(project)
        #expect(try Data(contentsOf: project.board.appendingPathComponent("manifest.json")) != manifest, "the new output is in place")
        #expect(temporaryNames(under: project.output).isEmpty)
    }

    /// The cache on a tmpfs too small for the build, from 16 KiB up in steps of 16 KiB until the build fits: the
    /// disk fills at a different place each time (stage records, logs, BusyBox, the initramfs, the lock files).
    @Test func aFullCacheDiskFailsCleanlyWhereverItFills() async throws {
        let project = try FakeBoardProject()
        defer { project.cleanUp() }
        var failures = 0
        var kilobytes = 16
        while kilobytes <= 4096 {
            try FileManager.default.createDirectory(at: project.cache, withIntermediateDirectories: true)
            try mountTmpfs(project.cache, kilobytes: kilobytes)
            let result = try project.run()
            if result.status == 0 {
                try expectComplete(project)
                #expect(temporaryNames(under: project.cache).isEmpty, "\(kilobytes) KiB: \(temporaryNames(under: project.cache))")
                break
            }
            failures += 1
            expectCleanFailure(result, mentioning: "space left on device")
            #expect(!FileManager.default.fileExists(atPath: project.board.path), "\(kilobytes) KiB: no output without a finished build")
            #expect(temporaryNames(under: project.cache).isEmpty, "\(kilobytes) KiB: \(temporaryNames(under: project.cache))")
            #expect(temporaryNames(under: project.output).isEmpty, "\(kilobytes) KiB: \(temporaryNames(under: project.output))")
            // The next try with room enough completes from what this one kept.
            try remount(project.cache, options: "size=8m")
            let retry = try project.run()
            #expect(retry.status == 0, "\(kilobytes) KiB, then room: \(retry.output)")
            try expectComplete(project)
            unmount(project.cache)
            try? FileManager.default.removeItem(at: project.board)
            kilobytes += 16
        }
        print("full cache: the build failed cleanly at \(failures) sizes before it fitted in \(kilobytes) KiB")
        #expect(failures >= 3, "the build failed at \(failures) sizes before it fitted in \(kilobytes) KiB")
        #expect(kilobytes <= 4096, "the fake build never fitted")
    }

    @Test func aReadOnlyCacheIsAClearErrorAndNothingChanges() async throws {
        let project = try FakeBoardProject()
        defer { project.cleanUp() }
        try mountTmpfs(project.cache, kilobytes: 8192)
        try remount(project.cache, options: "ro")
        let empty = try project.run()
        expectCleanFailure(empty, mentioning: "read-only file system")
        #expect(!FileManager.default.fileExists(atPath: project.board.path))

        try remount(project.cache, options: "rw")
        #expect(try project.run().status == 0)
        try expectComplete(project)
        let manifest = try Data(contentsOf: project.board.appendingPathComponent("manifest.json"))
        try remount(project.cache, options: "ro")
        try "CONFIG_PRINTK=y\nCONFIG_LOCALVERSION=\"-ro\"\n".write(to: project.fragment, atomically: true, encoding: .utf8)
        let warm = try project.run()
        expectCleanFailure(warm, mentioning: "read-only file system")
        #expect(try Data(contentsOf: project.board.appendingPathComponent("manifest.json")) == manifest)
        try expectComplete(project)
        #expect(temporaryNames(under: project.output).isEmpty)

        try remount(project.cache, options: "rw")
        #expect(try project.run().status == 0)
        try expectComplete(project)
        #expect(temporaryNames(under: project.cache).isEmpty)
    }

    /// out/BOARD is replaced whole, so a link under that name would be replaced, not followed: refused, kept. The
    /// folder --out names may be a link to a folder elsewhere.
    @Test func anOutputFolderThatIsALinkIsRefusedAndKept() async throws {
        let project = try FakeBoardProject()
        defer { project.cleanUp() }
        let elsewhere = project.directory.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: elsewhere.appendingPathComponent("keep"))
        try FileManager.default.createSymbolicLink(at: project.board, withDestinationURL: elsewhere)
        let refused = try project.run()
        expectCleanFailure(refused, mentioning: "symbolic link")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: project.board.path) == elsewhere.path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path) == ["keep"])
        #expect(temporaryNames(under: project.output).isEmpty)

        try FileManager.default.removeItem(at: project.board)
        try FileManager.default.removeItem(at: project.output)
        try FileManager.default.createSymbolicLink(at: project.output, withDestinationURL: elsewhere)
        let linked = try project.run()
        #expect(linked.status == 0, "\(linked.output)")
        try expectComplete(project)
        #expect(FileManager.default.fileExists(atPath: elsewhere.appendingPathComponent("fake/manifest.json").path))
    }

    @Test func twoBuildsOfOneBoardAtOnceBothSucceed() async throws {
        let project = try FakeBoardProject(overlayBytes: 4 << 20)
        defer { project.cleanUp() }
        let (first, firstLog) = try project.start()
        let (second, secondLog) = try project.start()
        first.waitUntilExit()
        second.waitUntilExit()
        let logs = [firstLog, secondLog].map { (try? String(contentsOf: $0, encoding: .utf8)) ?? "" }
        #expect(first.terminationReason == .exit && first.terminationStatus == 0, "\(logs[0])")
        #expect(second.terminationReason == .exit && second.terminationStatus == 0, "\(logs[1])")
        try expectComplete(project)
        #expect(temporaryNames(under: project.output).isEmpty)
        #expect(temporaryNames(under: project.cache).isEmpty)
    }

    /// `kill -9` while a make stage waits: the orphan is stopped by the next run, which finishes the build.
    @Test(arguments: ["tinyconfig", "bzImage", "busybox", "install"])
    func killNineDuringAMakeStageThenRebuild(blockAt target: String) async throws {
        let project = try FakeBoardProject(blockAt: target)
        defer { project.cleanUp() }
        let (first, _) = try project.start()
        let orphan = try await project.waitForSleeper()
        // bspgen lists make's process group in running/PID just after starting it; a kill in that instant leaves
        // an orphan nobody knows of (a window no bookkeeping done by the parent can close).
        let registry = project.cache.appendingPathComponent("running/\(first.processIdentifier)")
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: registry.path) { try await Task.sleep(for: .milliseconds(50)) }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        try expectCompleteOrAbsent(project)
        try Data().write(to: project.release)
        let rebuild = try project.run()
        #expect(rebuild.status == 0, "\(rebuild.output)")
        #expect(!isAlive(orphan), "the next run stops what the killed one left running")
        try expectComplete(project)
        #expect(temporaryNames(under: project.cache).isEmpty, "\(temporaryNames(under: project.cache))")
        #expect(temporaryNames(under: project.output).isEmpty)
    }

    /// A kill during the report's write (after the folder is complete) leaves the killed process's temporary name
    /// of it: the folder is still complete, and the next build removes the name, whether or not it rebuilds anything.
    @Test func aKilledReportWriteIsCleanedByTheNextBuild() async throws {
        let project = try FakeBoardProject()
        defer { project.cleanUp() }
        #expect(try project.run().status == 0)
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let left = project.board.appendingPathComponent(".report.html.tmp-\(gone.processIdentifier)-7")
        try Data("<html>half".utf8).write(to: left)
        try expectCompleteOrAbsent(project)
        #expect(try project.run().status == 0)
        try expectComplete(project)
        #expect(temporaryNames(under: project.output).isEmpty, "\(temporaryNames(under: project.output))")
    }

    /// `kill -9` at moments spread over a whole build (the in-process stages too: initramfs packing, the output
    /// folder), each followed by a look at the output and, at the end, a rebuild. Eight kills must hit a running
    /// build, at 1/9 to 8/9 of its length.
    @Test func killNineAtAnyMomentThenRebuild() async throws {
        let project = try FakeBoardProject(overlayBytes: 24 << 20)
        defer { project.cleanUp() }
        // How long a whole build takes here, to spread the kills over it.
        let start = Date()
        #expect(try project.run().status == 0)
        var whole = Date().timeIntervalSince(start)
        var kills = 0
        var rounds = 0
        while kills < 8, rounds < 16 {
            rounds += 1
            try FileManager.default.removeItem(at: project.cache)
            try? FileManager.default.removeItem(at: project.board)
            try FileManager.default.createDirectory(at: project.cache, withIntermediateDirectories: true)
            // Every other round builds over an existing output (the output stage replaces a folder).
            if rounds % 2 == 0 { #expect(try project.run().status == 0) ; try FileManager.default.removeItem(at: project.cache) }
            let aim = "\(kills + 1)/9 of \(whole) s"
            let (process, _) = try project.start()
            try await Task.sleep(for: .milliseconds(Int(whole * 1000 * Double(kills + 1) / 9)))
            if process.isRunning {
                kills += 1
            } else {
                // The first build was slower than this one (a loaded test run starts many processes at once):
                // aim earlier, at the same fraction of the build.
                whole *= 0.75
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try expectCompleteOrAbsent(project)
            let rebuild = try project.run()
            #expect(rebuild.status == 0, "after a kill at \(aim): \(rebuild.output)")
            try expectComplete(project)
            #expect(temporaryNames(under: project.output).isEmpty, "\(temporaryNames(under: project.output))")
            #expect(temporaryNames(under: project.cache).isEmpty, "\(temporaryNames(under: project.cache))")
        }
        #expect(kills == 8, "only \(kills) kills in \(rounds) rounds hit a running build")
    }
}

@testable import Pipeline
import BoardModel
import Foundation
@testable import Host
import Testing

/// A real distccd on loopback, with the cross compiler on its PATH, and a small kernel-like compile through
/// bspgen's compiler wrappers: the daemon's log must show every job, and the objects must be for arm64.
@Suite(.serialized) struct DistccTests {
    /// distccd detached as it runs in production; stopped through its pid file, with its preforked children.
    struct Daemon {
        let log: URL
        let pidFile: URL
        let port: Int

        static func start(in folder: URL) async throws -> Daemon {
            let log = folder.appendingPathComponent("distccd.log")
            // Started as root, distccd drops to its own user before it opens the log.
            _ = FileManager.default.createFile(atPath: log.path, contents: nil, attributes: [.posixPermissions: 0o666])
            let pidFile = folder.appendingPathComponent("distccd.pid")
            let port = Int.random(in: 20_000..<60_000)
            try #require(ProcessRunner.which("distccd") != nil, "distccd is missing: apt-get install distcc")
            try await ProcessRunner.checked(Command("distccd", ["--daemon", "--allow", "127.0.0.1", "--listen", "127.0.0.1", "--port", String(port),
                                                                "--jobs", "2", "--pid-file", pidFile.path, "--log-file", log.path, "--log-level=info"]))
            let daemon = Daemon(log: log, pidFile: pidFile, port: port)
            for _ in 0..<100 where !daemon.text.contains("listening on") { try await Task.sleep(nanoseconds: 50_000_000) }
            return daemon
        }

        var text: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        /// Ends this test's daemon and its preforked children: the processes of distccd listening on this port.
        func stop() {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
                let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                guard arguments.first?.hasSuffix("distccd") == true,
                      let index = arguments.firstIndex(of: "--port"), arguments.indices.contains(index + 1), arguments[index + 1] == String(port)
                else { continue }
                kill(pid, SIGKILL)
            }
        }
    }

    func compile(ccache: Bool) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-distcc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("src"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let daemon = try await Daemon.start(in: folder)
        defer { daemon.stop() }
        #expect(daemon.text.contains("listening on 127.0.0.1:\(daemon.port)"), "\(daemon.text)")

        // Three translation units in Kbuild's manner: a generated header forced in with -include.
        let names = ["sched", "printk", "panic"]
        try "#define CONFIG_NR_CPUS 2\n".write(to: folder.appendingPathComponent("src/autoconf.h"), atomically: true, encoding: .utf8)
        for (index, name) in names.enumerated() {
            try "int \(name)_count[CONFIG_NR_CPUS];\nint \(name)(int x) { return x * \(index + 2) + \(name)_count[0]; }\n"
                .write(to: folder.appendingPathComponent("src/\(name).c"), atomically: true, encoding: .utf8)
        }
        try (".c.o:\n\t$(CC) -O2 -include autoconf.h -c $< -o $@\nall: " + names.map { "\($0).o" }.joined(separator: " ") + "\n")
            .write(to: folder.appendingPathComponent("src/Makefile"), atomically: true, encoding: .utf8)

        let board = try Catalog(boardsDirectory: repositoryRoot.appendingPathComponent("boards"),
                                toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains")).board(named: "qemu-arm64-virt")
        let toolchain = try await ToolchainResolver.resolve(board.toolchain)
        let workspace = Workspace(cacheDirectory: folder.appendingPathComponent("cache").path, outputDirectory: folder.appendingPathComponent("out").path)
        let wrappers = try CompilerWrappers.prepare(toolchain: toolchain, workspace: workspace,
                                                    options: CompilerOptions(ccache: ccache, distccHosts: "127.0.0.1:\(daemon.port)/2"),
                                                    statsLog: folder.appendingPathComponent("ccache.stats"))
        #expect(wrappers.summary == (ccache ? "ccache + " : "") + "distcc (127.0.0.1:\(daemon.port)/2)")
        var environment = wrappers.variables.mapValues { Optional($0) }
        environment["DISTCC_FALLBACK"] = "0"  // a job distcc cannot send fails instead of quietly compiling here
        let log = folder.appendingPathComponent("make.log")
        try await ProcessRunner.logged(Command("make", ["-C", folder.appendingPathComponent("src").path, "-j3", "CC=\(toolchain.crossCompile)gcc"],
                                               environment: environment), log: log)

        let completed = daemon.text.split(separator: "\n").filter { $0.contains("COMPILE_OK") }
        for name in names {
            #expect(completed.contains { $0.hasSuffix(" \(name).c") }, "distccd did not compile \(name).c:\n\(daemon.text)")
            let object = folder.appendingPathComponent("src/\(name).o")
            let header = try Data(contentsOf: object).prefix(20)
            #expect(header.prefix(4) == Data([0x7F, 0x45, 0x4C, 0x46]))
            #expect(header[18] == 0xB7, "e_machine of \(name).o is not AArch64")
        }
        if ccache { #expect(CCacheStats(log: try String(contentsOf: folder.appendingPathComponent("ccache.stats"), encoding: .utf8)).misses == 3) }
    }

    @Test func kernelLikeCompilesGoToTheDaemon() async throws { try await compile(ccache: false) }
    @Test func ccacheMissesGoToTheDaemon() async throws { try await compile(ccache: true) }
}

/// ccache must give the compiler's own bytes: an object compiled through bspgen's wrapper (a miss, then a hit)
/// equals the one the plain compiler makes, __FILE__ strings included, for a source under the cache as Kbuild's are.
@Test func ccacheObjectsEqualThePlainCompilers() async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-ccache-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: folder) }
    let workspace = Workspace(cacheDirectory: folder.appendingPathComponent("cache").path, outputDirectory: folder.appendingPathComponent("out").path)
    let source = workspace.sources.appendingPathComponent("demo/kernel/warn.c")
    let build = workspace.build("demo")
    try FileManager.default.createDirectory(at: source.deletingLastPathComponent(), withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: build, withIntermediateDirectories: true)
    try "const char *where = __FILE__;\nint line(void) { return __LINE__; }\n".write(to: source, atomically: true, encoding: .utf8)

    let board = try Catalog(boardsDirectory: repositoryRoot.appendingPathComponent("boards"),
                            toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains")).board(named: "qemu-arm64-virt")
    let toolchain = try await ToolchainResolver.resolve(board.toolchain)
    let stats = folder.appendingPathComponent("ccache.stats")
    let wrappers = try CompilerWrappers.prepare(toolchain: toolchain, workspace: workspace, options: CompilerOptions(), statsLog: stats)
    try #require(wrappers.summary == "ccache", "ccache is missing: apt-get install ccache")
    func compile(_ name: String, _ environment: [String: String]) async throws -> Data {
        let object = folder.appendingPathComponent(name)
        try await ProcessRunner.checked(Command(toolchain.crossCompile + "gcc", ["-O2", "-c", source.path, "-o", object.path],
                                                environment: environment.mapValues { Optional($0) }, workingDirectory: build))
        return try Data(contentsOf: object)
    }
    let plain = try await compile("plain.o", [:])
    #expect(try await compile("miss.o", wrappers.variables) == plain)
    #expect(try await compile("hit.o", wrappers.variables) == plain)
    let counted = CCacheStats(log: try String(contentsOf: stats, encoding: .utf8))
    #expect(counted.hits == 1 && counted.misses == 1, "\(counted)")
}

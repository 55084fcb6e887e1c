import Foundation
import Pipeline
import Testing

/// The SBOM's file lists (the walk of the builds' records) are a stage of their own, keyed by the builds: a changed
/// initramfs remakes the documents from the kept lists; a changed build, or a file the walk read, makes them again.
@Suite(.serialized) struct SBOMRebuildTests {
    struct Built: Decodable { var stages: [StageReport] }

    /// `build fake --json`: each stage's report, by name.
    func build(_ project: FakeBoardProject) throws -> [String: StageReport] {
        let (status, output) = try project.run(["build", "fake", "--json"])
        #expect(status == 0, "\(output)")
        // The progress lines (on standard error, in the same log) come first.
        let json = output.range(of: "\n[\n").map { String(output[output.index(after: $0.lowerBound)...]) } ?? output
        let built = try? JSONDecoder().decode([Built].self, from: Data(json.utf8))
        let stages = try #require(built?.first?.stages, "not the build's JSON: \(output)")
        return Dictionary(stages.map { ($0.stage, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func linuxFiles(_ project: FakeBoardProject) throws -> String {
        try String(contentsOf: project.board.appendingPathComponent("licences/linux-files.tsv"), encoding: .utf8)
    }

    @Test func anInitramfsFileRemakesTheDocumentsButNotTheFileLists() throws {
        let project = try FakeBoardProject()
        defer { project.cleanUp() }
        let first = try build(project)
        #expect(first["file lists"]?.ran == true && first["sbom"]?.ran == true, "\(first)")
        let document = try Data(contentsOf: project.board.appendingPathComponent("sbom.spdx.json"))
        let lists = try linuxFiles(project)

        let initScript = project.boards.appendingPathComponent("common/init")
        try (try String(contentsOf: initScript, encoding: .utf8) + "# one more line\n").write(to: initScript, atomically: true, encoding: .utf8)
        let second = try build(project)
        #expect(second["initramfs"]?.ran == true)
        #expect(second["file lists"]?.ran == false, "\(String(describing: second["file lists"]))")
        #expect(second["sbom"]?.ran == true, "the documents list the initramfs's new sha256")
        #expect(try Data(contentsOf: project.board.appendingPathComponent("sbom.spdx.json")) != document)
        #expect(try linuxFiles(project) == lists, "the kept lists give the same licence list")
    }

    @Test func aChangedKernelBuildMakesTheFileListsAgain() throws {
        let project = try FakeBoardProject()
        defer { project.cleanUp() }
        _ = try build(project)
        try "CONFIG_PRINTK=y\nCONFIG_LOCALVERSION=\"-lists\"\n".write(to: project.fragment, atomically: true, encoding: .utf8)
        let stages = try build(project)
        let lists = try #require(stages["file lists"])
        #expect(lists.ran, "\(lists)")
        #expect(lists.reasons.contains { $0.hasPrefix("config ") && $0.hasSuffix(" changed") }, "\(lists.reasons)")
    }

    /// A source file the kernel was built from changes, but nothing the stage's key names does (the fake kernel's
    /// image is the same bytes whatever its source says, as a real one is after a comment changed): its size and
    /// mtime show it, the lists are made again, and the licence list has the file's new sha256 and licence.
    @Test func aChangedSourceFileUnderAnUnchangedBuildMakesTheFileListsAgain() throws {
        let project = try FakeBoardProject()
        defer { project.cleanUp() }
        _ = try build(project)
        #expect(try linuxFiles(project).contains("init/main.c\tsource\tcompiled\tGPL-2.0-only\t"))
        let source = project.boards.appendingPathComponent("fake/linux/init/main.c")
        try "// SPDX-License-Identifier: MIT\nint fake_kernel_main(void) { return 0; }\n".write(to: source, atomically: true, encoding: .utf8)
        let stages = try build(project)
        let lists = try #require(stages["file lists"])
        #expect(lists.ran && lists.reasons.contains { $0.contains("main.c") }, "\(lists)")
        #expect(stages["sbom"]?.ran == true)
        #expect(try linuxFiles(project).contains("init/main.c\tsource\tcompiled\tMIT\t"))
    }
}

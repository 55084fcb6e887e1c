import BoardModel
import Foundation
import Testing

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

@Suite struct ShippedDescriptionTests {
    let catalog = Catalog(boardsDirectory: repositoryRoot.appendingPathComponent("boards"),
                          toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains"))

    @Test func everyShippedFileLoadsWithoutProblems() {
        #expect(catalog.diagnostics.map(\.description) == [])
        #expect(catalog.boardNames == ["beaglebone-black", "qemu-arm64-virt", "qemu-riscv64-virt", "qemu-x86_64", "raspberrypi3b", "raspberrypi4", "vexpress-a9"])
        #expect(catalog.toolchains.keys.sorted() == ["aarch64-linux-gnu", "arm-linux-gnueabihf", "riscv64-linux-gnu", "x86_64-linux-gnu"])
    }

    @Test func qemuBoardsAreCompleteAndResolved() throws {
        let x86 = try catalog.board(named: "qemu-x86_64")
        #expect(x86.toolchain.kernelArch == "x86_64")
        #expect(x86.board.kernel.image.rawValue == "bzImage")
        #expect(x86.architecture.kernelSourceFolder == "x86")
        #expect(x86.board.kernel.resolvedSource == .debianPackage("linux-source-6.1"))
        #expect(x86.board.busybox.resolvedSource == .debianSource("busybox"))
        #expect(x86.kernelFragments.map(\.lastPathComponent) == ["linux.fragment"])
        #expect(x86.initScript.path.hasSuffix("boards/common/init"))
        #expect(x86.board.qemu?.binary == "qemu-system-x86_64")
        let arm64 = try catalog.board(named: "qemu-arm64-virt")
        #expect(arm64.toolchain.kernelArch == "arm64")
        #expect(arm64.board.qemu?.machine == "virt")
        #expect(arm64.board.cmdline.contains("console=ttyAMA0"))
    }

    @Test func boardsWithoutQEMUAreArtifactChecked() throws {
        #expect(try catalog.board(named: "raspberrypi4").qemuBootable == false)
        #expect(try catalog.board(named: "beaglebone-black").qemuBootable == false)
        #expect(try catalog.board(named: "vexpress-a9").qemuBootable)
    }

    @Test func misspeltBoardNameSuggestsTheRightOne() {
        #expect {
            try catalog.board(named: "qemu-x86-64")
        } throws: { error in
            let text = "\(error)"
            return text.contains("no board named 'qemu-x86-64'") && text.contains("did you mean 'qemu-x86_64'?")
        }
    }
}

/// One broken board file: what to write and what must be reported where.
struct BrokenBoard: CustomStringConvertible, Sendable {
    var name: String
    var yaml: String
    var message: String
    var line: Int?
    var column: Int?
    var hint: String?

    var description: String { name }
}

private let goodBoard = """
    name: test-board
    description: a board for tests
    arch: aarch64
    toolchain: aarch64-linux-gnu
    kernel:
      base_config: tinyconfig
      fragments: [linux.fragment]
      image: Image
    cmdline: console=ttyAMA0
    console: ttyAMA0
    busybox:
      fragments: [../common/busybox.fragment]
    qemu:
      binary: qemu-system-aarch64
      machine: virt
      memory: 256M
    """

private func replacing(_ old: String, _ new: String) -> String {
    goodBoard.replacingOccurrences(of: old, with: new)
}

let brokenBoards: [BrokenBoard] = [
    BrokenBoard(name: "syntax error", yaml: replacing("fragments: [linux.fragment]", "fragments: [linux.fragment"),
                message: "a '[' list that is not closed", line: 8, hint: "end the list with ']'"),
    BrokenBoard(name: "missing field", yaml: replacing("toolchain: aarch64-linux-gnu\n", ""),
                message: "missing required field 'toolchain'", line: 1, column: 1, hint: "add 'toolchain:'"),
    BrokenBoard(name: "wrong type", yaml: replacing("fragments: [linux.fragment]", "fragments: linux.fragment"),
                message: "kernel.fragments: expected a list, found 'linux.fragment'", line: 7, column: 14),
    BrokenBoard(name: "unknown key", yaml: replacing("  image: Image", "  image: Image\n  fragmnets: []"),
                message: "kernel.fragmnets: unknown key 'fragmnets'", line: 9, column: 3, hint: "did you mean 'fragments'?"),
    BrokenBoard(name: "unknown top-level key", yaml: goodBoard + "\nqemmu: {}",
                message: "unknown key 'qemmu'", line: 17, column: 1, hint: "did you mean 'qemu'?"),
    BrokenBoard(name: "unknown toolchain", yaml: replacing("toolchain: aarch64-linux-gnu", "toolchain: aarch64-linux-gnux"),
                message: "toolchain: unknown toolchain 'aarch64-linux-gnux'", line: 4, column: 1, hint: "did you mean 'aarch64-linux-gnu'?"),
    BrokenBoard(name: "fragment file missing", yaml: replacing("[linux.fragment]", "[linux.fragmnt]"),
                message: "kernel.fragments[0]: 'linux.fragmnt' does not exist", line: 7, column: 15, hint: "did you mean 'linux.fragment'?"),
    BrokenBoard(name: "path escaping the board folder", yaml: replacing("[linux.fragment]", "[../../../../etc/passwd]"),
                message: "kernel.fragments[0]: '../../../../etc/passwd' is outside the boards directory", line: 7, column: 15),
    BrokenBoard(name: "absolute path outside", yaml: replacing("[../common/busybox.fragment]", "[/etc/hostname]"),
                message: "busybox.fragments[0]: '/etc/hostname' is outside the boards directory", line: 12, column: 15),
    BrokenBoard(name: "misspelt enumeration value", yaml: replacing("image: Image", "image: image"),
                message: "kernel.image: 'image' is not a kernel image of aarch64; expected one of: Image, Image.gz", line: 8, column: 3,
                hint: "did you mean 'Image'?"),
    BrokenBoard(name: "boolean written as yes", yaml: goodBoard + "\n  dtb: yes",
                message: "qemu.dtb: expected true or false, found 'yes'", line: 17, column: 8),
    BrokenBoard(name: "negative memory", yaml: replacing("memory: 256M", "memory: \"-1\""),
                message: "qemu.memory: expected a positive size with an M or G suffix", line: 16, column: 3),
    BrokenBoard(name: "absurd memory", yaml: replacing("memory: 256M", "memory: 100000G"),
                message: "qemu.memory: expected 16M to 64G, found '100000G'", line: 16, column: 3),
    BrokenBoard(name: "memory beyond 64 bits", yaml: replacing("memory: 256M", "memory: 99999999999999999999G"),
                message: "qemu.memory: expected a positive size with an M or G suffix", line: 16, column: 3),
    BrokenBoard(name: "absurd timeout", yaml: goodBoard + "\n  timeout: 1000000000",
                message: "qemu.timeout: expected 1 to 7200 seconds, found 1000000000", line: 17),
    BrokenBoard(name: "make option as base config", yaml: replacing("base_config: tinyconfig", "base_config: --eval=all:;id"),
                message: "kernel.base_config: '--eval=all:;id' is not a valid value here", line: 6, hint: "multi_v7_defconfig"),
    BrokenBoard(name: "dtb outside the dts folder", yaml: replacing("  image: Image", "  image: Image\n  device_trees: [../../../x.dtb]"),
                message: "kernel.device_trees[0]: '../../../x.dtb' is not a valid value here", line: 9),
    BrokenBoard(name: "QEMU binary that is not QEMU", yaml: replacing("binary: qemu-system-aarch64", "binary: /bin/sh"),
                message: "qemu.binary: '/bin/sh' is not a valid value here", line: 14),
    BrokenBoard(name: "QEMU machine with properties", yaml: replacing("machine: virt", "machine: virt,dumpdtb=/etc/passwd"),
                message: "qemu.machine: 'virt,dumpdtb=/etc/passwd' is not a valid value here", line: 15),
    BrokenBoard(name: "control character in the command line", yaml: replacing("cmdline: console=ttyAMA0", "cmdline: \"console=ttyAMA0 quiet\\treset\""),
                message: "cmdline: the command line contains a control character", line: 9),
    BrokenBoard(name: "url source without checksum", yaml: replacing("busybox:\n", "busybox:\n  source:\n    url: https://example.org/busybox.tar.bz2\n"),
                message: "busybox.source: a url source needs a sha256", line: 13, column: 5),
    BrokenBoard(name: "two source kinds", yaml: replacing("busybox:\n", "busybox:\n  source: {debian_source: busybox, directory: /tmp}\n"),
                message: "a source needs exactly one of debian_package, debian_source, tarball, url, directory; found debian_source and directory", line: 12),
    BrokenBoard(name: "console missing from the command line", yaml: replacing("cmdline: console=ttyAMA0", "cmdline: quiet"),
                message: "cmdline: the command line does not name the console", line: 9, column: 1, hint: "add 'console=ttyAMA0'"),
    BrokenBoard(name: "name differs from file", yaml: replacing("name: test-board", "name: other-board"),
                message: "name: the name 'other-board' differs from the file name 'test-board.yaml'", line: 1, column: 1),
    BrokenBoard(name: "arch differs from toolchain", yaml: replacing("arch: aarch64", "arch: arm"),
                message: "arch: the board is 'arm' but toolchain 'aarch64-linux-gnu' builds for 'aarch64'", line: 3, column: 1),
    BrokenBoard(name: "duplicate key", yaml: goodBoard + "\nconsole: ttyS0",
                message: "duplicate key 'console'"),
    BrokenBoard(name: "empty file", yaml: "", message: "the file is empty", line: 1),
    BrokenBoard(name: "a list instead of a mapping", yaml: "- name: x\n", message: "expected a mapping of fields, found a list", line: 1, column: 1),
    BrokenBoard(name: "alias", yaml: replacing("console: ttyAMA0", "console: &c ttyAMA0") + "\ndescription2: *c",
                message: "unknown key 'description2'"),
]

@Suite struct BrokenBoardTests {
    @Test(arguments: brokenBoards)
    func brokenBoardIsReportedWithItsLocation(_ broken: BrokenBoard) throws {
        let folder = try makeBoardsFixture()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("boards/test-board.yaml")
        try broken.yaml.write(to: file, atomically: true, encoding: .utf8)
        let catalog = Catalog(boardsDirectory: folder.appendingPathComponent("boards"),
                              toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains"))
        #expect(catalog.boards["test-board"] == nil)
        let diagnostic = try #require(catalog.diagnostics.first, "no diagnostic for \(broken.name)")
        #expect(diagnostic.description.contains(broken.message), "\(diagnostic)")
        #expect(diagnostic.location.file == file.path)
        if let line = broken.line { #expect(diagnostic.location.line == line, "\(diagnostic)") }
        if let column = broken.column { #expect(diagnostic.location.column == column, "\(diagnostic)") }
        if let hint = broken.hint { #expect(diagnostic.hint?.contains(hint) == true, "\(diagnostic)") }
    }

    @Test func theGoodBoardOfTheTableLoads() throws {
        let folder = try makeBoardsFixture()
        defer { try? FileManager.default.removeItem(at: folder) }
        try goodBoard.write(to: folder.appendingPathComponent("boards/test-board.yaml"), atomically: true, encoding: .utf8)
        let catalog = Catalog(boardsDirectory: folder.appendingPathComponent("boards"),
                              toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains"))
        #expect(catalog.diagnostics.map(\.description) == [])
        #expect(catalog.boards["test-board"]?.toolchain.name == "aarch64-linux-gnu")
    }

    /// A boards directory with the files the good board refers to.
    private func makeBoardsFixture() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-boards-\(UUID().uuidString)")
        for directory in ["boards/test-board", "boards/common"] {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
        for file in ["boards/test-board/linux.fragment", "boards/common/busybox.fragment", "boards/common/base.list", "boards/common/init"] {
            try "# fixture\n".write(to: folder.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
        return folder
    }
}

@Suite struct BrokenToolchainTests {
    @Test func unknownKeyAndBadValuesAreReported() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-toolchains-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try """
            name: broken
            arch: aarch64
            kernel_arch: arm64
            cross_compile: aarch64-linux-gnu
            debian_packages: [gcc-aarch64-linux-gnu]
            min_gcc_version: twelve
            """.write(to: folder.appendingPathComponent("broken.yaml"), atomically: true, encoding: .utf8)
        let catalog = Catalog(boardsDirectory: folder.appendingPathComponent("none"), toolchainsDirectory: folder)
        let messages = catalog.diagnostics.map(\.description)
        #expect(messages.contains { $0.contains("broken.yaml:4:1: cross_compile: expected a prefix ending in '-'") })
        #expect(messages.contains { $0.contains("broken.yaml:6:1: min_gcc_version: expected a version like '10.2', found 'twelve'") })
    }
}

@Suite struct SuggestionTests {
    @Test func closeWordsAreSuggestedAndFarOnesAreNot() {
        #expect(Suggestion.closest(to: "fragmnets", among: ["fragments", "image"]) == "fragments")
        #expect(Suggestion.closest(to: "xyz", among: ["fragments", "image"]) == nil)
        #expect(GCCVersion("12.2.0")! > GCCVersion("10.1")!)
        #expect(GCCVersion("9")! < GCCVersion("10.1")!)
        #expect(GCCVersion("1.x") == nil)
    }
}

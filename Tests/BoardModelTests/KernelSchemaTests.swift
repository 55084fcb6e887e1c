import BoardModel
import Foundation
import Testing

/// The kernel section's patch series, external modules and modules to load, and toolchains' kernel_requires:
/// good descriptions resolve to files in order, each mistake is reported at its field.
@Suite struct KernelSchemaTests {
    static func board(kernel extra: String) -> String {
        """
        name: module-board
        description: a board with patches and modules
        arch: aarch64
        toolchain: aarch64-linux-gnu
        kernel:
          base_config: tinyconfig
          image: Image
        \(extra)
        cmdline: console=ttyAMA0
        console: ttyAMA0
        busybox: {}
        """
    }

    @Test func patchFilesAndFoldersResolveInOrder() throws {
        let project = try FixtureProject(board: "module-board")
        for name in ["0002-b.patch", "0001-a.patch", "notes.txt", "0003-c.diff"] { try project.write("x\n", to: "boards/module-board/linux/\(name)") }
        try project.write("x\n", to: "boards/module-board/quilt/z.patch")
        try project.write("x\n", to: "boards/module-board/quilt/y.patch")
        try project.write("# quilt order\nz.patch -p1\ny.patch\n", to: "boards/module-board/quilt/series")
        try project.write("x\n", to: "boards/common/first.patch")
        let catalog = try project.load(Self.board(kernel: "  patches: [../common/first.patch, linux, quilt]"))
        #expect(catalog.diagnostics.map(\.description) == [])
        let board = try #require(catalog.boards["module-board"])
        #expect(board.kernelPatches.map(\.lastPathComponent) == ["first.patch", "0001-a.patch", "0002-b.patch", "0003-c.diff", "z.patch", "y.patch"])
    }

    @Test func anEmptyPatchFolderAndAMissingSeriesEntryAreReported() throws {
        let project = try FixtureProject(board: "module-board")
        try project.write("x\n", to: "boards/module-board/empty/README")
        try project.write("gone.patch\n", to: "boards/module-board/quilt/series")
        let catalog = try project.load(Self.board(kernel: "  patches: [empty, quilt, missing.patch]"))
        let messages = catalog.diagnostics.map(\.description)
        #expect(messages.contains { $0.contains("kernel.patches[0]") && $0.contains("holds no patches") })
        #expect(messages.contains { $0.contains("kernel.patches[1]") && $0.contains("names 'gone.patch', which is not in the folder") })
        #expect(messages.contains { $0.contains("kernel.patches[2]") && $0.contains("does not exist") })
    }

    @Test func anExternalModuleNeedsAKbuildFile() throws {
        let project = try FixtureProject(board: "module-board")
        try project.write("obj-m += good.o\n", to: "boards/module-board/good/Kbuild")
        try project.write("int x;\n", to: "boards/module-board/no-kbuild/thing.c")
        let catalog = try project.load(Self.board(kernel: "  external_modules: [good, no-kbuild]\n  load_modules: [good, \"-r\", \"a b\"]"))
        let problems = catalog.diagnostics
        #expect(problems.map(\.field).sorted() == ["kernel.external_modules[1]", "kernel.load_modules[1]", "kernel.load_modules[2]"])
        let kbuild = try #require(problems.first { $0.field == "kernel.external_modules[1]" })
        #expect(kbuild.message.contains("has no Kbuild file") && kbuild.location.line == 8)
        #expect(kbuild.hint?.contains("obj-m += no_kbuild.o") == true)
    }

    /// What the initramfs is packed with, the kernel must unpack: the options it needs come from the board, each
    /// at the line that chose it; a branch filter without xz is refused at its field.
    @Test func theInitramfsCompressionRequiresItsKernelOptions() throws {
        let project = try FixtureProject(board: "module-board")
        let xz = try project.load(Self.board(kernel: "") + "\ninitramfs:\n  compression: xz\n  xz_bcj: arm64\n")
        #expect(xz.diagnostics.map(\.description) == [])
        let requires = try #require(xz.boards["module-board"]?.kernelRequires)
        #expect(requires.map(\.symbol) == ["RD_XZ", "XZ_DEC_ARM64"])
        #expect(requires.map(\.line) == [13, 14])

        let plain = try project.load(Self.board(kernel: ""))
        #expect(plain.boards["module-board"]?.kernelRequires.map(\.symbol) == ["RD_GZIP"])

        let mismatched = try project.load(Self.board(kernel: "") + "\ninitramfs:\n  compression: zstd\n  xz_bcj: x86\n")
        let problem = try #require(mismatched.diagnostics.first)
        #expect(mismatched.diagnostics.count == 1)
        #expect(problem.field == "initramfs.xz_bcj" && problem.location.line == 14)
        #expect(problem.hint == "set initramfs.compression: xz, or remove initramfs.xz_bcj")
    }

    @Test func boardChecksAreRunAsConsoleChecks() throws {
        let project = try FixtureProject(board: "module-board")
        let yaml = Self.board(kernel: "") + """

            qemu:
              binary: qemu-system-aarch64
              machine: virt
              memory: 256M
              checks:
                - {name: hello, command: "dmesg | grep -c hello", expect: "1"}
                - {name: "", command: "", expect: ""}
            """
        let catalog = try project.load(yaml)
        #expect(catalog.diagnostics.map(\.field).sorted() == ["qemu.checks[1].command", "qemu.checks[1].name"])
    }

    @Test func theRepositoryToolchainsStateTheirKernelRequirements() throws {
        let catalog = Catalog(boardsDirectory: repositoryRoot.appendingPathComponent("boards"), toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains"))
        let arm = try #require(catalog.toolchains["arm-linux-gnueabihf"]?.kernelRequires)
        #expect(Set(arm.map(\.symbol)).isSuperset(of: ["VFP", "AEABI"]))
        #expect(arm.allSatisfy { $0.file?.hasSuffix("toolchains/arm-linux-gnueabihf.yaml") == true && ($0.line ?? 0) > 1 && !$0.why.isEmpty })
        #expect(catalog.toolchains["riscv64-linux-gnu"]?.kernelRequires?.map(\.symbol) == ["FPU"])
    }

    @Test func aMalformedKernelRequirementIsReported() throws {
        let project = try FixtureProject(board: "module-board")
        try project.write("""
            name: bad-chain
            arch: aarch64
            kernel_arch: arm64
            cross_compile: aarch64-linux-gnu-
            debian_packages: [gcc-aarch64-linux-gnu]
            min_gcc_version: "10.1"
            kernel_requires:
              - {option: VFP, why: no prefix}
              - {option: CONFIG_FPU, value: yes please, why: bad value}
            """, to: "toolchains/bad-chain.yaml")
        let catalog = Catalog(boardsDirectory: project.root.appendingPathComponent("boards"), toolchainsDirectory: project.root.appendingPathComponent("toolchains"),
                              archesDirectory: repositoryRoot.appendingPathComponent("arches"))
        #expect(catalog.diagnostics.map(\.field).sorted() == ["kernel_requires[0].option", "kernel_requires[1].value"])
    }
}

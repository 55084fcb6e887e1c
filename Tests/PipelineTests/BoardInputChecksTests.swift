import BoardModel
import Foundation
import Pipeline
import Testing

/// Class 5 of issue 21: what the build would refuse, found without a build, by the stages' own parsers.
@Suite struct BoardInputChecksTests {
    /// A project whose one board has the given fragment, list and boot command; returns the resolved board.
    func board(fragment: String = "CONFIG_PRINTK=y\n", list: String = "dir /mnt 0755 0 0\n", bootcommand: String? = nil,
               memory: String = "256M", overlayFile: (name: String, size: UInt64)? = nil) throws -> (ResolvedBoard, URL) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-inputs-\(UUID().uuidString)")
        let manager = FileManager.default
        for folder in ["boards/board/rootfs", "boards/common"] {
            try manager.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        try fragment.write(to: root.appendingPathComponent("boards/board/linux.fragment"), atomically: true, encoding: .utf8)
        try "CONFIG_STATIC=y\n".write(to: root.appendingPathComponent("boards/common/busybox.fragment"), atomically: true, encoding: .utf8)
        try list.write(to: root.appendingPathComponent("boards/board/extra.list"), atomically: true, encoding: .utf8)
        try "#!/bin/sh\n".write(to: root.appendingPathComponent("boards/common/init"), atomically: true, encoding: .utf8)
        if let overlayFile {
            let file = root.appendingPathComponent("boards/board/rootfs/\(overlayFile.name)")
            #expect(manager.createFile(atPath: file.path, contents: nil))
            let handle = try FileHandle(forWritingTo: file)
            try handle.truncate(atOffset: overlayFile.size)   // sparse
            try handle.close()
        }
        let yaml = """
            name: board
            description: inputs
            arch: aarch64
            toolchain: aarch64-linux-gnu
            kernel: {base_config: tinyconfig, fragments: [linux.fragment], image: Image}
            cmdline: console=ttyAMA0
            console: ttyAMA0
            busybox: {fragments: [../common/busybox.fragment]}
            initramfs: {overlays: [rootfs], lists: [extra.list]}
            qemu: {binary: qemu-system-aarch64, machine: virt, memory: \(memory)}
            """ + (bootcommand.map { "\nbootloader: {defconfig: qemu_arm64, files: [u-boot.bin], bootcommand: \"\($0)\"}" } ?? "")
        try yaml.write(to: root.appendingPathComponent("boards/board.yaml"), atomically: true, encoding: .utf8)
        let catalog = Catalog(boardsDirectory: root.appendingPathComponent("boards"), toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains"),
                              archesDirectory: repositoryRoot.appendingPathComponent("arches"))
        return (try catalog.board(named: "board"), root)
    }

    @Test func aGoodBoardHasNoProblems() throws {
        let (board, root) = try board()
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(BoardInputChecks.problems(board).map(\.description) == [])
    }

    @Test func everyBadFragmentLineIsReportedAtItsLine() throws {
        let (board, root) = try board(fragment: "CONFIG_PRINTK=y\nCONFIG_X=\"$(shell id)\"\n# fine\nnot a line\nCONFIG_Y=\n")
        defer { try? FileManager.default.removeItem(at: root) }
        let problems = BoardInputChecks.problems(board)
        #expect(problems.map { $0.location.line ?? 0 } == [2, 4, 5], "\(problems)")
        #expect(problems.allSatisfy { $0.field == "kernel.fragments[0]" && $0.location.file.hasSuffix("boards/board/linux.fragment") })
        #expect(problems.first?.message.contains("$(") == true)
    }

    @Test func aBadListLineIsReportedAtItsLine() throws {
        let (board, root) = try board(list: "dir /mnt 0755 0 0\nnod /dev/x 0600 0 0 q 1 1\n")
        defer { try? FileManager.default.removeItem(at: root) }
        let problems = BoardInputChecks.problems(board)
        #expect(problems.count == 1, "\(problems)")
        #expect(problems.first?.location.line == 2 && problems.first?.field == "initramfs.lists[0]", "\(problems)")
        #expect(problems.first?.message.contains("device type 'q'") == true, "\(problems)")
    }

    @Test func aListNamingAMissingFileIsReported() throws {
        let (board, root) = try board(list: "file /bin/tool /nonexistent/tool 0755 0 0\n")
        defer { try? FileManager.default.removeItem(at: root) }
        let problems = BoardInputChecks.problems(board)
        #expect(problems.first?.message.contains("does not exist") == true && problems.first?.location.line == 1, "\(problems)")
    }

    @Test func overlaysLargerThanHalfTheGuestsMemoryAreRefusedBeforeABuild() throws {
        let (board, root) = try board(memory: "16M", overlayFile: ("big.bin", 9 << 20))
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(board.initramfsSizeLimit == 8 << 20)
        let problems = BoardInputChecks.problems(board)
        #expect(problems.count == 1 && problems.first?.message.contains("more than the 8 MiB limit") == true, "\(problems)")
    }

    @Test func aBootCommandKconfigCannotHoldIsReportedAtItsField() throws {
        let (board, root) = try board(bootcommand: "echo ${oops")
        defer { try? FileManager.default.removeItem(at: root) }
        let problems = BoardInputChecks.problems(board)
        #expect(problems.map(\.field) == ["bootloader.bootcommand"], "\(problems)")
        #expect(problems.first?.location.line == 11, "\(problems)")
        let (fine, other) = try self.board(bootcommand: "run distro_bootcmd; echo ${board}")
        defer { try? FileManager.default.removeItem(at: other) }
        #expect(BoardInputChecks.problems(fine).isEmpty)
    }

    @Test func theShippedBoardsHaveNoProblems() throws {
        let catalog = Catalog(boardsDirectory: repositoryRoot.appendingPathComponent("boards"), toolchainsDirectory: repositoryRoot.appendingPathComponent("toolchains"))
        for name in catalog.boardNames {
            #expect(BoardInputChecks.problems(try catalog.board(named: name)).map(\.description) == [], "\(name)")
        }
    }
}

import Foundation
import Testing
@testable import Initramfs

struct MalformedList: Sendable, CustomTestStringConvertible {
    var label: String
    var text: String
    var line: Int
    /// Expected in the message, after "errors.list:<line>: "; "BASE" stands for the list's folder.
    var message: String
    var testDescription: String { label }
}

private let malformedLists = [
    MalformedList(
        label: "unknown type", text: "dir /dev 0755 0 0\n\nfil /init files/init 0755 0 0", line: 3,
        message: "unknown entry type 'fil' in 'fil /init files/init 0755 0 0'; expected one of file, dir, nod, "
            + "slink, pipe, sock"),
    MalformedList(
        label: "too few fields", text: "dir /dev 0755 0", line: 1,
        message: "'dir /dev 0755 0' has 3 fields after 'dir'; expected 'dir <name> <mode> <uid> <gid>'."),
    MalformedList(
        label: "too many fields", text: "# devices\nnod /dev/null 0666 0 0 c 1 3 extra", line: 2,
        message: "'nod /dev/null 0666 0 0 c 1 3 extra' has 8 fields after 'nod'; expected 'nod <name> <mode> <uid> <gid> <dev_type> <maj> <min>'."),
    MalformedList(
        label: "file without gid", text: "file /init files/init 0755 0", line: 1,
        message: "'file /init files/init 0755 0' has 4 fields after 'file'; expected 'file <name> <location> <mode> <uid> <gid> [<hard links>]'."),
    MalformedList(
        label: "bad mode", text: "# comment\n  # indented comment\ndir /dev 0855 0 0", line: 3,
        message: "mode '0855' in 'dir /dev 0855 0 0' is not octal permission bits (0 to 7777)"),
    MalformedList(
        label: "mode with file type bits", text: "pipe /fifo 10644 0 0", line: 1,
        message: "mode '10644' in 'pipe /fifo 10644 0 0' is not octal permission bits"),
    MalformedList(
        label: "bad major", text: "nod /dev/console 0600 0 0 c five 1", line: 1,
        message: "major 'five' in 'nod /dev/console 0600 0 0 c five 1' is not a decimal number"),
    MalformedList(
        label: "negative uid", text: "dir /root 0700 -1 0", line: 1,
        message: "uid '-1' in 'dir /root 0700 -1 0' is not a decimal number from 0 to 4294967295"),
    MalformedList(
        label: "bad device type", text: "nod /dev/x 0600 0 0 x 1 1", line: 1,
        message: "device type 'x' in 'nod /dev/x 0600 0 0 x 1 1' is neither 'c' (character) nor 'b' (block)"),
    MalformedList(
        label: "missing source file", text: "dir /bin 0755 0 0\nfile /bin/sh files/missing 0755 0 0", line: 2,
        message: "the source file 'BASE/files/missing' of 'file /bin/sh files/missing 0755 0 0' does not exist"),
    MalformedList(
        label: "source is a directory", text: "file /init files 0755 0 0", line: 1,
        message: "cannot pack 'BASE/files' for 'file /init files 0755 0 0': it is a folder, not a regular file."),
    MalformedList(
        label: "'..' escape", text: "dir /lib/../../etc 0755 0 0", line: 1,
        message: "the archive name '/lib/../../etc' in 'dir /lib/../../etc 0755 0 0' has a '..' component"),
    MalformedList(
        label: "absolute path trick", text: "slink /../etc/passwd /tmp/x 0777 0 0", line: 1,
        message: "the archive name '/../etc/passwd' in 'slink /../etc/passwd /tmp/x 0777 0 0' has a '..' component"),
    MalformedList(
        label: "hard link escape", text: "file /bin/sh files/init 0755 0 0 /bin/../../sh", line: 1,
        message: "the archive name '/bin/../../sh' in"),
    MalformedList(
        label: "undefined variable", text: "file /init ${BSPGEN_TEST_UNSET_VARIABLE}/init 0755 0 0", line: 1,
        message: "the location in 'file /init ${BSPGEN_TEST_UNSET_VARIABLE}/init 0755 0 0' uses "
            + "${BSPGEN_TEST_UNSET_VARIABLE}, but BSPGEN_TEST_UNSET_VARIABLE is not set"),
]

@Test(arguments: malformedLists)
func malformedListLineIsReported(_ list: MalformedList) throws {
    try withTemporaryDirectory { base in
        try writeFile(base.appendingPathComponent("files/init"), "#!/bin/sh\n")
        let source = InitramfsSource.listText(list.text, name: "errors.list", baseDirectory: base)

        let error = #expect(throws: InitramfsError.self) {
            try InitramfsPacker(sourceDateEpoch: testEpoch).pack([source], to: base.appendingPathComponent("out"))
        }

        let expected = "errors.list:\(list.line): " + list.message.replacingOccurrences(of: "BASE", with: base.path)
        let description = error?.description ?? ""
        #expect(description.hasPrefix(expected), "\(description)")
        #expect(!FileManager.default.fileExists(atPath: base.appendingPathComponent("out").path))
    }
}

@Test func listFileErrorsNameTheFile() throws {
    try withTemporaryDirectory { base in
        let list = base.appendingPathComponent("board.list")
        try writeFile(list, "dir /dev 0755 0 0\nsymlink /bin/sh busybox 0777 0 0\n")

        let error = #expect(throws: InitramfsError.self) {
            try InitramfsPacker(sourceDateEpoch: testEpoch).pack([.list(list)], to: base.appendingPathComponent("out"))
        }

        let location = InitramfsInputLocation(file: list.path, line: 2, text: "symlink /bin/sh busybox 0777 0 0")
        #expect(error == .unknownEntryType(location, type: "symlink"))
    }
}

@Test func locationsExpandEnvironmentVariables() throws {
    try withTemporaryDirectory { base in
        try writeFile(base.appendingPathComponent("stage/init"), "#!/bin/sh\n")
        var parser = CpioListParser(fileName: "env.list", baseDirectory: URL(fileURLWithPath: "/nonexistent"))
        parser.environment = ["STAGE": base.appendingPathComponent("stage").path]
        var linkGroups = 0

        let entries = try parser.entries(of: Array("file /init ${STAGE}/init 0755 0 0\r\n".utf8), linkGroups: &linkGroups)

        guard case .file(let content) = entries.first?.kind else {
            Issue.record("expected a file entry, got \(entries)")
            return
        }
        #expect(content.hostPath == base.appendingPathComponent("stage/init").path)
        #expect(content.size == 10)
    }
}

@Test func sourceDateEpochMustFitTheHeader() throws {
    try withTemporaryDirectory { base in
        let error = #expect(throws: InitramfsError.self) {
            try InitramfsPacker(sourceDateEpoch: 1 << 32).pack([], to: base.appendingPathComponent("out"))
        }
        #expect(error == .sourceDateEpochOutOfRange(1 << 32))
    }
}

/// A 10 GB overlay is refused before anything is written: per file above the format's 4 GiB, and in total above
/// the packer's limit, naming the largest files.
@Test func hugeOverlaysAreRefusedBeforeWriting() throws {
    try withTemporaryDirectory { directory in
        let overlay = directory.appendingPathComponent("overlay")
        try FileManager.default.createDirectory(at: overlay, withIntermediateDirectories: true)
        let archive = directory.appendingPathComponent("initramfs.cpio")
        // Sparse files: no disk space is used.
        func sparseFile(_ name: String, size: Int) {
            let path = overlay.appendingPathComponent(name).path
            #expect(FileManager.default.createFile(atPath: path, contents: nil) && truncate(path, off_t(size)) == 0)
        }
        sparseFile("ten-gigabytes.img", size: 10_000_000_000)
        #expect(throws: InitramfsError.self) {
            try InitramfsPacker(sourceDateEpoch: 0).pack([.directory(overlay)], to: archive, compression: .none)
        }
        try FileManager.default.removeItem(at: overlay.appendingPathComponent("ten-gigabytes.img"))

        for index in 0..<3 { sparseFile("part\(index).img", size: 600 << 20) }
        do {
            try InitramfsPacker(sourceDateEpoch: 0).pack([.directory(overlay)], to: archive, compression: .none)
            Issue.record("1.8 GiB of overlay was packed")
        } catch let error as InitramfsError {
            guard case let .tooLarge(total, limit, largest) = error else { Issue.record("wrong error: \(error)"); return }
            #expect(total == 3 * (600 << 20))
            #expect(limit == InitramfsPacker.defaultSizeLimit)
            #expect(largest.map(\.path) == ["part0.img", "part1.img", "part2.img"])
            #expect(error.description.contains("600 MiB  /part0.img"))
        }
        #expect(!FileManager.default.fileExists(atPath: archive.path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0 != "overlay" }
        #expect(leftovers.isEmpty, "nothing half-written: \(leftovers)")
    }
}

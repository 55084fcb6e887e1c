import Foundation
import Testing
@testable import Initramfs

/// A list using every entry type, a file with three names, names of every length modulo 4, an
/// empty file, an old file and a file larger than one copy chunk. Parents come first, as the
/// kernel's gen_init_cpio adds none itself.
private let kernelCompatibleList = """
    # every entry type of usr/gen_init_cpio.c
    dir /dev 0755 0 0
    nod /dev/console 0600 0 0 c 5 1
    nod /dev/sda 0660 0 6 b 8 0
    dir /bin 0755 0 0
    dir /sbin 0700 0 0

    dir /a 0755 1000 1000
    dir /a/bc 0755 0 0
    dir /a/bcd 0750 0 0
    file /init files/init 0755 0 0
    file /bin/busybox files/busybox 4755 0 0 /bin/sh /sbin/init
    file /a/empty files/empty 0644 1000 100
    file /a/bc/old files/old 0600 0 0
    file /big ./files/big 0644 0 0
    slink /bin/ash busybox 0777 0 0
    slink /a/abs /usr/lib/../x/abc 0777 0 0
    pipe /a/fifo 0644 0 0
    sock /a/bcd/sock 0755 0 0
    dir\t/tabbed  0755\t0 0
    """

/// Writes the list's files, all older than the epoch (the kernel's gen_init_cpio keeps file mtimes).
private func writeListFiles(in base: URL) throws {
    let files = base.appendingPathComponent("files")
    try writeFile(files.appendingPathComponent("init"), "#!/bin/sh\nexec /bin/sh\n", mtime: testEpoch - 60)
    try writeFile(files.appendingPathComponent("busybox"), noiseData(count: 5_001), mtime: testEpoch)
    try writeFile(files.appendingPathComponent("empty"), "", mtime: testEpoch - 1)
    try writeFile(files.appendingPathComponent("old"), "old\n", mtime: oldModificationTime)
    try writeFile(files.appendingPathComponent("big"), noiseData(count: 1 << 20 | 3), mtime: testEpoch - 3_600)
}

@Test func listOutputEqualsKernelGenInitCpio() throws {
    let genInitCpio = try kernelGenInitCpio.get()
    try withTemporaryDirectory { base in
        try writeListFiles(in: base)
        let list = base.appendingPathComponent("initramfs.list")
        try writeFile(list, kernelCompatibleList)

        let expected = try runChecked([genInitCpio.path, "-t", String(testEpoch), list.path], in: base).output
        let actual = try packedBytes([.list(list)], in: base)

        if actual != expected {
            let firstDifference = zip(expected, actual).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            Issue.record("sizes \(actual.count) vs \(expected.count), first difference at \(String(describing: firstDifference))")
        }
    }
}

@Test func summaryCountsEntriesAndBytes() throws {
    try withTemporaryDirectory { base in
        try writeListFiles(in: base)
        let destination = base.appendingPathComponent("initramfs.cpio.gz")
        let summary = try InitramfsPacker(sourceDateEpoch: testEpoch).pack(
            [.listText(kernelCompatibleList, name: "inline.list", baseDirectory: base)], to: destination)
        let plain = try packedBytes([.listText(kernelCompatibleList, name: "inline.list", baseDirectory: base)], in: base)

        #expect(summary.entryCount == 20)
        #expect(summary.uncompressedSize == UInt64(plain.count))
        #expect(summary.compressedSize == UInt64(try Data(contentsOf: destination).count))
        #expect(plain.count % 512 == 0)
    }
}

/// One line of `cpio -itvn` or `bsdtar -tv --numeric-owner`, split into columns.
private struct ListedEntry {
    var mode: String
    var links: String
    var uid: String
    var gid: String
    /// "major,minor" for devices, else the size.
    var sizeOrDevice: String
    /// After "->" for symlinks, or bsdtar's "link to" for hard links.
    var target: String?

    /// Keyed by name; names in these lists have no spaces.
    static func parse(_ text: String) -> [String: ListedEntry] {
        var entries: [String: ListedEntry] = [:]
        for line in text.split(separator: "\n") {
            var columns = line.split(separator: " ").map(String.init)
            var target: String?
            if let arrow = columns.firstIndex(of: "->") {
                target = columns[(arrow + 1)...].joined(separator: " ")
                columns = Array(columns[..<arrow])
            } else if let link = columns.firstIndex(of: "link"), columns.dropFirst(link + 1).first == "to" {
                target = columns[(link + 2)...].joined(separator: " ")
                columns = Array(columns[..<link])
            }
            guard columns.count >= 6, let name = columns.last else { continue }
            // Devices print "5, 1" (cpio) or "5,1" (bsdtar).
            var sizeOrDevice = columns[4]
            if sizeOrDevice.hasSuffix(",") { sizeOrDevice += columns[5] }
            entries[name] = ListedEntry(
                mode: columns[0], links: columns[1], uid: columns[2], gid: columns[3],
                sizeOrDevice: sizeOrDevice, target: target)
        }
        return entries
    }
}

@Test(arguments: [["cpio", "-itvn", "--quiet"], ["bsdtar", "-tv", "--numeric-owner", "-f", "-"]])
func archiveListsBackWithArchivers(_ command: [String]) throws {
    try withTemporaryDirectory { base in
        try writeListFiles(in: base)
        let archive = base.appendingPathComponent("initramfs.cpio")
        _ = try InitramfsPacker(sourceDateEpoch: testEpoch).pack(
            [.listText(kernelCompatibleList, name: "inline.list", baseDirectory: base)], to: archive, compression: .none)

        let listed = ListedEntry.parse(try runChecked(command, input: archive).text)

        #expect(listed.count == 20)
        let console = try #require(listed["dev/console"])
        #expect((console.mode, console.uid, console.gid, console.sizeOrDevice) == ("crw-------", "0", "0", "5,1"))
        let disk = try #require(listed["dev/sda"])
        #expect((disk.mode, disk.gid, disk.sizeOrDevice) == ("brw-rw----", "6", "8,0"))
        #expect(listed["a"]?.mode == "drwxr-xr-x")
        #expect(listed["a"]?.uid == "1000")
        #expect(listed["a/bcd"]?.mode == "drwxr-x---")
        #expect(listed["a/empty"].map { ($0.uid, $0.gid, $0.sizeOrDevice) } ?? ("", "", "") == ("1000", "100", "0"))
        #expect(listed["bin/busybox"]?.mode == "-rwsr-xr-x")
        #expect(listed["sbin/init"]?.links == "3")
        #expect(listed["sbin/init"]?.sizeOrDevice == "5001")
        if command[0] == "bsdtar" {
            #expect(listed["sbin/init"]?.target == "bin/busybox")
        }
        #expect(listed["bin/ash"]?.mode == "lrwxrwxrwx")
        #expect(listed["bin/ash"]?.target == "busybox")
        #expect(listed["a/abs"]?.target == "/usr/lib/../x/abc")
        #expect(listed["a/fifo"]?.mode == "prw-r--r--")
        #expect(listed["a/bcd/sock"]?.mode == "srwxr-xr-x")
        #expect(listed["tabbed"]?.mode == "drwxr-xr-x")
    }
}

@Test func readerListsEntriesAsWritten() throws {
    try withTemporaryDirectory { base in
        try writeListFiles(in: base)
        let archive = base.appendingPathComponent("initramfs.cpio")
        _ = try InitramfsPacker(sourceDateEpoch: testEpoch).pack(
            [.listText(kernelCompatibleList, name: "inline.list", baseDirectory: base)], to: archive, compression: .none)

        let entries = try CpioArchiveReader.listing(of: archive)

        #expect(entries.map(\.name) == [
            "dev", "dev/console", "dev/sda", "bin", "sbin", "a", "a/bc", "a/bcd", "init",
            "bin/busybox", "bin/sh", "sbin/init", "a/empty", "a/bc/old", "big", "bin/ash", "a/abs",
            "a/fifo", "a/bcd/sock", "tabbed",
        ])
        #expect(entries.map(\.inode) == Array(721...729) + [730, 730, 730] + Array(731...738))
        let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
        #expect(byName["dev/sda"].map { ($0.mode, $0.rdevMajor, $0.rdevMinor) } ?? (0, 0, 0) == (0o060660, 8, 0))
        #expect(byName["bin/busybox"]?.size == 0)
        #expect(byName["sbin/init"]?.size == 5_001)
        #expect(byName["sbin/init"]?.nlink == 3)
        #expect(byName["a/bc/old"]?.mtime == UInt32(oldModificationTime))
        #expect(byName["a/fifo"]?.mtime == UInt32(testEpoch))
        #expect(byName["a/abs"]?.symlinkTarget == "/usr/lib/../x/abc")
    }
}

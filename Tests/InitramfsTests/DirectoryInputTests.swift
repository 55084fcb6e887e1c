import Foundation
import Testing
@testable import Initramfs

private let busyboxSize = 70_000

/// A BusyBox-like staging tree: a binary with a hard link in another directory, symlinks
/// (relative, absolute, climbing out), a fifo, a socket, a device node when running as root, and
/// names whose byte order differs from directory-by-directory order ("a", "a-b", "a/x").
private func makeStagingTree(at root: URL) throws {
    let files = FileManager.default
    try writeFile(root.appendingPathComponent("bin/busybox"), noiseData(count: busyboxSize))
    try files.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root.appendingPathComponent("bin/busybox").path)
    try files.createDirectory(at: root.appendingPathComponent("sbin"), withIntermediateDirectories: true)
    try files.linkItem(at: root.appendingPathComponent("bin/busybox"), to: root.appendingPathComponent("sbin/init"))
    try files.createSymbolicLink(atPath: root.appendingPathComponent("bin/sh").path, withDestinationPath: "busybox")
    try files.createSymbolicLink(atPath: root.appendingPathComponent("lib").path, withDestinationPath: "/usr/lib")
    try writeFile(root.appendingPathComponent("usr/lib/libc.so"), "")
    try files.createSymbolicLink(
        atPath: root.appendingPathComponent("usr/lib/up").path, withDestinationPath: "../../../outside")
    try writeFile(root.appendingPathComponent("etc/passwd"), "root:x:0:0::/root:/bin/sh\n")
    try files.setAttributes([.posixPermissions: 0o640], ofItemAtPath: root.appendingPathComponent("etc/passwd").path)
    try files.setAttributes([.posixPermissions: 0o750], ofItemAtPath: root.appendingPathComponent("etc").path)
    try writeFile(root.appendingPathComponent("a-b"), "x")
    try writeFile(root.appendingPathComponent("a/x"), "y")
    try files.createDirectory(at: root.appendingPathComponent("dev"), withIntermediateDirectories: true)
    #expect(mkfifo(root.appendingPathComponent("dev/fifo").path, 0o620) == 0)
    #expect(chmod(root.appendingPathComponent("dev/fifo").path, 0o620) == 0)
    try makeSocket(at: root.appendingPathComponent("dev/log").path)
    if getuid() == 0 {
        #expect(mknod(root.appendingPathComponent("dev/null").path, S_IFCHR | 0o666, (1 << 8) | 3) == 0)
        #expect(chmod(root.appendingPathComponent("dev/null").path, 0o666) == 0)
    }
}

@Test func directoryTreeKeepsLinksTypesAndOrder() throws {
    try withTemporaryDirectory { work in
        let root = work.appendingPathComponent("staging")
        try makeStagingTree(at: root)
        try writeFile(root.appendingPathComponent("etc/issue"), "old\n", mtime: oldModificationTime)
        let archive = work.appendingPathComponent("initramfs.cpio")
        _ = try InitramfsPacker(sourceDateEpoch: testEpoch).pack([.directory(root)], to: archive, compression: .none)

        let entries = try CpioArchiveReader.listing(of: archive)
        let names = entries.map(\.name)
        let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })

        #expect(names == names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(parentsPrecedeChildren(names))
        #expect(Array(names.prefix(3)) == ["a", "a-b", "a/x"])
        #expect(entries.allSatisfy { $0.uid == 0 && $0.gid == 0 })

        let busybox = try #require(byName["bin/busybox"])
        let initLink = try #require(byName["sbin/init"])
        #expect(busybox.inode == initLink.inode)
        #expect((busybox.nlink, initLink.nlink) == (2, 2))
        #expect((busybox.size, initLink.size) == (0, UInt32(busyboxSize)))
        #expect(busybox.mode == 0o100755)

        #expect(byName["bin/sh"]?.symlinkTarget == "busybox")
        #expect(byName["lib"]?.symlinkTarget == "/usr/lib")
        #expect(byName["usr/lib/up"]?.symlinkTarget == "../../../outside")
        #expect(byName["etc"]?.mode == 0o040750)
        #expect(byName["etc/passwd"]?.mode == 0o100640)
        #expect(byName["dev/fifo"]?.mode == 0o010620)
        #expect(byName["dev/log"].map { $0.mode & 0o170000 } == 0o140000)
        if getuid() == 0 {
            #expect(byName["dev/null"].map { ($0.mode, $0.rdevMajor, $0.rdevMinor) } ?? (0, 0, 0) == (0o020666, 1, 3))
        }

        #expect(byName["etc/issue"]?.mtime == UInt32(oldModificationTime))
        #expect(busybox.mtime == UInt32(testEpoch))
        #expect(byName["etc"]?.mtime == UInt32(testEpoch))

        // GNU cpio restores the hard link from the newc convention (data with the last name).
        let extracted = work.appendingPathComponent("extracted")
        try FileManager.default.createDirectory(at: extracted, withIntermediateDirectories: true)
        try runChecked(["cpio", "-idm", "--quiet", "--no-absolute-filenames"], input: archive, in: extracted)
        let extractedBusybox = extracted.appendingPathComponent("bin/busybox").path
        let extractedInit = extracted.appendingPathComponent("sbin/init").path
        var busyboxInfo = stat(), initInfo = stat()
        #expect(stat(extractedBusybox, &busyboxInfo) == 0 && stat(extractedInit, &initInfo) == 0)
        #expect(busyboxInfo.st_ino == initInfo.st_ino)
        #expect(FileManager.default.contents(atPath: extractedBusybox) == noiseData(count: busyboxSize))
    }
}

@Test func overlaysReplaceEarlierEntriesAndParentsAreAdded() throws {
    try withTemporaryDirectory { work in
        let base = work.appendingPathComponent("staging")
        try makeStagingTree(at: base)
        let overlay = work.appendingPathComponent("overlay")
        try writeFile(overlay.appendingPathComponent("etc/passwd"), "overlay\n")
        try FileManager.default.setAttributes(
            [.posixPermissions: 0o600], ofItemAtPath: overlay.appendingPathComponent("etc/passwd").path)
        try writeFile(overlay.appendingPathComponent("etc/init.d/rcS"), "#!/bin/sh\n")
        try writeFile(overlay.appendingPathComponent("sbin/init"), "#!/bin/sh\nexec sh\n")
        let extra = work.appendingPathComponent("extra")
        try writeFile(extra.appendingPathComponent("data.txt"), "data\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: extra.path)
        try writeFile(work.appendingPathComponent("files/run"), "run\n")
        let list = """
            nod /dev/console 0600 0 0 c 5 1
            file /opt/tool/bin/run files/run 0755 0 0
            """

        let archive = work.appendingPathComponent("initramfs.cpio")
        _ = try InitramfsPacker(sourceDateEpoch: testEpoch).pack(
            [
                .directory(base), .directory(overlay), .listText(list, name: "extra.list", baseDirectory: work),
                .directory(extra, at: "/usr/share/extra/"),
            ],
            to: archive, compression: .none)

        let entries = try CpioArchiveReader.listing(of: archive)
        let names = entries.map(\.name)
        let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
        #expect(parentsPrecedeChildren(names))

        #expect(byName["etc/passwd"].map { ($0.mode, $0.size) } ?? (0, 0) == (0o100600, 8))
        // Replaced where the earlier input had it: before the overlay's new names.
        #expect(try #require(names.firstIndex(of: "etc/passwd")) < #require(names.firstIndex(of: "lib")))
        #expect(try #require(names.firstIndex(of: "etc/init.d/rcS")) > #require(names.firstIndex(of: "usr/lib/up")))

        // Replacing one name of the hard link leaves busybox a single file carrying its data.
        let busybox = try #require(byName["bin/busybox"])
        #expect((busybox.nlink, busybox.size) == (1, UInt32(busyboxSize)))
        #expect(byName["sbin/init"].map { ($0.nlink, $0.size) } ?? (0, 0) == (1, 18))
        #expect(byName["sbin/init"]?.inode != busybox.inode)

        for implicit in ["opt", "opt/tool", "opt/tool/bin", "usr/share"] {
            let entry = try #require(byName[implicit])
            #expect((entry.mode, entry.uid, entry.gid, entry.mtime) == (0o040755, 0, 0, UInt32(testEpoch)))
        }
        #expect(byName["usr/share/extra"]?.mode == 0o040700)
        #expect(byName["usr/share/extra/data.txt"]?.size == 5)
        #expect(byName["dev/console"].map { ($0.rdevMajor, $0.rdevMinor) } ?? (0, 0) == (5, 1))
    }
}

@Test func packsOfATouchedTreeAreIdentical() throws {
    try withTemporaryDirectory { work in
        let root = work.appendingPathComponent("staging")
        try makeStagingTree(at: root)
        let first = try packedBytes([.directory(root)], in: work, name: "first.cpio")
        try runChecked(["find", root.path, "-exec", "touch", "-h", "{}", "+"])
        let second = try packedBytes([.directory(root)], in: work, name: "second.cpio")
        #expect(first == second)
    }
}

@Test func entryInsideANonDirectoryIsAnError() throws {
    try withTemporaryDirectory { work in
        let base = work.appendingPathComponent("staging")
        try writeFile(base.appendingPathComponent("lib/libc.so"), "")
        let sources: [InitramfsSource] = [
            .directory(base), .listText("slink /lib usr/lib 0777 0 0", name: "links.list", baseDirectory: work),
        ]

        let error = #expect(throws: InitramfsError.self) {
            try InitramfsPacker(sourceDateEpoch: testEpoch).pack(sources, to: work.appendingPathComponent("out"))
        }

        let location = InitramfsInputLocation(file: base.path, line: nil, text: "lib/libc.so")
        let parentLocation = InitramfsInputLocation(file: "links.list", line: 1, text: "slink /lib usr/lib 0777 0 0")
        #expect(error == .parentNotDirectory(location, name: "lib/libc.so", parent: "lib", parentOrigin: parentLocation))
        #expect(error?.description == "\(base.path): 'lib/libc.so' would go inside 'lib', which is not a directory "
            + "in the archive (see links.list:1); keep 'lib' a directory or move the entry.")
    }
}

@Test func unsafeOrMissingDirectoryInputsAreErrors() throws {
    try withTemporaryDirectory { work in
        let packer = InitramfsPacker(sourceDateEpoch: testEpoch)
        let destination = work.appendingPathComponent("out")

        let escape = #expect(throws: InitramfsError.self) {
            try packer.pack([.directory(work, at: "/../x")], to: destination)
        }
        #expect(escape == .unsafeName(InitramfsInputLocation(file: work.path, line: nil, text: "/../x"), name: "/../x"))

        let missing = work.appendingPathComponent("missing")
        let unreadable = #expect(throws: InitramfsError.self) {
            try packer.pack([.directory(missing)], to: destination)
        }
        #expect(unreadable?.description.hasPrefix("Cannot read the initramfs input '\(missing.path)'") == true)
    }
}

@Test(arguments: [
    ("/a//b/", "a/b"), ("./a/./b", "a/b"), ("a", "a"), ("/", ""), ("...", "..."),
])
func namesAreNormalised(_ name: String, _ expected: String) {
    #expect(normalisedArchivePath(name) == expected)
}

@Test(arguments: ["..", "a/../b", "/../etc", "./a/.."])
func namesWithParentComponentsAreRejected(_ name: String) {
    #expect(normalisedArchivePath(name) == nil)
}

@Test func failedPackLeavesTheDestinationAlone() throws {
    try withTemporaryDirectory { work in
        let destination = work.appendingPathComponent("initramfs.cpio.gz")
        try writeFile(destination, "previous")
        let packer = InitramfsPacker(sourceDateEpoch: testEpoch)

        #expect(throws: InitramfsError.self) {
            try packer.pack([.listText("file /init missing 0755 0 0", name: "bad.list", baseDirectory: work)], to: destination)
        }
        #expect(try String(contentsOf: destination, encoding: .utf8) == "previous")

        _ = try packer.pack([.listText("dir /dev 0755 0 0", name: "good.list", baseDirectory: work)], to: destination)
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path) == ["initramfs.cpio.gz"])
    }
}

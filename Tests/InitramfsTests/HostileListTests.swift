import Foundation
import Testing
@testable import Initramfs

/// Packs a list given as bytes; returns the archive's entries, or the error.
private func pack(_ bytes: [UInt8], in base: URL) -> Result<[CpioEntry], InitramfsError> {
    let list = base.appendingPathComponent("hostile.list")
    let archive = base.appendingPathComponent("out.cpio")
    do {
        try Data(bytes).write(to: list)
        _ = try InitramfsPacker(sourceDateEpoch: testEpoch).pack([.list(list)], to: archive, compression: .none)
        return .success(try CpioArchiveReader.listing(of: archive))
    } catch let error as InitramfsError {
        return .failure(error)
    } catch {
        return .failure(.inputUnreadable(path: list.path, reason: "\(error)"))
    }
}

private func expectRefused(_ text: String, line: Int, saying fragments: String..., sourceLocation: SourceLocation = #_sourceLocation) throws {
    try withTemporaryDirectory { base in
        try writeFile(base.appendingPathComponent("data"), "data\n")
        switch pack(Array(text.utf8), in: base) {
        case .success:
            Issue.record("packed: \(text.prefix(80))", sourceLocation: sourceLocation)
        case .failure(let error):
            #expect(error.description.hasPrefix("\(base.path)/hostile.list:\(line): "), "\(error)", sourceLocation: sourceLocation)
            for fragment in fragments {
                #expect(error.description.contains(fragment), "\(error)", sourceLocation: sourceLocation)
            }
        }
        #expect(!FileManager.default.fileExists(atPath: base.appendingPathComponent("out.cpio").path), sourceLocation: sourceLocation)
        let left = try FileManager.default.contentsOfDirectory(atPath: base.path).filter { $0.contains(".tmp") }
        #expect(left.isEmpty, "temporary files left: \(left)", sourceLocation: sourceLocation)
    }
}

/// What the kernel's unpacker cannot honour is refused at the list line, at the exact limit.
struct KernelLimitTests {
    @Test func deviceNumbersFitTheKernelsDevT() throws {
        try withTemporaryDirectory { base in
            let entries = try pack(Array("nod /dev/a 0600 0 0 c 4095 1048575\n".utf8), in: base).get()
            #expect(entries.first { $0.name == "dev/a" }.map { ($0.rdevMajor, $0.rdevMinor) } ?? (0, 0) == (4095, 1_048_575))
        }
        try expectRefused("nod /dev/a 0600 0 0 c 4096 1\n", line: 1, saying: "device major 4096 is larger than 4095")
        try expectRefused("dir /dev 0755 0 0\nnod /dev/b 0600 0 0 b 8 1048576\n", line: 2, saying: "device minor 1048576 is larger than 1048575")
    }

    @Test func namesFitPathMaxAndNameMax() throws {
        // 16 components of 255 bytes and 15 slashes: 4095 bytes, with the NUL exactly PATH_MAX.
        let longest = (0..<16).map { String(repeating: Character(String($0 % 10)), count: 255) }.joined(separator: "/")
        try withTemporaryDirectory { base in
            let entries = try pack(Array("dir /\(longest) 0755 0 0\n".utf8), in: base).get()
            #expect(entries.contains { $0.name == longest })
        }
        try expectRefused("dir /\(longest)x 0755 0 0\n", line: 1, saying: "4096 bytes long", "PATH_MAX")
        try expectRefused("dir /\(String(repeating: "n", count: 256)) 0755 0 0\n", line: 1, saying: "256 bytes long", "NAME_MAX")
    }

    @Test func linkTargetsFitPathMax() throws {
        let target = "/" + String(repeating: "t/", count: 2047)  // 4095 bytes
        try withTemporaryDirectory { base in
            let entries = try pack(Array("slink /l \(target) 0777 0 0\n".utf8), in: base).get()
            #expect(entries.first { $0.name == "l" }?.symlinkTarget == target)
        }
        try expectRefused("slink /l \(target)x 0777 0 0\n", line: 1, saying: "the link target is 4096 bytes long")
    }

    @Test func aNulByteNeverShortensANameTargetOrLocation() throws {
        try expectRefused("dir /etc\0x 0755 0 0\n", line: 1, saying: "NUL")
        try expectRefused("slink /sh /bin\0x 0777 0 0\n", line: 1, saying: "NUL")
        try expectRefused("file /d data\0x 0644 0 0\n", line: 1, saying: "NUL")
    }

    @Test func onlyDirectoriesNameTheRoot() throws {
        try expectRefused("file / data 0644 0 0\n", line: 1, saying: "archive's root")
        try expectRefused("slink /. /x 0777 0 0\n", line: 1, saying: "archive's root")
        try withTemporaryDirectory { base in
            let entries = try pack(Array("dir / 0755 0 0\ndir /./ 0755 0 0\n".utf8), in: base).get()
            #expect(entries.isEmpty)
        }
    }

    @Test func everyProblemOfAListIsReportedAtOnce() throws {
        try withTemporaryDirectory { base in
            let text = "nod /a 0600 0 0 c 5000 1\ndir /ok 0755 0 0\nfil /typo 0 0 0\n\n# fine\ndir /m 0999 0 0\n"
            guard case .failure(let error) = pack(Array(text.utf8), in: base) else { Issue.record("packed"); return }
            guard case .several(let problems) = error else { Issue.record("one problem: \(error)"); return }
            #expect(problems.count == 3)
            let lines = error.description.split(separator: "\n").map { String($0.prefix(while: { $0 != " " })) }
            #expect(lines == [1, 3, 6].map { "\(base.path)/hostile.list:\($0):" })
        }
    }
}

/// A list is bytes: comments may hold anything, other lines must be UTF-8, and a line that is not is named.
struct NonUTF8ListTests {
    @Test func commentsAndBlankLinesMayHoldAnyBytes() throws {
        try withTemporaryDirectory { base in
            var bytes = Array("# caf".utf8) + [0xE9] + Array(" au lait\n   #\t".utf8) + [0xFF, 0xFE] + Array("\n\n".utf8)
            bytes += Array("dir /etc 0755 0 0\n".utf8)
            let entries = try pack(bytes, in: base).get()
            #expect(entries.map(\.name) == ["etc"])
        }
    }

    @Test func aLineThatIsNotUTF8IsNamedWithItsByte() throws {
        try withTemporaryDirectory { base in
            let bytes = Array("dir /etc 0755 0 0\ndir /caf".utf8) + [0xE9] + Array(" 0755 0 0\n".utf8)
            guard case .failure(let error) = pack(bytes, in: base) else { Issue.record("packed"); return }
            #expect(error.description == "\(base.path)/hostile.list:2: byte 9 of 'dir /caf\\xE9 0755 0 0' (\\xE9) is not UTF-8; "
                    + "write names, locations and targets in UTF-8 (a comment may hold any bytes).")
        }
    }

    @Test func controlCharactersOfALineAreNotEchoed() throws {
        try withTemporaryDirectory { base in
            guard case .failure(let error) = pack(Array("bogus \u{1B}[2J\u{1B}[H ok\n".utf8), in: base) else { Issue.record("packed"); return }
            #expect(!error.description.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
            #expect(error.description.contains("'bogus \\e[2J\\e[H ok'"))
        }
    }
}

/// Outputs that must not be replaced, and outputs that cannot be opened: errors, never a crash.
struct HostileOutputTests {
    @Test func anUnopenableOutputIsAnErrorNamingIt() throws {
        try withTemporaryDirectory { base in
            let source = InitramfsSource.listText("dir /etc 0755 0 0", name: "t.list", baseDirectory: base)
            for compression in InitramfsCompression.allCases {
                let missing = base.appendingPathComponent("no/such/out.cpio")
                let error = #expect(throws: InitramfsError.self) {
                    try InitramfsPacker(sourceDateEpoch: testEpoch).pack([source], to: missing, compression: compression)
                }
                #expect(error?.description.contains("'\(missing.path)': its folder '\(base.path)/no/such' does not exist") == true, "\(String(describing: error))")
            }
        }
    }

    @Test func linksDevicesAndFIFOsUnderTheOutputNameAreKept() throws {
        try withTemporaryDirectory { base in
            let source = InitramfsSource.listText("dir /etc 0755 0 0", name: "t.list", baseDirectory: base)
            try writeFile(base.appendingPathComponent("target"), "keep")
            let link = base.appendingPathComponent("link.cpio")
            try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "target")
            let fifo = base.appendingPathComponent("fifo.cpio")
            #expect(mkfifo(fifo.path, 0o644) == 0)
            for (output, kind) in [(link, "symbolic link"), (fifo, "FIFO"), (URL(fileURLWithPath: "/dev/null"), "character device")] {
                let error = #expect(throws: InitramfsError.self) {
                    try InitramfsPacker(sourceDateEpoch: testEpoch).pack([source], to: output, compression: .none)
                }
                #expect(error?.description.contains(kind) == true, "\(String(describing: error))")
            }
            #expect(try String(contentsOf: base.appendingPathComponent("target"), encoding: .utf8) == "keep")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == "target")
            var info = stat()
            #expect(lstat("/dev/null", &info) == 0 && info.st_mode & S_IFMT == S_IFCHR)
        }
    }

    @Test func aListThatIsNotARegularFileIsRefusedWithoutReading() throws {
        try withTemporaryDirectory { base in
            let fifo = base.appendingPathComponent("list")
            #expect(mkfifo(fifo.path, 0o644) == 0)
            for input in [fifo, URL(fileURLWithPath: "/dev/zero"), base] {
                let error = #expect(throws: InitramfsError.self) {
                    try InitramfsPacker(sourceDateEpoch: testEpoch).pack([.list(input)], to: base.appendingPathComponent("out"), compression: .none)
                }
                #expect(error?.description.contains("not a regular file") == true, "\(String(describing: error))")
            }
        }
    }

    @Test func leftoversOfAKilledPackerAreRemovedByTheNextOne() throws {
        try withTemporaryDirectory { base in
            let finished = Process()
            finished.executableURL = URL(fileURLWithPath: "/bin/true")
            try finished.run()
            finished.waitUntilExit()
            let stale = base.appendingPathComponent(".out.cpio.tmp-\(finished.processIdentifier)-0000ABCD")
            try writeFile(stale, "half an archive")
            let source = InitramfsSource.listText("dir /etc 0755 0 0", name: "t.list", baseDirectory: base)
            _ = try InitramfsPacker(sourceDateEpoch: testEpoch).pack([source], to: base.appendingPathComponent("out.cpio"), compression: .none)
            #expect(try FileManager.default.contentsOfDirectory(atPath: base.path) == ["out.cpio"])
        }
    }
}

import Foundation
import Testing
import UserInput

private func withScratch<T>(_ body: (URL) throws -> T) throws -> T {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-userinput-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    return try body(folder)
}

private func expectRefused(_ path: String, limit: Int = 1 << 20, saying text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try UserFile.read(path, limit: limit)
        Issue.record("\(path) was read", sourceLocation: sourceLocation)
    } catch {
        #expect(error.path == path, sourceLocation: sourceLocation)
        #expect(error.reason.contains(text), "\(error.reason)", sourceLocation: sourceLocation)
    }
}

struct UserFileTests {
    @Test func readsRegularFilesAndLinksToThem() throws {
        try withScratch { folder in
            let file = folder.appendingPathComponent("list")
            try Data("dir /etc 0755 0 0\n".utf8).write(to: file)
            #expect(try UserFile.read(file.path, limit: 100) == Array("dir /etc 0755 0 0\n".utf8))
            let link = folder.appendingPathComponent("link")
            try FileManager.default.createSymbolicLink(at: link, withDestinationURL: file)
            #expect(try UserFile.read(link.path, limit: 100).count == 18)
        }
    }

    @Test func refusesWhatIsNotARegularFileBeforeReading() throws {
        try withScratch { folder in
            let fifo = folder.appendingPathComponent("fifo")
            #expect(mkfifo(fifo.path, 0o644) == 0)
            // Opening a FIFO for reading would wait for a writer: the refusal must come first.
            expectRefused(fifo.path, saying: "it is a FIFO (named pipe), not a regular file")
            expectRefused("/dev/zero", saying: "it is a character device, not a regular file")
            expectRefused(folder.path, saying: "it is a folder, not a regular file")
            expectRefused(folder.appendingPathComponent("missing").path, saying: "no such file or directory")
        }
    }

    @Test func refusesFilesLargerThanTheLimitWithoutReadingThem() throws {
        try withScratch { folder in
            let sparse = folder.appendingPathComponent("huge")
            #expect(FileManager.default.createFile(atPath: sparse.path, contents: nil))
            #expect(truncate(sparse.path, 8 << 30) == 0)
            expectRefused(sparse.path, limit: 16 << 20, saying: "larger than 16 MiB")
            let small = folder.appendingPathComponent("small")
            try Data(count: 101).write(to: small)
            expectRefused(small.path, limit: 100, saying: "larger than 100 bytes")
            #expect(try UserFile.read(small.path, limit: 101).count == 101)
        }
    }

    @Test func boundsFilesThatSayTheyAreEmpty() throws {
        // /proc files are regular and report size 0, whatever they hold.
        #expect(try !UserFile.read("/proc/self/status", limit: 1 << 20).isEmpty)
        expectRefused("/proc/self/status", limit: 16, saying: "larger than 16 bytes")
    }

    @Test func foundationErrorsBecomeTheSystemsWords() {
        #expect(UserFile.reason(of: CocoaError(.fileWriteOutOfSpace)) == "no space left on device")
        #expect(UserFile.reason(of: NSError(domain: NSPOSIXErrorDomain, code: Int(EROFS))) == "read-only file system")
        let wrapped = NSError(domain: NSCocoaErrorDomain, code: 512, userInfo: [NSUnderlyingErrorKey: NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC))])
        #expect(UserFile.reason(of: wrapped) == "no space left on device")
        #expect(!UserFile.reason(of: CocoaError(.fileReadUnknown)).contains("could not be completed"))
    }
}

struct OutputPathTests {
    @Test func regularFilesAndNewNamesMayBeWritten() throws {
        try withScratch { folder in
            let file = folder.appendingPathComponent("out.cpio")
            try OutputPath.checkFile(file.path)
            try Data().write(to: file)
            try OutputPath.checkFile(file.path)
            try OutputPath.checkFolder(folder.path)
            try OutputPath.checkFolder(folder.appendingPathComponent("new").path)
        }
    }

    @Test func specialFilesAndLinksAreRefused() throws {
        try withScratch { folder in
            func refused(_ path: String, _ text: String, folder: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) {
                do {
                    if folder { try OutputPath.checkFolder(path) } else { try OutputPath.checkFile(path) }
                    Issue.record("\(path) accepted", sourceLocation: sourceLocation)
                } catch {
                    #expect(error.reason.contains(text), "\(error.reason)", sourceLocation: sourceLocation)
                }
            }
            let target = folder.appendingPathComponent("target")
            try Data("keep".utf8).write(to: target)
            let link = folder.appendingPathComponent("link")
            try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "target")
            refused(link.path, "symbolic link (to 'target')")
            refused(link.path, "symbolic link", folder: true)
            let folderLink = folder.appendingPathComponent("out")
            try FileManager.default.createSymbolicLink(atPath: folderLink.path, withDestinationPath: folder.path)
            refused(folderLink.path, "symbolic link", folder: true)
            try OutputPath.checkFolder(folderLink.path, linkAllowed: true)
            let dangling = folder.appendingPathComponent("dangling")
            try FileManager.default.createSymbolicLink(atPath: dangling.path, withDestinationPath: "/proc/self/fd/1")
            refused(dangling.path, "symbolic link (to '/proc/self/fd/1')")
            refused("/dev/null", "it is a character device, not a regular file")
            let fifo = folder.appendingPathComponent("fifo")
            #expect(mkfifo(fifo.path, 0o644) == 0)
            refused(fifo.path, "FIFO")
            refused(folder.path, "it is a folder, not a regular file")
            refused(target.path, "it is a regular file, not a folder", folder: true)
            refused(folder.appendingPathComponent("missing/out").path, "its folder '\(folder.path)/missing' does not exist")
            refused(target.appendingPathComponent("out").path, "is a regular file, not a folder")
            #expect(try String(contentsOf: target, encoding: .utf8) == "keep")
        }
    }
}

struct TemporaryNameTests {
    @Test func leftoversOfProcessesThatAreGoneAreRemovedOthersKept() throws {
        try withScratch { folder in
            let final = folder.appendingPathComponent("qemu-x86_64")
            let finished = Process()
            finished.executableURL = URL(fileURLWithPath: "/bin/true")
            try finished.run()
            finished.waitUntilExit()
            let gone = finished.processIdentifier
            let names = [".qemu-x86_64.tmp-\(gone)", ".qemu-x86_64.old-\(gone)", ".qemu-x86_64.tmp-\(gone)-1A2B3C4D",
                         ".qemu-x86_64.tmp-1", ".qemu-x86_64.tmp-\(getpid())", ".other.tmp-\(gone)", "qemu-x86_64"]
            for name in names {
                try FileManager.default.createDirectory(at: folder.appendingPathComponent(name), withIntermediateDirectories: true)
            }
            let removed = TemporaryName.removeStale(beside: final).map(\.lastPathComponent).sorted()
            #expect(removed == [".qemu-x86_64.old-\(gone)", ".qemu-x86_64.tmp-\(gone)", ".qemu-x86_64.tmp-\(gone)-1A2B3C4D"].sorted())
            let left = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
            #expect(left == [".other.tmp-\(gone)", ".qemu-x86_64.tmp-1", ".qemu-x86_64.tmp-\(getpid())", "qemu-x86_64"].sorted())
            #expect(TemporaryName.beside(final).lastPathComponent == ".qemu-x86_64.tmp-\(getpid())")
        }
    }
}

struct UserTextTests {
    @Test func controlCharactersAreEscaped() {
        #expect(UserText.escaped("a\u{1B}[2Jok\n\tb\r") == "a\\e[2Jok\\n\\tb\\r")
        #expect(UserText.escaped("\u{7F}\u{9B}\u{07}") == "\\x7F\\x9B\\x07")
        #expect(UserText.escaped("abc\u{202E}txt.exe") == "abc\\u{202E}txt.exe")
        #expect(UserText.escaped("café ✓") == "café ✓")
    }

    @Test func longValuesAreCutInTheMiddle() {
        let text = String(repeating: "a", count: 100) + String(repeating: "b", count: 1_000_000) + String(repeating: "c", count: 100)
        let shown = UserText.escaped(text)
        #expect(shown.count < 300)
        #expect(shown.hasPrefix(String(repeating: "a", count: 100)) && shown.hasSuffix(String(repeating: "c", count: 100)))
        #expect(shown.contains("1000000 more characters"))
    }

    @Test func bytesThatAreNotUTF8AreShownAsHex() {
        #expect(UserText.escaped(bytes: Array("caf".utf8) + [0xE9] + Array(" ok".utf8)) == "caf\\xE9 ok")
        #expect(UserText.escaped(bytes: [0xE2, 0x9C]) == "\\xE2\\x9C")
        #expect(UserText.escaped(bytes: Array("✓".utf8)) == "✓")
        #expect(UserText.firstInvalidUTF8(in: Array("dir /caf".utf8) + [0xE9]) == 8)
        #expect(UserText.firstInvalidUTF8(in: Array("valid ✓".utf8)) == nil)
    }
}

struct HexTests {
    @Test func bytesAreTwoLowerCaseDigitsEachHighNibbleFirst() {
        #expect(Hex.lowercase([0x00, 0x0F, 0xA0, 0xFF, 0x5c]) == "000fa0ff5c")
        #expect(Hex.lowercase([UInt8]()) == "")
    }
}

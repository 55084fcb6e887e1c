import BSPGenCLI
import DiskImage
import Foundation
import Testing

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
private let projectArguments = ["--boards", root.appendingPathComponent("boards").path, "--toolchains", root.appendingPathComponent("toolchains").path]

/// `bspgen flash` end to end, with a regular file standing in for the card and a made-up image in out/BOARD/.
@Suite(.serialized) struct FlashCommandTests {
    let folder: URL
    let out: URL
    let image: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-flash-\(UUID().uuidString)", isDirectory: true)
        out = folder.appendingPathComponent("out", isDirectory: true)
        let board = out.appendingPathComponent("raspberrypi3b", isDirectory: true)
        try FileManager.default.createDirectory(at: board, withIntermediateDirectories: true)
        image = board.appendingPathComponent("sdcard.img")
        // 4 MiB, sparse, with data at the start, in the middle and at the end.
        #expect(FileManager.default.createFile(atPath: image.path, contents: nil))
        let handle = try FileHandle(forWritingTo: image)
        try handle.truncate(atOffset: 4 << 20)
        for (offset, byte) in [(0, UInt8(0xEB)), (2 << 20, 0x42), ((4 << 20) - 4096, 0x55)] {
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: Data(repeating: byte, count: 3000))
        }
        try handle.close()
        try Bmap.make(for: image).write(to: board.appendingPathComponent("sdcard.img.bmap"), atomically: true, encoding: .utf8)
    }

    func card(size: Int) throws -> URL {
        let url = folder.appendingPathComponent("card-\(UUID().uuidString).raw")
        #expect(FileManager.default.createFile(atPath: url.path, contents: nil))
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: UInt64(size))
        try handle.close()
        return url
    }

    func flash(_ arguments: [String]) async -> Int32 {
        await BSPGen.main(["flash", "raspberrypi3b", "--out", out.path] + arguments + projectArguments)
    }

    @Test func theImageWrittenToAStandInFileReadsBackTheSame() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let device = try card(size: 4 << 20)
        #expect(await flash(["--device", device.path, "--yes"]) == 0)
        #expect(try Data(contentsOf: device) == Data(contentsOf: image))
        // --image names one of the board's disk_images.
        let second = try card(size: 8 << 20)
        #expect(await flash(["--device", second.path, "--image", "sdcard.img", "--yes"]) == 0)
        #expect(try Data(contentsOf: second).prefix(4 << 20) == Data(contentsOf: image))
    }

    @Test func refusalsWriteNothing() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let device = try card(size: 4 << 20)
        let zeros = Data(count: 4 << 20)
        // No terminal to ask on (the tests' standard input is not one) and no --yes.
        if isatty(STDIN_FILENO) == 0 {
            #expect(await flash(["--device", device.path]) == 1)
        }
        #expect(await flash(["--device", try card(size: 1 << 20).path, "--yes"]) == 1)
        #expect(await flash(["--device", "/dev/null", "--yes", "--force"]) == 1)
        #expect(await flash(["--device", folder.path, "--yes"]) == 1)
        #expect(await flash(["--device", folder.appendingPathComponent("nothing").path, "--yes"]) == 1)
        #expect(await flash(["--device", device.path, "--image", "nonesuch.img", "--yes"]) == 1)
        #expect(await BSPGen.main(["flash", "no-such-board", "--device", device.path, "--yes"] + projectArguments) == 1)
        // A board whose image was not built: out/ has no folder for it.
        #expect(await BSPGen.main(["flash", "vexpress-a9", "--out", out.path, "--device", device.path, "--yes"] + projectArguments) == 1)
        // An image edited after its bmap was made is refused before the card is touched.
        let handle = try FileHandle(forWritingTo: image)
        try handle.seek(toOffset: 10)
        try handle.write(contentsOf: Data([0x99]))
        try handle.close()
        #expect(await flash(["--device", device.path, "--yes"]) == 1)
        #expect(try Data(contentsOf: device) == zeros)
    }

    @Test func flashHasHelp() async {
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(await BSPGen.main(["flash", "--help"]) == 0)
    }
}

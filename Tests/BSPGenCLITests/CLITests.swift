import BSPGenCLI
import Foundation
import Testing

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
private let projectArguments = ["--boards", root.appendingPathComponent("boards").path, "--toolchains", root.appendingPathComponent("toolchains").path]

/// The CLI's exit statuses: 0 for success, non-zero with a message for every kind of bad input, never a crash.
@Suite(.serialized) struct CLITests {
    @Test func listShowAndValidateSucceedOnTheShippedFiles() async {
        #expect(await BSPGen.main(["list"] + projectArguments) == 0)
        #expect(await BSPGen.main(["list", "--json"] + projectArguments) == 0)
        #expect(await BSPGen.main(["show", "qemu-arm64-virt"] + projectArguments) == 0)
        #expect(await BSPGen.main(["show", "--json", "raspberrypi4"] + projectArguments) == 0)
        #expect(await BSPGen.main(["validate"] + projectArguments) == 0)
        #expect(await BSPGen.main(["validate", "qemu-arm64-virt", "aarch64-linux-gnu"] + projectArguments) == 0, "names, as other commands take them")
    }

    @Test func badInputExitsNonZero() async throws {
        #expect(await BSPGen.main(["show", "no-such-board"] + projectArguments) == 1)
        #expect(await BSPGen.main(["validate", "/nonexistent.yaml"] + projectArguments) == 1)
        #expect(await BSPGen.main(["frobnicate"]) != 0)
        #expect(await BSPGen.main(["show"] + projectArguments) != 0)
        let broken = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: broken) }
        for (index, text) in ["name: [", "\u{0}\u{1}binary", "- - -", "name: x\nname: y", String(repeating: "[", count: 5000)].enumerated() {
            let file = broken.appendingPathComponent("b\(index).yaml")
            try text.write(to: file, atomically: true, encoding: .utf8)
            #expect(await BSPGen.main(["validate", "--boards", broken.path, "--toolchains", root.appendingPathComponent("toolchains").path, file.path]) == 1)
        }
    }

    @Test func everyCommandHasHelp() async {
        for command in ["list", "show", "validate", "doctor", "config", "menuconfig", "kernel", "initramfs", "cpio", "build", "boot", "test", "bench", "dt"] {
            #expect(await BSPGen.main([command, "--help"]) == 0, "\(command) --help")
        }
    }
}

@Test func anUnknownBootMethodOrRootfsFailsBeforeAnythingIsBuilt() async {
    #expect(await BSPGen.main(["test", "qemu-x86_64", "--boot", "disk", "--rootfs", "ext4"] + projectArguments) != 0)
    #expect(await BSPGen.main(["test", "qemu-x86_64", "--rootfs", "xfs"] + projectArguments) != 0)
}

@Test func menuconfigOfAnUnknownComponentFailsBeforeAnythingIsBuilt() async {
    #expect(await BSPGen.main(["menuconfig", "qemu-x86_64", "--component", "grub"] + projectArguments) != 0)
}

@testable import BSPGenCLI
import Foundation
import Testing

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

@Suite struct BootSelectionTests {
    @Test func optionsChooseTheBootPath() throws {
        #expect(try BootSelection(method: nil, rootfs: nil) == .kernel)
        #expect(try BootSelection(method: "uboot", rootfs: nil) == .method("uboot"))
        #expect(try BootSelection(method: nil, rootfs: "ext4") == .rootfs)
        #expect(throws: (any Error).self) { try BootSelection(method: nil, rootfs: "btrfs") }
        #expect(throws: (any Error).self) { try BootSelection(method: "disk", rootfs: "ext4") }
        #expect(BootSelection.kernel.needsImages == false && BootSelection.rootfs.needsImages)
    }

    @Test func anUnknownBootMethodOrRootfsFailsBeforeAnythingIsBuilt() async {
        let project = ["--boards", root.appendingPathComponent("boards").path, "--toolchains", root.appendingPathComponent("toolchains").path]
        #expect(await BSPGen.main(["test", "qemu-x86_64", "--boot", "disk", "--rootfs", "ext4"] + project) != 0)
        #expect(await BSPGen.main(["test", "qemu-x86_64", "--rootfs", "xfs"] + project) != 0)
    }
}

import Foundation
@testable import Report

/// A report as a small build would make it: a few stages (two overlapping), kernel objects, initramfs files, a
/// disk image, a boot and config options.
func sampleReport(board: String = "qemu-test") -> BuildReport {
    var report = BuildReport(board: board, arch: "aarch64", manifestSHA256: String(repeating: "ab", count: 32), buildSeconds: 12.5, stages: [
        StageBar(name: "kernel config", ran: true, reasons: ["fragment linux.fragment changed"], started: 0, seconds: 2),
        StageBar(name: "kernel image", ran: true, reasons: ["config changed"], started: 2, seconds: 9, detail: "ccache 80/90 hits"),
        StageBar(name: "busybox", ran: false, reasons: ["inputs unchanged"], started: 2.1, seconds: 0),
        StageBar(name: "output folder", ran: true, reasons: ["artifact Image changed"], started: 11.2, seconds: 0.3),
    ])
    report.kernel = KernelSizes(image: "Image", imageSize: 3_000_000, vmlinuxText: 2_000_000, vmlinuxData: 800_000, vmlinuxBSS: 200_000, objects: [
        .init(name: "kernel/sched/core.o", bytes: 50_000), .init(name: "kernel/printk/printk.o", bytes: 30_000),
        .init(name: "fs/ext4/inode.o", bytes: 40_000), .init(name: "drivers/tty/serial/amba-pl011.o", bytes: 12_000),
        .init(name: "drivers/base/core.o", bytes: 9_000), .init(name: "arch/arm64/kernel/setup.o", bytes: 7_000),
        .init(name: "init/main.o", bytes: 5_000), .init(name: "lib/vsprintf.o", bytes: 19_042),
    ])
    report.initramfs = InitramfsSizes(file: "initramfs.cpio.gz", compressedSize: 600_000, archiveSize: 1_400_320, otherEntries: 300, files: [
        .init(path: "/bin/busybox", bytes: 1_200_000, kind: "busybox tree"),
        .init(path: "/lib/modules/6.1.0/kernel/fs/ext4/ext4.ko", bytes: 150_000, kind: "kernel modules"),
        .init(path: "/etc/motd", bytes: 20, kind: "overlay rootfs"),
        .init(path: "/init", bytes: 2_000, kind: "init and board info"),
    ])
    report.diskImages = [SizeBreakdown(title: "sdcard.img by partition", note: "mbr table, 64 MiB", total: 64 << 20, parts: [
        .init(name: "boot", bytes: 32 << 20, detail: "5 files, 4.0 MiB"), .init(name: "rootfs", bytes: 30 << 20, detail: "image rootfs.ext4"),
    ], remainder: "partition table and gaps")]
    report.config = [
        ConfigOption(symbol: "PRINTK", requested: "y", obtained: "y", origin: "linux.fragment:1", optional: false, satisfied: true),
        ConfigOption(symbol: "EXT4_FS", requested: "m", obtained: "m", origin: "linux.fragment:2", optional: false, satisfied: true),
        ConfigOption(symbol: "DEBUG_FS", requested: "y", obtained: nil, origin: "linux.fragment:3", optional: true, satisfied: false),
    ]
    report.artifacts = [ArtifactEntry(path: "Image", size: 3_000_000, sha256: String(repeating: "0f", count: 32)),
                        ArtifactEntry(path: "initramfs.cpio.gz", size: 600_000, sha256: String(repeating: "e1", count: 32))]
    report.record(BootRun(method: "kernel", passed: true, accelerator: "tcg", totalSeconds: 3.4, milestones: [
        Milestone(name: "first console output", seconds: 0.31), Milestone(name: "kernel started", seconds: 0.31),
        Milestone(name: "initramfs unpacked", seconds: 1.02), Milestone(name: "/init started", seconds: 1.5), Milestone(name: "banner", seconds: 1.91),
    ], checks: [Verdict(name: "uname -m", passed: true, detail: "aarch64")]))
    report.verdicts = [Verdict(name: "kernel image", passed: true, detail: "arm64 Image header")]
    report.components = [Component(name: "busybox", version: "1.35.0"), Component(name: "linux", version: "6.1.192")]
    return report
}

/// Every match of `pattern`'s first group in `text`.
func captures(_ pattern: String, in text: String) throws -> [String] {
    let expression = try NSRegularExpression(pattern: pattern)
    return expression.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
        Range(match.range(at: 1), in: text).map { String(text[$0]) }
    }
}

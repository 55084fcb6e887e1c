import Foundation
import Testing
@testable import Report

@Suite struct ReportPageTests {
    @Test func oneTimelineBarPerStageOnTheTimeAxis() throws {
        let report = sampleReport()
        let page = ReportPage.html(report)
        let bars = try captures(#"<rect class="stage-bar (ran|skipped)""#, in: page)
        #expect(bars == ["ran", "ran", "skipped", "ran"])
        #expect(page.contains("data-stages=\"4\""))
        // The kernel image ran from 2 s for 9 s of a 12.5 s build: x = 160, width = 720 on the 1000-unit axis.
        #expect(page.contains(#"class="stage-bar ran" x="160" y="0" width="720""#))
        // A skipped stage still gets a (thin) bar.
        #expect(page.contains(#"class="stage-bar skipped" x="168" y="0" width="3""#))
    }

    /// Every stacked bar's parts add up to its total, and its rectangles to the full width.
    @Test func sizeBarsAddUp() throws {
        let page = ReportPage.html(sampleReport())
        let stacks = try captures(#"(<svg class="stack".*?</svg>)"#, in: page)
        #expect(stacks.count == 4) // kernel, initramfs, sdcard.img, the boot
        for stack in stacks {
            let total = try #require(Int(try captures(#"data-total="(\d+)""#, in: stack).first ?? ""))
            let values = try captures(#"data-value="(\d+)""#, in: stack).compactMap(Int.init)
            let widths = try captures(#" width="([0-9.]+)""#, in: stack).compactMap(Double.init)
            #expect(values.reduce(0, +) == total, "\(stack.prefix(120))")
            #expect(abs(widths.reduce(0, +) - 1000) < 0.1)
        }
        let report = sampleReport()
        #expect(report.initramfs?.byKind.isConsistent == true)
        #expect(report.kernel?.breakdown.total == report.kernel?.objectsTotal)
        #expect(report.diskImages.first?.parts.last == SizeBreakdown.Part(name: "partition table and gaps", bytes: 2 << 20))
    }

    @Test func subsystemsAreTopFoldersAndArchOrDriversWithTheNextOne() {
        #expect(KernelSizes.subsystem(of: "fs/ext4/inode.o") == "fs")
        #expect(KernelSizes.subsystem(of: "drivers/tty/serial/amba-pl011.o") == "drivers/tty")
        #expect(KernelSizes.subsystem(of: "arch/arm64/kernel/setup.o") == "arch/arm64")
        #expect(KernelSizes.subsystem(of: "drivers/foo.o") == "drivers")
        #expect(KernelSizes.subsystem(of: ".vmlinux.export.o") == "(top level)")
        let kernel = sampleReport().kernel
        #expect(kernel?.subsystems.first == SizeBreakdown.Part(name: "kernel", bytes: 80_000, detail: "2 objects"))
        #expect(kernel?.subsystems.reduce(0) { $0 + $1.bytes } == kernel?.objectsTotal)
    }

    /// The page stands alone: nothing fetched, and text from the build cannot become markup.
    @Test func selfContainedAndEscaped() {
        var report = sampleReport(board: "<script>alert(1)</script>")
        report.initramfs?.files.append(.init(path: "/etc/\"quoted\" & <b>", bytes: 1, kind: "overlay x"))
        let page = ReportPage.html(report)
        #expect(!page.contains("<script>alert(1)"))
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(page.contains("/etc/&quot;quoted&quot; &amp; &lt;b&gt;"))
        for external in ["http://", "https://", "src=", "href=", "@import", "url(", "<link"] {
            #expect(!page.contains(external), "\(external)")
        }
        #expect(page.components(separatedBy: "<script>").count == 2)
    }

    @Test func aReportBspgenWroteHasNoProblems() {
        #expect(sampleReport().problems.isEmpty)
        var report = sampleReport()
        report.stages[0].seconds = -1
        report.boots[0].milestones[0].seconds = .infinity
        #expect(report.problems == ["stages.kernel config.seconds: -1.0 is not a time in seconds",
                                    "boots.kernel.first console output: inf is not a time in seconds"])
        #expect(ByteCount.text(Int.min).hasSuffix("MiB"))
    }

    @Test func samePageForTheSameReport() throws {
        #expect(ReportPage.html(sampleReport()) == ReportPage.html(sampleReport()))
        let decoded = try BuildReport.decode(try sampleReport().encoded())
        #expect(decoded == sampleReport())
    }

    @Test func bootPhasesAddUpToTheBanner() throws {
        let page = ReportPage.html(sampleReport())
        let stack = try #require(try captures(#"(<svg class="stack" id="boot-kernel".*?</svg>)"#, in: page).first)
        #expect(try captures(#"data-value="(\d+)""#, in: stack) == ["310", "710", "480", "410"]) // "kernel started" came with the first output: no part of its own
        #expect(stack.contains(#"data-total="1910""#))
    }

    @Test func aTestRunReplacesThatMethodsBootOnly() {
        var report = sampleReport()
        report.record(BootRun(method: "uboot", passed: false, accelerator: "tcg", totalSeconds: 9, milestones: [], failure: "timed out",
                              checks: [Verdict(name: "banner", passed: false, detail: "no answer")]))
        // The kernel boot's checks stay beside the new method's.
        #expect(report.allVerdicts.map(\.name) == ["kernel image", "boot kernel: uname -m", "boot uboot: banner"])
        #expect(report.allVerdicts.map(\.passed) == [true, true, false])
        report.record(BootRun(method: "kernel", passed: false, accelerator: "tcg", totalSeconds: 5, milestones: []))
        #expect(report.boots.map(\.method) == ["kernel", "uboot"])
        #expect(report.boots.map(\.passed) == [false, false])
        #expect(report.allVerdicts.map(\.name) == ["kernel image", "boot uboot: banner"])
        let page = ReportPage.html(report)
        #expect(page.contains("boot uboot: FAILED"))
        #expect(page.contains("timed out"))
    }

    @Test func axisTicksAreRoundNumbersUpToTheEnd() {
        #expect(ReportPage.axisTicks(12.5) == [0, 5, 10, 12.5])
        let short = ReportPage.axisTicks(0.82)
        #expect(short.count == 5 && short.last == 0.82 && abs(short[3] - 0.6) < 1e-9)
        #expect(ByteCount.text(9_000) == "9000 B")
        #expect(ByteCount.text(20_480) == "20.0 KiB")
        #expect(ByteCount.delta(-300) == "-300 B")
    }
}

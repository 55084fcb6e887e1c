import Foundation
import Initramfs
import Report
import Testing
@testable import Pipeline

@Suite struct ReportStageTests {
    /// The size the page gives for the archive before compression is the packer's, to the byte, and each file is
    /// attributed to the source that put it there (a later source overriding an earlier one, as packing does).
    @Test func initramfsSizesMatchTheArchiveAndItsSources() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let base = root.appendingPathComponent("base"), overlay = root.appendingPathComponent("overlay")
        for folder in [base.appendingPathComponent("bin"), overlay.appendingPathComponent("etc"), overlay.appendingPathComponent("bin")] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        try Data(repeating: 7, count: 1001).write(to: base.appendingPathComponent("bin/busybox"))
        try Data(repeating: 1, count: 10).write(to: base.appendingPathComponent("bin/tool"))
        try FileManager.default.createSymbolicLink(atPath: base.appendingPathComponent("bin/sh").path, withDestinationPath: "busybox")
        try Data("hello\n".utf8).write(to: overlay.appendingPathComponent("etc/motd"))
        // The overlay replaces the tool: it is the overlay's now.
        try Data(repeating: 2, count: 33).write(to: overlay.appendingPathComponent("bin/tool"))
        let sources: [(name: String, source: InitramfsSource)] = [("busybox tree", .directory(base)), ("overlay rootfs", .directory(overlay))]
        let sizes: [InitramfsCompression: InitramfsSizes] = try Dictionary(uniqueKeysWithValues: [InitramfsCompression.none, .gzip].map { compression in
            let archive = root.appendingPathComponent("initramfs-\(compression.rawValue)")
            _ = try InitramfsPacker(sourceDateEpoch: 1_700_000_000).pack(sources.map(\.source), to: archive, compression: compression)
            return (compression, try ReportStage.initramfsSizes(archive: archive, sources: sources, sourceDateEpoch: 1_700_000_000))
        })
        let plain = try #require(sizes[.none])
        let size = try FileManager.default.attributesOfItem(atPath: root.appendingPathComponent("initramfs-none").path)[.size] as? NSNumber
        #expect(plain.archiveSize == size?.intValue)
        #expect(plain.compressedSize == plain.archiveSize)
        #expect(sizes[.gzip]?.archiveSize == plain.archiveSize)
        #expect(plain.files.map(\.path) == ["/bin/busybox", "/bin/tool", "/etc/motd"])
        #expect(plain.files.map(\.kind) == ["busybox tree", "overlay rootfs", "overlay rootfs"])
        #expect(plain.files.map(\.bytes) == [1001, 33, 6])
        let kinds = plain.byKind
        #expect(kinds.isConsistent)
        #expect(kinds.parts.map(\.name) == ["busybox tree", "overlay rootfs", "cpio headers, names, links, padding"])
    }

    @Test func readsBerkeleySizeOutput() {
        let output = """
               text	   data	    bss	    dec	    hex	filename
              18761	    281	      0	  19042	   4a62	lib/vsprintf.o
                420	      8	     16	    444	    1bc	drivers/tty/serial/amba pl011.o
            """
        let sizes = ReportStage.parseBerkeley(output)
        #expect(sizes.map(\.file) == ["lib/vsprintf.o", "drivers/tty/serial/amba pl011.o"])
        #expect(sizes.map { $0.text + $0.data + $0.bss } == [19042, 444])
    }
}

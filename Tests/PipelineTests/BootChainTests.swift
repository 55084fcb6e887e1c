import Foundation
@testable import Pipeline
import Testing

/// An MLO as `mkimage -T omapimage` makes it: the configuration header naming CHSETTINGS, the GP header, the code.
private func mlo(payload: Int = 1000, size: Int? = nil, load: UInt32 = 0x402F_0400) -> Data {
    var bytes = [UInt8](repeating: 0, count: 0x200)
    bytes.replaceSubrange(0x14..<0x1E, with: Array("CHSETTINGS".utf8))
    func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    bytes += le32(UInt32(size ?? payload)) + le32(load) + [UInt8](repeating: 0xAB, count: payload)
    return Data(bytes)
}

/// A boot.scr: U-Boot's legacy header around the script.
private func script(_ text: String) -> Data {
    let body = Array(text.utf8)
    func be32(_ value: Int) -> [UInt8] { (0..<4).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    let payload = be32(body.count) + be32(0) + body
    var header = be32(0x2705_1956) + be32(0) + be32(0) + be32(payload.count) + be32(0) + be32(0)
    header += be32(Int(UBootLegacyImage.crc32(payload))) + [5, 2, 6, 0] + [UInt8](repeating: 0, count: 32)
    header.replaceSubrange(4..<8, with: be32(Int(UBootLegacyImage.crc32(header))))
    return Data(header + payload)
}

private func partition(_ files: [(String, Data)], bootable: Bool = true) -> BootChainChecks.Partition {
    let contents = Dictionary(files, uniquingKeysWith: { first, _ in first })
    return BootChainChecks.Partition(label: "BOOT", bootable: bootable, names: files.map(\.0)) { name in
        guard let data = contents[name] else { throw CocoaError(.fileNoSuchFile) }
        return data
    }
}

@Suite struct BootChainTests {
    @Test func aGoodBeagleBoneCardPasses() {
        let result = BootChainChecks.check(partition([("MLO", mlo()), ("u-boot.img", script("x")), ("boot.scr", script("load mmc 0:1 ${loadaddr} zImage\n")),
                                                      ("zImage", Data([1]))]))
        #expect(result.problems.isEmpty, "\(result.problems)")
        #expect(result.verified.contains { $0.contains("MLO first") && $0.contains("0x402f0400") })
        // As U-Boot's mkimage writes it: the size counts the 8-byte GP header too.
        #expect(BootChainChecks.check(partition([("MLO", mlo(payload: 1000, size: 1008))])).problems.isEmpty)
        #expect(result.verified.contains { $0.contains("loads zImage") })
    }

    @Test func anMLOTheROMWouldNotTakeIsNamed() {
        #expect(BootChainChecks.check(partition([("boot.scr", script("")), ("MLO", mlo())])).problems.first?.contains("not the first file") == true)
        #expect(BootChainChecks.check(partition([("MLO", mlo())], bootable: false)).problems.first?.contains("active flag") == true)
        #expect(BootChainChecks.check(partition([("MLO", mlo(size: 4000))])).problems.first?.contains("GP header says 4000 bytes") == true)
        #expect(BootChainChecks.check(partition([("MLO", Data(repeating: 0, count: 2000))])).problems.first?.contains("CHSETTINGS") == true)
    }

    @Test func aConfigTxtNamingAMissingFileOrWithoutFirmwareFails() {
        let config = Data("arm_64bit=1\nkernel=u-boot.bin\ndevice_tree=bcm2711-rpi-4-b.dtb\ndtoverlay=disable-bt\n".utf8)
        let missing = BootChainChecks.check(partition([("config.txt", config), ("u-boot.bin", Data()), ("start4.elf", Data()), ("fixup4.dat", Data())]))
        #expect(missing.problems.first?.contains("bcm2711-rpi-4-b.dtb, overlays/disable-bt.dtbo") == true, "\(missing.problems)")
        let noFirmware = BootChainChecks.check(partition([("config.txt", Data("kernel=Image\n".utf8)), ("Image", Data())]))
        #expect(noFirmware.problems.first?.contains("no start*.elf") == true)
        let noFixup = BootChainChecks.check(partition([("config.txt", Data("kernel=Image\n".utf8)), ("Image", Data()), ("start.elf", Data())]))
        #expect(noFixup.problems.first?.contains("fixup.dat") == true)
    }

    @Test func aBootScriptLoadingAFileNotOnTheCardFails() {
        let text = "load ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} Image\nload mmc 0:1 0x62000000 initramfs.cpio.gz\n"
        let result = BootChainChecks.check(partition([("boot.scr", script(text)), ("Image", Data())]))
        #expect(result.problems == ["BOOT: boot.scr loads initramfs.cpio.gz, not on the partition"])
        var damaged = [UInt8](script(text))
        damaged[damaged.count - 1] ^= 0xFF
        #expect(BootChainChecks.check(partition([("boot.scr", Data(damaged))])).problems.first?.contains("CRC") == true)
    }
}

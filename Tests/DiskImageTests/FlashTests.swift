import DiskImage
import Foundation
import Testing

/// /sys as a dictionary: files by relative path, directories by their entries.
struct FakeSysfs: SysfsReading {
    var files: [String: String] = [:]
    var directories: [String: [String]] = [:]

    func read(_ path: String) -> String? { files[path] }
    func list(_ path: String) -> [String]? { directories[path] }

    /// A USB SD reader at 8:16 (`sdb`) with a 16 GiB card and two partitions.
    static func cardReader(removable: String = "1", sectors: Int = 33_554_432, readOnly: String = "0") -> FakeSysfs {
        FakeSysfs(files: [
            "dev/block/8:16/uevent": "MAJOR=8\nMINOR=16\nDEVNAME=sdb\nDEVTYPE=disk",
            "dev/block/8:17/uevent": "MAJOR=8\nMINOR=17\nDEVNAME=sdb1\nDEVTYPE=partition\nPARTN=1",
            "dev/block/8:17/../uevent": "MAJOR=8\nMINOR=16\nDEVNAME=sdb\nDEVTYPE=disk",
            "block/sdb/size": String(sectors),
            "block/sdb/removable": removable,
            "block/sdb/ro": readOnly,
            "block/sdb/device/vendor": "Generic",
            "block/sdb/device/model": "STORAGE DEVICE",
            "block/sdb/sdb1/partition": "1",
            "block/sdb/sdb2/partition": "2",
        ], directories: [
            "block/sdb": ["alignment_offset", "device", "holders", "sdb1", "sdb2", "size", "removable", "ro"],
            "block/sdb/holders": [],
        ])
    }
}

@Suite struct FlashTargetTests {
    let card = FlashFileType.blockDevice(major: 8, minor: 16)
    let imageSize = 256 << 20
    let mounts = """
        /dev/sda2 / ext4 rw,relatime 0 0
        proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
        tmpfs /run tmpfs rw,nosuid,nodev 0 0

        """
    let swaps = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/sda3                               partition\t2097148\t\t0\t\t-2\n"

    func inspect(_ type: FlashFileType? = nil, path: String = "/dev/sdb", imageSize: Int? = nil, force: Bool = false,
                 mounts: String? = nil, swaps: String? = nil, sysfs: FakeSysfs = .cardReader(),
                 canonicalPath: (String) -> String = { $0 }) -> Result<FlashTarget, FlashError> {
        Result { () throws(FlashError) -> FlashTarget in
            try FlashTarget.inspect(path: path, type: type ?? card, imageSize: imageSize ?? self.imageSize, force: force,
                                    mounts: mounts ?? self.mounts, swaps: swaps ?? self.swaps, sysfs: sysfs, canonicalPath: canonicalPath)
        }
    }

    func refusal(_ result: Result<FlashTarget, FlashError>) -> FlashError? {
        if case let .failure(error) = result { return error }
        return nil
    }

    @Test func anUnusedRemovableCardLargeEnoughIsAccepted() throws {
        let target = try inspect().get()
        #expect(target.kind == .disk(name: "sdb") && target.size == 16 << 30 && target.warnings.isEmpty)
        #expect(target.summary == "Generic STORAGE DEVICE, 16.0 GiB")
        #expect(FlashConfirmation.question(mappedBytes: 5 << 20, target: target)
                == "write 5.0 MiB to /dev/sdb (Generic STORAGE DEVICE, 16.0 GiB)? Everything on it will be lost. [y/N] ")
    }

    @Test func aMountedPartitionRefusesTheDisk() {
        let mounted = mounts + "/dev/sdb1 /media/me/BOOT\\040FS vfat rw 0 0\n"
        #expect(refusal(inspect(mounts: mounted)) == .mounted(path: "/dev/sdb", device: "/dev/sdb1", mountPoint: "/media/me/BOOT FS"))
        // The disk itself mounted (a card with no partition table), and --force does not override it.
        #expect(refusal(inspect(force: true, mounts: mounts + "/dev/sdb /mnt vfat rw 0 0\n"))
                == .mounted(path: "/dev/sdb", device: "/dev/sdb", mountPoint: "/mnt"))
        // Mounted by a link (/dev/disk/by-uuid/...): known by the node it leads to.
        let byUUID = mounts + "/dev/disk/by-uuid/1234-ABCD /boot/firmware vfat rw 0 0\n"
        #expect(refusal(inspect(mounts: byUUID, canonicalPath: { $0.hasPrefix("/dev/disk/by-uuid/") ? "/dev/sdb2" : $0 }))
                == .mounted(path: "/dev/sdb", device: "/dev/sdb2", mountPoint: "/boot/firmware"))
        // Another disk's partition with a name that starts the same is not ours.
        #expect((try? inspect(mounts: mounts + "/dev/sdb10 /mnt ext4 rw 0 0\n/dev/sdbb1 /x ext4 rw 0 0\n").get()) != nil)
    }

    @Test func aPartitionInUseAsSwapOrByDeviceMapperRefusesTheDisk() {
        #expect(refusal(inspect(swaps: swaps + "/dev/sdb2 partition 1024 0 -3\n")) == .swap(path: "/dev/sdb", device: "/dev/sdb2"))
        var held = FakeSysfs.cardReader()
        held.directories["block/sdb/sdb2/holders"] = ["dm-0"]
        #expect(refusal(inspect(sysfs: held)) == .inUse(path: "/dev/sdb", holders: ["dm-0 (on sdb2)"]))
    }

    @Test func aDiskSmallerThanTheImageIsRefused() {
        let error = refusal(inspect(sysfs: .cardReader(sectors: 1000)))
        #expect(error == .tooSmall(path: "/dev/sdb", size: 512_000, imageSize: imageSize, standIn: false))
        #expect(error?.description.contains("does not fit") == true)
        #expect(refusal(inspect(sysfs: .cardReader(sectors: 0))) == .noMedium(path: "/dev/sdb"))
        // Exactly the image's size fits.
        #expect((try? inspect(imageSize: 16 << 30).get()) != nil)
    }

    @Test func aNonRemovableDiskNeedsForce() throws {
        let error = refusal(inspect(sysfs: .cardReader(removable: "0")))
        #expect(error == .notRemovable(path: "/dev/sdb", description: "Generic STORAGE DEVICE, 16.0 GiB"))
        #expect(error?.description.contains("--force") == true)
        let forced = try inspect(force: true, sysfs: .cardReader(removable: "0")).get()
        #expect(forced.warnings.count == 1 && forced.warnings[0].contains("--force"))
    }

    @Test func aReadOnlyCardIsRefused() {
        #expect(refusal(inspect(force: true, sysfs: .cardReader(readOnly: "1"))) == .readOnly(path: "/dev/sdb"))
    }

    @Test func aPartitionIsRefusedWithTheDiskToUseInstead() {
        let error = refusal(inspect(.blockDevice(major: 8, minor: 17), path: "/dev/sdb1"))
        #expect(error == .partition(path: "/dev/sdb1", disk: "/dev/sdb"))
        #expect(error?.description.contains("--device /dev/sdb") == true)
    }

    @Test func whatIsNeitherADiskNorARegularFileIsRefused() {
        for type in [FlashFileType.characterDevice, .directory, .fifo, .socket] {
            let error = refusal(inspect(type, path: "/dev/thing", force: true))
            #expect(error == .notBlockDevice(path: "/dev/thing", kind: error.map { if case let .notBlockDevice(_, kind) = $0 { kind } else { "" } } ?? ""))
            #expect(error?.description.contains("not a disk") == true, "\(type)")
        }
        #expect(refusal(inspect(.missing, path: "/dev/sdz")) == .missing(path: "/dev/sdz"))
    }

    @Test func theRealHostTellsARegularFileACharacterDeviceALinkToOneAndAFolder() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("card.raw")
        try sparseFile(file, size: 4096, pieces: [])
        #expect(FlashTarget.fileType(file.path) == .regularFile(size: 4096))
        #expect(FlashTarget.fileType("/dev/null") == .characterDevice)
        let link = folder.appendingPathComponent("null-link")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "/dev/null")
        #expect(FlashTarget.fileType(link.path) == .characterDevice)
        #expect(FlashTarget.fileType(folder.path) == .directory)
        #expect(FlashTarget.fileType(folder.appendingPathComponent("none").path) == .missing)
        #expect(mkfifo(folder.appendingPathComponent("fifo").path, 0o600) == 0)
        #expect(FlashTarget.fileType(folder.appendingPathComponent("fifo").path) == .fifo)

        // Through probe: a character device behind a link is refused; a file is a stand-in, with a warning.
        #expect(throws: FlashError.notBlockDevice(path: link.path, kind: "a character device")) {
            try FlashTarget.probe(path: link.path, imageSize: 1, force: true)
        }
        let standIn = try FlashTarget.probe(path: file.path, imageSize: 4096, force: false)
        #expect(standIn.kind == .standInFile && standIn.warnings.first?.contains("stand-in") == true)
        #expect(throws: FlashError.tooSmall(path: file.path, size: 4096, imageSize: 8192, standIn: true)) {
            try FlashTarget.probe(path: file.path, imageSize: 8192, force: true)
        }
    }

    @Test func withoutATerminalItWritesOnlyWithYes() {
        #expect(FlashConfirmation.decide(yes: false, isTerminal: false) == .refuse)
        #expect(FlashConfirmation.decide(yes: true, isTerminal: false) == .proceed)
        #expect(FlashConfirmation.decide(yes: false, isTerminal: true) == .ask)
        #expect(FlashConfirmation.decide(yes: true, isTerminal: true) == .proceed)
        #expect(FlashError.noTerminal(path: "/dev/sdb").description.contains("--yes"))
        #expect(FlashConfirmation.accepts("y\n") && FlashConfirmation.accepts(" YES "))
        #expect(!FlashConfirmation.accepts("") && !FlashConfirmation.accepts(nil) && !FlashConfirmation.accepts("n") && !FlashConfirmation.accepts("yep"))
    }
}

@Suite struct ImageFlasherTests {
    @Test func aSparseImageWrittenToAStandInFileGivesTheSameBytes() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = folder.appendingPathComponent("sdcard.img")
        try SampleImage.write(image)
        let bmap = try Bmap.scan(image)
        let device = folder.appendingPathComponent("card.raw")
        // A larger "card" that held other data where the image has data: it is all overwritten.
        try sparseFile(device, size: SampleImage.size + 8192, pieces: [(0, Data(repeating: 0x33, count: 4096)), (300 * 4096, Data(repeating: 0x44, count: 100))])
        let target = try FlashTarget.probe(path: device.path, imageSize: bmap.imageSize, force: false)

        var flasher = ImageFlasher(image: image, bmap: bmap, bmapName: "sdcard.img.bmap")
        var reports: [(ImageFlasher.Phase, Int, Int)] = []
        flasher.progress = { reports.append(($0, $1, $2)) }
        try flasher.checkImage()
        try flasher.write(to: target)
        try flasher.verify(target)

        let written = try Data(contentsOf: device)
        #expect(written.count == SampleImage.size + 8192)
        #expect(written.prefix(SampleImage.size) == (try Data(contentsOf: image)))
        #expect(reports.filter { $0.0 == .writing }.last.map { $0.1 == $0.2 && $0.2 == bmap.mappedBytes } == true)
        #expect(Set(reports.map(\.0.rawValue)) == ["checking image", "writing", "verifying"])
    }

    @Test func aChangedImageIsFoundBeforeTheCardIsTouched() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = folder.appendingPathComponent("sdcard.img")
        try SampleImage.write(image)
        let bmap = try Bmap.scan(image)
        try patch(image, [(5 * 4096, Data([9]))])
        let flasher = ImageFlasher(image: image, bmap: bmap, bmapName: "sdcard.img.bmap")
        #expect(throws: FlashError.imageChanged(image: image.path, bmap: "sdcard.img.bmap", blocks: "5")) { try flasher.checkImage() }
    }

    @Test func whatWasWrittenIsReadBackAndABadCopyIsCaught() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = folder.appendingPathComponent("sdcard.img")
        try SampleImage.write(image)
        let bmap = try Bmap.scan(image)
        let device = folder.appendingPathComponent("card.raw")
        try sparseFile(device, size: SampleImage.size, pieces: [])
        let target = try FlashTarget.probe(path: device.path, imageSize: bmap.imageSize, force: false)
        let flasher = ImageFlasher(image: image, bmap: bmap, bmapName: "sdcard.img.bmap")
        try flasher.write(to: target)
        // A card that lost a byte of block 301 after the write.
        try patch(device, [(301 * 4096, Data([0]))])
        #expect(throws: FlashError.verifyFailed(path: device.path, blocks: "300-303")) { try flasher.verify(target) }
    }

    @Test func cancellingStopsBetweenChunksAndSaysTheCardIsIncomplete() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = folder.appendingPathComponent("sdcard.img")
        try SampleImage.write(image)
        let device = folder.appendingPathComponent("card.raw")
        try sparseFile(device, size: SampleImage.size, pieces: [])
        var flasher = ImageFlasher(image: image, bmap: try Bmap.scan(image), bmapName: "sdcard.img.bmap")
        flasher.isCancelled = { true }
        let target = try FlashTarget.probe(path: device.path, imageSize: SampleImage.size, force: false)
        #expect(throws: FlashError.interrupted(path: device.path)) { try flasher.write(to: target) }
        #expect(try Data(contentsOf: device) == Data(count: SampleImage.size))
    }
}

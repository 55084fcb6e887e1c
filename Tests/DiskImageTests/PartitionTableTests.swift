@testable import DiskImage
import Foundation
import Testing

@Suite struct PartitionTableTests {
    let requests: [(name: String, kind: PartitionKind, size: Int, bootable: Bool)] = [
        ("ESP", .efiSystem, 64 << 20, true), ("rootfs", .linux, (32 << 20) + 1, false),
    ]

    @Test func wellKnownTypeGUIDsReadAsTheSpecificationWritesThem() {
        #expect(GUID.efiSystem.description == "C12A7328-F81F-11D2-BA4B-00A0C93EC93B")
        #expect(GUID.basicData.description == "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7")
        #expect(GUID.linuxFilesystem.description == "0FC63DAF-8483-4772-8E79-3D69D8477DE4")
        #expect(GUID("C12A7328-F81F-11D2-BA4B-00A0C93EC93B") == .efiSystem)
        // On disk the first three fields are little-endian.
        #expect(Array(GUID.efiSystem.mixedEndian.prefix(4)) == [0x28, 0x73, 0x2A, 0xC1])
        #expect(GUID(mixedEndian: GUID.linuxFilesystem.mixedEndian) == .linuxFilesystem)
    }

    @Test func partitionsAreAlignedToOneMiBAndRoundedUp() throws {
        let table = try PartitionTable.plan(.gpt, partitions: requests, seed: "board/disk.img")
        #expect(table.partitions.map(\.firstSector) == [2048, 2048 + 131_072])
        #expect(table.partitions.map(\.sectorCount) == [131_072, 67_584])
        // GPT keeps 1 MiB after the last partition for its backup table.
        #expect(table.totalSectors == 2048 + 131_072 + 67_584 + 2048)
        let mbr = try PartitionTable.plan(.mbr, partitions: requests, seed: "board/disk.img")
        #expect(mbr.totalSectors == 2048 + 131_072 + 67_584)
    }

    @Test func identifiersDependOnTheSeedOnly() throws {
        let one = try PartitionTable.plan(.gpt, partitions: requests, seed: "a/disk.img")
        let again = try PartitionTable.plan(.gpt, partitions: requests, seed: "a/disk.img")
        let other = try PartitionTable.plan(.gpt, partitions: requests, seed: "b/disk.img")
        #expect(one == again)
        #expect(one.diskID != other.diskID)
        #expect(one.partitions[0].uniqueID != one.partitions[1].uniqueID)
        // Version 4, RFC 4122 variant.
        #expect((one.diskID?.bytes[6] ?? 0) & 0xF0 == 0x40)
        #expect((one.diskID?.bytes[8] ?? 0) & 0xC0 == 0x80)
    }

    @Test func tooManyPartitionsForMBRAreRefused() {
        let five = Array(repeating: (name: "p", kind: PartitionKind.linux, size: 1 << 20, bootable: false), count: 5)
        #expect(throws: DiskImageError.self) { try PartitionTable.plan(.mbr, partitions: five, seed: "x") }
        #expect(throws: DiskImageError.self) { try PartitionTable.plan(.gpt, partitions: [], seed: "x") }
    }

    @Test(arguments: [PartitionTableFormat.mbr, .gpt])
    func aWrittenImageReadsBack(_ format: PartitionTableFormat) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = folder.appendingPathComponent("one")
        let second = folder.appendingPathComponent("two")
        try Data(repeating: 0xA5, count: 3000).write(to: first)
        try Data("second partition".utf8).write(to: second)
        let table = try PartitionTable.plan(format, partitions: requests, seed: "board/disk.img")
        let image = folder.appendingPathComponent("disk.img")
        try DiskImageWriter.write(table, contents: [first, second], to: image)

        let size = try FileManager.default.attributesOfItem(atPath: image.path)[.size] as? NSNumber
        #expect(size?.intValue == table.totalSize)
        let back = try PartitionTable.read(from: image)
        #expect(back.format == format)
        #expect(back.partitions.map(\.firstSector) == table.partitions.map(\.firstSector))
        #expect(back.partitions.map(\.sectorCount) == table.partitions.map(\.sectorCount))
        #expect(back.partitions.map(\.kind) == [.efiSystem, .linux])
        if format == .gpt {
            #expect(back.partitions.map(\.name) == ["ESP", "rootfs"])
            #expect(back.diskID == table.diskID)
        } else {
            #expect(back.partitions.map(\.bootable) == [true, false])
            #expect(back.diskSignature == table.diskSignature)
        }
        let extracted = folder.appendingPathComponent("p2")
        try DiskImageWriter.extract(back.partitions[1], from: image, to: extracted)
        let data = try Data(contentsOf: extracted)
        #expect(data.count == back.partitions[1].size)
        #expect(data.prefix(16) == Data("second partition".utf8))
        #expect(data.dropFirst(16).allSatisfy { $0 == 0 })
    }

    @Test func aDamagedGPTIsRejected() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let content = folder.appendingPathComponent("c")
        try Data([1]).write(to: content)
        let table = try PartitionTable.plan(.gpt, partitions: [("p", .linux, 1 << 20, false)], seed: "x")
        let image = folder.appendingPathComponent("disk.img")
        try DiskImageWriter.write(table, contents: [content], to: image)
        let handle = try FileHandle(forUpdating: image)
        try handle.seek(toOffset: 2 * 512 + 40)   // the first entry's first LBA
        try handle.write(contentsOf: Data([0x07]))
        try handle.close()
        #expect(throws: DiskImageError.self) { try PartitionTable.read(from: image) }
    }

    @Test func aPartitionFileLargerThanItsPartitionIsRefused() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let content = folder.appendingPathComponent("big")
        try Data(repeating: 1, count: (1 << 20) + 1).write(to: content)
        let table = try PartitionTable.plan(.mbr, partitions: [("p", .linux, 1 << 20, false)], seed: "x")
        #expect(throws: DiskImageError.self) { try DiskImageWriter.write(table, contents: [content], to: folder.appendingPathComponent("d")) }
    }

    /// sfdisk (util-linux, Debian's fdisk package) reads our tables as we meant them.
    @Test(arguments: [PartitionTableFormat.mbr, .gpt])
    func sfdiskAgrees(_ format: PartitionTableFormat) throws {
        guard let sfdisk = ["/usr/sbin/sfdisk", "/sbin/sfdisk"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            Issue.record("sfdisk is missing: apt-get install -y --no-install-recommends fdisk")
            return
        }
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let content = folder.appendingPathComponent("c")
        try Data([1]).write(to: content)
        let table = try PartitionTable.plan(format, partitions: requests, seed: "board/disk.img")
        let image = folder.appendingPathComponent("disk.img")
        try DiskImageWriter.write(table, contents: [content, content], to: image)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: sfdisk)
        process.arguments = ["--dump", image.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
        #expect(!output.lowercased().contains("warn"), "\(output)")
        if format == .gpt {
            #expect(output.contains("label: gpt"))
            #expect(output.contains("start=        2048, size=      131072, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B"), "\(output)")
            #expect(output.contains("type=0FC63DAF-8483-4772-8E79-3D69D8477DE4"), "\(output)")
            #expect(output.contains("name=\"ESP\""), "\(output)")
            #expect(output.contains("last-lba: \(table.totalSectors - 34)"), "\(output)")
        } else {
            #expect(output.contains("label: dos"))
            #expect(output.contains("start=        2048, size=      131072, type=ef, bootable"), "\(output)")
            #expect(output.contains("start=      133120, size=       67584, type=83"), "\(output)")
        }
    }

    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-disk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

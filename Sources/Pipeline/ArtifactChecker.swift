import BoardModel
import DeviceTree
import DiskImage
import Foundation
import Host
import Initramfs
import UserInput

/// One verdict of `ArtifactChecker`.
public struct ArtifactCheck: Codable, Equatable, Sendable {
    public var name: String
    public var passed: Bool
    public var detail: String
}

/// Checks a board's output folder without booting it: what a board QEMU cannot emulate is tested by, and what
/// every board's test starts with. Each check stands alone, so one broken file does not hide the others.
public struct ArtifactChecker: Sendable {
    public let board: ResolvedBoard
    public let folder: URL
    public let names: ArtifactNames

    public init(board: ResolvedBoard, folder: URL) {
        self.board = board
        self.folder = folder
        names = ArtifactNames(board: board.board)
    }

    public func run() -> [ArtifactCheck] {
        var checks: [ArtifactCheck] = []
        func check(_ name: String, _ body: () throws -> String) {
            do {
                checks.append(ArtifactCheck(name: name, passed: true, detail: try body()))
            } catch {
                checks.append(ArtifactCheck(name: name, passed: false, detail: "\(error)"))
            }
        }
        check("manifest") { try checkManifest() }
        check("kernel \(names.kernel)") { try checkKernelImage(file(names.kernel)) }
        for name in names.deviceTrees { check("device tree \(name)") { try checkDeviceTree(name) } }
        check("initramfs \(names.initramfs)") { try checkInitramfs() }
        for spec in board.board.bootFiles ?? [] { check("boot file \(spec.name)") { try checkBootFile(spec) } }
        if let fit = board.board.fitImage { check("FIT image \(fit.name)") { try checkFITImage(fit) } }
        // Images are made by `bspgen image` (or build --images): checked when they are there.
        if board.board.rootfs != nil, exists(RootFilesystemSpec.imageName) {
            check("root file system \(RootFilesystemSpec.imageName)") { try Ext4Superblock.summary(try file(RootFilesystemSpec.imageName)) }
        }
        for spec in board.board.diskImages ?? [] where exists(spec.name) {
            check("disk image \(spec.name)") { try checkDiskImage(spec) }
        }
        return checks
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path) }

    /// The FIT image is a device tree whose every image's sha256 hash node matches its data, and whose default
    /// configuration names the kernel, the device tree and the initramfs.
    func checkFITImage(_ spec: FITImageSpec) throws -> String {
        let tree = try DeviceTreeBlob(bytes: try file(spec.name))
        let images = try tree.node(at: "/images")
        var checked: [String] = []
        for image in images.children {
            guard let data = image.property("data")?.value else { throw Failure("/images/\(image.name) has no data") }
            guard let hash = image.children.first(where: { $0.name.hasPrefix("hash") }),
                  hash.property("algo")?.string == "sha256", let value = hash.property("value")?.value else {
                throw Failure("/images/\(image.name) has no sha256 hash node")
            }
            let expected = Hex.lowercase(value)
            guard Checksum.sha256(Data(data)) == expected else { throw Failure("/images/\(image.name): sha256 of the data does not match its hash node") }
            checked.append("\(image.name) \(data.count / 1024) KiB")
        }
        let configurations = try tree.node(at: "/configurations")
        guard let name = configurations.property("default")?.string, let configuration = configurations.children.first(where: { $0.name == name }) else {
            throw Failure("no default configuration")
        }
        var wanted = ["kernel", "ramdisk"]
        if !names.deviceTrees.isEmpty { wanted.append("fdt") }
        for key in wanted where configuration.property(key) == nil { throw Failure("configuration \(name) has no \(key)") }
        return "sha256 verified: " + checked.joined(separator: ", ")
    }

    /// The partition table reads back (GPT checksums included) with the board's partitions in order and kind;
    /// FAT partitions have a boot sector with the board's label; image partitions hold the image's bytes.
    func checkDiskImage(_ spec: DiskImageSpec) throws -> String {
        let url = folder.appendingPathComponent(spec.name)
        let table = try PartitionTable.read(from: url)
        guard table.format == PartitionTableFormat(spec.table) else { throw Failure("a \(table.format.rawValue) table, expected \(spec.table.rawValue)") }
        guard table.partitions.count == spec.partitions.count else {
            throw Failure("\(table.partitions.count) partitions, expected \(spec.partitions.count)")
        }
        guard let handle = FileHandle(forReadingAtPath: url.path) else { throw Failure("cannot open \(url.path)") }
        defer { try? handle.close() }
        func read(_ offset: Int, _ count: Int) throws -> [UInt8] {
            try handle.seek(toOffset: UInt64(offset))
            return [UInt8](try handle.read(upToCount: count) ?? Data())
        }
        var notes: [String] = []
        for (partition, partitionSpec) in zip(table.partitions, spec.partitions) {
            guard partition.kind == PartitionKind(partitionSpec.type) else { throw Failure("partition \(partitionSpec.label) has the wrong type") }
            if let filesystem = partitionSpec.filesystem {
                let boot = try read(partition.offset, 512)
                let labelOffset = filesystem == .fat32 ? 0x47 : 0x2B
                let label = String(decoding: boot[labelOffset..<labelOffset + 11], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                guard boot[510] == 0x55, boot[511] == 0xAA, label == partitionSpec.label.uppercased() else {
                    throw Failure("partition \(partitionSpec.label) has no FAT boot sector labelled \(partitionSpec.label.uppercased())")
                }
                notes.append("\(partitionSpec.label) \(filesystem.rawValue) \(partition.size >> 20) MiB")
            } else if let image = partitionSpec.image {
                let expected = try file(image)
                guard Data(try read(partition.offset, expected.count)) == expected else {
                    throw Failure("partition \(partitionSpec.label) does not hold \(image)")
                }
                notes.append("\(partitionSpec.label) = \(image)")
            }
        }
        return "\(table.format.rawValue), " + notes.joined(separator: ", ")
    }

    func file(_ name: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) else {
            throw Failure("\(folder.appendingPathComponent(name).path) is missing or unreadable")
        }
        return data
    }

    /// Every file is listed with its size and sha256, and nothing else is in the folder.
    func checkManifest() throws -> String {
        let manifest = try JSONDecoder().decode(Manifest.self, from: try file("manifest.json"))
        guard manifest.board == board.name else { throw Failure("it is for board '\(manifest.board)'") }
        for artifact in manifest.artifacts {
            let sum = try Checksum.sha256(of: folder.appendingPathComponent(artifact.path))
            guard sum == artifact.sha256 else { throw Failure("\(artifact.path) has sha256 \(sum), the manifest says \(artifact.sha256)") }
        }
        // Files in sub-folders (licences/) by their paths; legal-info/ is made on request, after the build.
        let present = Set(try Self.outputFiles(folder)).subtracting(["manifest.json"])
        let unlisted = present.subtracting(manifest.artifacts.map(\.path))
        guard unlisted.isEmpty else { throw Failure("files not in the manifest: \(unlisted.sorted().joined(separator: ", "))") }
        return "\(manifest.artifacts.count) files, checksums match"
    }

    /// The boot header the board's image format starts with, as its architecture's data describes it: an
    /// `Image` is arm64's on aarch64 and RISC-V's on riscv64.
    func checkKernelImage(_ data: Data) throws -> String {
        guard let format = board.architecture.kernelImage(named: names.kernel) else {
            throw Failure("\(names.kernel) is not a kernel image format of \(board.architecture.name)")
        }
        return try format.recognise(data)
    }

    func checkDeviceTree(_ name: String) throws -> String {
        let tree = try DeviceTreeBlob(bytes: try file(name))
        let compatible = try tree.property("compatible", at: "/")?.strings ?? []
        if let expected = board.board.deviceTree?.compatible, !compatible.contains(expected) {
            throw Failure("root compatible \(compatible) lacks '\(expected)'")
        }
        let chosen = board.board.deviceTree?.chosen
        if chosen?.bootargs != false {
            let bootargs = try tree.property("bootargs", at: "/chosen")?.string
            guard bootargs == board.board.cmdline else { throw Failure("/chosen/bootargs is \(bootargs.debugDescription), expected the board's cmdline") }
        }
        if let stdout = chosen?.stdoutPath, try tree.property("stdout-path", at: "/chosen")?.string != stdout {
            throw Failure("/chosen/stdout-path is not '\(stdout)'")
        }
        if chosen?.initrdAddress != nil, try tree.property("linux,initrd-start", at: "/chosen") == nil {
            throw Failure("/chosen has no linux,initrd-start")
        }
        return "compatible \(compatible.first ?? "?"), /chosen patched"
    }

    /// The archive lists back, has an executable `/init`, and its BusyBox runs on the board's CPU.
    func checkInitramfs() throws -> String {
        let archive = folder.appendingPathComponent(names.initramfs)
        let expected = InitramfsCompression(board.board.initramfsSpec.resolvedCompression)
        let found = try InitramfsCompression.detected(in: archive)
        guard found == expected else { throw Failure("the archive is \(found.rawValue)-compressed, the board asks for \(expected.rawValue)") }
        let entries = try CpioArchiveReader.listing(of: archive, keepingPrefixOf: ["bin/busybox"])
        guard let initEntry = entries.first(where: { $0.name == "init" }), initEntry.mode & 0o170000 == 0o100000, initEntry.mode & 0o111 != 0 else {
            throw Failure("no executable /init")
        }
        guard let busybox = entries.first(where: { $0.name == "bin/busybox" })?.contentPrefix else { throw Failure("no /bin/busybox") }
        let path = "\(archive.lastPathComponent):/bin/busybox"
        if let mismatch = try ELFHeader(Data(busybox), path: path).mismatch(for: board.architecture, toolchain: board.toolchain) { throw Failure("\(path): \(mismatch)") }
        return "\(entries.count) entries (\(expected.rawValue)), static \(board.architecture.elf.machine) BusyBox, executable /init"
    }

    func checkBootFile(_ spec: BootFileSpec) throws -> String {
        let data = try file(spec.name)
        var text: String
        var detail: String
        switch spec.resolvedKind {
        case .text:
            text = String(decoding: data, as: UTF8.self)
            detail = "\(data.count) bytes"
        case .ubootScript:
            let image = try UBootLegacyImage(data)
            guard image.type == UBootLegacyImage.scriptType else { throw Failure("image type \(image.type), expected 6 (script)") }
            text = String(decoding: image.scriptText(), as: UTF8.self)
            detail = "U-Boot script image '\(image.name)', CRCs valid"
        }
        let unresolved = BootFileTemplate.unknownPlaceholders(in: text) + BootFileTemplate.placeholders.filter { text.contains("@\($0)@") }.map { (0, $0) }
        guard unresolved.isEmpty else { throw Failure("unfilled placeholders: \(unresolved.map { "@\($0.1)@" }.joined(separator: ", "))") }
        let referenced = ([names.kernel, names.initramfs] + names.deviceTrees).filter { text.contains($0) }
        return detail + (referenced.isEmpty ? "" : ", names \(referenced.joined(separator: ", "))")
    }
}

extension ArtifactChecker {
    /// Every file of every FAT partition of the board's disk images (those in the folder), read back with mtools
    /// at the partition's offset and compared byte for byte with the artifact it was copied from.
    public func checkImageContents() async -> [ArtifactCheck] {
        var checks: [ArtifactCheck] = []
        for spec in board.board.diskImages ?? [] where exists(spec.name) {
            let name = "files in \(spec.name)"
            do {
                let url = folder.appendingPathComponent(spec.name)
                let table = try PartitionTable.read(from: url)
                let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-check-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: scratch) }
                var count = 0
                for (partition, partitionSpec) in zip(table.partitions, spec.partitions) where partitionSpec.filesystem != nil {
                    for (index, file) in (partitionSpec.files ?? []).enumerated() {
                        let copy = scratch.appendingPathComponent("\(count)-\(index)")
                        try HostRequirements.require("mcopy")
                        try await ProcessRunner.checked(Command("mcopy", ["-n", "-i", "\(url.path)@@\(partition.offset)", "::/" + file.destination, copy.path],
                                                                environment: ["MTOOLS_SKIP_CHECK": "1", "MTOOLSRC": "/dev/null"]))
                        guard try Checksum.sha256(of: copy) == Checksum.sha256(of: folder.appendingPathComponent(file.from)) else {
                            throw Failure("\(partitionSpec.label):/\(file.destination) differs from \(file.from)")
                        }
                        count += 1
                    }
                }
                checks.append(ArtifactCheck(name: name, passed: true, detail: "\(count) files read back with mtools, identical to the artifacts"))
            } catch {
                checks.append(ArtifactCheck(name: name, passed: false, detail: "\(error)"))
            }
            checks += await checkBootChain(spec)
        }
        return checks
    }

    /// The boot chain of each FAT partition, read from the image as the board will: see `BootChainChecks`.
    func checkBootChain(_ spec: DiskImageSpec) async -> [ArtifactCheck] {
        let url = folder.appendingPathComponent(spec.name)
        let tools: [String: String?] = ["MTOOLS_SKIP_CHECK": "1", "MTOOLSRC": "/dev/null"]
        var checks: [ArtifactCheck] = []
        do {
            let table = try PartitionTable.read(from: url)
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-chain-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            for (index, (partition, partitionSpec)) in zip(table.partitions, spec.partitions).enumerated() where partitionSpec.filesystem != nil {
                let drive = "\(url.path)@@\(partition.offset)"
                // mdir -/ -b lists every file in on-disk order, root directory first, one full path per line.
                let listing = try await ProcessRunner.checked(Command("mdir", ["-i", drive, "-/", "-b", "::/"], environment: tools))
                let names = listing.split(whereSeparator: \.isNewline).map { String($0).replacingOccurrences(of: "::/", with: "") }
                var contents: [String: Data] = [:]
                for name in ["MLO", "u-boot.img", "config.txt", "boot.scr"] where names.contains(where: { $0.lowercased() == name.lowercased() }) {
                    let copy = scratch.appendingPathComponent("\(index)-\(name)")
                    try await ProcessRunner.checked(Command("mcopy", ["-n", "-i", drive, "::/" + name, copy.path], environment: tools))
                    contents[name] = try Data(contentsOf: copy)
                }
                let result = BootChainChecks.check(BootChainChecks.Partition(label: partitionSpec.label, bootable: partition.bootable, names: names) { name in
                    guard let data = contents[name] else { throw Failure("\(name) could not be read back") }
                    return data
                })
                guard !result.verified.isEmpty || !result.problems.isEmpty else { continue }
                checks.append(ArtifactCheck(name: "boot chain in \(spec.name) \(partitionSpec.label)", passed: result.problems.isEmpty,
                                            detail: (result.problems.isEmpty ? result.verified : result.problems).joined(separator: "; ")))
            }
        } catch {
            checks.append(ArtifactCheck(name: "boot chain in \(spec.name)", passed: false, detail: "\(error)"))
        }
        return checks
    }
}

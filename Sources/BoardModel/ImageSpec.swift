/// Sizes written as in QEMU and mkfs: a positive number with a `K`, `M` or `G` suffix (powers of 1024).
public enum ByteSize {
    /// The size in bytes of `text`, or nil when it is not such a size.
    public static func parse(_ text: String) -> Int? {
        guard let suffix = text.last, let number = Int(text.dropLast()), number > 0 else { return nil }
        let scale: Int
        switch suffix {
        case "K": scale = 1 << 10
        case "M": scale = 1 << 20
        case "G": scale = 1 << 30
        default: return nil
        }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: scale)
        return overflow ? nil : bytes
    }
}

/// A U-Boot FIT image (`mkimage -f`) holding the kernel, the board's first device tree and the initramfs, each
/// with a sha256 hash. The `.its` source is kept beside it in the output.
public struct FITImageSpec: Codable, Sendable, Equatable {
    /// File name in the output folder, e.g. `image.itb`; the source is the same name with `.its`.
    public var name: String
    /// Where U-Boot places the kernel and jumps to it (load = entry).
    public var kernelAddress: Int
    /// Where U-Boot copies the device tree before patching it (kept clear of the kernel and initramfs).
    public var fdtAddress: Int?
    /// Where U-Boot copies the initramfs.
    public var ramdiskAddress: Int?
    /// The boot method (a key of `boot`) whose firmware loads this image. For `device_tree.from: qemu` the FIT
    /// then holds the tree QEMU makes when that firmware starts the machine, which can differ from the tree of a
    /// direct `-kernel` boot (QEMU's virt leaves the PL061 GPIO to firmware, for one).
    public var bootMethod: String?
    /// Verified boot: the image signed, the public key in the board's U-Boot.
    public var signing: FITSigningSpec?

    public init(name: String, kernelAddress: Int, fdtAddress: Int? = nil, ramdiskAddress: Int? = nil, bootMethod: String? = nil,
                signing: FITSigningSpec? = nil) {
        self.name = name
        self.kernelAddress = kernelAddress
        self.fdtAddress = fdtAddress
        self.ramdiskAddress = ramdiskAddress
        self.bootMethod = bootMethod
        self.signing = signing
    }

    enum CodingKeys: String, CodingKey {
        case name, signing
        case kernelAddress = "kernel_address"
        case fdtAddress = "fdt_address"
        case ramdiskAddress = "ramdisk_address"
        case bootMethod = "boot_method"
    }

    public var sourceName: String {
        (name.hasSuffix(".itb") ? String(name.dropLast(4)) : name) + ".its"
    }
}

/// A GRUB EFI executable made by `grub-mkimage` with its modules built in (no memdisk, so it is reproducible);
/// it reads `grub.cfg` from `prefix` on the partition it was loaded from.
public struct GRUBSpec: Codable, Sendable, Equatable {
    /// File name in the output folder, e.g. `BOOTX64.EFI`.
    public var name: String
    /// grub-mkimage's `-O`, e.g. `x86_64-efi`.
    public var format: String
    /// The Debian package with GRUB's modules for `format`, e.g. `grub-efi-amd64-bin`.
    public var package: String
    /// Where GRUB looks for `grub.cfg` and modules, e.g. `/EFI/BOOT`.
    public var prefix: String
    public var modules: [String]

    public init(name: String, format: String, package: String, prefix: String, modules: [String]) {
        self.name = name
        self.format = format
        self.package = package
        self.prefix = prefix
        self.modules = modules
    }
}

/// The board's root file system as an ext4 image of the same tree as the initramfs (`rootfs.ext4`): used as a
/// disk by `bspgen test --rootfs ext4`, where /init switches to it, and as a partition of disk images.
public struct RootFilesystemSpec: Codable, Sendable, Equatable {
    /// The file system's size, e.g. `64M`.
    public var size: String
    /// How QEMU attaches the image for `--rootfs ext4`.
    public var attach: DiskAttachment?
    /// The block device the kernel sees it as, e.g. `/dev/vda`; passed as `bspgen.root=` to /init.
    public var device: String?

    public init(size: String, attach: DiskAttachment? = nil, device: String? = nil) {
        self.size = size
        self.attach = attach
        self.device = device
    }

    public static let imageName = "rootfs.ext4"
    public var resolvedDevice: String { device ?? "/dev/vda" }
}

public enum PartitionTableKind: String, YAMLEnumeration, Codable, Sendable {
    case mbr, gpt
}

public enum PartitionFilesystem: String, YAMLEnumeration, Codable, Sendable {
    case fat32, fat16
}

/// What the partition table says a partition is: a GPT type GUID, an MBR type byte.
public enum PartitionType: String, YAMLEnumeration, Codable, Sendable {
    /// EFI system partition (GPT C12A7328-…, MBR 0xEF).
    case efiSystem = "efi-system"
    /// FAT data (GPT basic data EBD0A0A2-…, MBR 0x0C FAT32 LBA), what SD-card firmware looks for.
    case fat
    /// A Linux file system (GPT 0FC63DAF-…, MBR 0x83).
    case linux
}

/// A file for a FAT partition: an artifact of the board (a file of its output folder) and where it goes.
/// Written as the artifact's name alone (copied to the root) or as `{from: NAME, to: PATH}`.
/// A file and the name it gets: written as the name alone or as `{from: SOURCE, to: NAME}`. Used for a partition's
/// files (artifact → path on the partition), the boot loader's (build result → artifact) and firmware's (path in
/// the package → artifact).
public struct PartitionFileSpec: Codable, Sendable, Equatable {
    public var from: String
    public var to: String?

    public var destination: String { to ?? from }
    /// `to`, else the last component of `from`: the artifact name of a file taken from a build or a package.
    public var outputName: String { to ?? String(from.split(separator: "/").last ?? Substring(from)) }

    enum CodingKeys: String, CodingKey { case from, to }

    public init(from: String, to: String? = nil) {
        self.from = from
        self.to = to
    }

    public init(from decoder: any Decoder) throws {
        if let name = try? decoder.singleValueContainer().decode(String.self) {
            self.init(from: name)
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(from: try container.decode(String.self, forKey: .from), to: try container.decodeIfPresent(String.self, forKey: .to))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(from, forKey: .from)
        try container.encodeIfPresent(to, forKey: .to)
    }
}

public struct PartitionSpec: Codable, Sendable, Equatable {
    /// GPT partition name and FAT volume label.
    public var label: String
    public var type: PartitionType
    /// e.g. `64M`; for `image` partitions the default is the image's size.
    public var size: String?
    /// The MBR "active" flag, which some firmware looks for.
    public var bootable: Bool?
    /// A FAT file system made with mkfs.vfat and filled with `files` by mtools (no root, no loop device).
    public var filesystem: PartitionFilesystem?
    public var files: [PartitionFileSpec]?
    /// An artifact copied into the partition as it is, e.g. `rootfs.ext4`.
    public var image: String?

    public init(label: String, type: PartitionType, size: String? = nil, bootable: Bool? = nil,
                filesystem: PartitionFilesystem? = nil, files: [PartitionFileSpec]? = nil, image: String? = nil) {
        self.label = label
        self.type = type
        self.size = size
        self.bootable = bootable
        self.filesystem = filesystem
        self.files = files
        self.image = image
    }
}

/// A disk or SD-card image of the board, written to its output folder by `bspgen image`.
public struct DiskImageSpec: Codable, Sendable, Equatable {
    /// File name in the output folder, e.g. `sdcard.img`.
    public var name: String
    public var table: PartitionTableKind
    /// The whole image's size, e.g. `128M`: at least what the partitions need (QEMU's SD cards must be a power of
    /// two); by default just that.
    public var size: String?
    public var partitions: [PartitionSpec]

    public init(name: String, table: PartitionTableKind, size: String? = nil, partitions: [PartitionSpec]) {
        self.name = name
        self.table = table
        self.size = size
        self.partitions = partitions
    }
}

/// How QEMU attaches a disk image: always read-only for the host file (`snapshot=on`).
public enum DiskAttachment: String, YAMLEnumeration, Codable, Sendable {
    /// `-device virtio-blk-pci` (x86 q35, or any machine with PCI).
    case virtioPCI = "virtio-pci"
    /// `-device virtio-blk-device` on a memory-mapped virtio transport (arm/arm64 `virt`).
    case virtioMMIO = "virtio-mmio"
    /// `-drive if=sd`, the machine's SD controller.
    case sd
}

/// A way to boot the board other than QEMU's direct `-kernel`: firmware and/or a boot loader that read a disk image.
public struct BootMethodSpec: Codable, Sendable, Equatable {
    /// What QEMU starts with `-bios`: an absolute path under /usr from a Debian package (`/usr/share/ovmf/OVMF.fd`,
    /// then `package` names it), or an artifact of the board's build (`u-boot.bin`, a firmware file).
    public var firmware: String?
    /// The Debian package that provides `firmware` when it is a path of the host.
    public var package: String?
    /// An artifact of the build QEMU loads in place of a kernel (`-kernel`): the boot loader bspgen built, e.g.
    /// U-Boot's ELF `u-boot` or `u-boot.bin`. The board's device tree goes with it when `qemu.dtb` is set.
    public var loader: String?
    /// One of the board's `disk_images`.
    public var disk: String
    public var attach: DiskAttachment
    /// What the boot loader puts in front of the board's command line, e.g. GRUB's `BOOT_IMAGE=/bzImage `.
    public var cmdlinePrefix: String?

    enum CodingKeys: String, CodingKey {
        case firmware, package, loader, disk, attach
        case cmdlinePrefix = "cmdline_prefix"
    }

    public init(firmware: String? = nil, package: String? = nil, loader: String? = nil, disk: String, attach: DiskAttachment,
                cmdlinePrefix: String? = nil) {
        self.firmware = firmware
        self.package = package
        self.loader = loader
        self.disk = disk
        self.attach = attach
        self.cmdlinePrefix = cmdlinePrefix
    }

    /// `firmware` is a file of the host (from a Debian package), not an artifact of the build.
    public var firmwareIsHostFile: Bool { firmware?.hasPrefix("/") ?? false }
}

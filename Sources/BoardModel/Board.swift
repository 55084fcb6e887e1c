/// A board as described by `boards/<name>.yaml`. Relative paths in it are relative to the board's folder
/// `boards/<name>/` and must stay inside the boards directory (so `../common/…` is allowed).
public struct Board: Codable, Sendable, Equatable {
    public var name: String
    public var description: String
    /// The architecture as `uname -m` names it; must equal the toolchain's.
    public var arch: String
    public var toolchain: String
    public var kernel: KernelSpec
    /// The whole kernel command line; it must name the console (`console=<console>`).
    public var cmdline: String
    /// The serial console device, e.g. `ttyS0` or `ttyAMA0`.
    public var console: String
    public var busybox: BusyBoxSpec
    /// The boot loader built for the board (U-Boot), whose files go into its output and disk images.
    public var bootloader: BootloaderSpec?
    public var initramfs: InitramfsSpec?
    /// How the board's device trees are made from the kernel's (or QEMU's) and patched.
    public var deviceTree: DeviceTreeSpec?
    /// Files the board's firmware or boot loader reads (config.txt, uEnv.txt, boot.scr…), made from templates.
    public var bootFiles: [BootFileSpec]?
    /// A U-Boot FIT image of the kernel, device tree and initramfs.
    public var fitImage: FITImageSpec?
    /// A GRUB EFI loader for disk images.
    public var grub: GRUBSpec?
    /// An ext4 image of the root tree, for `--rootfs ext4` and for disk images.
    public var rootfs: RootFilesystemSpec?
    /// Disk and SD-card images (`bspgen image`).
    public var diskImages: [DiskImageSpec]?
    /// Firmware boot paths by name (`bspgen test --boot NAME`), besides QEMU's direct `-kernel` boot.
    public var boot: [String: BootMethodSpec]?
    /// Absent for boards QEMU cannot emulate: those are checked on their artifacts only.
    public var qemu: QEMUSpec?
    /// Files taken from Debian binary packages (boot firmware), artifacts of the board by their output names.
    public var firmware: [FirmwareSpec]?

    enum CodingKeys: String, CodingKey {
        case name, description, arch, toolchain, kernel, cmdline, console, busybox, bootloader, initramfs, qemu, grub, rootfs, boot, firmware
        case deviceTree = "device_tree"
        case bootFiles = "boot_files"
        case fitImage = "fit_image"
        case diskImages = "disk_images"
    }

    public var initramfsSpec: InitramfsSpec { initramfs ?? InitramfsSpec() }
}

/// The kernel image file a board boots (`bzImage`, `Image`, …): one of its architecture's `kernel_images`,
/// which say how to recognise it.
public struct KernelImageName: RawRepresentable, Codable, Sendable, Equatable {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

public struct KernelSpec: Codable, Sendable, Equatable {
    /// Defaults to Debian's `linux-source-6.1`.
    public var source: SourceSpec?
    /// A config target of the kernel: `tinyconfig`, `defconfig`, `multi_v7_defconfig`, `allnoconfig`…
    public var baseConfig: String
    public var fragments: [String]?
    public var image: KernelImageName
    /// DTB targets relative to `arch/<arch>/boot/dts/`, e.g. `broadcom/bcm2837-rpi-3-b.dtb`.
    public var deviceTrees: [String]?
    /// Patch files, or folders of them (taken in name order), applied in order to a copy of the source.
    public var patches: [String]?
    /// Folders with a `Kbuild` file, each built with `M=` against the board's kernel and installed with its modules.
    public var externalModules: [String]?
    /// Modules `/init` loads with `modprobe` at boot, in order; their dependencies come with them.
    public var loadModules: [String]?

    enum CodingKeys: String, CodingKey {
        case source, fragments, image, patches
        case baseConfig = "base_config"
        case deviceTrees = "device_trees"
        case externalModules = "external_modules"
        case loadModules = "load_modules"
    }

    public static let defaultSource = SourceSpec.debianPackage("linux-source-6.1")
    public var resolvedSource: SourceSpec { source ?? Self.defaultSource }
}

public struct BusyBoxSpec: Codable, Sendable, Equatable {
    /// Defaults to Debian's `busybox` source package.
    public var source: SourceSpec?
    /// Applied on top of BusyBox's `defconfig`; `CONFIG_STATIC=y` is always forced.
    public var fragments: [String]?
    /// As `kernel.patches`.
    public var patches: [String]?

    public static let defaultSource = SourceSpec.debianSource("busybox")
    public var resolvedSource: SourceSpec { source ?? Self.defaultSource }
}

public enum CompressionName: String, YAMLEnumeration, Codable, Sendable {
    case gzip, xz, zstd, none

    /// The kernel option that unpacks an initramfs compressed so (`RD_GZIP`); none for an uncompressed one.
    public var kernelOption: String? {
        switch self {
        case .gzip: "RD_GZIP"
        case .xz: "RD_XZ"
        case .zstd: "RD_ZSTD"
        case .none: nil
        }
    }

    /// What the archive's file name ends with, after `initramfs.cpio`.
    public var fileExtension: String {
        switch self {
        case .gzip: ".gz"
        case .xz: ".xz"
        case .zstd: ".zst"
        case .none: ""
        }
    }
}

public struct InitramfsSpec: Codable, Sendable, Equatable {
    /// Folders copied over the BusyBox tree, in order; later ones win.
    public var overlays: [String]?
    /// Entry lists in the kernel's gen_init_cpio syntax (device nodes, owners) applied after the overlays.
    public var lists: [String]?
    /// The `/init` script; defaults to `../common/init`.
    public var initScript: String?
    public var compression: CompressionName?
    /// The xz branch filter for the board's machine code (`xz --x86`): about 5 % smaller with a static BusyBox.
    public var xzBCJ: XzBCJName?

    enum CodingKeys: String, CodingKey {
        case overlays, lists, compression
        case initScript = "init"
        case xzBCJ = "xz_bcj"
    }

    public init() {}

    /// Every kernel since 2.6 unpacks gzip without extra options; the one place the default is decided.
    public static let defaultCompression = CompressionName.gzip
    public var resolvedCompression: CompressionName { compression ?? Self.defaultCompression }

    public static let defaultInit = "../common/init"
    public static let defaultLists = ["../common/base.list"]
}

/// xz's branch/call/jump filters, as its options name them (`--x86`, `--armthumb`). Which one fits is a
/// question of the instruction set the toolchain emits (Debian's armhf GCC emits Thumb-2: `armthumb`).
public enum XzBCJName: String, YAMLEnumeration, Codable, Sendable {
    case x86, powerpc, ia64, arm, armthumb, arm64, sparc

    /// The kernel option of its decoder: `XZ_DEC_X86`.
    public var kernelOption: String { "XZ_DEC_" + rawValue.uppercased() }
}

/// Where the board's device trees come from.
public enum DeviceTreeOrigin: String, YAMLEnumeration, Codable, Sendable {
    /// The dtbs the kernel builds (`kernel.device_trees`).
    case kernel
    /// The tree QEMU generates for its machine (`-machine …,dumpdtb=`), for machines such as `virt`.
    case qemu
}

public struct DeviceTreeSpec: Codable, Sendable, Equatable {
    public var origin: DeviceTreeOrigin?
    /// `.dts`/`.dtso` overlays (with `/plugin/;`) beside the board, compiled with dtc and applied in order.
    public var overlays: [String]?
    /// A string the root `compatible` must contain, e.g. `brcm,bcm2837`: checked on every dtb.
    public var compatible: String?
    public var chosen: ChosenSpec?

    enum CodingKeys: String, CodingKey {
        case origin = "from"
        case overlays, compatible, chosen
    }

    public init(origin: DeviceTreeOrigin? = nil, overlays: [String]? = nil, compatible: String? = nil, chosen: ChosenSpec? = nil) {
        self.origin = origin
        self.overlays = overlays
        self.compatible = compatible
        self.chosen = chosen
    }

    public var resolvedOrigin: DeviceTreeOrigin { origin ?? .kernel }
}

/// What bspgen writes into `/chosen` of every device tree of the board.
public struct ChosenSpec: Codable, Sendable, Equatable {
    /// Set `bootargs` to the board's cmdline (default true).
    public var bootargs: Bool?
    /// e.g. `serial0:115200n8`.
    public var stdoutPath: String?
    /// Where the boot method places the initramfs, for loaders that do not fill in `linux,initrd-start`/`-end`
    /// themselves: bspgen sets them from this address and the initramfs size.
    public var initrdAddress: Int?

    enum CodingKeys: String, CodingKey {
        case bootargs
        case stdoutPath = "stdout_path"
        case initrdAddress = "initrd_address"
    }
}

public enum BootFileKind: String, YAMLEnumeration, Codable, Sendable {
    /// The template with its placeholders filled in.
    case text
    /// The filled-in template wrapped by `mkimage -T script` as a U-Boot `boot.scr`.
    case ubootScript = "uboot-script"
}

/// A file for the boot partition, made from a template beside the board. `@KERNEL@`, `@INITRAMFS@`, `@DTB@`
/// (the first device tree), `@FIT@` (the FIT image), `@CMDLINE@`, `@CONSOLE@` and `@BOARD@` are replaced by the
/// board's values.
public struct BootFileSpec: Codable, Sendable, Equatable {
    public var name: String
    public var template: String
    public var kind: BootFileKind?

    public var resolvedKind: BootFileKind { kind ?? .text }
}

/// How the board's console reaches the host when QEMU runs it.
public enum QEMUConsoleKind: String, YAMLEnumeration, Codable, Sendable {
    /// The first serial port on QEMU's standard input/output (`-nographic`).
    case serial
}

public struct QEMUSpec: Codable, Sendable, Equatable {
    /// e.g. `qemu-system-aarch64`.
    public var binary: String
    public var machine: String
    public var cpu: String?
    /// Guest memory as QEMU takes it: a number with an `M` or `G` suffix.
    public var memory: String
    public var smp: Int?
    public var console: QEMUConsoleKind?
    /// Pass the board's first device tree with `-dtb`.
    public var dtb: Bool?
    /// Extra QEMU arguments, appended as given.
    public var extraArgs: [String]?
    /// Seconds a headless test may take from start to poweroff; generous for software emulation.
    public var timeout: Int?
    /// The board's own acceptance checks, run on the console of every boot `bspgen test` makes.
    public var checks: [ConsoleCheckSpec]?

    enum CodingKeys: String, CodingKey {
        case binary, machine, cpu, memory, smp, console, dtb, timeout, checks
        case extraArgs = "extra_args"
    }

    /// `memory` in bytes; nil unless it is a positive number with an M or G suffix.
    public var memoryBytes: UInt64? {
        guard memory.hasSuffix("M") || memory.hasSuffix("G") else { return nil }
        return ByteSize.parse(memory).map(UInt64.init)
    }

    /// What a guest can be given under emulation here: enough for a kernel and an initramfs, no more than a host has.
    public static let memoryRange: ClosedRange<UInt64> = (16 << 20)...(64 << 30)
}

/// A shell command for the booted guest and the output it must print (surrounding white space ignored).
public struct ConsoleCheckSpec: Codable, Sendable, Equatable {
    public var name: String
    public var command: String
    public var expect: String
}

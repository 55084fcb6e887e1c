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
    public var initramfs: InitramfsSpec?
    /// Absent for boards QEMU cannot emulate: those are checked on their artifacts only.
    public var qemu: QEMUSpec?

    public var initramfsSpec: InitramfsSpec { initramfs ?? InitramfsSpec() }
}

public enum KernelImageKind: String, YAMLEnumeration, Codable, Sendable {
    case bzImage, Image, zImage
    case imageGz = "Image.gz"
}

public struct KernelSpec: Codable, Sendable, Equatable {
    /// Defaults to Debian's `linux-source-6.1`.
    public var source: SourceSpec?
    /// A config target of the kernel: `tinyconfig`, `defconfig`, `multi_v7_defconfig`, `allnoconfig`…
    public var baseConfig: String
    public var fragments: [String]?
    public var image: KernelImageKind
    /// DTB targets relative to `arch/<arch>/boot/dts/`, e.g. `broadcom/bcm2837-rpi-3-b.dtb`.
    public var deviceTrees: [String]?

    enum CodingKeys: String, CodingKey {
        case source, fragments, image
        case baseConfig = "base_config"
        case deviceTrees = "device_trees"
    }

    public static let defaultSource = SourceSpec.debianPackage("linux-source-6.1")
    public var resolvedSource: SourceSpec { source ?? Self.defaultSource }
}

public struct BusyBoxSpec: Codable, Sendable, Equatable {
    /// Defaults to Debian's `busybox` source package.
    public var source: SourceSpec?
    /// Applied on top of BusyBox's `defconfig`; `CONFIG_STATIC=y` is always forced.
    public var fragments: [String]?

    public static let defaultSource = SourceSpec.debianSource("busybox")
    public var resolvedSource: SourceSpec { source ?? Self.defaultSource }
}

public enum CompressionName: String, YAMLEnumeration, Codable, Sendable {
    case gzip, xz, zstd, none
}

public struct InitramfsSpec: Codable, Sendable, Equatable {
    /// Folders copied over the BusyBox tree, in order; later ones win.
    public var overlays: [String]?
    /// Entry lists in the kernel's gen_init_cpio syntax (device nodes, owners) applied after the overlays.
    public var lists: [String]?
    /// The `/init` script; defaults to `../common/init`.
    public var initScript: String?
    public var compression: CompressionName?

    enum CodingKeys: String, CodingKey {
        case overlays, lists, compression
        case initScript = "init"
    }

    public init() {}

    public static let defaultInit = "../common/init"
    public static let defaultLists = ["../common/base.list"]
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

    enum CodingKeys: String, CodingKey {
        case binary, machine, cpu, memory, smp, console, dtb, timeout
        case extraArgs = "extra_args"
    }
}

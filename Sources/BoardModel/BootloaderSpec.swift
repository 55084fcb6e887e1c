/// The board's boot loader, built from source: U-Boot's Kbuild with a defconfig and fragments, like the kernel.
public struct BootloaderSpec: Codable, Sendable, Equatable {
    /// Defaults to Debian's `u-boot` source package.
    public var source: SourceSpec?
    /// A file of the source's `configs/`, with or without its `_defconfig` ending (`am335x_evm`, `rpi_3`).
    public var defconfig: String
    /// Merged over the defconfig in order; every option is then proven to survive Kconfig, as for the kernel.
    public var fragments: [String]?
    /// Build results to keep, by path in the build folder (`MLO`, `u-boot.img`, `spl/u-boot-spl.bin`); each
    /// becomes an artifact named by its last path component, or by `to`.
    public var files: [PartitionFileSpec]
    /// `CONFIG_BOOTCOMMAND`: what U-Boot runs when its boot delay ends.
    public var bootcommand: String?
    /// As `kernel.patches`.
    public var patches: [String]?
    /// Where U-Boot's own device tree comes from, for the key of a signing board (`fit_image.signing`); default `u-boot`.
    public var controlTree: ControlTree?

    enum CodingKeys: String, CodingKey {
        case source, defconfig, fragments, files, bootcommand, patches
        case controlTree = "control_dtb"
    }

    public static let defaultSource = SourceSpec.debianSource("u-boot")
    public var resolvedSource: SourceSpec { source ?? Self.defaultSource }
    /// The make target: the defconfig file's name.
    public var defconfigTarget: String { defconfig.hasSuffix("_defconfig") ? defconfig : defconfig + "_defconfig" }

    /// The kept files with their artifact names, in the board's order.
    public var artifacts: [(path: String, name: String)] {
        files.map { ($0.from, $0.outputName) }
    }
}

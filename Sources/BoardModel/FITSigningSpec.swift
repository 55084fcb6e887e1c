/// U-Boot verified boot for a board's FIT image (`fit_image.signing`): the image is signed by `mkimage -k`, and the
/// public key goes into the device tree of the U-Boot bspgen builds for the board, marked `required`, so that U-Boot
/// boots nothing that key did not sign.
public struct FITSigningSpec: Codable, Sendable, Equatable {
    /// The FIT signature algorithm, as mkimage and U-Boot name it.
    public enum Algorithm: String, YAMLEnumeration, Codable, Sendable {
        case sha256RSA2048 = "sha256,rsa2048"
        case sha256RSA4096 = "sha256,rsa4096"

        /// The RSA key size the algorithm takes.
        public var keyBits: Int {
            switch self {
            case .sha256RSA2048: 2048
            case .sha256RSA4096: 4096
            }
        }
    }

    /// What U-Boot requires to be signed: the configuration it boots (whose signature covers the images it names),
    /// or every image on its own.
    public enum Required: String, YAMLEnumeration, Codable, Sendable {
        case conf, image
    }

    /// An image of the FIT by the configuration property that names it.
    public enum SignedImage: String, YAMLEnumeration, Codable, Sendable {
        case kernel, fdt, ramdisk
    }

    public var algorithm: Algorithm
    /// mkimage's `key-name-hint`: the key is `KEY_DIR/NAME.key` with its certificate `NAME.crt`, and U-Boot's tree
    /// holds it as `/signature/key-NAME`.
    public var keyName: String
    /// The images the signature covers: with `required: conf`, the configuration's `sign-images`; with
    /// `required: image`, the images that carry a signature of their own (then every image of the FIT).
    public var sign: [SignedImage]
    public var required: Required
    /// The folder holding `NAME.key` and `NAME.crt`: absolute, or relative to the board's folder. Without it, bspgen
    /// makes a development key in its cache on first use and says so on every build.
    public var keyDir: String?

    enum CodingKeys: String, CodingKey {
        case algorithm, sign, required
        case keyName = "key_name"
        case keyDir = "key_dir"
    }

    public init(algorithm: Algorithm, keyName: String, sign: [SignedImage], required: Required, keyDir: String? = nil) {
        self.algorithm = algorithm
        self.keyName = keyName
        self.sign = sign
        self.required = required
        self.keyDir = keyDir
    }

    /// The node U-Boot's device tree holds the public key in.
    public var keyNodePath: String { "/signature/key-\(keyName)" }

    /// The U-Boot options without which U-Boot cannot check this signature, as `CONFIG_X=y` lines (or
    /// `# CONFIG_X is not set`), each with why. Checked against the built `.config` like a fragment.
    public func requiredBootloaderOptions(controlTree: BootloaderSpec.ControlTree) -> [(line: String, why: String)] {
        var options: [(String, String)] = [
            ("CONFIG_FIT=y", "FIT images"),
            ("CONFIG_FIT_SIGNATURE=y", "checking FIT signatures"),
            ("CONFIG_RSA=y", "RSA signatures"),
            ("CONFIG_RSA_VERIFY=y", "RSA verification"),
            ("CONFIG_SHA256=y", "the sha256 of \(algorithm.rawValue)"),
            ("CONFIG_OF_CONTROL=y", "a device tree of U-Boot's own to hold the public key"),
            ("# CONFIG_LEGACY_IMAGE_FORMAT is not set", "legacy images and scripts carry no signature: U-Boot would boot them unchecked"),
        ]
        switch controlTree {
        case .uBoot:
            options.append(("CONFIG_OF_SEPARATE=y", "U-Boot's tree appended to U-Boot, where bspgen puts the key"))
            options.append(("# CONFIG_OF_BOARD is not set", "a tree from an earlier stage would replace the one holding the key"))
        case .qemu:
            options.append(("CONFIG_OF_BOARD=y", "U-Boot's tree taken from QEMU, which bspgen gives the tree holding the key"))
        }
        return options
    }
}

extension BootloaderSpec {
    /// Where the device tree U-Boot itself runs with (its control tree, which holds a verified boot key) comes from.
    public enum ControlTree: String, YAMLEnumeration, Codable, Sendable {
        /// The tree U-Boot's build appends to U-Boot (`CONFIG_OF_SEPARATE`): bspgen makes U-Boot again with the key
        /// in it (`make EXT_DTB=`), as U-Boot's beaglebone_vboot document does.
        case uBoot = "u-boot"
        /// The tree QEMU hands to U-Boot (`CONFIG_OF_BOARD`, QEMU's virt machines): bspgen writes the key into
        /// QEMU's tree of the machine and boots with it (`-dtb`), as U-Boot's doc/develop/devicetree/dt_qemu.rst says.
        case qemu
    }

    public var resolvedControlTree: ControlTree { controlTree ?? .uBoot }
}

/// The file that holds the U-Boot control tree with the public key of a signing board, in its output folder.
public enum VerifiedBootNames {
    public static let publicKeyTree = "u-boot-pubkey.dtb"
}

import BoardModel
import Foundation

/// The `.its` source of a board's FIT image: kernel, device tree and initramfs as images with sha256 hashes,
/// one configuration. Data is referenced by file name (`/incbin/`), so `mkimage -f` runs in the folder that
/// holds the files and the source stays valid beside the artifacts.
public enum FITSource {
    public struct Inputs: Sendable, Equatable {
        public var description: String
        /// U-Boot's architecture name (`arm64`, `arm`, `x86_64`…): the kernel's ARCH.
        public var arch: String
        public var kernel: String
        public var deviceTree: String?
        public var ramdisk: String?
        public var spec: FITImageSpec

        public init(description: String, arch: String, kernel: String, deviceTree: String?, ramdisk: String?, spec: FITImageSpec) {
            self.description = description
            self.arch = arch
            self.kernel = kernel
            self.deviceTree = deviceTree
            self.ramdisk = ramdisk
            self.spec = spec
        }

        /// The board's image: its kernel, initramfs and the device tree named `deviceTree`, under their artifact names.
        public init(board: ResolvedBoard, names: ArtifactNames, deviceTree: String?, spec: FITImageSpec) {
            self.init(description: "\(board.name): Linux, device tree and initramfs by bspgen", arch: board.toolchain.kernelArch,
                      kernel: names.kernel, deviceTree: deviceTree, ramdisk: names.initramfs, spec: spec)
        }
    }

    /// The node names of the images, as U-Boot's messages name them ("... in 'kernel-1' image node").
    public static let kernelNode = "kernel-1"

    public static func render(_ inputs: Inputs) -> String {
        render(inputs, signing: inputs.spec.signing)
    }

    /// The source with `signing` in place of the board's (nil: an unsigned image of the same files).
    public static func render(_ inputs: Inputs, signing: FITSigningSpec?) -> String {
        func address(_ value: Int) -> String { String(format: "<0x%08x>", value) }
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        // Only images the FIT has (the board checks reject others; a board without a tree has no fdt).
        let signedImages = (signing?.sign ?? []).filter { image in
            switch image {
            case .kernel: true
            case .fdt: inputs.deviceTree != nil
            case .ramdisk: inputs.ramdisk != nil
            }
        }
        /// With `required: image`, each signed image carries a signature of its own, over its data and properties.
        func imageSignature(_ image: FITSigningSpec.SignedImage) -> String {
            guard let signing, signing.required == .image, signedImages.contains(image) else { return "" }
            return """
                            signature-1 {
                                algo = \(quoted(signing.algorithm.rawValue));
                                key-name-hint = \(quoted(signing.keyName));
                            };

                """
        }
        var images = """
                    kernel-1 {
                        description = "Linux kernel";
                        data = /incbin/(\(quoted(inputs.kernel)));
                        type = "kernel";
                        arch = \(quoted(inputs.arch));
                        os = "linux";
                        compression = "none";
                        load = \(address(inputs.spec.kernelAddress));
                        entry = \(address(inputs.spec.kernelAddress));
                        hash-1 {
                            algo = "sha256";
                        };
            \(imageSignature(.kernel))        };

            """
        if let deviceTree = inputs.deviceTree {
            images += """
                        fdt-1 {
                            description = \(quoted(deviceTree));
                            data = /incbin/(\(quoted(deviceTree)));
                            type = "flat_dt";
                            arch = \(quoted(inputs.arch));
                            compression = "none";

                """
            if let load = inputs.spec.fdtAddress { images += "                load = \(address(load));\n" }
            images += """
                            hash-1 {
                                algo = "sha256";
                            };
                \(imageSignature(.fdt))        };

                """
        }
        if let ramdisk = inputs.ramdisk {
            images += """
                        ramdisk-1 {
                            description = "initramfs";
                            data = /incbin/(\(quoted(ramdisk)));
                            type = "ramdisk";
                            arch = \(quoted(inputs.arch));
                            os = "linux";
                            compression = "none";

                """
            if let load = inputs.spec.ramdiskAddress { images += "                load = \(address(load));\n" }
            images += """
                            hash-1 {
                                algo = "sha256";
                            };
                \(imageSignature(.ramdisk))        };

                """
        }
        var configuration = "            kernel = \"kernel-1\";\n"
        if inputs.deviceTree != nil { configuration += "            fdt = \"fdt-1\";\n" }
        if inputs.ramdisk != nil { configuration += "            ramdisk = \"ramdisk-1\";\n" }
        if let signing, signing.required == .conf {
            // The configuration's signature covers its own properties and the images it names in sign-images.
            configuration += """
                            signature-1 {
                                algo = \(quoted(signing.algorithm.rawValue));
                                key-name-hint = \(quoted(signing.keyName));
                                sign-images = \(signedImages.map(\.rawValue).map(quoted).joined(separator: ", "));
                            };

                """
        }
        return """
            /dts-v1/;
            // FIT image source written by bspgen; build with: mkimage -f \(inputs.spec.sourceName)\(signing == nil ? "" : " -k KEY_DIR -K u-boot.dtb -r") \(inputs.spec.name)

            / {
                description = \(quoted(inputs.description));
                #address-cells = <1>;

                images {
            \(images)    };

                configurations {
                    default = "conf-1";
                    conf-1 {
                        description = \(quoted(inputs.description));
            \(configuration)        };
                };
            };

            """
    }
}

extension FITSource {
    /// A FIT of one placeholder image signed as the board's image is (`required` decides where the signature
    /// sits), for `mkimage -K` to write the public key into U-Boot's tree with the same `required` mode. The key
    /// in U-Boot depends on the key and the mode only, not on the kernel: U-Boot is made again when those change.
    public static func keyCarrier(_ signing: FITSigningSpec, arch: String, data: String) -> String {
        let signature = """
            signature-1 {
                algo = "\(signing.algorithm.rawValue)";
                key-name-hint = "\(signing.keyName)";
            """
        func indented(_ text: String, _ spaces: Int) -> String {
            text.split(separator: "\n").map { String(repeating: " ", count: spaces) + $0 }.joined(separator: "\n") + "\n"
        }
        let imageSignature = signing.required == .image ? indented(signature + "\n};", 12) : ""
        let configurationSignature = signing.required == .conf ? indented(signature + "\n    sign-images = \"firmware\";\n};", 12) : ""
        return """
            /dts-v1/;
            // Written by bspgen: only carries the public key of '\(signing.keyName)' into U-Boot's device tree (mkimage -K).

            / {
                description = "public key carrier";
                #address-cells = <1>;

                images {
                    key-carrier-1 {
                        description = "placeholder";
                        data = /incbin/("\(data)");
                        type = "firmware";
                        arch = "\(arch)";
                        os = "u-boot";
                        compression = "none";
                        hash-1 {
                            algo = "sha256";
                        };
            \(imageSignature)        };
                };

                configurations {
                    default = "conf-1";
                    conf-1 {
                        firmware = "key-carrier-1";
            \(configurationSignature)        };
                };
            };

            """
    }
}

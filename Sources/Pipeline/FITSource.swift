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
    }

    public static func render(_ inputs: Inputs) -> String {
        func address(_ value: Int) -> String { String(format: "<0x%08x>", value) }
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
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
                    };

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
                        };

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
                        };

                """
        }
        var configuration = "            kernel = \"kernel-1\";\n"
        if inputs.deviceTree != nil { configuration += "            fdt = \"fdt-1\";\n" }
        if inputs.ramdisk != nil { configuration += "            ramdisk = \"ramdisk-1\";\n" }
        return """
            /dts-v1/;
            // FIT image source written by bspgen; build with: mkimage -f \(inputs.spec.sourceName) \(inputs.spec.name)

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

import Foundation

/// `fit_image.signing` and `bootloader.control_dtb`: what can be told from the board file alone. Whether the key
/// is an RSA key of the named size, and whether U-Boot's config can verify it, is checked by the build (it takes
/// openssl and the U-Boot build).
extension BoardChecks {
    mutating func checkSigning() {
        if let controlTree = board.bootloader?.controlTree, controlTree == .qemu, board.qemu == nil {
            problem("bootloader.control_dtb", "'qemu' means U-Boot takes its device tree from QEMU, but the board has no qemu section",
                    hint: "use 'u-boot' (the tree U-Boot's build appends to it) or remove the field")
        }
        guard let fit = board.fitImage, let signing = fit.signing else { return }
        let field = "fit_image.signing"
        let name = signing.keyName
        if name.isEmpty || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) })
            || !(name.first?.isLetter ?? false) && !(name.first?.isNumber ?? false) {
            problem(field + ".key_name", "'\(name)' is not a key name: expected letters, digits, '_', '-' or '.', starting with a letter or digit",
                    hint: "e.g. 'dev' for KEY_DIR/dev.key and dev.crt")
        }
        // The FIT holds the kernel, the initramfs and, when the board has one, a device tree.
        var present: [FITSigningSpec.SignedImage] = [.kernel, .ramdisk]
        if !ArtifactNames(board: board).deviceTrees.isEmpty { present.insert(.fdt, at: 1) }
        if signing.sign.isEmpty {
            problem(field + ".sign", "expected the images the signature covers, e.g. [\(present.map(\.rawValue).joined(separator: ", "))]")
        }
        var seen: Set<FITSigningSpec.SignedImage> = []
        for (index, image) in signing.sign.enumerated() {
            if !seen.insert(image).inserted {
                problem("\(field).sign[\(index)]", "'\(image.rawValue)' is listed twice")
            } else if !present.contains(image) {
                problem("\(field).sign[\(index)]", "the FIT image has no \(image.rawValue): the board has no device tree",
                        hint: "sign \(present.map(\.rawValue).joined(separator: ", "))")
            }
        }
        if !signing.sign.isEmpty, !seen.contains(.kernel) {
            problem(field + ".sign", "the signature must cover the kernel: a signed image whose kernel can be swapped proves nothing",
                    hint: "add kernel")
        }
        let unsigned = present.filter { !seen.contains($0) }
        if signing.required == .image, !unsigned.isEmpty, !signing.sign.isEmpty {
            problem(field + ".sign", "with 'required: image' U-Boot refuses every image without a signature of its own, and "
                    + unsigned.map(\.rawValue).joined(separator: ", ") + " would have none",
                    hint: "sign [\(present.map(\.rawValue).joined(separator: ", "))], or use 'required: conf'")
        }
        if let keyDir = signing.keyDir {
            let folder = absolute(keyDir).standardizedFileURL
            var isDirectory: ObjCBool = false
            if keyDir.isEmpty {
                problem(field + ".key_dir", "expected a folder holding \(name).key and \(name).crt")
            } else if !FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) || !isDirectory.boolValue {
                problem(field + ".key_dir", "the key folder \(folder.path) does not exist",
                        hint: "leave key_dir out for a development key, or make one: " + Self.keyCommands(name: name, bits: signing.algorithm.keyBits, folder: folder.path))
            } else {
                for file in ["\(name).key", "\(name).crt"] where !FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path) {
                    problem(field + ".key_dir", "\(folder.path) has no \(file) (mkimage signs with \(name).key and takes the public key from \(name).crt)",
                            hint: file.hasSuffix(".crt") ? "openssl req -batch -new -x509 -key \(folder.path)/\(name).key -out \(folder.path)/\(name).crt"
                                : Self.keyCommands(name: name, bits: signing.algorithm.keyBits, folder: folder.path))
                }
            }
        }
        guard let bootloader = board.bootloader else {
            problem(field, "the public key goes into the U-Boot bspgen builds for the board, but the board has no bootloader section",
                    hint: "add a bootloader section (U-Boot's defconfig and the files to keep)")
            return
        }
        if bootloader.resolvedControlTree == .qemu {
            if ArtifactNames(board: board).firmwareDeviceTree == nil {
                problem("bootloader.control_dtb", "with 'qemu' the key goes into QEMU's tree of the machine as U-Boot sees it, which the board "
                        + "makes only with 'device_tree: {from: qemu}' and fit_image.boot_method",
                        hint: "set fit_image.boot_method to the boot method that starts this U-Boot")
            }
            let artifacts = Set(bootloader.artifacts.map(\.name))
            if !(board.boot ?? [:]).values.contains(where: { $0.loader == nil && $0.firmware.map(artifacts.contains) == true }) {
                problem("bootloader.control_dtb", "with 'qemu' QEMU must start this U-Boot as firmware (-bios) to hand it the tree with the key, "
                        + "but no boot method does", hint: "add a boot method with 'firmware: \(bootloader.artifacts.first?.name ?? "u-boot.bin")'")
            }
        }
    }

    /// The openssl commands that make a key pair as mkimage wants it.
    static func keyCommands(name: String, bits: Int, folder: String) -> String {
        "mkdir -p \(folder) && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:\(bits) -out \(folder)/\(name).key"
            + " && openssl req -batch -new -x509 -key \(folder)/\(name).key -out \(folder)/\(name).crt"
    }
}

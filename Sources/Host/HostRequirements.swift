import BoardModel
import Foundation

/// A program bspgen runs and the Debian package that provides it.
public struct HostTool: Sendable, Hashable {
    public var program: String
    public var package: String
    public var purpose: String
}

public enum HostRequirements {
    /// Everything the pipeline runs besides compilers and QEMU.
    public static let tools: [HostTool] = [
        HostTool(program: "make", package: "make", purpose: "kernel and BusyBox builds"),
        HostTool(program: "gcc", package: "gcc", purpose: "host programs of Kbuild"),
        HostTool(program: "bc", package: "bc", purpose: "kernel build"),
        HostTool(program: "bison", package: "bison", purpose: "kernel Kconfig and dtc"),
        HostTool(program: "flex", package: "flex", purpose: "kernel Kconfig and dtc"),
        HostTool(program: "perl", package: "perl", purpose: "kernel build"),
        HostTool(program: "tar", package: "tar", purpose: "unpacking sources"),
        HostTool(program: "xz", package: "xz-utils", purpose: "unpacking linux-source"),
        HostTool(program: "dpkg-source", package: "dpkg-dev", purpose: "unpacking Debian source packages"),
        HostTool(program: "apt-get", package: "apt", purpose: "fetching Debian sources"),
        HostTool(program: "dtc", package: "device-tree-compiler", purpose: "device tree overlays"),
        HostTool(program: "mkimage", package: "u-boot-tools", purpose: "U-Boot scripts and FIT images"),
        HostTool(program: "curl", package: "curl", purpose: "URL sources"),
        HostTool(program: "openssl", package: "openssl", purpose: "FIT signing keys (fit_image.signing)"),
    ]

    /// What disk images, the root file system image and firmware boots need (`bspgen image`, `test --boot`).
    public static let imageTools: [HostTool] = [
        HostTool(program: "mkfs.vfat", package: "dosfstools", purpose: "FAT partitions of disk images"),
        HostTool(program: "mcopy", package: "mtools", purpose: "filling FAT partitions without mounting them"),
        HostTool(program: "mdir", package: "mtools", purpose: "reading FAT partitions back"),
        HostTool(program: "mke2fs", package: "e2fsprogs", purpose: "the ext4 root file system"),
        HostTool(program: "debugfs", package: "e2fsprogs", purpose: "device nodes and owners in the ext4 image without root"),
        HostTool(program: "grub-mkimage", package: "grub-common", purpose: "GRUB EFI loaders"),
    ]

    /// Fails with the exact install command when `program` (one of `tools` or `imageTools`) is not on PATH.
    public static func require(_ program: String) throws(HostError) {
        guard ProcessRunner.which(program) == nil else { return }
        let package = (tools + imageTools).first { $0.program == program }?.package
        throw HostError.missingTool(program, install: package.map { aptInstallCommand([$0]) })
    }

    /// Fails with the install command of `package` when a file it provides (firmware, modules) is missing.
    public static func requireFile(_ path: String, package: String) throws(HostError) {
        guard !FileManager.default.fileExists(atPath: path) else { return }
        throw HostError.missingTool(path, install: aptInstallCommand([package]))
    }

    /// Headers and libraries the kernel build needs (checked by file, since they are not programs).
    public static let buildFiles: [(path: String, package: String)] = [
        ("/usr/include/libelf.h", "libelf-dev"),
        ("/usr/include/openssl/ssl.h", "libssl-dev"),
        ("/usr/include/ncurses.h", "libncurses-dev"),
        // U-Boot's host tools (mkeficapsule, mkimage's UUID support) are built with every U-Boot.
        ("/usr/include/gnutls/gnutls.h", "libgnutls28-dev"),
        ("/usr/include/uuid/uuid.h", "uuid-dev"),
    ]

    /// The Debian package of a QEMU system emulator, as the architecture files name it; nil when none does.
    public static func qemuPackage(_ binary: String, among architectures: some Sequence<Architecture>) -> String? {
        architectures.lazy.compactMap { $0.qemuPackages?[binary] }.first
    }
}

import Foundation

/// The names of a board's artifacts in its output folder.
public struct ArtifactNames: Sendable {
    public var kernel: String
    public var initramfs: String
    public var deviceTrees: [String]

    public init(board: Board) {
        kernel = board.kernel.image.rawValue
        let compression = board.initramfsSpec.compression ?? .gzip
        initramfs = "initramfs.cpio" + [CompressionName.gzip: ".gz", .xz: ".xz", .zstd: ".zst", .none: ""][compression, default: ""]
        switch (board.deviceTree?.resolvedOrigin ?? .kernel, board.qemu?.machine) {
        case let (.qemu, machine?): deviceTrees = ["qemu-\(machine).dtb"]
        default: deviceTrees = (board.kernel.deviceTrees ?? []).map { URL(fileURLWithPath: $0).lastPathComponent }
        }
    }
}

extension Board {
    /// Every file name a build of this board may put in its output folder, images included; what disk image
    /// partitions may name.
    public var artifactNames: [String] {
        let names = ArtifactNames(board: self)
        var all = [names.kernel, names.initramfs, "linux.config", "linux.defconfig", "manifest.json", "run-qemu.sh"] + names.deviceTrees
        all += (bootFiles ?? []).map(\.name)
        if let fitImage { all += [fitImage.name, fitImage.sourceName] }
        if let grub { all.append(grub.name) }
        if rootfs != nil { all.append(RootFilesystemSpec.imageName) }
        all += (diskImages ?? []).map(\.name)
        return all
    }
}

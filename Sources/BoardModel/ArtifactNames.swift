import Foundation

/// The names of a board's artifacts in its output folder.
public struct ArtifactNames: Sendable {
    public var kernel: String
    public var initramfs: String
    public var deviceTrees: [String]
    /// The device tree of the FIT image when it differs from the first of `deviceTrees`: QEMU's tree as the
    /// FIT's boot method's firmware sees the machine.
    public var firmwareDeviceTree: String?

    public init(board: Board) {
        kernel = board.kernel.image.rawValue
        initramfs = "initramfs.cpio" + board.initramfsSpec.resolvedCompression.fileExtension
        switch (board.deviceTree?.resolvedOrigin ?? .kernel, board.qemu?.machine) {
        case let (.qemu, machine?): deviceTrees = ["qemu-\(machine).dtb"]
        default: deviceTrees = (board.kernel.deviceTrees ?? []).map { URL(fileURLWithPath: $0).lastPathComponent }
        }
        if let method = board.fitImage?.bootMethod, board.deviceTree?.resolvedOrigin == .qemu, let machine = board.qemu?.machine {
            firmwareDeviceTree = "qemu-\(machine)-\(method).dtb"
        }
    }
}

extension Board {
    /// Every file name a build of this board may put in its output folder, images included; what disk image
    /// partitions may name.
    public var artifactNames: [String] {
        let names = ArtifactNames(board: self)
        var all = [names.kernel, names.initramfs, "linux.config", "linux.defconfig", "manifest.json", "run-qemu.sh"] + names.deviceTrees
        if let firmwareTree = names.firmwareDeviceTree { all.append(firmwareTree) }
        all += (bootFiles ?? []).map(\.name) + (bootloader?.artifacts ?? []).map(\.name)
        if let fitImage { all += [fitImage.name, fitImage.sourceName] }
        if fitImage?.signing != nil, bootloader != nil { all.append(VerifiedBootNames.publicKeyTree) }
        if let grub { all.append(grub.name) }
        if rootfs != nil { all.append(RootFilesystemSpec.imageName) }
        all += (diskImages ?? []).flatMap { [$0.name, $0.bmapName] }
        all += firmwareArtifacts.map(\.name)
        return all
    }
}

extension DiskImageSpec {
    /// The block map written beside the image (`bmaptool copy` and `bspgen flash` read it).
    public var bmapName: String { name + ".bmap" }
}

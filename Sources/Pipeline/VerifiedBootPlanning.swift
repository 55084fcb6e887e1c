import BoardModel
import QEMU

extension BoardPlan {
    /// What verified boot adds to a boot method of a signing board that starts the U-Boot bspgen built: the tree
    /// holding the key given to it with `-dtb` (when U-Boot takes its tree from QEMU), and the plan of the signature
    /// check and the refusals (when the method's disk holds the FIT). Nothing for other methods: a U-Boot from a
    /// Debian package holds no key of the board's.
    static func verifiedBoot(_ board: Board, method: BootMethodSpec) -> (firmwareDeviceTree: String?, plan: VerifiedBootPlan?) {
        guard let fit = board.fitImage, let signing = fit.signing, let bootloader = board.bootloader else { return (nil, nil) }
        let built = Set(bootloader.artifacts.map(\.name))
        let startsFirmware = !method.firmwareIsHostFile && method.firmware.map(built.contains) == true
        guard startsFirmware || method.loader.map(built.contains) == true else { return (nil, nil) }
        let tree = bootloader.resolvedControlTree == .qemu && startsFirmware && method.loader == nil ? VerifiedBootNames.publicKeyTree : nil
        guard let disk = board.diskImages?.first(where: { $0.name == method.disk }) else { return (tree, nil) }
        for (index, partition) in disk.partitions.enumerated() {
            guard let file = partition.files?.first(where: { $0.from == fit.name }) else { continue }
            return (tree, VerifiedBootPlan(fit: fit.name, disk: disk.name, partition: index, pathOnPartition: file.destination,
                                           algorithm: signing.algorithm.rawValue, keyName: signing.keyName, required: signing.required.rawValue,
                                           kernelNode: FITSource.kernelNode))
        }
        return (tree, nil)
    }
}

import Host

/// Why QEMU could not be set up or started. A guest that misbehaves is not an error but a `BootFailure` in
/// the report.
public enum QEMUError: Error, CustomStringConvertible, Equatable {
    /// The board has no `qemu` section: QEMU cannot emulate it.
    case notEmulated(board: String)
    /// `qemu.dtb` is set but the build passed no device tree.
    case missingDeviceTree(board: String)
    /// An `extra_args` entry that bspgen sets itself or that would open the host to the guest.
    case forbiddenArgument(board: String, argument: String, reason: String)
    /// The console log could not be written.
    case log(path: String, message: String)
    /// QEMU could not be started at all.
    case cannotStart(command: String, reason: String)
    /// `run-qemu.sh` would name a file outside its own folder: a path of the build host in the output.
    case artifactOutsideScriptFolder(board: String, path: String, folder: String)

    public var description: String {
        switch self {
        case let .notEmulated(board):
            return "board \(board) has no qemu section: QEMU cannot emulate it, so only its artifacts can be checked"
        case let .missingDeviceTree(board):
            return "board \(board) sets qemu.dtb but no device tree was built for it; list one under kernel.device_trees"
        case let .forbiddenArgument(board, argument, reason):
            return "board \(board): qemu.extra_args may not contain '\(argument)': \(reason)"
        case let .log(path, message):
            return "\(path): cannot write the console log: \(message)"
        case let .cannotStart(command, reason):
            return "QEMU could not be started: \(reason)\n    command: \(command)"
        case let .artifactOutsideScriptFolder(board, path, folder):
            return "board \(board): run-qemu.sh would boot \(path), outside its folder \(folder); "
                + "the script may name only files beside it, so that it reads the same on every host"
        }
    }
}

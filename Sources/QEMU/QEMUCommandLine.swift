import BoardModel
import Foundation
import Host

/// The built files QEMU boots.
public struct BootArtifacts: Sendable, Equatable {
    public var kernel: URL
    public var initramfs: URL
    /// Passed with `-dtb` when the board's `qemu.dtb` is set.
    public var deviceTree: URL?

    public init(kernel: URL, initramfs: URL, deviceTree: URL? = nil) {
        self.kernel = kernel
        self.initramfs = initramfs
        self.deviceTree = deviceTree
    }
}

/// A disk image QEMU attaches, opened with `snapshot=on`: the guest's writes go to a temporary overlay, never
/// into the image.
public struct QEMUDisk: Sendable, Equatable {
    public var image: URL
    public var attachment: DiskAttachment

    public init(image: URL, attachment: DiskAttachment) {
        self.image = image
        self.attachment = attachment
    }
}

public enum Accelerator: String, Sendable, Codable {
    case kvm, tcg
}

/// How one board is started in QEMU: the same words for the headless test, the interactive console and
/// `run-qemu.sh`.
public struct QEMUCommandLine: Sendable, Equatable {
    public let board: String
    /// The guest's architecture as `uname -m` names it: KVM is tried only on a host of the same one.
    public let guestArch: String
    /// CPU flags of which the host needs one for KVM (the architecture's `kvm_cpu_flags`).
    public var kvmCPUFlags: [String] = []
    /// The Debian package of `spec.binary`, from the architecture's data, for the error when it is missing.
    public var qemuPackage: String?
    public let spec: QEMUSpec
    public let cmdline: String
    public let artifacts: BootArtifacts
    public let accelerator: Accelerator
    /// Firmware started with `-bios` instead of QEMU loading the kernel: it boots from `disks`.
    public let firmware: URL?
    /// A boot loader QEMU loads in place of the kernel (`-kernel`); it reads the kernel from `disks`.
    public let loader: URL?
    public let disks: [QEMUDisk]
    /// The tree QEMU hands the firmware (`-dtb`) instead of its own: U-Boot's, holding a verified boot key.
    public let firmwareDeviceTree: URL?

    /// Checks the board's extra arguments: nothing that bspgen sets itself, nothing that reaches host files.
    /// `cmdline` is the kernel command line: passed with `-append` for a direct boot; with `firmware`, what the
    /// boot loader on the disk is expected to pass (the console check compares /proc/cmdline with it).
    public init(board: Board, artifacts: BootArtifacts, accelerator: Accelerator, firmware: URL? = nil,
                disks: [QEMUDisk] = [], cmdline: String? = nil) throws(QEMUError) {
        guard let spec = board.qemu else { throw QEMUError.notEmulated(board: board.name) }
        try self.init(board: board.name, guestArch: board.arch, spec: spec, artifacts: artifacts, accelerator: accelerator,
                      firmware: firmware, loader: nil, disks: disks, cmdline: cmdline ?? board.cmdline)
    }

    init(board: String, guestArch: String, spec: QEMUSpec, artifacts: BootArtifacts, accelerator: Accelerator, firmware: URL?,
         loader: URL?, disks: [QEMUDisk], cmdline: String, firmwareDeviceTree: URL? = nil) throws(QEMUError) {
        if spec.dtb == true, firmware == nil || loader != nil, artifacts.deviceTree == nil { throw QEMUError.missingDeviceTree(board: board) }
        try Self.checkExtraArguments(spec.extraArgs ?? [], board: board)
        self.board = board
        self.guestArch = guestArch
        self.spec = spec
        self.cmdline = cmdline
        self.artifacts = artifacts
        self.accelerator = accelerator
        self.firmware = firmware
        self.loader = loader
        self.disks = disks
        self.firmwareDeviceTree = firmware != nil && loader == nil ? firmwareDeviceTree : nil
    }

    /// Only options on the allow-list, each with a value it accepts (`QEMUExtraArguments`, which `bspgen validate`
    /// runs too): the guest gets the artifacts, no host files, sockets, programs or network, and nothing bspgen sets
    /// itself is overridden.
    private static func checkExtraArguments(_ arguments: [String], board: String) throws(QEMUError) {
        if let refused = QEMUExtraArguments.problems(arguments).first {
            throw QEMUError.forbiddenArgument(board: board, argument: refused.argument, reason: refused.reason)
        }
    }

    /// The full argv with absolute artifact paths.
    public var argv: [String] { argv(relativeTo: nil) }

    public var command: Command { Command(spec.binary, Array(argv.dropFirst())) }

    /// Seconds the headless test may take until poweroff: the board's own limit, else generous for emulation.
    public var timeoutSeconds: Int { spec.timeout ?? (accelerator == .kvm ? 60 : 300) }

    /// The argv with artifact paths inside `folder` made relative to it.
    public func argv(relativeTo folder: URL?) -> [String] {
        let base = folder?.standardizedFileURL.path
        func path(_ url: URL) -> String {
            let path = url.standardizedFileURL.path
            guard let base, path.hasPrefix(base + "/") else { return path }
            return String(path.dropFirst(base.count + 1))
        }
        let machine = Self.machineWords(for: spec)
        var words = [spec.binary] + machine.machine + ["-accel", accelerator.rawValue]
        // Firmware or a boot loader find the kernel on the disk (and are given QEMU's tree, or the board's with -dtb).
        if let firmware { words += ["-bios", path(firmware)] }
        if let loader {
            words += ["-kernel", path(loader)]
        } else if firmware == nil {
            words += ["-kernel", path(artifacts.kernel), "-initrd", path(artifacts.initramfs)]
        }
        if spec.dtb == true, firmware == nil || loader != nil, let deviceTree = artifacts.deviceTree { words += ["-dtb", path(deviceTree)] }
        if let firmwareDeviceTree { words += ["-dtb", path(firmwareDeviceTree)] }
        for (index, disk) in disks.enumerated() {
            // QEMU splits -drive at commas; a comma in a path is written twice.
            let file = path(disk.image).replacingOccurrences(of: ",", with: ",,")
            switch disk.attachment {
            case .sd:
                words += ["-drive", "if=sd,format=raw,snapshot=on,file=\(file)"]
            case .virtioPCI, .virtioMMIO:
                words += ["-drive", "if=none,id=disk\(index),format=raw,snapshot=on,file=\(file)",
                          "-device", "\(disk.attachment == .virtioPCI ? "virtio-blk-pci" : "virtio-blk-device"),drive=disk\(index)"]
            }
        }
        if firmware == nil, loader == nil { words += ["-append", cmdline] }
        // -nographic puts the first serial port and the monitor on stdio, muxed: Ctrl-A X quits.
        words += ["-nographic", "-no-reboot"]
        return words + machine.devices
    }

    /// The words that decide what machine the guest gets: `machine` (machine, CPU, memory, CPUs) and `devices`
    /// (no network unless the board asks for one, then the board's extra arguments). The boot and the device tree
    /// dump both take them from here, so the tree bspgen patches is the tree of the machine it boots.
    /// With `destination`, QEMU writes the machine's device tree there and exits instead of booting.
    public static func machineWords(for spec: QEMUSpec, dumpingDeviceTreeTo destination: URL? = nil) -> (machine: [String], devices: [String]) {
        var machine = ["-M", destination.map { "\(spec.machine),dumpdtb=\($0.path)" } ?? spec.machine]
        if let cpu = spec.cpu { machine += ["-cpu", cpu] }
        machine += ["-m", spec.memory]
        if let smp = spec.smp { machine += ["-smp", String(smp)] }
        let extra = spec.extraArgs ?? []
        // No network unless the board asks for one; this also spares x86 the seconds of its NIC boot ROM.
        let network = extra.contains(where: { networkOptions.contains(QEMUExtraArguments.optionName($0)) }) ? [] : ["-nic", "none"]
        return (machine, network + extra)
    }

    /// QEMU writes the device tree it generates for this machine (with the board's memory, CPUs and extra
    /// devices) to `destination` and exits, without booting anything.
    /// With `firmware`, the tree is the one QEMU makes when that firmware is started with `-bios`.
    public static func dumpDeviceTreeCommand(board: Board, to destination: URL, firmware: URL? = nil) throws(QEMUError) -> Command {
        guard let spec = board.qemu else { throw QEMUError.notEmulated(board: board.name) }
        try checkExtraArguments(spec.extraArgs ?? [], board: board.name)
        let machine = machineWords(for: spec, dumpingDeviceTreeTo: destination)
        let firmwareWords = firmware.map { ["-bios", $0.path] } ?? []
        return Command(spec.binary, machine.machine + firmwareWords + ["-accel", "tcg", "-nographic"] + machine.devices)
    }

    private static let networkOptions: Set<String> = ["-nic", "-net", "-netdev"]
}

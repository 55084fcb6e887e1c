import BoardModel
import Foundation

/// A kernel command line as a value: parameters in order, so that a boot path adds to it (`bspgen.root=...`) or
/// a boot loader puts its own in front (GRUB's `BOOT_IMAGE=`) without string surgery.
public struct KernelCommandLine: Sendable, Equatable, Codable, CustomStringConvertible {
    public var parameters: [String]

    public init(_ text: String) {
        parameters = text.split(separator: " ").map(String.init)
    }

    public init(parameters: [String]) { self.parameters = parameters }

    public func appending(_ parameters: String...) -> KernelCommandLine {
        KernelCommandLine(parameters: self.parameters + parameters)
    }

    /// What a boot loader puts in front, e.g. `BOOT_IMAGE=/bzImage`.
    public func prepending(_ other: KernelCommandLine) -> KernelCommandLine {
        KernelCommandLine(parameters: other.parameters + parameters)
    }

    public var description: String { parameters.joined(separator: " ") }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }
}

/// A firmware file QEMU starts with `-bios`: a file of the host with the Debian package that provides it, or an
/// artifact of the build (a relative name in the output folder).
public struct FirmwareFile: Sendable, Equatable, Codable {
    public var path: String
    public var package: String?

    public var isArtifact: Bool { !path.hasPrefix("/") }

    public func url(in folder: URL) -> URL { isArtifact ? folder.appendingPathComponent(path) : URL(fileURLWithPath: path) }

    public init(path: String, package: String?) {
        self.path = path
        self.package = package
    }
}

/// A disk QEMU attaches: an artifact of the output folder and how the guest sees it.
public struct PlannedDisk: Sendable, Equatable, Codable {
    public var artifact: String
    public var attachment: DiskAttachment

    public init(artifact: String, attachment: DiskAttachment) {
        self.artifact = artifact
        self.attachment = attachment
    }
}

/// One way of booting a board in QEMU, decided before anything is built: what QEMU starts (the kernel, or
/// firmware that reads a disk), which artifacts of the output folder it needs, the command line the kernel must
/// end up with, and the console checks that prove the boot took this path.
public struct BootPlan: Sendable, Equatable, Codable {
    /// `kernel`, a board's boot method (`uboot`, `disk`), or `rootfs-ext4`.
    public var name: String
    public var board: String
    /// The guest's architecture as board files name it: KVM only where the host has the same.
    public var arch: String
    /// CPU flags of which the host needs one for KVM (the architecture's `kvm_cpu_flags`).
    public var kvmCPUFlags: [String]
    public var qemu: QEMUSpec
    /// The Debian package that provides `qemu.binary`, from the architecture's data.
    public var qemuPackage: String?
    public var kernel: String
    public var initramfs: String
    /// Given with `-dtb` when `qemu.dtb` is set and QEMU starts the kernel itself.
    public var deviceTree: String?
    public var firmware: FirmwareFile?
    /// An artifact QEMU loads in place of the kernel (`-kernel`): the boot loader the build made.
    public var loader: String?
    public var disks: [PlannedDisk]
    /// What /proc/cmdline must say: passed with `-append` when QEMU starts the kernel, else what the boot loader
    /// on the disk is expected to pass.
    public var cmdline: KernelCommandLine
    /// Console checks beyond `uname -m` and /proc/cmdline.
    public var checks: [GuestCheck]
    /// `uname -m` in the guest.
    public var expectedMachine: String
    /// The script in the output folder that boots this way on a terminal.
    public var runScript: String
    /// Whether the boot reads disk or root file system images (made by `build --images`).
    public var needsImages: Bool
    /// Given to the firmware with `-dtb`: U-Boot's own tree holding a verified boot key, for a U-Boot that takes
    /// its tree from QEMU.
    public var firmwareDeviceTree: String?
    /// For a boot of the U-Boot that holds a signing board's key: what proves it checked the signature, and the
    /// tampered images it must refuse.
    public var verifiedBoot: VerifiedBootPlan?

    public init(name: String, board: String, arch: String, kvmCPUFlags: [String], qemu: QEMUSpec, qemuPackage: String?, kernel: String, initramfs: String, deviceTree: String?,
                firmware: FirmwareFile?, loader: String?, disks: [PlannedDisk], cmdline: KernelCommandLine, checks: [GuestCheck],
                expectedMachine: String, runScript: String, needsImages: Bool, firmwareDeviceTree: String? = nil, verifiedBoot: VerifiedBootPlan? = nil) {
        self.name = name
        self.board = board
        self.arch = arch
        self.kvmCPUFlags = kvmCPUFlags
        self.qemu = qemu
        self.qemuPackage = qemuPackage
        self.kernel = kernel
        self.initramfs = initramfs
        self.deviceTree = deviceTree
        self.firmware = firmware
        self.loader = loader
        self.disks = disks
        self.cmdline = cmdline
        self.checks = checks
        self.expectedMachine = expectedMachine
        self.runScript = runScript
        self.needsImages = needsImages
        self.firmwareDeviceTree = firmwareDeviceTree
        self.verifiedBoot = verifiedBoot
    }

    /// The log of this boot's headless test.
    public var logName: String { name == "kernel" ? "boot-test" : "boot-test-\(name)" }
}

extension QEMUCommandLine {
    /// The command line for `plan` with the artifacts of the output `folder`.
    public init(plan: BootPlan, folder: URL, accelerator: Accelerator) throws(QEMUError) {
        try self.init(board: plan.board, guestArch: plan.arch, spec: plan.qemu,
                      artifacts: BootArtifacts(kernel: folder.appendingPathComponent(plan.kernel),
                                               initramfs: folder.appendingPathComponent(plan.initramfs),
                                               deviceTree: plan.deviceTree.map { folder.appendingPathComponent($0) }),
                      accelerator: accelerator, firmware: plan.firmware.map { $0.url(in: folder) },
                      loader: plan.loader.map { folder.appendingPathComponent($0) },
                      disks: plan.disks.map { QEMUDisk(image: folder.appendingPathComponent($0.artifact), attachment: $0.attachment) },
                      cmdline: plan.cmdline.description, firmwareDeviceTree: plan.firmwareDeviceTree.map { folder.appendingPathComponent($0) })
        kvmCPUFlags = plan.kvmCPUFlags
        qemuPackage = plan.qemuPackage
    }
}

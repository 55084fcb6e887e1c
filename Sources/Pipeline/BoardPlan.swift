import BoardModel
import Foundation
import QEMU

/// How QEMU starts a board: its kernel directly (the default), through firmware from a disk image (a named
/// `boot` method), or its kernel directly with the ext4 root file system attached and switched to.
public enum BootSelection: Sendable, Equatable {
    case kernel
    case method(String)
    case rootfs

    /// From `--boot METHOD` and `--rootfs ext4`.
    public init(method: String?, rootfs: String?) throws(PlanError) {
        switch (method, rootfs) {
        case (nil, nil), ("kernel"?, nil): self = .kernel
        case (let name?, nil): self = .method(name)
        case (nil, "ext4"?): self = .rootfs
        case (nil, let other?): throw PlanError("--rootfs \(other): the only root file system image is 'ext4'")
        default: throw PlanError("--boot and --rootfs cannot be combined: a firmware boot uses the disk image's own files")
        }
    }

    public var label: String {
        switch self {
        case .kernel: "kernel"
        case .method(let name): name
        case .rootfs: "rootfs-ext4"
        }
    }
}

/// A request the board cannot satisfy (a boot method it does not have), found before anything is built.
public struct PlanError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One stage of the plan as `bspgen show --plan` prints it: what it reads and what it makes.
public struct PlannedStage: Sendable, Equatable, Codable {
    public var name: String
    public var inputs: [String]
    public var outputs: [String]
    /// The chain it belongs to when chains build at the same time (`kernel`, `busybox`, `bootloader`); nil for
    /// stages that wait for all of them.
    public var lane: String? = nil
}

extension Array where Element == PlannedStage {
    func inLane(_ lane: String) -> [PlannedStage] { map { var stage = $0; stage.lane = lane; return stage } }
}

/// Every decision of a board's build, made once from the resolved board and the options before anything runs:
/// artifact names, the stages with their inputs and outputs, and one `BootPlan` per way QEMU can boot it. The
/// pipeline executes it; the QEMU runner takes one of its boot plans; `bspgen show --plan` prints it.
public struct BoardPlan: Sendable {
    public let board: ResolvedBoard
    public let names: ArtifactNames
    /// Disk images, the GRUB loader and the ext4 root are made too.
    public let includeImages: Bool
    public let stages: [PlannedStage]
    /// The direct kernel boot first, then the boot methods by name, then the ext4 root; empty for boards QEMU
    /// cannot emulate.
    public let boots: [BootPlan]

    public init(board: ResolvedBoard, includeImages: Bool = false) {
        self.board = board
        self.includeImages = includeImages
        names = ArtifactNames(board: board.board)
        boots = Self.boots(board, names: names)
        stages = Self.stages(board, names: names, includeImages: includeImages, boots: boots)
    }

    /// The boot plans whose `run-qemu*.sh` go into the output: with images, those of every boot path.
    public var runScriptBoots: [BootPlan] { boots.filter { includeImages || !$0.needsImages } }

    public func boot(_ selection: BootSelection) throws(PlanError) -> BootPlan {
        guard board.qemuBootable else {
            throw PlanError("\(board.name) has no qemu section: QEMU cannot emulate it, so it has no boot paths")
        }
        if let plan = boots.first(where: { $0.name == selection.label }) { return plan }
        switch selection {
        case .rootfs:
            throw PlanError("board \(board.name) has no 'rootfs' section with 'attach': it has no ext4 root file system to boot")
        default:
            throw PlanError("board \(board.name) has no boot method '\(selection.label)'; it has: "
                            + boots.filter { $0.name != "rootfs-ext4" }.map(\.name).joined(separator: ", "))
        }
    }

    static func boots(_ resolved: ResolvedBoard, names: ArtifactNames) -> [BootPlan] {
        let board = resolved.board
        guard let qemu = board.qemu else { return [] }
        let cmdline = KernelCommandLine(board.cmdline)
        func plan(_ name: String, firmware: FirmwareFile? = nil, loader: String? = nil, disks: [PlannedDisk] = [], cmdline: KernelCommandLine,
                  checks: [GuestCheck] = [], needsImages: Bool = false,
                  verifiedBoot: (firmwareDeviceTree: String?, plan: VerifiedBootPlan?) = (nil, nil)) -> BootPlan {
            BootPlan(name: name, board: board.name, arch: board.arch, kvmCPUFlags: resolved.architecture.kvmCPUFlags ?? [], qemu: qemu,
                     qemuPackage: resolved.architecture.qemuPackages?[qemu.binary], kernel: names.kernel, initramfs: names.initramfs,
                     deviceTree: names.deviceTrees.first, firmware: firmware, loader: loader, disks: disks, cmdline: cmdline,
                     checks: bootargsCheck(resolved, cmdline: cmdline) + checks
                        + (qemu.checks ?? []).map { GuestCheck(name: $0.name, command: $0.command, expected: $0.expect) },
                     expectedMachine: resolved.toolchain.expectedUnameMachine,
                     runScript: name == "kernel" ? "run-qemu.sh" : "run-qemu-\(name).sh", needsImages: needsImages,
                     firmwareDeviceTree: verifiedBoot.firmwareDeviceTree, verifiedBoot: verifiedBoot.plan)
        }
        var plans = [plan("kernel", cmdline: cmdline)]
        for (name, method) in (board.boot ?? [:]).sorted(by: { $0.key < $1.key }) {
            plans.append(plan(name, firmware: method.firmware.map { FirmwareFile(path: $0, package: method.package) }, loader: method.loader,
                              disks: [PlannedDisk(artifact: method.disk, attachment: method.attach)],
                              cmdline: cmdline.prepending(KernelCommandLine(method.cmdlinePrefix ?? "")), needsImages: true,
                              verifiedBoot: verifiedBoot(board, method: method)))
        }
        if let rootfs = board.rootfs, let attachment = rootfs.attach {
            let check = GuestCheck(name: "root file system", command: "awk '$2 == \"/\" { r = $1 \" \" $3 } END { print r }' /proc/mounts",
                                   expected: "\(rootfs.resolvedDevice) ext4")
            plans.append(plan("rootfs-ext4", disks: [PlannedDisk(artifact: RootFilesystemSpec.imageName, attachment: attachment)],
                              cmdline: cmdline.appending("bspgen.root=" + rootfs.resolvedDevice), checks: [check], needsImages: true))
        }
        return plans
    }

    /// The kernel's /chosen/bootargs is what it was given (QEMU's -append or the boot loader replace the tree's),
    /// so on a board booted with a device tree it must equal this boot's command line.
    static func bootargsCheck(_ resolved: ResolvedBoard, cmdline: KernelCommandLine) -> [GuestCheck] {
        guard !ArtifactNames(board: resolved.board).deviceTrees.isEmpty, resolved.board.deviceTree?.chosen?.bootargs != false else { return [] }
        return [GuestCheck(name: "dt /chosen/bootargs", command: "tr -d '\\000' < '/proc/device-tree/chosen/bootargs'; echo",
                           expected: cmdline.description)]
    }

    static func stages(_ resolved: ResolvedBoard, names: ArtifactNames, includeImages: Bool, boots: [BootPlan]) -> [PlannedStage] {
        let board = resolved.board
        let files: ([URL]) -> [String] = { $0.map(\.lastPathComponent) }
        func patches(_ component: String, _ series: [URL]) -> [PlannedStage] {
            series.isEmpty ? [] : [PlannedStage(name: "\(component) patches", inputs: ["pristine \(component) source"] + files(series),
                                                outputs: ["patched copy of the tree"])]
        }
        var stages: [PlannedStage] = FirmwareStage.planned(board) + ([
            PlannedStage(name: "kernel source", inputs: [board.kernel.resolvedSource.description], outputs: ["unpacked tree"]),
        ] + patches("kernel", resolved.kernelPatches) + [
            PlannedStage(name: "kernel config", inputs: ["source", "toolchain", "toolchain's kernel_requires", "base \(board.kernel.baseConfig)"] + files(resolved.kernelFragments),
                         outputs: [".config", "defconfig"]),
            PlannedStage(name: "kernel image", inputs: ["kernel config", "epoch"], outputs: [names.kernel] + (board.kernel.deviceTrees ?? [])),
            PlannedStage(name: "kernel modules", inputs: ["kernel image", "when the config has CONFIG_MODULES=y"] + files(resolved.externalModules),
                         outputs: ["lib/modules/<release>", KernelModulesBuilder.archiveName]),
        ]).inLane("kernel") + ([
            PlannedStage(name: "busybox source", inputs: [board.busybox.resolvedSource.description], outputs: ["unpacked tree"]),
        ] + patches("busybox", resolved.busyboxPatches) + [
            PlannedStage(name: "busybox", inputs: ["source", "toolchain"] + files(resolved.busyboxFragments), outputs: ["bin/busybox", "applet links"]),
        ]).inLane("busybox")
        if let bootloader = board.bootloader {
            stages += ([
                PlannedStage(name: "bootloader source", inputs: [bootloader.resolvedSource.description], outputs: ["unpacked tree"]),
            ] + patches("bootloader", resolved.bootloaderPatches) + [
                PlannedStage(name: "bootloader", inputs: ["source", "toolchain", bootloader.defconfigTarget] + files(resolved.bootloaderFragments)
                                + (bootloader.bootcommand.map { _ in ["bootcommand"] } ?? []), outputs: bootloader.artifacts.map(\.name)),
            ]).inLane("bootloader")
        }
        stages += [
            PlannedStage(name: "initramfs", inputs: ["busybox tree", "kernel modules"] + files(resolved.overlays) + files(resolved.lists)
                            + [resolved.initScript.lastPathComponent, "epoch", "compression"], outputs: [names.initramfs]),
        ]
        if !names.deviceTrees.isEmpty {
            let origin = board.deviceTree?.resolvedOrigin == .qemu ? "QEMU's tree for \(board.qemu?.machine ?? "")" : "kernel dtbs"
            stages.append(PlannedStage(name: "device trees", inputs: [origin, "cmdline"] + files(resolved.deviceTreeOverlays),
                                       outputs: names.deviceTrees + (names.firmwareDeviceTree.map { [$0] } ?? [])))
        }
        if let bootFiles = board.bootFiles, !bootFiles.isEmpty {
            stages.append(PlannedStage(name: "boot files", inputs: files(resolved.bootFileTemplates) + ["cmdline", "artifact names"],
                                       outputs: bootFiles.map(\.name)))
        }
        if let fit = board.fitImage {
            if let signing = fit.signing, let bootloader = board.bootloader {
                stages.append(PlannedStage(name: "bootloader key", inputs: ["bootloader", "\(signing.algorithm.rawValue) key '\(signing.keyName)'",
                                                                            "required \(signing.required.rawValue)",
                                                                            "control tree \(bootloader.resolvedControlTree.rawValue)"],
                                           outputs: [VerifiedBootNames.publicKeyTree] + (bootloader.resolvedControlTree == .uBoot ? bootloader.artifacts.map(\.name) : [])))
            }
            stages.append(PlannedStage(name: "FIT image", inputs: [names.kernel, names.firmwareDeviceTree ?? names.deviceTrees.first ?? "",
                                                                   names.initramfs, "fit_image section"].filter { !$0.isEmpty }
                                                                   + (fit.signing.map { ["signed with key '\($0.keyName)'"] } ?? []),
                                       outputs: [fit.name, fit.sourceName]))
        }
        if includeImages {
            if let grub = board.grub {
                stages.append(PlannedStage(name: "GRUB", inputs: ["\(grub.format) modules"] + grub.modules, outputs: [grub.name]))
            }
            if board.rootfs != nil {
                stages.append(PlannedStage(name: "root file system", inputs: ["initramfs tree", "size"], outputs: [RootFilesystemSpec.imageName]))
            }
            for disk in board.diskImages ?? [] {
                let contents = disk.partitions.flatMap { partition in partition.image.map { [$0] } ?? (partition.files ?? []).map(\.from) }
                stages.append(PlannedStage(name: "disk image \(disk.name)", inputs: ["\(disk.table.rawValue) table"] + contents, outputs: [disk.name]))
            }
        }
        let scripts = boots.filter { includeImages || !$0.needsImages }.map(\.runScript)
        // The walk of the builds is keyed by the builds alone: a changed initramfs or image remakes only the SBOMs.
        let built = ["kernel image", ".config"] + ((board.kernel.deviceTrees ?? []).isEmpty ? [] : ["dtbs"])
            + ["kernel modules", "busybox"] + (board.bootloader == nil ? [] : ["bootloader"])
        stages.append(PlannedStage(name: "file lists", inputs: built + ["sources", "patches", "toolchain", "size, mtime and inode of every file read"],
                                   outputs: ["each component's files with their licences"]))
        stages.append(PlannedStage(name: "sbom", inputs: ["file lists", "every artifact above", "components.yaml", "toolchain packages"],
                                   outputs: [SBOMStage.spdxName, SBOMStage.cycloneDXName, "licences/*-files.tsv"]))
        // Kept in the cache, so made before the output folder: a full cache disk fails before out/BOARD changes.
        stages.append(PlannedStage(name: "kernel sizes", inputs: ["vmlinux", names.kernel], outputs: ["size of each object linked into vmlinux"]))
        stages.append(PlannedStage(name: "output folder", inputs: ["every artifact above"],
                                   outputs: ["manifest.json", "linux.config", "linux.defconfig"] + scripts))
        // The build's account, beside the output folder and outside its manifest (host timings).
        stages.append(PlannedStage(name: "report", inputs: ["this run's stages", "kernel sizes", "every artifact", "the last test's verdicts"],
                                   outputs: ["report.html", "report.json"]))
        return stages
    }
}

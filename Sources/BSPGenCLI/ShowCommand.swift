import ArgumentParser
import BoardModel
import Pipeline
import Foundation
import QEMU

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a board's resolved description: its toolchain, sources and absolute file paths.")

    @OptionGroup var project: ProjectOptions

    @Argument(help: "Board name (see 'bspgen list').")
    var board: String

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "Print the build plan instead, as 'make -n' would: every stage with its inputs and outputs, and each boot path.")
    var plan = false

    @Flag(help: "With --plan: the plan of 'build --images' (disk images, GRUB, the ext4 root).")
    var images = false

    struct Shown: Encodable {
        var name: String
        var description: String
        var file: String
        var arch: String
        var toolchain: Toolchain
        var kernel: KernelSpec
        var kernelSource: String
        var kernelFragments: [String]
        var cmdline: String
        var console: String
        var busyboxSource: String
        var busyboxFragments: [String]
        var initramfs: InitramfsSpec
        var overlays: [String]
        var lists: [String]
        var initScript: String
        var qemu: QEMUSpec?
        var validation: String
    }

    func run() throws {
        let resolved = try project.board(board)
        if plan { return try printPlan(BoardPlan(board: resolved, includeImages: images)) }
        let board = resolved.board
        let shown = Shown(name: board.name, description: board.description, file: resolved.file.path, arch: board.arch,
                          toolchain: resolved.toolchain, kernel: board.kernel, kernelSource: board.kernel.resolvedSource.description,
                          kernelFragments: resolved.kernelFragments.map(\.path), cmdline: board.cmdline, console: board.console,
                          busyboxSource: board.busybox.resolvedSource.description, busyboxFragments: resolved.busyboxFragments.map(\.path),
                          initramfs: board.initramfsSpec, overlays: resolved.overlays.map(\.path), lists: resolved.lists.map(\.path),
                          initScript: resolved.initScript.path, qemu: board.qemu,
                          validation: resolved.qemuBootable ? "QEMU boot" : "artifact check (QEMU cannot emulate this board)")
        if json { return try printJSON(shown) }
        let toolchain = resolved.toolchain
        var lines = [
            "\(board.name): \(board.description)",
            "  file:        \(shown.file)",
            "  arch:        \(board.arch) (kernel ARCH=\(toolchain.kernelArch))",
            "  toolchain:   \(toolchain.name) (CROSS_COMPILE=\(toolchain.crossCompile), Debian: \(toolchain.debianPackages.joined(separator: " ")), GCC >= \(toolchain.minGCCVersion))",
            "  kernel:      \(shown.kernelSource); \(board.kernel.baseConfig) + \(shown.kernelFragments.count) fragment(s) -> \(board.kernel.image.rawValue)",
        ]
        lines += shown.kernelFragments.map { "               fragment \($0)" }
        lines += (board.kernel.deviceTrees ?? []).map { "               device tree \($0)" }
        lines += [
            "  cmdline:     \(board.cmdline)",
            "  console:     \(board.console)",
            "  busybox:     \(shown.busyboxSource); defconfig + \(shown.busyboxFragments.count) fragment(s), static",
            "  initramfs:   \(board.initramfsSpec.resolvedCompression.rawValue); init \(shown.initScript)",
        ]
        lines += shown.overlays.map { "               overlay \($0)" } + shown.lists.map { "               list \($0)" }
        if let qemu = board.qemu {
            var machine = "\(qemu.binary) -M \(qemu.machine)"
            if let cpu = qemu.cpu { machine += " -cpu \(cpu)" }
            machine += " -m \(qemu.memory)"
            if qemu.dtb == true { machine += " -dtb <board dtb>" }
            lines.append("  qemu:        \(machine) \((qemu.extraArgs ?? []).joined(separator: " "))")
        } else {
            lines.append("  qemu:        none: QEMU cannot emulate this board; artifacts are checked instead")
        }
        print(lines.joined(separator: "\n"))
    }

    struct ShownPlan: Encodable {
        var board: String
        var images: Bool
        var stages: [PlannedStage]
        var boots: [BootPlan]
    }

    func printPlan(_ plan: BoardPlan) throws {
        if json { return try printJSON(ShownPlan(board: plan.board.name, images: plan.includeImages, stages: plan.stages, boots: plan.boots)) }
        var lines = ["\(plan.board.name): build plan\(plan.includeImages ? " with images" : "") (each stage runs only when its inputs changed)"]
        let lanes = Set(plan.stages.compactMap(\.lane))
        for stage in plan.stages {
            let beside = stage.lane.map { lane in lanes.subtracting([lane]).sorted() } ?? []
            lines.append("  \(stage.name)" + (beside.isEmpty ? "" : " [\(stage.lane ?? "") chain, at the same time as: \(beside.joined(separator: ", "))]"))
            lines.append("      from: \(stage.inputs.joined(separator: ", "))")
            lines.append("      makes: \(stage.outputs.joined(separator: ", "))")
        }
        if plan.boots.isEmpty { lines.append("  boot: none (QEMU cannot emulate this board; its artifacts are checked)") }
        for boot in plan.boots {
            var parts: [String] = []
            if let firmware = boot.firmware { parts.append("firmware \(firmware.path)" + (firmware.package.map { " (\($0))" } ?? " (built)")) }
            if let loader = boot.loader { parts.append("loader \(loader) (built)") }
            if let tree = boot.firmwareDeviceTree { parts.append("its tree \(tree) (-dtb)") }
            var how = parts.isEmpty ? "kernel \(boot.kernel) + \(boot.initramfs)" : parts.joined(separator: ", ")
            if !boot.disks.isEmpty { how += ", disk " + boot.disks.map { "\($0.artifact) (\($0.attachment.rawValue))" }.joined(separator: ", ") }
            lines.append("  boot \(boot.name)\(boot.needsImages ? " (needs --images)" : ""): \(how); script \(boot.runScript)")
            lines.append("      cmdline: \(boot.cmdline)")
            for check in boot.checks { lines.append("      check \(check.name): \(check.expected)") }
            if let verified = boot.verifiedBoot {
                lines.append("      check \(verified.verified.name): \(verified.verified.summary)")
                for refusal in verified.refusals {
                    lines.append("      refuses \(verified.fit) \(refusal.tampering.rawValue): \(refusal.expectation.summary)")
                }
            }
        }
        print(lines.joined(separator: "\n"))
    }
}

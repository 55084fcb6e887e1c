import BoardModel
import DeviceTree
import Foundation
import Host
import QEMU

/// The board's device trees as they go into its output: the kernel's dtbs (or the tree QEMU makes for its
/// machine) with the board's overlays applied and `/chosen` filled in.
public struct DeviceTreeArtifacts: Sendable {
    /// Output name and file, in the board's order; the first is the one QEMU and `@DTB@` use.
    public var files: [(name: String, url: URL)]
    /// Console checks that the guest booted with the first of these trees.
    public var guestChecks: [GuestCheck]
    /// QEMU's tree as the FIT image's firmware sees the machine (`ArtifactNames.firmwareDeviceTree`), patched
    /// the same way; the FIT image holds it.
    public var firmwareTree: (name: String, url: URL)?
    /// That tree as QEMU dumped it, before bspgen patched it: U-Boot's own tree on QEMU (`bootloader.control_dtb: qemu`).
    public var firmwareBaseTree: URL?
}

public struct DeviceTreeBuilder: Sendable {
    public let environment: BuildEnvironment
    /// Files made by earlier stages (the boot loader's) by artifact name, for a firmware that is one of them.
    public var builtFiles: [String: URL]

    public init(environment: BuildEnvironment, builtFiles: [String: URL] = [:]) {
        self.environment = environment
        self.builtFiles = builtFiles
    }

    var board: ResolvedBoard { environment.board }
    var spec: DeviceTreeSpec { board.board.deviceTree ?? DeviceTreeSpec() }
    var directory: URL { environment.buildDirectory.appendingPathComponent("device-trees", isDirectory: true) }

    /// QEMU's generated tree carries fresh random seeds on every dump; Linux takes them from QEMU at boot
    /// anyway, and leaving them in would make the dtb differ on every build.
    static let volatileChosenProperties = ["rng-seed", "kaslr-seed"]

    /// Done again only when a base tree, an overlay, the command line, the board's device_tree section, the
    /// initramfs size (when /chosen gives the initrd's place) or, for QEMU's tree, QEMU or its machine changed.
    public func build(kernelDeviceTrees: [URL], initramfsSize: Int) async throws -> DeviceTreeArtifacts {
        var key = StageKey()
        key.add("stage", "device-trees-1")
        switch spec.resolvedOrigin {
        case .kernel:
            for dtb in kernelDeviceTrees { try key.addFile("kernel dtb", dtb) }
        case .qemu:
            guard let qemu = board.board.qemu else { return DeviceTreeArtifacts(files: [], guestChecks: []) }
            key.add("qemu section", key.encodable(qemu))
            let binary = ProcessRunner.which(qemu.binary)
            let attributes = binary.flatMap { try? FileManager.default.attributesOfItem(atPath: $0.path) }
            let size = (attributes?[.size] as? NSNumber)?.intValue ?? -1
            let mtime = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            key.add("qemu binary", "\(binary?.path ?? qemu.binary) \(size) \(mtime)")
        }
        for overlay in board.deviceTreeOverlays { try key.addFile("overlay", overlay) }
        key.add("cmdline", board.board.cmdline)
        key.add("device_tree section", key.encodable(spec))
        if spec.chosen?.initrdAddress != nil { key.add("initramfs size", String(initramfsSize)) }
        // The tree QEMU makes under the firmware that loads the FIT (see firmwareBaseTree).
        let firmwareName = ArtifactNames(board: board.board).firmwareDeviceTree
        if let method = board.board.fitImage?.bootMethod, firmwareName != nil {
            key.add("firmware", key.encodable(board.board.boot?[method]))
        }
        let names = outputNames(kernelDeviceTrees)
        let firmwareOutput = firmwareName.map { ($0, directory.appendingPathComponent($0)) }
        let outputs = names.map { directory.appendingPathComponent($0) } + (firmwareOutput.map { [$0.1] } ?? [])
        guard let first = names.first else { return DeviceTreeArtifacts(files: [], guestChecks: []) }
        try await environment.run(Stage("device trees", key: key, record: directory.appendingPathComponent(".bspgen-device-trees.json"),
                                        outputs: outputs)) {
            try await make(kernelDeviceTrees: kernelDeviceTrees, initramfsSize: initramfsSize)
            return StageWork()
        }
        // The console checks compare the first output with the tree it was made from.
        let base = spec.resolvedOrigin == .qemu ? directory.appendingPathComponent(first.replacingOccurrences(of: ".dtb", with: ".orig.dtb"))
            : kernelDeviceTrees[0]
        let checks = try Self.guestChecks(before: try DeviceTreeBlob(contentsOf: base.path),
                                          after: try DeviceTreeBlob(contentsOf: directory.appendingPathComponent(first).path))
        return DeviceTreeArtifacts(files: zip(names, outputs).map { ($0, $1) }, guestChecks: checks, firmwareTree: firmwareOutput,
                                   firmwareBaseTree: firmwareName.map { directory.appendingPathComponent($0.replacingOccurrences(of: ".dtb", with: ".orig.dtb")) })
    }

    /// The output names `make` gives the trees, in the board's order.
    func outputNames(_ kernelDeviceTrees: [URL]) -> [String] {
        switch spec.resolvedOrigin {
        case .kernel: kernelDeviceTrees.map(\.lastPathComponent)
        case .qemu: board.board.qemu.map { ["qemu-\($0.machine).dtb"] } ?? []
        }
    }

    func make(kernelDeviceTrees: [URL], initramfsSize: Int) async throws {
        let progress = environment.progress
        let log = environment.log("device-trees")
        try? FileManager.default.removeItem(at: log)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var bases = try await baseTrees(kernelDeviceTrees, log: log)
        let firmwareTree = try await firmwareBaseTree(log: log)
        if let firmwareTree { bases.append(firmwareTree) }
        guard !bases.isEmpty else { return }
        progress.begin("device trees", "\(bases.count) tree(s), \(board.deviceTreeOverlays.count) overlay(s)")
        var overlays: [(URL, DeviceTreeBlob)] = []
        for file in board.deviceTreeOverlays { overlays.append((file, try await compileOverlay(file, log: log))) }

        var made: [String] = []
        for (name, source) in bases {
            var tree = try DeviceTreeBlob(contentsOf: source.path)
            for (file, overlay) in overlays {
                do {
                    tree = try tree.applying(overlay)
                } catch let error as DeviceTreeError {
                    throw BuildError.deviceTree(file: file.path, message: "cannot be applied to \(name): \(error)"
                        + (error.message.contains("NOTFOUND") ? "\n    hint: a label reference (&label) needs a base tree built with symbols; use target-path for QEMU's tree" : ""))
                }
            }
            try patch(&tree, treeName: name)
            if let expected = spec.compatible {
                let compatible = try tree.property("compatible", at: "/")?.strings ?? []
                guard compatible.contains(expected) else {
                    throw BuildError.deviceTree(file: source.path, message: "the root compatible \(compatible) does not contain '\(expected)' (device_tree.compatible of \(board.file.lastPathComponent))")
                }
            }
            tree.pack()
            tree.zeroPadding()
            let destination = directory.appendingPathComponent(name)
            try AtomicFile.write(Data(tree.bytes), to: destination)
            made.append(name)
        }
        progress.end(made.joined(separator: ", "))

        func patch(_ tree: inout DeviceTreeBlob, treeName: String) throws {
            let chosen = spec.chosen
            let initrd = chosen?.initrdAddress.map { UInt64($0)..<UInt64($0 + initramfsSize) }
            do {
                for property in Self.volatileChosenProperties where try tree.property(property, at: "/chosen") != nil {
                    try tree.deleteProperty(property, at: "/chosen")
                }
                try tree.setChosen(bootargs: chosen?.bootargs == false ? nil : board.board.cmdline, stdoutPath: chosen?.stdoutPath, initrd: initrd)
            } catch let error as DeviceTreeError {
                throw BuildError.deviceTree(file: treeName, message: "cannot set /chosen: \(error)")
            }
        }
    }

    /// QEMU's tree dumped with the firmware of the FIT image's boot method, when the board's trees come from QEMU.
    func firmwareBaseTree(log: URL) async throws -> (String, URL)? {
        let names = ArtifactNames(board: board.board)
        guard let name = names.firmwareDeviceTree, let method = board.board.fitImage?.bootMethod,
              let boot = board.board.boot?[method] else { return nil }
        // The tree depends on whether firmware runs, not on which: a built firmware is given by its artifact.
        var firmware: URL?
        if let path = boot.firmware {
            if boot.firmwareIsHostFile {
                try HostRequirements.requireFile(path, package: boot.package ?? "")
                firmware = URL(fileURLWithPath: path)
            } else {
                guard let artifact = builtFiles[path] else {
                    throw BuildError.deviceTree(file: name, message: "boot.\(method).firmware '\(path)' was not made before the device trees")
                }
                firmware = artifact
            }
        }
        let temporary = directory.appendingPathComponent(".\(name).\(getpid())")
        defer { try? FileManager.default.removeItem(at: temporary) }
        try await ProcessRunner.logged(try QEMUCommandLine.dumpDeviceTreeCommand(board: board.board, to: temporary, firmware: firmware), log: log)
        guard FileManager.default.fileExists(atPath: temporary.path) else {
            throw BuildError.missingOutput(what: "QEMU's device tree dump with \(firmware?.path ?? "no firmware")", path: temporary.path, log: log)
        }
        let dumped = directory.appendingPathComponent(name.replacingOccurrences(of: ".dtb", with: ".orig.dtb"))
        try AtomicFile.replace(dumped, with: temporary)
        return (name, dumped)
    }

    /// The dtbs to start from, with their output names.
    func baseTrees(_ kernelDeviceTrees: [URL], log: URL) async throws -> [(String, URL)] {
        switch spec.resolvedOrigin {
        case .kernel:
            return kernelDeviceTrees.map { ($0.lastPathComponent, $0) }
        case .qemu:
            guard let machine = board.board.qemu?.machine else { return [] }
            let name = "qemu-\(machine).dtb"
            let temporary = directory.appendingPathComponent(".\(name).\(getpid())")
            defer { try? FileManager.default.removeItem(at: temporary) }
            try await ProcessRunner.logged(try QEMUCommandLine.dumpDeviceTreeCommand(board: board.board, to: temporary), log: log)
            guard FileManager.default.fileExists(atPath: temporary.path) else {
                throw BuildError.missingOutput(what: "QEMU's device tree dump", path: temporary.path, log: log)
            }
            let dumped = directory.appendingPathComponent("qemu-\(machine).orig.dtb")
            try AtomicFile.replace(dumped, with: temporary)
            return [(name, dumped)]
        }
    }

    func compileOverlay(_ source: URL, log: URL) async throws -> DeviceTreeBlob {
        let output = directory.appendingPathComponent(source.deletingPathExtension().lastPathComponent + ".dtbo")
        try await ProcessRunner.logged(Command("dtc", ["-@", "-I", "dts", "-O", "dtb", "-o", output.path, source.path]), log: log)
        do {
            return try DeviceTreeBlob(contentsOf: output.path)
        } catch {
            throw BuildError.deviceTree(file: source.path, message: "dtc's output does not read back: \(error)")
        }
    }

    /// What the guest's `/proc/device-tree` must show if it booted with `after`: the model, `/chosen`, and
    /// every single-string property the overlays set.
    static func guestChecks(before: DeviceTreeBlob, after: DeviceTreeBlob) throws -> [GuestCheck] {
        // /chosen/bootargs is not the tree's to check: each boot plan expects its own command line there.
        var wanted: [(path: String, name: String)] = [("/", "model"), ("/chosen", "stdout-path")]
        for change in try DeviceTreeDiff(from: before, to: after).changes {
            switch change {
            case let .propertyChanged(path, _, new), let .propertyAdded(path, new): wanted.append((path, new.name))
            default: break
            }
        }
        var checks: [GuestCheck] = []
        var seen: Set<String> = []
        for (path, name) in wanted where !(path == "/chosen" && name == "bootargs") && seen.insert(path + "/" + name).inserted {
            guard let value = try? after.property(name, at: path)?.strings, value.count == 1, let text = value.first,
                  !text.isEmpty, text.allSatisfy({ $0.isASCII && !$0.isNewline }) else { continue }
            let file = "/proc/device-tree" + (path == "/" ? "" : path) + "/" + name
            checks.append(GuestCheck(name: "dt \(path == "/" ? "" : path)/\(name)", command: "tr -d '\\000' < '\(file)'; echo", expected: text))
        }
        return checks
    }
}

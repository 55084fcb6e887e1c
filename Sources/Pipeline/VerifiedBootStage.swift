import BoardModel
import DeviceTree
import Foundation
import Host
import Kconfig

/// What verified boot adds to a signing board's build: U-Boot's device tree with the public key (an artifact,
/// `u-boot-pubkey.dtb`), U-Boot's files made again with it, and the key the FIT is signed with.
public struct VerifiedBootArtifacts: Sendable {
    public var key: SigningKey
    /// U-Boot's control tree holding `/signature/key-NAME`: what U-Boot checks signatures against.
    public var publicKeyTree: URL
    /// The boot loader's files with the key in them (`control_dtb: u-boot`), else the build's own.
    public var bootloaderFiles: [(name: String, url: URL)]
    /// `fit_check_sign` of the same U-Boot source, built with it: the offline check of `bspgen test`.
    public var fitCheckSign: URL
}

/// Puts the public key of a signing board into the device tree U-Boot runs with. Where that tree is depends on how
/// U-Boot gets it (`bootloader.control_dtb`): appended to U-Boot by its build (U-Boot is made again with
/// `EXT_DTB=` the tree with the key, as U-Boot's doc/uImage.FIT/beaglebone_vboot.txt does), or handed over by QEMU
/// (the key goes into QEMU's tree of the machine, which the boot gives QEMU with `-dtb`, as U-Boot's
/// doc/develop/devicetree/dt_qemu.rst describes; U-Boot refuses to be built without `CONFIG_OF_BOARD` there).
struct VerifiedBootStage {
    let environment: BuildEnvironment
    var board: ResolvedBoard { environment.board }

    func build(key: SigningKey, bootloader: BootloaderArtifacts, firmwareBaseTree: URL?) async throws -> VerifiedBootArtifacts {
        guard let spec = board.board.bootloader, let signing = board.board.fitImage?.signing else {
            throw BuildError.signing(file: board.file.lastPathComponent, message: "the board has no bootloader section to put the key into", hint: nil)
        }
        try checkOptions(signing, spec: spec, bootloader: bootloader)
        let buildDirectory = bootloader.config.deletingLastPathComponent()
        let shared = buildDirectory.deletingLastPathComponent()
        let baseTree = try controlTree(spec, buildDirectory: buildDirectory, firmwareBaseTree: firmwareBaseTree)

        var stageKey = StageKey()
        stageKey.add("stage", "bootloader-key-1")
        stageKey.add("bootloader build", shared.lastPathComponent)
        for file in bootloader.files { try stageKey.addFile("bootloader file", file.url) }
        stageKey.add("public key", key.publicKeySHA256)
        stageKey.add("algorithm", signing.algorithm.rawValue)
        stageKey.add("key name", signing.keyName)
        stageKey.add("required", signing.required.rawValue)
        stageKey.add("control tree", spec.resolvedControlTree.rawValue)
        stageKey.add("control tree content", Checksum.sha256(Data(baseTree.bytes)))
        stageKey.add("epoch", String(environment.sourceDateEpoch))
        let folder = shared.appendingPathComponent("keyed-\(stageKey.value.prefix(16))", isDirectory: true)
        let publicKeyTree = folder.appendingPathComponent(VerifiedBootNames.publicKeyTree)
        let tool = folder.appendingPathComponent("fit_check_sign")
        let files = spec.resolvedControlTree == .uBoot
            ? spec.artifacts.map { (name: $0.name, url: folder.appendingPathComponent("files/\($0.name)")) } : bootloader.files
        var stage = Stage("bootloader key", key: stageKey, record: folder.appendingPathComponent("record.json"),
                          outputs: [publicKeyTree, tool] + (spec.resolvedControlTree == .uBoot ? files.map(\.url) : []), logName: "bootloader-key")
        stage.history = environment.buildDirectory.appendingPathComponent(".bspgen-bootloader-key.json")
        stage.skipNote = "inputs unchanged (\(folder.lastPathComponent))"
        // The U-Boot build folder is shared by every board with the same boot loader inputs: one make in it at a time.
        _ = try await FileLock.withLock(environment.workspace.lock("bootloader-\(shared.lastPathComponent)"),
                                    onWait: { environment.progress.note("[bootloader key] waiting for another build of \(shared.lastPathComponent)") }) {
            try await environment.run(stage) {
                try await make(signing, spec: spec, key: key, baseTree: baseTree, bootloader: bootloader, folder: folder)
                return StageWork(detail: "\(signing.algorithm.rawValue) key '\(signing.keyName)' required for \(signing.required.rawValue)")
            }
        }
        return VerifiedBootArtifacts(key: key, publicKeyTree: publicKeyTree, bootloaderFiles: files, fitCheckSign: tool)
    }

    /// The options verified boot needs, proven on the U-Boot build's `.config` like a fragment's: every build, since
    /// a board may start signing without its U-Boot changing.
    func checkOptions(_ signing: FITSigningSpec, spec: BootloaderSpec, bootloader: BootloaderArtifacts) throws {
        let required = signing.requiredBootloaderOptions(controlTree: spec.resolvedControlTree)
        let text = required.map(\.line).joined(separator: "\n") + "\n"
        let requested = try KconfigFile.parse(text: text, name: "verified boot").assignments
        let obtained = try KconfigFile.load(bootloader.config, name: bootloader.config.path)
        var problems = KconfigCheck.check(requested: requested, obtained: obtained, index: nil)
        guard !problems.isEmpty else { return }
        if let index = try? KconfigIndex.scan(tree: bootloader.source.root) {
            problems = KconfigCheck.check(requested: requested, obtained: obtained, index: index)
        }
        let lines = problems.map { problem -> String in
            let why = required.first { $0.line.contains("CONFIG_\(problem.symbol)=") || $0.line.contains("CONFIG_\(problem.symbol) ") }?.why ?? ""
            let got = problem.obtained.map { $0 == .tristate(.no) ? "not set" : $0.description } ?? "not set"
            return "  CONFIG_\(problem.symbol)=\(problem.requested) (\(why)): the config has \(got)" + (problem.explanation.map { " — \($0)" } ?? "")
        }
        throw BuildError.signing(file: board.file.lastPathComponent,
                                 message: "U-Boot '\(spec.defconfigTarget)' as configured for \(board.name) cannot verify the signature; it lacks:\n"
                                    + lines.joined(separator: "\n") + "\n    config: \(bootloader.config.path)",
                                 hint: "add these lines to one of bootloader.fragments:\n      "
                                    + problems.map { $0.requested == .tristate(.no) ? "# CONFIG_\($0.symbol) is not set" : "CONFIG_\($0.symbol)=\($0.requested)" }
                                        .joined(separator: "\n      ")
                                    + (!problems.contains { $0.symbol == "OF_BOARD" } ? ""
                                        : spec.resolvedControlTree == .uBoot
                                        ? "\n    or, if this U-Boot takes its tree from QEMU (CONFIG_OF_BOARD, as on QEMU's virt), set bootloader.control_dtb: qemu"
                                        : "\n    or, if this U-Boot appends a tree of its own build, set bootloader.control_dtb: u-boot"))
    }

    /// The tree U-Boot runs with before the key goes in: the one its build made from its default device tree, or
    /// QEMU's of the machine as U-Boot sees it (without the random seeds QEMU puts in each dump).
    func controlTree(_ spec: BootloaderSpec, buildDirectory: URL, firmwareBaseTree: URL?) throws -> DeviceTreeBlob {
        let file = board.file.lastPathComponent
        var tree: DeviceTreeBlob
        switch spec.resolvedControlTree {
        case .uBoot:
            let values = try KconfigFile.load(buildDirectory.appendingPathComponent(".config")).values
            guard case let .string(name)? = values["DEFAULT_DEVICE_TREE"], !name.isEmpty else {
                throw BuildError.signing(file: file, message: "U-Boot's config names no CONFIG_DEFAULT_DEVICE_TREE: it has no tree of its own to hold the key",
                                         hint: "use a defconfig with a device tree (CONFIG_OF_CONTROL)")
            }
            // arch/<U-Boot's ARCH>/dts/NAME.dtb: EXT_DTB never writes it, unlike dts/dt.dtb, so a new key never finds an old one there.
            let arches = (try? FileManager.default.contentsOfDirectory(atPath: buildDirectory.appendingPathComponent("arch").path)) ?? []
            guard let built = arches.sorted().map({ buildDirectory.appendingPathComponent("arch/\($0)/dts/\(name).dtb") })
                .first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
                throw BuildError.signing(file: file, message: "U-Boot's build made no \(name).dtb under \(buildDirectory.path)/arch/*/dts", hint: nil)
            }
            tree = try DeviceTreeBlob(contentsOf: built.path)
        case .qemu:
            guard let firmwareBaseTree else {
                throw BuildError.signing(file: file, message: "there is no QEMU tree of the machine as U-Boot sees it (device_tree.from: qemu and fit_image.boot_method)",
                                         hint: nil)
            }
            tree = try DeviceTreeBlob(contentsOf: firmwareBaseTree.path)
            for property in DeviceTreeBuilder.volatileChosenProperties where (try? tree.property(property, at: "/chosen")) != nil {
                try tree.deleteProperty(property, at: "/chosen")
            }
        }
        tree.pack()
        tree.zeroPadding()
        return tree
    }

    private func make(_ signing: FITSigningSpec, spec: BootloaderSpec, key: SigningKey, baseTree: DeviceTreeBlob,
                      bootloader: BootloaderArtifacts, folder: URL) async throws {
        let progress = environment.progress
        let log = environment.log("bootloader-key")
        try? FileManager.default.removeItem(at: log)
        let fileManager = FileManager.default
        try? fileManager.removeItem(at: folder)
        let work = folder.appendingPathComponent("work", isDirectory: true)
        try fileManager.createDirectory(at: work, withIntermediateDirectories: true)
        progress.begin("bootloader key", "\(signing.algorithm.rawValue) key '\(signing.keyName)' into U-Boot's tree (\(spec.resolvedControlTree.rawValue))")

        // mkimage writes the public key into the tree given with -K while it signs a FIT: here a placeholder one.
        let tree = work.appendingPathComponent(VerifiedBootNames.publicKeyTree)
        try AtomicFile.write(Data(baseTree.bytes), to: tree)
        try AtomicFile.write("bspgen\n", to: work.appendingPathComponent("placeholder.bin"))
        try AtomicFile.write(FITSource.keyCarrier(signing, arch: board.toolchain.kernelArch, data: "placeholder.bin"),
                             to: work.appendingPathComponent("key.its"))
        try HostRequirements.require("mkimage")
        try await ProcessRunner.logged(Command("mkimage", ["-f", "key.its", "-k", key.folder.path, "-K", tree.path, "-r", "key.itb"],
                                               environment: ["SOURCE_DATE_EPOCH": String(environment.sourceDateEpoch)], workingDirectory: work), log: log)
        try Self.checkKeyNode(in: tree, signing: signing, bits: key.bits)

        if spec.resolvedControlTree == .uBoot {
            // U-Boot's own make appends the tree: dts/dt.dtb becomes EXT_DTB, and every file made from it follows.
            let builder = BootloaderBuilder(environment: environment)
            let wrappers = try environment.compilerWrappers(stage: "bootloader-key")
            let buildDirectory = bootloader.config.deletingLastPathComponent()
            progress.update("make EXT_DTB=\(VerifiedBootNames.publicKeyTree)")
            try await ProcessRunner.logged(builder.make(bootloader.source, ["EXT_DTB=\(tree.path)"], in: buildDirectory, jobs: environment.jobs,
                                                        wrappers: wrappers), log: log, onLine: progress.update)
            let kept = folder.appendingPathComponent("files", isDirectory: true)
            try fileManager.createDirectory(at: kept, withIntermediateDirectories: true)
            let treeBytes = try Data(contentsOf: tree)
            var holding: [String] = []
            for (path, name) in spec.artifacts {
                let built = buildDirectory.appendingPathComponent(path)
                let data = try Data(contentsOf: built)
                if data.range(of: treeBytes) != nil { holding.append(name) }
                try AtomicFile.write(data, to: kept.appendingPathComponent(name))
            }
            guard !holding.isEmpty else {
                throw BuildError.signing(file: board.file.lastPathComponent,
                                         message: "U-Boot was made again with the key in its tree (EXT_DTB), but none of the kept files "
                                            + "(\(spec.artifacts.map(\.name).joined(separator: ", "))) contains that tree: this build does not append "
                                            + "U-Boot's tree to what it keeps (a FIT of several trees, as with CONFIG_SPL_LOAD_FIT?)",
                                         hint: "use a defconfig whose U-Boot carries one appended tree (e.g. am335x_boneblack_vboot for the BeagleBone Black)")
            }
            progress.note("[bootloader key] public key in \(holding.joined(separator: ", "))")
        }
        let builtTool = bootloader.config.deletingLastPathComponent().appendingPathComponent("tools/fit_check_sign")
        guard fileManager.isExecutableFile(atPath: builtTool.path) else {
            throw BuildError.missingOutput(what: "U-Boot's fit_check_sign (built with U-Boot's tools when it can sign: CONFIG_TOOLS_LIBCRYPTO)",
                                           path: builtTool.path, log: log)
        }
        try fileManager.copyItem(at: builtTool, to: folder.appendingPathComponent(".fit_check_sign.tmp"))
        try AtomicFile.replace(folder.appendingPathComponent("fit_check_sign"), with: folder.appendingPathComponent(".fit_check_sign.tmp"))
        try AtomicFile.replace(folder.appendingPathComponent(VerifiedBootNames.publicKeyTree), with: tree)
        try? fileManager.removeItem(at: work)
        progress.end(spec.resolvedControlTree == .uBoot ? "U-Boot made again with the key" : "QEMU gives U-Boot this tree (-dtb)")
    }

    /// The key node mkimage wrote is the one U-Boot will look for: the key's name, the algorithm, the size and the
    /// `required` mode that makes U-Boot refuse what it did not sign.
    static func checkKeyNode(in url: URL, signing: FITSigningSpec, bits: Int) throws {
        let tree = try DeviceTreeBlob(contentsOf: url.path)
        let path = signing.keyNodePath
        let found = (required: try tree.property("required", at: path)?.string, algo: try tree.property("algo", at: path)?.string,
                     bits: try tree.property("rsa,num-bits", at: path)?.u32Cells?.first)
        guard found.required == signing.required.rawValue, found.algo == signing.algorithm.rawValue, found.bits.map(Int.init) == bits else {
            throw BuildError.signing(file: url.path, message: "\(path) has required=\(found.required ?? "none"), algo=\(found.algo ?? "none"), "
                                        + "rsa,num-bits=\(found.bits.map(String.init) ?? "none"); expected \(signing.required.rawValue), "
                                        + "\(signing.algorithm.rawValue), \(bits)", hint: nil)
        }
    }
}

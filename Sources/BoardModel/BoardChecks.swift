import Foundation

/// Problems of a `boards/<name>.yaml`, located at the field, and its file references made absolute
/// (`resolve()`); its toolchain and architecture must already be loaded.
struct BoardChecks {
    let board: Board
    let file: URL
    let locations: LocationMap
    let boardsDirectory: URL
    let toolchains: [String: Toolchain]
    let architectures: [String: Architecture]
    var problems: [Diagnostic] = []
    /// Toolchain files that were refused, by name (`Catalog`).
    var refusedToolchainFiles: [String: String] = [:]

    init(board: Board, file: URL, locations: LocationMap, boardsDirectory: URL, toolchains: [String: Toolchain],
         architectures: [String: Architecture]) {
        self.board = board
        self.file = file
        self.locations = locations
        self.boardsDirectory = boardsDirectory
        self.toolchains = toolchains
        self.architectures = architectures
    }

    var folder: URL { boardsDirectory.appendingPathComponent(board.name, isDirectory: true) }

    mutating func problem(_ field: String, _ message: String, hint: String? = nil) {
        problems.append(Diagnostic(locations.location(of: field), field: field, message, hint: hint))
    }

    mutating func resolve() -> ResolvedBoard? {
        if let misnamed = Diagnostic.nameDiffersFromFile(name: board.name, file: file, locations: locations) { problems.append(misnamed) }
        let toolchain = toolchains[board.toolchain]
        if toolchain == nil, let refused = refusedToolchainFiles[board.toolchain] {
            problem("toolchain", "toolchain \(DescriptionText.quoted(board.toolchain)) has problems of its own", hint: "fix \(refused) first (its problems are listed there)")
        } else if toolchain == nil {
            problem("toolchain", "unknown toolchain \(DescriptionText.quoted(board.toolchain)); known: \(toolchains.keys.sorted().joined(separator: ", "))",
                    hint: Suggestion.didYouMean(board.toolchain, among: toolchains.keys) ?? (Words.isWord(board.toolchain, also: "_.+-") ? "add toolchains/\(board.toolchain).yaml" : "name one of the known toolchains"))
        } else if let toolchain, toolchain.arch != board.arch {
            problem("arch", "the board is \(DescriptionText.quoted(board.arch)) but toolchain \(DescriptionText.quoted(toolchain.name)) builds for \(DescriptionText.quoted(toolchain.arch))")
        }
        // A known toolchain has a known architecture; the board's must also be known when its toolchain is not.
        let architecture = architectures[board.arch]
        if let architecture {
            let formats = architecture.kernelImages.map(\.name)
            if architecture.kernelImage(named: board.kernel.image.rawValue) == nil {
                problem("kernel.image", "\(DescriptionText.quoted(board.kernel.image.rawValue)) is not a kernel image of \(architecture.name); expected one of: \(formats.joined(separator: ", "))",
                        hint: Suggestion.didYouMean(board.kernel.image.rawValue, among: formats) ?? "add it to kernel_images in arches/\(architecture.name).yaml")
            }
        } else if toolchain == nil {
            problem("arch", "unknown architecture \(DescriptionText.quoted(board.arch)); known: \(architectures.keys.sorted().joined(separator: ", "))",
                    hint: Suggestion.didYouMean(board.arch, among: architectures.keys) ?? (Words.isWord(board.arch) ? "add arches/\(board.arch).yaml" : "name one of the known architectures"))
        }
        let consoleArgument = "console=\(board.console)"
        if !board.cmdline.split(separator: " ").contains(where: { $0 == consoleArgument || $0.hasPrefix(consoleArgument + ",") }) {
            problem("cmdline", "the command line does not name the console: expected 'console=\(board.console)' in it",
                    hint: "add 'console=\(board.console)' to cmdline")
        }
        checkCommandLineWords()
        if let qemu = board.qemu { checkQEMU(qemu) }
        let spec = board.initramfsSpec
        let kernelFragments = files(board.kernel.fragments ?? [], field: "kernel.fragments")
        let busyboxFragments = files(board.busybox.fragments ?? [], field: "busybox.fragments")
        let overlays = files(spec.overlays ?? [], field: "initramfs.overlays", directories: true)
        let lists = files(spec.lists ?? InitramfsSpec.defaultLists, field: "initramfs.lists")
        let initScript = files([spec.initScript ?? InitramfsSpec.defaultInit], field: "initramfs.init", single: true)
        let deviceTreeOverlays = files(board.deviceTree?.overlays ?? [], field: "device_tree.overlays")
        let bootloaderFragments = files(board.bootloader?.fragments ?? [], field: "bootloader.fragments")
        let kernelPatches = patchSeries(board.kernel.patches ?? [], field: "kernel.patches")
        let busyboxPatches = patchSeries(board.busybox.patches ?? [], field: "busybox.patches")
        let bootloaderPatches = patchSeries(board.bootloader?.patches ?? [], field: "bootloader.patches")
        let externalModules = checkKernelModules()
        if let deviceTree = board.deviceTree { checkDeviceTree(deviceTree) }
        let templates = checkBootFiles(board.bootFiles ?? [])
        let kernelRequires = checkInitramfsCompression(spec)
        checkImages()
        checkSigning()
        checkBootFileReferences(templates: templates)
        for found in FirmwareChecks.problems(board.firmware ?? []) { problem(found.field, found.message, hint: found.hint) }
        checkLocalSource(board.kernel.source, field: "kernel.source")
        checkLocalSource(board.busybox.source, field: "busybox.source")
        checkLocalSource(board.bootloader?.source, field: "bootloader.source")
        guard let toolchain, let architecture, problems.isEmpty, let initScript = initScript.first else { return nil }
        return ResolvedBoard(board: board, toolchain: toolchain, architecture: architecture, file: file, folder: folder,
                             kernelFragments: kernelFragments, busyboxFragments: busyboxFragments,
                             overlays: overlays, lists: lists, initScript: initScript,
                             deviceTreeOverlays: deviceTreeOverlays, bootFileTemplates: templates, bootloaderFragments: bootloaderFragments,
                             kernelPatches: kernelPatches, busyboxPatches: busyboxPatches, bootloaderPatches: bootloaderPatches,
                             externalModules: externalModules,
                             loadModuleLocations: (board.kernel.loadModules ?? []).indices.map { locations.location(of: "kernel.load_modules[\($0)]").description },
                             kernelRequires: kernelRequires)
    }

    /// A branch filter is part of xz; and the kernel must unpack what the board packs: the options it needs.
    mutating func checkInitramfsCompression(_ spec: InitramfsSpec) -> [KernelRequirement] {
        let compression = spec.resolvedCompression
        if let filter = spec.xzBCJ, compression != .xz {
            problem("initramfs.xz_bcj", "a branch filter \(DescriptionText.quoted(filter.rawValue)) is part of xz compression, but the initramfs is \(compression.rawValue)",
                    hint: "set initramfs.compression: xz, or remove initramfs.xz_bcj")
        }
        func requirement(_ option: String, field: String, _ why: String) -> KernelRequirement {
            let location = locations.location(of: field)
            return KernelRequirement(option: option, why: why, file: location.file, line: location.line)
        }
        var required: [KernelRequirement] = []
        if let option = compression.kernelOption {
            required.append(requirement(option, field: "initramfs.compression",
                                        "the initramfs is \(compression.rawValue)-compressed; without it the kernel cannot unpack it and finds no /init (or choose another initramfs.compression)"))
        }
        if let filter = spec.xzBCJ, compression == .xz {
            required.append(requirement(filter.kernelOption, field: "initramfs.xz_bcj",
                                        "the initramfs's xz stream uses the \(filter.rawValue) branch filter, which the kernel must decode (or remove initramfs.xz_bcj)"))
        }
        return required
    }

    /// Values that end up as words of make's or QEMU's command line: a leading '-' would be an option (make's
    /// --eval runs anything), a ',' or '=' a QEMU property (dumpdtb= writes a host file), a control character
    /// anything at all. A board file states data; it never gets to run a command on the host.
    mutating func checkCommandLineWords() {
        func check(_ field: String, _ value: String, _ allowed: String, pattern: (String) -> Bool, example: String) {
            let characters = CharacterSet(charactersIn: allowed)
            guard value.unicodeScalars.allSatisfy(characters.contains), value.first?.isLetter == true || value.first?.isNumber == true,
                  pattern(value) else {
                problem(field, "\(DescriptionText.quoted(value)) is not a valid value here", hint: "expected something like '\(example)'")
                return
            }
        }
        let word = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
        check("name", board.name, word + "-.", pattern: { _ in true }, example: "my-board")
        check("kernel.base_config", board.kernel.baseConfig, word + "-", pattern: { $0.hasSuffix("config") }, example: "multi_v7_defconfig")
        for (index, tree) in (board.kernel.deviceTrees ?? []).enumerated() {
            check("kernel.device_trees[\(index)]", tree, word + "-./+", pattern: { $0.hasSuffix(".dtb") && !$0.split(separator: "/").contains("..") },
                  example: "broadcom/bcm2837-rpi-3-b.dtb")
        }
        check("console", board.console, word, pattern: { _ in true }, example: "ttyAMA0")
        if board.cmdline.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            problem("cmdline", "the command line contains a control character", hint: "write it on one line")
        }
        if let qemu = board.qemu {
            check("qemu.binary", qemu.binary, word + "-", pattern: { $0.hasPrefix("qemu-system-") }, example: "qemu-system-aarch64")
            check("qemu.machine", qemu.machine, word + "-.", pattern: { _ in true }, example: "virt")
            if let cpu = qemu.cpu { check("qemu.cpu", cpu, word + "-.", pattern: { _ in true }, example: "cortex-a53") }
        }
        if let bootloader = board.bootloader {
            check("bootloader.defconfig", bootloader.defconfig, word + "-.", pattern: { _ in true }, example: "am335x_evm")
            if let command = bootloader.bootcommand, command.contains("$(") || command.unicodeScalars.contains(where: { $0.value < 0x20 }) {
                problem("bootloader.bootcommand", "'$(' and control characters are refused: Kbuild includes the config as makefile text",
                        hint: "write U-Boot variables as ${name}")
            }
        }
        checkPackageAndSourceWords()
    }

    mutating func checkDeviceTree(_ spec: DeviceTreeSpec) {
        switch spec.resolvedOrigin {
        case .qemu where board.qemu == nil:
            problem("device_tree.from", "'qemu' needs the board's qemu section: QEMU makes the tree of the machine it emulates",
                    hint: "add a qemu section, or use 'from: kernel' with kernel.device_trees")
        case .kernel where (board.kernel.deviceTrees ?? []).isEmpty:
            problem("device_tree", "there is no device tree to patch: kernel.device_trees is empty",
                    hint: "list the board's dtbs under kernel.device_trees, or use 'from: qemu' for a QEMU machine")
        default:
            break
        }
        if spec.compatible?.isEmpty == true { problem("device_tree.compatible", "expected a compatible string such as 'brcm,bcm2837'") }
        if let address = spec.chosen?.initrdAddress, address < 0 {
            problem("device_tree.chosen.initrd_address", "expected a physical address such as 0x2700000, found \(address)")
        }
    }

    /// Boot file names are plain, distinct names in the output folder; their templates exist and use only known
    /// placeholders.
    mutating func checkBootFiles(_ specs: [BootFileSpec]) -> [URL] {
        var seen: Set<String> = ["manifest.json", "run-qemu.sh", board.kernel.image.rawValue]
        var templates: [URL] = []
        for (index, spec) in specs.enumerated() {
            let field = "boot_files[\(index)]"
            if !Words.isFileName(spec.name) {
                problem(field + ".name", "\(DescriptionText.quoted(spec.name)) is not a plain file name (letters, digits, '.', '_', '+', '-')", hint: "use a name such as 'boot.scr' or 'config.txt'")
            } else if !seen.insert(spec.name).inserted {
                problem(field + ".name", "\(DescriptionText.quoted(spec.name)) is already an artifact or another boot file of this board")
            }
            guard let template = files([spec.template], field: field + ".template", single: true).first else { continue }
            templates.append(template)
            let text: String
            do {
                text = try DescriptionText.read(template)
            } catch {
                problems += error.diagnostics.map { Diagnostic($0.location, field: field + ".template", $0.message, hint: $0.hint) }
                continue
            }
            for found in BootFileTemplate.problems(in: text, values: BootFileTemplate.values(for: board)) {
                problems.append(Diagnostic(SourceLocation(file: template.path, line: found.line), field: field + ".template", found.message, hint: found.hint))
            }
        }
        return templates
    }

    /// FIT image, GRUB, root file system, disk images and boot methods: names that do not collide, sizes that
    /// parse, partitions that say what they hold, files that are artifacts of the board.
    mutating func checkImages() {
        var names: Set<String> = Set(ArtifactNames(board: board).deviceTrees + (board.bootFiles ?? []).map(\.name))
            .union([ArtifactNames(board: board).kernel, ArtifactNames(board: board).initramfs, "linux.config", "linux.defconfig",
                    "manifest.json", "run-qemu.sh"])
        func claim(_ name: String, field: String) {
            if !Words.isFileName(name) {
                problem(field, "\(DescriptionText.quoted(name)) is not a plain file name (letters, digits, '.', '_', '+', '-')", hint: "use a name such as 'image.itb' or 'disk.img'")
            } else if !names.insert(name).inserted {
                problem(field, "\(DescriptionText.quoted(name)) is already an artifact or another file of this board")
            }
        }
        for claimed in board.firmwareArtifacts { claim(claimed.name, field: claimed.field) }
        if let bootloader = board.bootloader {
            if bootloader.files.isEmpty { problem("bootloader.files", "expected the build results to keep, e.g. [MLO, u-boot.img]") }
            for (index, file) in bootloader.files.enumerated() {
                if file.from.isEmpty || file.from.hasPrefix("/") || file.from.split(separator: "/").contains("..") {
                    problem("bootloader.files[\(index)]", "\(DescriptionText.quoted(file.from)) is not a path inside the build folder", hint: "e.g. 'u-boot.bin' or 'spl/u-boot-spl.bin'")
                }
            }
            for (index, artifact) in bootloader.artifacts.enumerated() { claim(artifact.name, field: "bootloader.files[\(index)]") }
        }
        if let fit = board.fitImage {
            claim(fit.name, field: "fit_image.name")
            claim(fit.sourceName, field: "fit_image.name")
            if let method = fit.bootMethod, board.boot?[method] == nil {
                problem("fit_image.boot_method", "\(DescriptionText.quoted(method)) is not one of the board's boot methods (\((board.boot ?? [:]).keys.sorted().joined(separator: ", ")))",
                        hint: Suggestion.didYouMean(method, among: Array((board.boot ?? [:]).keys)))
            }
            if let tree = ArtifactNames(board: board).firmwareDeviceTree { claim(tree, field: "fit_image.boot_method") }
            if fit.signing != nil, board.bootloader != nil { claim(VerifiedBootNames.publicKeyTree, field: "fit_image.signing") }
            for (field, address) in [("kernel_address", fit.kernelAddress), ("fdt_address", fit.fdtAddress ?? 0),
                                     ("ramdisk_address", fit.ramdiskAddress ?? 0)] where address < 0 {
                problem("fit_image.\(field)", "expected a physical address such as 0x40400000, found \(address)")
            }
        }
        if let grub = board.grub {
            claim(grub.name, field: "grub.name")
            if !grub.prefix.hasPrefix("/") { problem("grub.prefix", "expected an absolute path on the partition, like '/EFI/BOOT'") }
            if grub.modules.isEmpty { problem("grub.modules", "expected the GRUB modules to build in, e.g. [part_gpt, fat, normal, linux, serial]") }
            if grub.format.isEmpty || grub.package.isEmpty { problem("grub", "format and package must not be empty") }
        }
        if let rootfs = board.rootfs {
            names.insert(RootFilesystemSpec.imageName)
            if ByteSize.parse(rootfs.size) == nil {
                problem("rootfs.size", "expected a size with a K, M or G suffix, like '64M', found \(DescriptionText.quoted(rootfs.size))")
            }
            if !rootfs.resolvedDevice.hasPrefix("/dev/") { problem("rootfs.device", "expected a device such as /dev/vda") }
            if rootfs.attach != nil, board.qemu == nil {
                problem("rootfs.attach", "the board has no qemu section to attach the image to", hint: "remove 'attach'")
            }
        }
        let images = board.diskImages ?? []
        for (index, image) in images.enumerated() { claim(image.name, field: "disk_images[\(index)].name") }
        for (index, image) in images.enumerated() { checkDiskImage(image, field: "disk_images[\(index)]", artifacts: names) }
        for (method, spec) in (board.boot ?? [:]).sorted(by: { $0.key < $1.key }) {
            let field = "boot.\(method)"
            if method == "kernel" { problem(field, "'kernel' is QEMU's direct -kernel boot, the default; choose another name") }
            if board.qemu == nil { problem(field, "boot methods are tested in QEMU, but the board has no qemu section") }
            if spec.firmware == nil, spec.loader == nil {
                problem(field, "a boot method starts firmware (-bios), a boot loader (-kernel) or both; it has neither",
                        hint: "add 'firmware: /usr/share/ovmf/OVMF.fd' with its 'package', or 'loader: u-boot' from the board's bootloader files")
            }
            if let firmware = spec.firmware, spec.firmwareIsHostFile {
                if !firmware.hasPrefix("/usr/") || firmware.contains("..") {
                    problem(field + ".firmware", "expected an absolute path under /usr from a Debian package, like /usr/share/ovmf/OVMF.fd, found \(DescriptionText.quoted(firmware))")
                }
                if (spec.package ?? "").isEmpty { problem(field + ".package", "a firmware file of the host needs the Debian package that provides it") }
            }
            for (key, name) in [("firmware", spec.firmwareIsHostFile ? nil : spec.firmware), ("loader", spec.loader)] {
                guard let name else { continue }
                if !names.contains(name) {
                    problem(field + "." + key, "\(DescriptionText.quoted(name)) is not an artifact of this board; known: \(names.sorted().joined(separator: ", "))",
                            hint: Suggestion.didYouMean(name, among: names))
                }
            }
            if !images.contains(where: { $0.name == spec.disk }) {
                problem(field + ".disk", "\(DescriptionText.quoted(spec.disk)) is not one of the board's disk_images (\(images.map(\.name).joined(separator: ", ")))",
                        hint: Suggestion.didYouMean(spec.disk, among: images.map(\.name)))
            }
        }
    }

    mutating func checkDiskImage(_ image: DiskImageSpec, field: String, artifacts: Set<String>) {
        if let size = image.size, ByteSize.parse(size) == nil {
            problem(field + ".size", "expected a size with a K, M or G suffix, like '128M', found \(DescriptionText.quoted(size))")
        }
        let limit = image.table == .mbr ? 4 : 128
        if image.partitions.isEmpty || image.partitions.count > limit {
            problem(field + ".partitions", "expected 1 to \(limit) partitions for a \(image.table.rawValue) table, found \(image.partitions.count)")
        }
        for (index, partition) in image.partitions.enumerated() {
            let field = "\(field).partitions[\(index)]"
            let size = partition.size.flatMap(ByteSize.parse)
            if let text = partition.size, size == nil {
                problem(field + ".size", "expected a size with a K, M or G suffix, like '64M', found \(DescriptionText.quoted(text))")
            }
            if partition.label.isEmpty || partition.label.count > 11 || !partition.label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) {
                problem(field + ".label", "expected 1 to 11 letters, digits, '-' or '_' (a FAT volume label), found \(DescriptionText.quoted(partition.label))")
            }
            switch (partition.filesystem, partition.image) {
            case (let filesystem?, nil):
                guard let size else {
                    problem(field + ".size", "a \(filesystem.rawValue) partition needs a size, like '64M'")
                    break
                }
                // mkfs.vfat needs 65525 clusters for FAT32 (about 33 MiB with 512-byte clusters).
                if filesystem == .fat32, size < 34 << 20 {
                    problem(field + ".size", "FAT32 needs at least 34M", hint: "use 'filesystem: fat16' for a smaller partition")
                }
                var destinations = Set<String>()
                for (fileIndex, file) in (partition.files ?? []).enumerated() {
                    let fileField = "\(field).files[\(fileIndex)]"
                    if !artifacts.contains(file.from) || file.from == image.name {
                        problem(fileField, "\(DescriptionText.quoted(file.from)) is not an artifact of this board; known: \(artifacts.sorted().joined(separator: ", "))",
                                hint: Suggestion.didYouMean(file.from, among: artifacts))
                    }
                    let path = file.destination
                    if path.isEmpty || path.hasPrefix("/") || path.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) {
                        problem(fileField + ".to", "expected a relative path inside the partition, like 'EFI/BOOT/BOOTX64.EFI', found \(DescriptionText.quoted(path))")
                    } else if !destinations.insert(path.uppercased()).inserted {
                        problem(fileField, "\(DescriptionText.quoted(path)) is written twice into this partition (FAT names ignore case)")
                    }
                }
            case (nil, let source?):
                if partition.files != nil { problem(field + ".files", "files go into a FAT partition; this one is the image \(DescriptionText.quoted(source))") }
                if !artifacts.contains(source) || source == image.name {
                    problem(field + ".image", "\(DescriptionText.quoted(source)) is not an artifact of this board",
                            hint: source == RootFilesystemSpec.imageName ? "add a 'rootfs' section with its size" : Suggestion.didYouMean(source, among: artifacts))
                }
            default:
                problem(field, "a partition has either 'filesystem' (and 'files') or 'image', not both and not neither")
            }
        }
    }

    mutating func checkQEMU(_ qemu: QEMUSpec) {
        let memory = qemu.memory
        if let bytes = qemu.memoryBytes {
            if !QEMUSpec.memoryRange.contains(bytes) {
                problem("qemu.memory", "expected 16M to 64G, found \(DescriptionText.quoted(memory))", hint: "256M is plenty for a BusyBox initramfs")
            }
        } else {
            problem("qemu.memory", "expected a positive size with an M or G suffix, like '256M', found \(DescriptionText.quoted(memory))")
        }
        if let smp = qemu.smp, !(1...64).contains(smp) { problem("qemu.smp", "expected 1 to 64 CPUs, found \(smp)") }
        if let timeout = qemu.timeout, !(1...7200).contains(timeout) {
            problem("qemu.timeout", "expected 1 to 7200 seconds, found \(timeout)")
        }
        if qemu.dtb == true, (board.kernel.deviceTrees ?? []).isEmpty, board.deviceTree?.resolvedOrigin != .qemu {
            problem("qemu.dtb", "QEMU is asked to pass a device tree but kernel.device_trees is empty",
                    hint: "list the board's dtb under kernel.device_trees, or set 'dtb: false'")
        }
        for refusal in QEMUExtraArguments.problems(qemu.extraArgs ?? []) {
            problem("qemu.extra_args[\(refusal.index)]", "\(DescriptionText.quoted(refusal.argument)) is not allowed: \(refusal.reason)",
                    hint: "leave it out; see the README's qemu.extra_args")
        }
    }

    mutating func checkLocalSource(_ source: SourceSpec?, field: String) {
        switch source {
        case .tarball(let path, _)?:
            if !FileManager.default.fileExists(atPath: absolute(path).path) {
                problem(field + ".tarball", "the tarball \(absolute(path).path) does not exist")
            }
        case .directory(let path)?:
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: absolute(path).path, isDirectory: &isDirectory) || !isDirectory.boolValue {
                problem(field + ".directory", "the directory \(absolute(path).path) does not exist")
            }
        default:
            break
        }
    }

    func absolute(_ path: String) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : folder.appendingPathComponent(path)
    }

    /// Resolves data files of the board: they must exist and stay inside the boards directory, so a board
    /// folder can be copied around with `common/` and nothing else.
    /// `directories`: nil takes files and folders alike.
    mutating func files(_ paths: [String], field: String, directories: Bool? = false, single: Bool = false) -> [URL] {
        var urls: [URL] = []
        for (index, path) in paths.enumerated() {
            let itemField = single ? field : "\(field)[\(index)]"
            let url = absolute(path).standardizedFileURL.resolvingSymlinksInPath()
            let root = boardsDirectory.resolvingSymlinksInPath().path + "/"
            guard url.path.hasPrefix(root) else {
                problem(itemField, "\(DescriptionText.quoted(path)) is outside the boards directory \(boardsDirectory.path)",
                        hint: "keep board data in boards/\(board.name)/ or boards/common/ and use a relative path")
                continue
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                problem(itemField, "\(DescriptionText.quoted(path)) does not exist (looked for \(url.path))",
                        hint: Suggestion.didYouMean(url.lastPathComponent, among: siblings(of: url)).map { $0 + " (in the same folder)" })
                continue
            }
            if let directories, isDirectory.boolValue != directories {
                problem(itemField, "\(DescriptionText.quoted(path)) is \(isDirectory.boolValue ? "a directory" : "a file"); expected \(directories ? "a directory" : "a file")")
                continue
            }
            urls.append(url)
        }
        return urls
    }

    /// Patch files in the order they apply: each entry a file, or a folder whose quilt `series` file gives the
    /// order (else its `*.patch` and `*.diff` files in name order).
    mutating func patchSeries(_ paths: [String], field: String) -> [URL] {
        var series: [URL] = []
        for (index, entry) in files(paths, field: field, directories: nil).enumerated() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: entry.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                series.append(entry)
                continue
            }
            let itemField = "\(field)[\(index)]"
            let seriesFile = entry.appendingPathComponent("series")
            let names: [String]
            if let text = try? String(contentsOf: seriesFile, encoding: .utf8) {
                names = text.split(whereSeparator: \.isNewline).compactMap { line in
                    let name = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first?
                        .split(separator: " ").first.map(String.init)
                    return name?.isEmpty == false ? name : nil
                }
                for name in names where !FileManager.default.fileExists(atPath: entry.appendingPathComponent(name).path) {
                    problem(itemField, "\(seriesFile.path) names '\(name)', which is not in the folder")
                }
            } else {
                names = ((try? FileManager.default.contentsOfDirectory(atPath: entry.path)) ?? [])
                    .filter { $0.hasSuffix(".patch") || $0.hasSuffix(".diff") }.sorted()
            }
            if names.isEmpty {
                problem(itemField, "the folder \(entry.path) holds no patches", hint: "put *.patch or *.diff files in it, or a quilt 'series' file")
            }
            series += names.map { entry.appendingPathComponent($0) }
        }
        return series
    }

    /// The external module folders (each with its Kbuild file) and the names of modules to load.
    mutating func checkKernelModules() -> [URL] {
        let folders = files(board.kernel.externalModules ?? [], field: "kernel.external_modules", directories: true)
        for (index, folder) in folders.enumerated()
        where !FileManager.default.fileExists(atPath: folder.appendingPathComponent("Kbuild").path) {
            problem("kernel.external_modules[\(index)]", "\(folder.path) has no Kbuild file, so Kbuild cannot build it with M=",
                    hint: "add a Kbuild file such as 'obj-m += \(folder.lastPathComponent.replacingOccurrences(of: "-", with: "_")).o'")
        }
        let names = folders.map(\.lastPathComponent)
        if Set(names).count != names.count {
            problem("kernel.external_modules", "two external module folders have the same name; each is built in a folder named after it")
        }
        let moduleName = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        for (index, name) in (board.kernel.loadModules ?? []).enumerated()
        where name.isEmpty || name.first == "-" || !name.unicodeScalars.allSatisfy(moduleName.contains) {
            problem("kernel.load_modules[\(index)]", "'\(name)' is not a module name", hint: "write the name modprobe takes, such as 'ext4'")
        }
        for (index, check) in (board.qemu?.checks ?? []).enumerated() {
            for (part, value) in [("name", check.name), ("command", check.command), ("expect", check.expect)]
            where value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) || (part != "expect" && value.isEmpty) {
                problem("qemu.checks[\(index)].\(part)", "expected one non-empty line without control characters")
            }
        }
        return folders
    }

    func siblings(of url: URL) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)) ?? []
    }

    /// A `config.txt` or U-Boot script on a partition names files the firmware or boot loader will load: each must
    /// be among that partition's files, or the card cannot boot. Found here, before anything is built.
    mutating func checkBootFileReferences(templates: [URL]) {
        let specs = board.bootFiles ?? []
        guard specs.count == templates.count else { return }
        let values = BootFileTemplate.values(for: board)
        var rendered: [String: (kind: BootFileKind, text: String)] = [:]
        for (spec, template) in zip(specs, templates) {
            guard let text = try? String(contentsOf: template, encoding: .utf8) else { continue }
            rendered[spec.name] = (spec.resolvedKind, BootFileTemplate.render(text, values: values))
        }
        for (imageIndex, image) in (board.diskImages ?? []).enumerated() {
            for (partitionIndex, partition) in image.partitions.enumerated() where partition.filesystem != nil {
                let files = partition.files ?? []
                let present = Set(files.map { $0.destination.lowercased() })
                for file in files {
                    guard let boot = rendered[file.from] else { continue }
                    let named: [String]
                    if boot.kind == .ubootScript {
                        named = BootScript.loadedFiles(boot.text)
                    } else if file.destination.lowercased() == "config.txt" {
                        named = RaspberryPiConfig.namedFiles(boot.text)
                    } else {
                        continue
                    }
                    let missing = named.filter { !present.contains($0.lowercased()) }
                    guard !missing.isEmpty else { continue }
                    problem("disk_images[\(imageIndex)].partitions[\(partitionIndex)].files",
                            "\(file.destination) names \(missing.joined(separator: ", ")), not among the files of partition \(partition.label): the card would not boot",
                            hint: "add \(missing.joined(separator: ", ")) to this partition's files, or fix \(file.from)'s template")
                }
            }
        }
    }
}

import Foundation

/// The shapes a description's value may have when it reaches a command line: make's (where `$(shell …)` runs
/// anything), apt-get's and dpkg's (where a leading `-` is an option), a shell script's, or a printed install
/// command someone will paste. A description states data; these checks keep it from ever being a command.
public enum Words {
    /// Debian policy 5.6.1: lower-case letters, digits, `+ - .`, at least two characters, starting alphanumeric.
    public static func isPackageName(_ name: String) -> Bool {
        name.count >= 2 && name.first.map { $0.isASCII && ($0.isLowercase || $0.isNumber) } == true
            && name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "+-.".contains($0)) }
    }

    /// A package as apt-get takes it: `NAME`, `NAME:ARCH` (another architecture) or `NAME=VERSION` (a pinned
    /// version, as `apt-get download` and `apt-get source` accept it).
    public static func isPackageRequest(_ text: String) -> Bool {
        if let colon = text.firstIndex(of: ":"), !text.contains("=") {
            return isPackageName(String(text[..<colon])) && isWord(String(text[text.index(after: colon)...]), also: "-")
        }
        guard let equals = text.firstIndex(of: "=") else { return isPackageName(text) }
        let version = text[text.index(after: equals)...]
        return isPackageName(String(text[..<equals])) && version.first?.isNumber == true
            && version.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".+~:-".contains($0)) }
    }

    /// ASCII letters, digits and the characters of `allowed`, starting with a letter or a digit.
    public static func isWord(_ text: String, also allowed: String = "_") -> Bool {
        guard let first = text.first, first.isASCII, first.isLetter || first.isNumber else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || allowed.contains($0)) }
    }

    /// A plain file name of the output folder or a partition: letters, digits, `. _ + -`, not starting with `.`
    /// or `-`. No spaces, quotes or `$`: names are written into FIT sources, scripts and command lines.
    public static func isFileName(_ name: String) -> Bool {
        isWord(name, also: "._+-")
    }
}

extension ToolchainChecks {
    /// Values of a toolchain file that reach make's command line (`ARCH=`, `CROSS_COMPILE=`), apt-get, or an
    /// install command `bspgen doctor` prints.
    func wordProblems() -> [Diagnostic] {
        var problems: [Diagnostic] = []
        func problem(_ field: String, _ message: String, hint: String) {
            problems.append(Diagnostic(locations.location(of: field), field: field, message, hint: hint))
        }
        if !Words.isWord(toolchain.name, also: "_.+-") {
            problem("name", "\(DescriptionText.quoted(toolchain.name)) is not a toolchain name", hint: "use letters, digits, '-', '_', '.', like 'aarch64-linux-gnu'")
        }
        if !Words.isWord(toolchain.kernelArch) || toolchain.kernelArch.first?.isLetter != true {
            problem("kernel_arch", "\(DescriptionText.quoted(toolchain.kernelArch)) is not a kernel ARCH value",
                    hint: "expected a folder name under the kernel's arch/ (or an alias of one) such as 'arm64', 'x86_64' or 'riscv'")
        }
        if !Words.isWord(toolchain.crossCompile, also: "_.+-") {
            problem("cross_compile", "\(DescriptionText.quoted(toolchain.crossCompile)) is not a CROSS_COMPILE prefix: it goes on make's command line",
                    hint: toolchain.crossCompile.contains("/")
                        ? "write the prefix alone, like 'aarch64-linux-gnu-'; a compiler outside PATH is found with --toolchain-dir DIR or CROSS_COMPILE in the environment"
                        : "expected letters, digits, '-', '_', '.', '+', ending in '-', like 'aarch64-linux-gnu-'")
        }
        for (index, package) in toolchain.debianPackages.enumerated() where !Words.isPackageRequest(package) {
            problem("debian_packages[\(index)]", "\(DescriptionText.quoted(package)) is not a Debian package name",
                    hint: "expected lower-case letters, digits, '+', '-' or '.', like 'gcc-aarch64-linux-gnu'")
        }
        if let machine = toolchain.unameMachine, !Words.isWord(machine) {
            problem("uname_machine", "\(DescriptionText.quoted(machine)) is not a machine name as 'uname -m' prints it", hint: "e.g. 'armv7l'")
        }
        return problems
    }

    /// The prefix check that applies once the prefix is a word: Kbuild appends `gcc` to it.
    var crossCompileIsWord: Bool { Words.isWord(toolchain.crossCompile, also: "_.+-") }
}

extension ArchitectureChecks {
    /// An architecture's name reaches file names, `BSPGEN_ARCH=` in the initramfs and the console checks; its
    /// CPU flags are matched in /proc/cpuinfo; its ELF machine name is shown in messages.
    func wordProblems() -> [Diagnostic] {
        var problems: [Diagnostic] = []
        func problem(_ field: String, _ message: String, hint: String) {
            problems.append(Diagnostic(locations.location(of: field), field: field, message, hint: hint))
        }
        if !Words.isWord(architecture.name) {
            problem("name", "\(DescriptionText.quoted(architecture.name)) is not an architecture name", hint: "as 'uname -m' prints it, like 'aarch64'")
        }
        if !Words.isWord(architecture.elf.machine, also: "_-") {
            problem("elf.machine", "\(DescriptionText.quoted(architecture.elf.machine)) is not a machine name", hint: "as 'readelf -h' names it, like 'aarch64'")
        }
        for (index, flag) in (architecture.kvmCPUFlags ?? []).enumerated() where !Words.isWord(flag) {
            problem("kvm_cpu_flags[\(index)]", "\(DescriptionText.quoted(flag)) is not a CPU flag", hint: "as /proc/cpuinfo lists them, like 'vmx'")
        }
        return problems
    }
}

extension BoardChecks {
    /// Package names `bspgen doctor` prints in an install command and apt-get is given, source names and URLs
    /// that reach apt-get, dpkg and curl, names of boot methods (file names of scripts and logs) and GRUB's
    /// words for grub-mkimage.
    mutating func checkPackageAndSourceWords() {
        func package(_ field: String, _ name: String) {
            if !Words.isPackageName(name) {
                problem(field, "\(DescriptionText.quoted(name)) is not a Debian package name",
                        hint: "expected lower-case letters, digits, '+', '-' or '.', like 'u-boot-qemu'")
            }
        }
        for (method, spec) in (board.boot ?? [:]).sorted(by: { $0.key < $1.key }) {
            if !Words.isWord(method, also: "_-") {
                problem("boot.\(method)", "\(DescriptionText.quoted(method)) is not a boot method name",
                        hint: "use letters, digits, '-' and '_', like 'uboot': it names run-qemu-NAME.sh and --boot NAME")
            }
            if let name = spec.package { package("boot.\(method).package", name) }
        }
        if let grub = board.grub {
            package("grub.package", grub.package)
            if !Words.isWord(grub.format, also: "_-") {
                problem("grub.format", "\(DescriptionText.quoted(grub.format)) is not a GRUB platform", hint: "as grub-mkimage -O takes it, like 'x86_64-efi'")
            }
            for (index, module) in grub.modules.enumerated() where !Words.isWord(module, also: "_-") {
                problem("grub.modules[\(index)]", "\(DescriptionText.quoted(module)) is not a GRUB module name", hint: "like 'part_gpt' or 'normal'")
            }
            if grub.prefix.contains(where: { $0.isWhitespace }) {
                problem("grub.prefix", "\(DescriptionText.quoted(grub.prefix)) contains white space", hint: "like '/EFI/BOOT'")
            }
        }
        for (field, source) in [("kernel.source", board.kernel.source), ("busybox.source", board.busybox.source),
                                ("bootloader.source", board.bootloader?.source)] {
            switch source {
            case .debianPackage(let name)?:
                if !Words.isPackageRequest(name) { package(field + ".debian_package", name) }
            case .debianSource(let name)?:
                if !Words.isPackageRequest(name) { package(field + ".debian_source", name) }
            case .url(let url, _)?:
                if !(url.hasPrefix("https://") || url.hasPrefix("http://")) || url.contains(where: { $0.isWhitespace }) {
                    problem(field + ".url", "\(DescriptionText.quoted(url)) is not an http or https URL",
                            hint: "e.g. 'https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-6.1.tar.xz'")
                }
            default:
                break
            }
        }
        // Each external module is built with make's M=FOLDER, the folder named after the board's.
        for (index, path) in (board.kernel.externalModules ?? []).enumerated() {
            let name = URL(fileURLWithPath: path).lastPathComponent
            if !Words.isWord(name, also: "_.+-") {
                problem("kernel.external_modules[\(index)]", "the folder name \(DescriptionText.quoted(name)) would go on make's command line (M=)",
                        hint: "name the folder with letters, digits, '-', '_', '.', like 'hello-module'")
            }
        }
        if let device = board.rootfs?.device, device.hasPrefix("/dev/"), !Words.isWord(String(device.dropFirst(5)), also: "_/.-") {
            problem("rootfs.device", "\(DescriptionText.quoted(device)) is not a device path", hint: "expected a device such as /dev/vda: it goes on the kernel's command line")
        }
    }
}

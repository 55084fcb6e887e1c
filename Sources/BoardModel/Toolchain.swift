/// A cross (or native) GCC toolchain as described by `toolchains/<name>.yaml`.
public struct Toolchain: Codable, Sendable, Equatable {
    public var name: String
    public var description: String?
    /// The architecture as `uname -m` and the board files name it: a file in `arches/`, which holds the ELF
    /// machine the toolchain's binaries must have.
    public var arch: String
    /// The kernel's `ARCH=` value (`x86_64`, `arm64`, `arm`, `riscv`).
    public var kernelArch: String
    /// `CROSS_COMPILE` prefix, e.g. `aarch64-linux-gnu-`.
    public var crossCompile: String
    /// Debian packages that provide the compiler and the C library a static BusyBox links against.
    public var debianPackages: [String]
    public var minGCCVersion: String
    /// What `uname -m` prints on a typical target; defaults to `arch` (32-bit ARM says e.g. `armv7l`).
    public var unameMachine: String?
    /// Kernel options the userspace this toolchain builds cannot run without (hard-float code needs the
    /// kernel's FP support): the kernel config proof checks them before anything is compiled.
    public var kernelRequires: [KernelRequirement]?

    enum CodingKeys: String, CodingKey {
        case name, description, arch
        case kernelArch = "kernel_arch"
        case crossCompile = "cross_compile"
        case debianPackages = "debian_packages"
        case minGCCVersion = "min_gcc_version"
        case unameMachine = "uname_machine"
        case kernelRequires = "kernel_requires"
    }

    public var expectedUnameMachine: String { unameMachine ?? arch }
}

/// A kernel option a toolchain's binaries depend on, and why.
public struct KernelRequirement: Codable, Sendable, Equatable {
    /// `CONFIG_VFP`.
    public var option: String
    /// `y` unless given; `m` is accepted where `y` is asked only when the option is a module's.
    public var value: String?
    public var why: String
    /// Where the requirement is written (`toolchains/x.yaml`, line), filled in by the catalog.
    public var file: String?
    public var line: Int?

    enum CodingKeys: String, CodingKey { case option, value, why }

    public var resolvedValue: String { value ?? "y" }
    /// The symbol without `CONFIG_`.
    public var symbol: String { option.hasPrefix("CONFIG_") ? String(option.dropFirst("CONFIG_".count)) : option }
}

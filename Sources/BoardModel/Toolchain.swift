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

    enum CodingKeys: String, CodingKey {
        case name, description, arch
        case kernelArch = "kernel_arch"
        case crossCompile = "cross_compile"
        case debianPackages = "debian_packages"
        case minGCCVersion = "min_gcc_version"
        case unameMachine = "uname_machine"
    }

    public var expectedUnameMachine: String { unameMachine ?? arch }
}

import Foundation

/// A board whose toolchain is known and whose file references have been checked and made absolute.
public struct ResolvedBoard: Sendable, Encodable {
    public var board: Board
    public var toolchain: Toolchain
    /// The architecture of the board and its toolchain, from `arches/`.
    public var architecture: Architecture
    public var file: URL
    /// `boards/<name>/`: where the board's relative paths start.
    public var folder: URL
    public var kernelFragments: [URL]
    public var busyboxFragments: [URL]
    public var overlays: [URL]
    public var lists: [URL]
    public var initScript: URL
    public var deviceTreeOverlays: [URL]
    /// The templates of `boot_files`, in the same order.
    public var bootFileTemplates: [URL]
    public var bootloaderFragments: [URL]
    /// Each component's patch series, in the order the patches apply.
    public var kernelPatches: [URL] = []
    public var busyboxPatches: [URL] = []
    public var bootloaderPatches: [URL] = []
    /// `kernel.external_modules` folders.
    public var externalModules: [URL] = []
    /// Where each `kernel.load_modules` entry is written, for errors found once the modules are built.
    public var loadModuleLocations: [String] = []
    /// Kernel options the board's own choices need (its initramfs's compression), checked as a toolchain's are.
    public var kernelRequires: [KernelRequirement] = []

    public var name: String { board.name }
    public var qemuBootable: Bool { board.qemu != nil }
}

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

    public var name: String { board.name }
    public var qemuBootable: Bool { board.qemu != nil }
}

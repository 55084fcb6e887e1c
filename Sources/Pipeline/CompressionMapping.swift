import BoardModel
import Initramfs

extension InitramfsCompression {
    /// The packer's compression for a board's `initramfs.compression`: total, so a name added to the schema
    /// without a packer for it does not compile.
    public init(_ name: CompressionName) {
        switch name {
        case .gzip: self = .gzip
        case .xz: self = .xz
        case .zstd: self = .zstd
        case .none: self = .none
        }
    }
}

extension XzBranchFilter {
    /// The packer's filter for a board's `initramfs.xz_bcj`.
    public init(_ name: XzBCJName) {
        switch name {
        case .x86: self = .x86
        case .powerpc: self = .powerpc
        case .ia64: self = .ia64
        case .arm: self = .arm
        case .armthumb: self = .armthumb
        case .arm64: self = .arm64
        case .sparc: self = .sparc
        }
    }
}

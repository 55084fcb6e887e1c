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

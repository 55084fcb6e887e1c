import BoardModel
import DiskImage

// The board schema's partition words and the partition table's, mapped in one place for the builder and the
// checker: both switches are total, so a type added to the schema without a table entry does not compile.

extension PartitionKind {
    public init(_ type: PartitionType) {
        switch type {
        case .efiSystem: self = .efiSystem
        case .fat: self = .fat
        case .linux: self = .linux
        }
    }
}

extension PartitionTableFormat {
    public init(_ kind: PartitionTableKind) {
        switch kind {
        case .mbr: self = .mbr
        case .gpt: self = .gpt
        }
    }
}

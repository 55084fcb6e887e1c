import Foundation

extension InitramfsPacker {
    /// What `pack` checks before it writes a byte, without writing: every source reads (lists parse, files they
    /// name exist and can be packed, trees can be walked), the entries fit together, and the file data stays within
    /// `sizeLimit`. `bspgen validate` and a build's first step run it on a board's own overlays and lists.
    public func check(_ sources: [InitramfsSource]) throws {
        var linkGroups = 0
        let entries = try assembleArchiveEntries(sources.map { try $0.entries(linkGroups: &linkGroups) })
        try checkSize(entries)
    }
}

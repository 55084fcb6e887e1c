import Foundation

/// Size, mtime and inode of files, to tell cheaply whether any of them changed since a walk read them: one `stat`
/// each, milliseconds for thousands (this module is optimized in debug builds too). The inode catches a file
/// replaced by another of the same size within one tick of the kernel's coarse file clock (an editor's or a
/// tool's write to a temporary name and rename). Kept as text, one line per file: size, mtime
/// (seconds.nanoseconds), inode and path, tab-separated; `missing` for a file that is not there.
public enum FileStamps {
    public static func text(of paths: Set<String>) -> String {
        paths.sorted().map { stamp($0) + "\t" + $0 + "\n" }.joined()
    }

    public static func stamp(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return "missing" }
        return "\(info.st_size)\t\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)\t\(info.st_ino)"
    }

    /// The paths of `text` whose stamp is not the same now, in its order.
    public static func changed(in text: String) -> [String] {
        var changed: [String] = []
        // On bytes: a String's own split goes by grapheme clusters, several times slower for thousands of lines.
        for line in text.utf8.split(separator: UInt8(ascii: "\n")) {
            guard let tab = line.lastIndex(of: UInt8(ascii: "\t")) else { continue }
            let path = String(Substring(line[line.index(after: tab)...]))
            if !stamp(path).utf8.elementsEqual(line[..<tab]) { changed.append(path) }
        }
        return changed
    }
}

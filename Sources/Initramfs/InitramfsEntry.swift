/// One name in the archive.
struct InitramfsEntry: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case directory
        case file(FileContent)
        case characterDevice(major: UInt32, minor: UInt32)
        case blockDevice(major: UInt32, minor: UInt32)
        case symlink(target: String)
        case fifo
        case socket
    }

    /// Normalised (see `normalisedArchivePath`), never empty: the root itself is not an entry.
    var path: String
    var kind: Kind
    var permissions: UInt32
    var uid: UInt32 = 0
    var gid: UInt32 = 0
    var origin: InitramfsInputLocation
}

/// A regular file whose data is read from the host when the archive is written.
struct FileContent: Sendable, Equatable {
    var hostPath: String
    var size: UInt32
    var modificationTime: Int64
    /// Entries sharing a group are names of one file (hard links).
    var linkGroup: Int
}

/// What the kernel's unpacker (init/initramfs.c) can honour. It skips an entry whose name or link target does not
/// fit PATH_MAX, stores device numbers in a 32-bit dev_t with 12 bits of major and 20 of minor (MKDEV), reads names
/// as C strings, and makes files through calls that refuse components longer than NAME_MAX. Such an entry would be
/// dropped or changed without a word when the guest boots, so the packer refuses it.
enum KernelLimits {
    /// PATH_MAX, counting the terminating NUL.
    static let pathSize = 4096
    /// NAME_MAX: one component of a path.
    static let componentSize = 255
    static let largestMajor: UInt32 = (1 << 12) - 1
    static let largestMinor: UInt32 = (1 << 20) - 1
}

extension InitramfsEntry {
    /// Why the kernel cannot unpack this entry as written, or nil when it can.
    var kernelLimitProblem: String? {
        if path.isEmpty {
            return "it names the archive's root, which is always a directory (only 'dir /' may name it, and is left out)"
        }
        if path.utf8.contains(0) { return "the name holds a NUL byte, where the kernel's name would end" }
        if path.utf8.count + 1 > KernelLimits.pathSize {
            return "the name is \(path.utf8.count) bytes long; the kernel skips names of \(KernelLimits.pathSize) bytes or more (PATH_MAX)"
        }
        if let long = path.split(separator: "/").first(where: { $0.utf8.count > KernelLimits.componentSize }) {
            return "a component of the name is \(long.utf8.count) bytes long, more than the \(KernelLimits.componentSize) "
                + "bytes a file name may have (NAME_MAX)"
        }
        switch kind {
        case .symlink(let target):
            if target.utf8.contains(0) { return "the link target holds a NUL byte, where the kernel's target would end" }
            if target.isEmpty { return "the link target is empty" }
            if target.utf8.count + 1 > KernelLimits.pathSize {
                return "the link target is \(target.utf8.count) bytes long; the kernel skips targets of \(KernelLimits.pathSize) "
                    + "bytes or more (PATH_MAX)"
            }
        case .characterDevice(let major, let minor), .blockDevice(let major, let minor):
            if major > KernelLimits.largestMajor {
                return "device major \(major) is larger than \(KernelLimits.largestMajor), the largest the kernel's 12-bit majors hold"
            }
            if minor > KernelLimits.largestMinor {
                return "device minor \(minor) is larger than \(KernelLimits.largestMinor), the largest the kernel's 20-bit minors hold"
            }
        default:
            break
        }
        return nil
    }
}

extension InitramfsEntry.Kind {
    /// The S_IFMT bits of Linux's mode_t, which is what the newc format stores.
    var typeBits: UInt32 {
        switch self {
        case .directory: 0o040000
        case .file: 0o100000
        case .characterDevice: 0o020000
        case .blockDevice: 0o060000
        case .symlink: 0o120000
        case .fifo: 0o010000
        case .socket: 0o140000
        }
    }
}

/// The name as stored in the archive: leading "/" and "./" dropped as gen_init_cpio drops the
/// leading "/", duplicate slashes and "." components collapsed, trailing "/" removed; "" is the
/// root. Nil when a ".." component is present: such a name could leave the archive root.
func normalisedArchivePath(_ name: String) -> String? {
    var components: [Substring] = []
    for component in name.split(separator: "/") where component != "." {
        if component == ".." { return nil }
        components.append(component)
    }
    return components.joined(separator: "/")
}

/// Combines the inputs' entries, in input order: a later entry for a path replaces the earlier
/// one where it stood. Then every entry is preceded by its parent directories: an explicit parent
/// that comes later is moved up, a missing one is added as a 0755 directory owned by 0:0.
func assembleArchiveEntries(_ inputs: [[InitramfsEntry]]) throws -> [InitramfsEntry] {
    var merged: [InitramfsEntry] = []
    var indexByPath: [String: Int] = [:]
    for entry in inputs.joined() {
        if let index = indexByPath[entry.path] {
            merged[index] = entry
        } else {
            indexByPath[entry.path] = merged.count
            merged.append(entry)
        }
    }

    var ordered: [InitramfsEntry] = []
    var placed: Set<String> = []
    for entry in merged where !placed.contains(entry.path) {
        var parent = ""
        for component in entry.path.split(separator: "/").dropLast() {
            parent = parent.isEmpty ? String(component) : "\(parent)/\(component)"
            if let index = indexByPath[parent] {
                guard merged[index].kind == .directory else {
                    throw InitramfsError.parentNotDirectory(
                        entry.origin, name: entry.path, parent: parent, parentOrigin: merged[index].origin)
                }
                if placed.insert(parent).inserted {
                    ordered.append(merged[index])
                }
            } else if placed.insert(parent).inserted {
                ordered.append(InitramfsEntry(path: parent, kind: .directory, permissions: 0o755, origin: entry.origin))
            }
        }
        placed.insert(entry.path)
        ordered.append(entry)
    }
    return ordered
}

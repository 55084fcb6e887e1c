import BoardModel
import Foundation
import Initramfs
import Kconfig

/// The checks of a board's own data files that need no build, made with the parsers the stages use: every kernel,
/// BusyBox and U-Boot fragment (and U-Boot's boot command as the fragment the build makes of it) in Kconfig
/// fragment syntax, and the initramfs's overlays and lists as the packer reads them, within the size the guest can
/// hold. A build runs them before its first stage (`BoardBuild.runLocked`), so a typo fails in a second rather than
/// minutes into a kernel build; `bspgen validate` runs them for every board. Checks of the description itself
/// (names, paths, `qemu.extra_args`, templates, firmware) are the catalog's.
public enum BoardInputChecks {
    /// Every problem found, each located in the data file where one applies, with the board field that names it.
    public static func problems(_ board: ResolvedBoard) -> [Diagnostic] {
        var problems: [Diagnostic] = []
        let fragments = [("kernel.fragments", board.kernelFragments), ("busybox.fragments", board.busyboxFragments),
                         ("bootloader.fragments", board.bootloaderFragments)]
        for (field, urls) in fragments {
            for (index, url) in urls.enumerated() {
                problems += KconfigFile.problems(of: url).map { diagnostic($0, field: "\(field)[\(index)]") }
            }
        }
        if let spec = board.board.bootloader, let fragment = BootloaderBuilder.bootcommandFragment(spec, board: board) {
            problems += KconfigFile.problems(text: fragment.text, name: fragment.name)
                .map { _ in Diagnostic(board.location(of: "bootloader.bootcommand"), field: "bootloader.bootcommand",
                                       "not a value Kconfig can hold: a string without '$(' and with '${' only as ${name}",
                                       hint: "Kbuild includes the config as makefile text; write U-Boot variables as ${name}") }
        }
        let sources = board.overlays.map { InitramfsSource.directory($0) } + board.lists.map { InitramfsSource.list($0) }
        do {
            try InitramfsPacker(sourceDateEpoch: 0, sizeLimit: board.initramfsSizeLimit).check(sources)
        } catch let error as InitramfsError {
            problems.append(diagnostic(error, board: board))
        } catch {
            problems.append(Diagnostic(SourceLocation(file: board.file.path), field: "initramfs", ErrorText.describe(error)))
        }
        return problems
    }

    static func diagnostic(_ error: KconfigError, field: String) -> Diagnostic {
        switch error {
        case let .invalidLine(origin, text, expected):
            Diagnostic(SourceLocation(file: origin.file, line: origin.line), field: field, "\(expected); found \(DescriptionText.quoted(text))",
                       hint: "write CONFIG_NAME=value (y, m, n, a number or a \"string\"), or '# CONFIG_NAME is not set'")
        case let .unreadable(path, reason):
            Diagnostic(SourceLocation(file: path), field: field, "cannot read the fragment: \(reason)")
        @unknown default:
            Diagnostic(SourceLocation(file: ""), field: field, "\(error)")
        }
    }

    /// An initramfs problem at the list line or overlay file it comes from, else at the board's initramfs field.
    static func diagnostic(_ error: InitramfsError, board: ResolvedBoard) -> Diagnostic {
        // A diagnostic is one line: the packer's longer messages are joined.
        let message = error.description.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: "; ")
        if case let .tooLarge(total, limit, largest) = error {
            return Diagnostic(board.location(of: "initramfs"), field: "initramfs",
                              "the overlays and lists alone hold \(total >> 20) MiB of file data, more than the \(limit >> 20) MiB limit "
                                + "(half the guest's memory: the kernel unpacks the archive into RAM next to its compressed copy)",
                              hint: "largest: " + largest.map { "/\($0.path) (\($0.size >> 20) MiB)" }.joined(separator: ", ")
                                + "; leave large files out of the overlays, or use a root file system image for them")
        }
        guard let at = error.inputLocation else {
            return Diagnostic(board.location(of: "initramfs"), field: "initramfs", message)
        }
        let field = board.lists.firstIndex { $0.path == at.file }.map { "initramfs.lists[\($0)]" }
            ?? board.overlays.firstIndex { at.file.hasPrefix($0.path) }.map { "initramfs.overlays[\($0)]" } ?? "initramfs"
        let prefix = at.description + ": "
        return Diagnostic(SourceLocation(file: at.file, line: at.line), field: field,
                          message.hasPrefix(prefix) ? String(message.dropFirst(prefix.count)) : message)
    }
}

extension ResolvedBoard {
    /// The most file data the initramfs may hold: the guest holds the compressed archive and the unpacked tree at
    /// once, so half its memory; the packer's own limit for a board QEMU does not run.
    public var initramfsSizeLimit: UInt64 {
        board.qemu?.memoryBytes.map { $0 / 2 } ?? InitramfsPacker.defaultSizeLimit
    }
}

extension InitramfsError {
    /// The list line or input file an error is about, when it is about one.
    var inputLocation: InitramfsInputLocation? {
        switch self {
        case let .unknownEntryType(at, _), let .wrongFieldCount(at, _, _), let .badMode(at, _), let .badNumber(at, _, _),
             let .badDeviceType(at, _), let .undefinedVariable(at, _), let .missingSourceFile(at, _), let .unusableSourceFile(at, _, _),
             let .unsafeName(at, _), let .parentNotDirectory(at, _, _, _):
            at
        default:
            nil
        }
    }
}

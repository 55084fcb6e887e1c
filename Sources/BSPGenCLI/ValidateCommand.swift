import ArgumentParser
import BoardModel
import Foundation
import Pipeline

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "validate", abstract: "Check board and toolchain descriptions: every file, or the ones named.",
        discussion: """
            Everything a build would refuse that needs no build is checked: the descriptions, and each board's \
            fragments (Kconfig syntax), initramfs lists and overlays, boot file templates and qemu.extra_args. Every \
            problem is reported, each on its own line with its file, line and field.
            """)

    @OptionGroup var project: ProjectOptions

    @Argument(help: "Board or toolchain YAML files, or board and toolchain names (default: all of them).")
    var files: [String] = []

    @Flag(help: "Print JSON: whether every file is valid, and each problem (the exit status is still 1 when there are problems).")
    var json = false

    struct Result: Encodable {
        var valid: Bool
        var boards: Int
        var toolchains: Int
        var problems: [String]
    }

    func run() throws {
        let only = files.isEmpty ? nil : try files.map(descriptionFile)
        let catalog = project.catalog(onlyFiles: only)
        var problems = catalog.diagnostics
        for name in catalog.boardNames {
            guard let board = catalog.boards[name] else { continue }
            problems += BoardInputChecks.problems(board)
        }
        // Boards share data files (boards/common/...): a problem in one is told once.
        var seen = Set<Diagnostic>()
        problems = problems.filter { seen.insert($0).inserted }
        if json {
            try printJSON(Result(valid: problems.isEmpty, boards: catalog.boards.count, toolchains: catalog.toolchains.count,
                                 problems: problems.map(\.description)))
            if !problems.isEmpty { throw CommandFailure(message: "") }
            return
        }
        if !problems.isEmpty { throw DiagnosticList(problems) }
        print("ok: \(files.isEmpty ? "every file" : files.count == 1 ? "1 file" : "\(files.count) files") valid (\(catalog.boards.count) board(s), \(catalog.toolchains.count) toolchain(s))")
    }

    /// A path as given, or the description a board or toolchain of that name has (`validate qemu-x86_64`, as every
    /// other command takes it).
    private func descriptionFile(_ argument: String) throws -> URL {
        let file = URL(fileURLWithPath: argument)
        if FileManager.default.fileExists(atPath: file.path) { return file }
        let folders = [project.boardsDirectory, project.toolchainsDirectory].map { URL(fileURLWithPath: $0, isDirectory: true) }
        if !argument.contains("/") {
            for folder in folders {
                let named = folder.appendingPathComponent(argument + ".yaml")
                if FileManager.default.fileExists(atPath: named.path) { return named }
            }
        }
        let names = folders.flatMap { folder in
            ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }
        }
        let hint = Suggestion.didYouMean((file.lastPathComponent as NSString).deletingPathExtension, among: names)
            ?? "name a YAML file, or a board or toolchain of \(project.boardsDirectory)/ or \(project.toolchainsDirectory)/"
        throw DiagnosticList([Diagnostic(SourceLocation(file: file.path), "no such file, board or toolchain", hint: hint)])
    }
}

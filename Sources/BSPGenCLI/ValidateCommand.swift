import ArgumentParser
import BoardModel
import Foundation

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "validate", abstract: "Check board and toolchain descriptions: every file, or the ones named.")

    @OptionGroup var project: ProjectOptions

    @Argument(help: "Board or toolchain YAML files (default: all of them).")
    var files: [String] = []

    func run() throws {
        let only = files.isEmpty ? nil : files.map { URL(fileURLWithPath: $0) }
        for file in only ?? [] where !FileManager.default.fileExists(atPath: file.path) {
            throw DiagnosticList([Diagnostic(SourceLocation(file: file.path), "no such file")])
        }
        let catalog = project.catalog(onlyFiles: only)
        if !catalog.diagnostics.isEmpty { throw DiagnosticList(catalog.diagnostics) }
        print("ok: \(files.isEmpty ? "every" : "\(files.count)") file(s) valid (\(catalog.boards.count) board(s), \(catalog.toolchains.count) toolchain(s))")
    }
}

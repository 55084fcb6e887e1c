import ArgumentParser
import Foundation
import Host
import Pipeline
import Report
import UserInput

extension OutputDiffError: UserFacingError {}

/// `bspgen diff OUT_A OUT_B`: what changed between two builds.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two builds: artifacts, kernel config (as diffconfig), kernel size (as bloat-o-meter), initramfs files, SBOM components.",
        discussion: """
            Each side is an output folder (out/BOARD, or a copy of it) or its manifest.json. The kernel config, kernel \
            sizes, initramfs files and SBOM components are compared when both folders have linux.config and \
            report.json (written by every build).
            """)

    @Argument(help: "The earlier build: an output folder or its manifest.json.")
    var before: String

    @Argument(help: "The later build: an output folder or its manifest.json.")
    var after: String

    @Flag(help: "Print JSON.")
    var json = false

    @Option(help: "Also write the comparison as a self-contained HTML page to this file.")
    var html: String?

    func run() throws {
        let diff = OutputDiff(try OutputSnapshot.load(before), try OutputSnapshot.load(after))
        if let html {
            do throws(UserFileError) {
                try OutputPath.checkFile(html)
            } catch {
                throw HostError.fileSystem(path: error.path, message: error.reason)
            }
            try AtomicFile.write(diff.html, to: URL(fileURLWithPath: html))
        }
        if json {
            try printJSON(diff)
        } else {
            print(diff.text, terminator: "")
        }
    }
}

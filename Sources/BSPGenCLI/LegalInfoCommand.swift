import ArgumentParser
import Foundation
import Pipeline

struct LegalInfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "legal-info",
        abstract: "Collect out/BOARD/legal-info/: each component's exact sources, patches, licence texts and manifest.csv.",
        discussion: """
            Builds the board if needed, then copies per component of its SBOM the source archive that was built (the \
            tarball, or the Debian .dsc with the files it lists), the patches applied, the licence texts of its tree \
            (COPYING, LICENSES/, ...) and Debian's copyright file; manifest.csv lists component, version, licence, \
            source archive, sha256 and the Debian source package (with those its Built-Using field names). \
            --host-sources also fetches the host libraries' Debian sources. A later build that rewrites out/BOARD/ leaves legal-info/ out.
            """)

    @OptionGroup var options: BuildOptions

    @Argument(help: "Board name (default: default_board in bspgen.yaml).")
    var board: String?

    @Flag(help: "Print JSON: the folder, its size and manifest.csv's rows.")
    var json = false

    @Flag(help: "Also fetch the Debian source packages of the host libraries linked into the board (glibc, libgcc) and those their Built-Using names, with apt-get source (glibc 20 MB, gcc-12 89 MB; kept in the cache).")
    var hostSources = false

    func run() async throws {
        let name = try options.project.boardNames(board.map { [$0] } ?? [], all: false).first ?? ""
        let start = Date()
        let (environment, result) = try await buildBoard(name, options: options)
        let legalStart = Date()
        let legal = try await LegalInfo(environment: environment, hostSources: hostSources).run(result)
        if json {
            return try printJSON(["board": .init(name), "folder": .init(legal.folder.path), "bytes": .init(String(legal.bytes)),
                                  "components": .init(legal.rows.map { $0.joined(separator: "\t") })] as [String: JSONValue])
        }
        print("\(name): \(legal.folder.path) (\(legal.bytes / 1_048_576) MiB, legal-info \(String(format: "%.1f", Date().timeIntervalSince(legalStart))) s, "
              + "with the build \(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
        for row in legal.rows {
            print("  \(row[0].padding(toLength: 34, withPad: " ", startingAt: 0)) \(row[1].padding(toLength: 26, withPad: " ", startingAt: 0)) \(row[3])")
        }
    }
}

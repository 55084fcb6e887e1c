import ArgumentParser
import BoardModel
import Foundation
import Host

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "doctor",
        abstract: "Check the host: build tools, toolchains, QEMU and sources; print the exact command that installs what is missing.")

    @OptionGroup var project: ProjectOptions
    @OptionGroup var workspaceOptions: WorkspaceOptions

    @Argument(help: "Only check what this board needs.")
    var board: String?

    @Flag(help: "Print JSON: every check with its section, status and detail, the missing packages and the command that installs them.")
    var json = false

    struct Check: Encodable {
        var section: String
        /// `ok`, `missing`, or `-` for a note.
        var status: String
        var what: String
        var detail: String
    }

    struct Result: Encodable {
        var checks: [Check]
        var missingPackages: [String]
        var installCommand: String?
        var descriptionProblems: [String]
        var ok: Bool
    }

    func run() async throws {
        let catalog = project.catalog()
        let boards = try board.map { [try catalog.board(named: $0)] } ?? catalog.boardNames.compactMap { catalog.boards[$0] }
        var missingPackages: [String] = []
        var checks: [Check] = []
        var section = ""
        func heading(_ title: String) {
            section = title
            if !json { print(title) }
        }
        func report(_ ok: Bool, _ what: String, _ detail: String, package: String? = nil) {
            checks.append(Check(section: section, status: ok ? "ok" : "missing", what: what, detail: detail))
            if !json { print("  \(ok ? "ok     " : "MISSING") \(what.padding(toLength: 28, withPad: " ", startingAt: 0)) \(detail)") }
            if !ok, let package, !missingPackages.contains(package) { missingPackages.append(package) }
        }
        func note(_ status: String, _ what: String, _ detail: String, line: String) {
            checks.append(Check(section: section, status: status, what: what, detail: detail))
            if !json { print(line) }
        }

        heading("Host tools")
        for tool in HostRequirements.tools {
            let path = ProcessRunner.which(tool.program)
            report(path != nil, tool.program, path?.path ?? "needed for \(tool.purpose) (Debian: \(tool.package))", package: tool.package)
        }
        for (path, package) in HostRequirements.buildFiles {
            report(FileManager.default.fileExists(atPath: path), package, path, package: package)
        }

        heading("Images and firmware boots (bspgen image, test --boot, --rootfs)")
        for tool in HostRequirements.imageTools {
            let path = ProcessRunner.which(tool.program)
            report(path != nil, tool.program, path?.path ?? "needed for \(tool.purpose) (Debian: \(tool.package))", package: tool.package)
        }
        var files: [String: String] = [:]   // path → package
        for board in boards {
            if let grub = board.board.grub { files["/usr/lib/grub/\(grub.format)/normal.mod"] = grub.package }
            for method in (board.board.boot ?? [:]).values where method.firmwareIsHostFile {
                if let firmware = method.firmware, let package = method.package { files[firmware] = package }
            }
        }
        for (path, package) in files.sorted(by: { $0.key < $1.key }) {
            report(FileManager.default.fileExists(atPath: path), package, path, package: package)
        }

        heading("Toolchains")
        let toolchainNames = Set(boards.map(\.board.toolchain))
        for name in toolchainNames.sorted() {
            guard let toolchain = catalog.toolchains[name] else { continue }
            do {
                let found = try await ToolchainResolver.resolve(toolchain, toolchainDirectory: workspaceOptions.toolchainDirectoryURL)
                report(true, name, "GCC \(found.version) at \(found.gcc) (from \(found.origin))")
            } catch let error as HostError {
                report(false, name, error.description.replacingOccurrences(of: "\n", with: " "))
                missingPackages += toolchain.debianPackages.filter { !missingPackages.contains($0) }
            }
        }

        heading("QEMU")
        let emulators = Set(boards.compactMap { $0.board.qemu?.binary })
        for binary in emulators.sorted() {
            let path = ProcessRunner.which(binary)
            report(path != nil, binary, path?.path ?? "needed to boot \(boards.filter { $0.board.qemu?.binary == binary }.map(\.name).joined(separator: ", "))",
                   package: HostRequirements.qemuPackage(binary, among: boards.map(\.architecture)))
        }
        for board in boards where board.board.qemu == nil {
            note("-", board.name, "no QEMU model: artifacts are checked instead",
                 line: "  -       \(board.name.padding(toLength: 28, withPad: " ", startingAt: 0)) no QEMU model: artifacts are checked instead")
        }

        heading("Sources")
        let sources = Set(boards.flatMap { [$0.board.kernel.resolvedSource, $0.board.busybox.resolvedSource] + ($0.board.bootloader.map { [$0.resolvedSource] } ?? []) })
        for source in sources.sorted(by: { $0.description < $1.description }) {
            let status = await sourceStatus(source)
            note("-", source.description, status, line: "  \(status)")
        }
        let fetcher = DebianPackageFetcher(workspace: workspaceOptions.workspace)
        let firmware = Set(boards.flatMap { ($0.board.firmware ?? []).map { DebianPackageRequest(package: $0.package, architecture: $0.architecture, component: $0.component) } })
        for request in firmware.sorted(by: { $0.package < $1.package }) {
            let name = "firmware package " + request.package + (request.architecture.map { ":\($0)" } ?? "")
            let cached = fetcher.cached(request)
            let detail = cached.map { "cached (\($0.lastPathComponent))" }
                ?? "fetched by the first build through bspgen's private apt configuration" + (request.component.map { " (adds \($0))" } ?? "")
            note(cached == nil ? "-" : "ok", name, detail, line: "  \(cached == nil ? "-      " : "ok     ") \(name): " + detail)
        }
        note("-", "cache", workspaceOptions.workspace.cacheDirectory.path, line: "  cache: \(workspaceOptions.workspace.cacheDirectory.path)")
        if json {
            try printJSON(Result(checks: checks, missingPackages: missingPackages,
                                 installCommand: missingPackages.isEmpty ? nil : aptInstallCommand(missingPackages),
                                 descriptionProblems: catalog.diagnostics.map(\.description),
                                 ok: missingPackages.isEmpty && catalog.diagnostics.isEmpty))
        }

        if !catalog.diagnostics.isEmpty && !json {
            print("Descriptions")
            print(catalog.diagnostics.map { "  " + $0.description }.joined(separator: "\n"))
        }
        if missingPackages.isEmpty && catalog.diagnostics.isEmpty {
            if !json { print("\nEverything needed is here.") }
        } else {
            if !missingPackages.isEmpty && !json { print("\nInstall what is missing with:\n  \(aptInstallCommand(missingPackages))") }
            let findings = [missingPackages.isEmpty ? nil : "\(missingPackages.count) package(s) missing on this host",
                            catalog.diagnostics.isEmpty ? nil : "\(catalog.diagnostics.count) problem(s) in the descriptions (listed under Descriptions)"]
            throw CommandFailure(message: findings.compactMap { $0 }.joined(separator: "; "), status: 1)
        }
    }

    private func sourceStatus(_ source: SourceSpec) async -> String {
        switch source {
        case .debianPackage(let name):
            let query = try? await ProcessRunner.capture(Command("dpkg-query", ["-W", "-f", "${Status} ${Version}", name]))
            if let query, query.succeeded, query.output.contains(" installed ") {
                return "ok      \(source): installed (\(query.output.split(separator: " ").last ?? ""))"
            }
            return "-       \(source): not installed; bspgen downloads it with apt-get download on first build"
        case .debianSource:
            return "-       \(source): fetched with apt-get source on first build (deb-src entries derived from the host's apt sources)"
        case .tarball(let path, _), .directory(let path):
            return "\(FileManager.default.fileExists(atPath: path) ? "ok     " : "MISSING") \(source)"
        case .url:
            return "-       \(source): downloaded and verified on first build"
        }
    }
}

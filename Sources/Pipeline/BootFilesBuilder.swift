import BoardModel
import Foundation
import Host
import UserInput

/// The files a board's firmware or boot loader reads, made from the board's templates: text as is, U-Boot
/// scripts wrapped by `mkimage` (which stamps SOURCE_DATE_EPOCH, not the clock).
public struct BootFilesBuilder: Sendable {
    public let environment: BuildEnvironment

    public init(environment: BuildEnvironment) { self.environment = environment }

    var board: ResolvedBoard { environment.board }
    var directory: URL { environment.buildDirectory.appendingPathComponent("boot-files", isDirectory: true) }

    public func build(names: ArtifactNames) async throws -> [(name: String, url: URL)] {
        let specs = board.board.bootFiles ?? []
        guard !specs.isEmpty else { return [] }
        let values = BootFileTemplate.values(for: board.board)
        var key = StageKey()
        key.add("stage", "boot-files-1")
        key.add("boot_files section", key.encodable(specs))
        key.add("values", key.encodable(values))
        key.add("epoch", String(environment.sourceDateEpoch))
        for template in board.bootFileTemplates { try key.addFile("template", template) }
        let outputs = specs.map { directory.appendingPathComponent($0.name) }
        try await environment.run(Stage("boot files", key: key, record: directory.appendingPathComponent(".bspgen-boot-files.json"),
                                        outputs: outputs)) {
            try await make(specs: specs, values: values)
            return StageWork()
        }
        return zip(specs, outputs).map { ($0.name, $1) }
    }

    private func make(specs: [BootFileSpec], values: [String: String]) async throws {
        environment.progress.begin("boot files", specs.map(\.name).joined(separator: ", "))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let log = environment.log("boot-files")
        try? FileManager.default.removeItem(at: log)
        for (spec, template) in zip(specs, board.bootFileTemplates) {
            let text = try DescriptionText.read(template)
            if let problem = BootFileTemplate.problems(in: text, values: values).first {
                throw BuildError.bootFile(name: spec.name, message: "\(template.path):\(problem.line): \(problem.message)")
            }
            let rendered = BootFileTemplate.render(text, values: values)
            let destination = directory.appendingPathComponent(spec.name)
            switch spec.resolvedKind {
            case .text:
                try AtomicFile.write(rendered, to: destination)
            case .ubootScript:
                let script = directory.appendingPathComponent(spec.name + ".cmd")
                try AtomicFile.write(rendered, to: script)
                let temporary = directory.appendingPathComponent(".\(spec.name).\(getpid())")
                defer { try? FileManager.default.removeItem(at: temporary) }
                try await ProcessRunner.logged(Command("mkimage", ["-A", board.toolchain.kernelArch, "-O", "linux", "-T", "script", "-C", "none",
                                                                   "-n", "\(board.name) boot script", "-d", script.path, temporary.path],
                                                       environment: ["SOURCE_DATE_EPOCH": String(environment.sourceDateEpoch)]), log: log)
                try AtomicFile.replace(destination, with: temporary)
            }
        }
        environment.progress.end()
    }
}

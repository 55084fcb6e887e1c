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
            let bytes: [UInt8]
            do {
                bytes = try UserFile.read(template.path, limit: UserFile.Limit.text)
            } catch {
                throw BuildError.bootFile(name: spec.name, message: "cannot read the template \(template.path): \(error.reason)")
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw BuildError.bootFile(name: spec.name, message: "the template \(template.path) is not UTF-8 text "
                                          + "(byte \((UserText.firstInvalidUTF8(in: bytes) ?? 0) + 1) is not)")
            }
            if values["DTB"] == nil, text.contains("@DTB@") {
                throw BuildError.bootFile(name: spec.name, message: "\(template.path) uses @DTB@ but the board has no device tree")
            }
            if values["FIT"] == nil, text.contains("@FIT@") {
                throw BuildError.bootFile(name: spec.name, message: "\(template.path) uses @FIT@ but the board has no fit_image")
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

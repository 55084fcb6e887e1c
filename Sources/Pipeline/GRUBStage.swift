import BoardModel
import Foundation
import Host

extension ImageBuilder {
    /// A GRUB EFI executable with its modules built in and `prefix` set: it reads `prefix/grub.cfg` from the
    /// partition it was started from.
    public func grub(_ spec: GRUBSpec) async throws -> (name: String, url: URL) {
        let moduleDirectory = URL(fileURLWithPath: "/usr/lib/grub/\(spec.format)")
        guard FileManager.default.fileExists(atPath: moduleDirectory.appendingPathComponent("normal.mod").path) else {
            throw HostError.missingTool("GRUB modules for \(spec.format) (\(moduleDirectory.path))", install: aptInstallCommand([spec.package]))
        }
        let output = directory.appendingPathComponent(spec.name)
        var key = StageKey()
        key.add("stage", "grub-1")
        key.add("grub section", key.encodable(spec))
        // grub-mkimage copies the named modules and those they depend on: any change in the installed GRUB counts.
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: moduleDirectory.path)) ?? []).sorted()
        key.add("grub files", Checksum.sha256(try files.map { "\($0) \(try Checksum.sha256(of: moduleDirectory.appendingPathComponent($0)))" }
                                                .joined(separator: "\n")))
        try await environment.run(Stage("GRUB", key: key, record: directory.appendingPathComponent(".bspgen-grub.json"),
                                        outputs: [output], logName: "images")) {
            try prepare()
            environment.progress.begin("GRUB", "\(spec.name) (\(spec.format))")
            let temporary = directory.appendingPathComponent(".\(spec.name).tmp")
            try await run("grub-mkimage", ["-O", spec.format, "-d", moduleDirectory.path, "-p", spec.prefix, "-o", temporary.path] + spec.modules)
            try AtomicFile.replace(output, with: temporary)
            environment.progress.end(sizeNote(output))
            return StageWork()
        }
        return (spec.name, output)
    }
}

import BoardModel
import Foundation
import Host

extension ImageBuilder {
    /// `mkimage -f` on the generated `.its`, in a folder holding links to the inputs under their output names.
    public func fitImage(_ spec: FITImageSpec, kernel: URL, deviceTree: (name: String, url: URL)?, initramfs: URL,
                         names: ArtifactNames) async throws -> [(name: String, url: URL)] {
        let output = directory.appendingPathComponent(spec.name)
        let its = directory.appendingPathComponent(spec.sourceName)
        var key = StageKey()
        key.add("stage", "fit-image-1")
        key.add("fit_image section", key.encodable(spec))
        key.add("arch", board.toolchain.kernelArch)
        key.add("epoch", epoch)
        try key.addFile("kernel", kernel)
        try key.addFile("initramfs", initramfs)
        if let deviceTree { try key.addFile("device tree", deviceTree.url) }
        try await environment.run(Stage("FIT image", key: key, record: directory.appendingPathComponent(".bspgen-fit.json"),
                                        outputs: [output, its], logName: "images")) {
            try await makeFITImage(spec, kernel: kernel, deviceTree: deviceTree, initramfs: initramfs, names: names)
            return StageWork()
        }
        return [(spec.name, output), (spec.sourceName, its)]
    }

    func makeFITImage(_ spec: FITImageSpec, kernel: URL, deviceTree: (name: String, url: URL)?, initramfs: URL,
                      names: ArtifactNames) async throws {
        try prepare()
        environment.progress.begin("FIT image", spec.name)
        let folder = directory.appendingPathComponent("fit", isDirectory: true)
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var inputs = [(names.kernel, kernel), (names.initramfs, initramfs)]
        if let deviceTree { inputs.append((deviceTree.name, deviceTree.url)) }
        for (name, url) in inputs {
            do {
                try FileManager.default.linkItem(at: url, to: folder.appendingPathComponent(name))
            } catch {
                try FileManager.default.copyItem(at: url, to: folder.appendingPathComponent(name))
            }
        }
        let source = FITSource.render(FITSource.Inputs(description: "\(board.name): Linux, device tree and initramfs by bspgen",
                                                      arch: board.toolchain.kernelArch, kernel: names.kernel,
                                                      deviceTree: deviceTree?.name, ramdisk: names.initramfs, spec: spec))
        let its = directory.appendingPathComponent(spec.sourceName)
        try AtomicFile.write(source, to: its)
        try AtomicFile.write(source, to: folder.appendingPathComponent(spec.sourceName))
        let temporary = directory.appendingPathComponent(".\(spec.name).tmp")
        let output = directory.appendingPathComponent(spec.name)
        do {
            try await run("mkimage", ["-f", spec.sourceName, temporary.path], in: folder)
            try AtomicFile.replace(output, with: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        environment.progress.end(sizeNote(output))
    }
}

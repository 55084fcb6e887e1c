import BoardModel
import DeviceTree
import Foundation
import Host

extension ImageBuilder {
    /// `mkimage -f` on the generated `.its`, in a folder holding links to the inputs under their output names.
    /// With `signing` (a board with `fit_image.signing`), the image is signed with its key.
    public func fitImage(_ spec: FITImageSpec, kernel: URL, deviceTree: (name: String, url: URL)?, initramfs: URL,
                         names: ArtifactNames, signing: VerifiedBootArtifacts? = nil) async throws -> [(name: String, url: URL)] {
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
        if let signing {
            key.add("signing key", signing.key.publicKeySHA256)
            try key.addFile("U-Boot key tree", signing.publicKeyTree)
        }
        try await environment.run(Stage("FIT image", key: key, record: directory.appendingPathComponent(".bspgen-fit.json"),
                                        outputs: [output, its], logName: "images")) {
            try await makeFITImage(spec, kernel: kernel, deviceTree: deviceTree, initramfs: initramfs, names: names, signing: signing)
            return StageWork()
        }
        return [(spec.name, output), (spec.sourceName, its)]
    }

    func makeFITImage(_ spec: FITImageSpec, kernel: URL, deviceTree: (name: String, url: URL)?, initramfs: URL,
                      names: ArtifactNames, signing: VerifiedBootArtifacts? = nil) async throws {
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
        let source = FITSource.render(FITSource.Inputs(board: board, names: names, deviceTree: deviceTree?.name, spec: spec))
        let its = directory.appendingPathComponent(spec.sourceName)
        try AtomicFile.write(source, to: its)
        try AtomicFile.write(source, to: folder.appendingPathComponent(spec.sourceName))
        let temporary = directory.appendingPathComponent(".\(spec.name).tmp")
        let output = directory.appendingPathComponent(spec.name)
        do {
            if let signing, let signingSpec = spec.signing {
                // -K writes the public key into a copy of U-Boot's tree as it signs: it must come out as the key U-Boot holds.
                let scratch = folder.appendingPathComponent("u-boot.dtb")
                try AtomicFile.copy(signing.publicKeyTree, to: scratch)
                try await run("mkimage", ["-f", spec.sourceName, "-k", signing.key.folder.path, "-K", scratch.lastPathComponent, "-r", temporary.path],
                              in: folder)
                let written = try DeviceTreeBlob(contentsOf: scratch.path).node(at: signingSpec.keyNodePath)
                let held = try DeviceTreeBlob(contentsOf: signing.publicKeyTree.path).node(at: signingSpec.keyNodePath)
                guard written == held else {
                    throw BuildError.signing(file: board.file.lastPathComponent, message: "\(spec.name) was signed with a key whose public part differs from "
                                                + "the one in U-Boot's tree \(signing.publicKeyTree.path)", hint: "build again: the key changed during the build")
                }
                try? FileManager.default.removeItem(at: scratch)
            } else {
                try await run("mkimage", ["-f", spec.sourceName, temporary.path], in: folder)
            }
            try AtomicFile.replace(output, with: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        environment.progress.end(sizeNote(output))
    }
}

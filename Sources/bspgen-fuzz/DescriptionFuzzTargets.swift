import BoardModel
import Foundation

/// Toolchain and architecture files through decoding and every check the catalog makes, as `bspgen validate`
/// reads them: the file is written into a project of its own, beside the shipped architectures when the fuzzer
/// runs from the project's root.
extension FuzzTarget {
    /// `toolchains/`, `arches/` (the shipped ones) and an empty `boards/` for the toolchain target; `arches/` alone
    /// for the architecture target.
    static let descriptionScratch: URL = {
        let folder = scratch.appendingPathComponent("descriptions")
        let manager = FileManager.default
        for name in ["boards", "toolchains", "arches", "arch-only"] {
            try? manager.createDirectory(at: folder.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        let shipped = URL(fileURLWithPath: manager.currentDirectoryPath).appendingPathComponent("arches")
        for name in (try? manager.contentsOfDirectory(atPath: shipped.path)) ?? [] where name.hasSuffix(".yaml") {
            try? manager.copyItem(at: shipped.appendingPathComponent(name), to: folder.appendingPathComponent("arches/\(name)"))
        }
        return folder
    }()

    static func toolchainFile(_ input: Data) {
        let folder = descriptionScratch
        guard (try? input.write(to: folder.appendingPathComponent("toolchains/fuzz.yaml"))) != nil else { return }
        let catalog = Catalog(boardsDirectory: folder.appendingPathComponent("boards"), toolchainsDirectory: folder.appendingPathComponent("toolchains"),
                              archesDirectory: folder.appendingPathComponent("arches"))
        for diagnostic in catalog.diagnostics { _ = diagnostic.description }
        for toolchain in catalog.toolchains.values { _ = (toolchain.crossCompile, toolchain.debianPackages) }
    }

    static func architectureFile(_ input: Data) {
        let folder = descriptionScratch
        guard (try? input.write(to: folder.appendingPathComponent("arch-only/fuzz.yaml"))) != nil else { return }
        let catalog = Catalog(boardsDirectory: folder.appendingPathComponent("boards"), toolchainsDirectory: folder.appendingPathComponent("boards"),
                              archesDirectory: folder.appendingPathComponent("arch-only"))
        for diagnostic in catalog.diagnostics { _ = diagnostic.description }
        for architecture in catalog.architectures.values {
            for format in architecture.kernelImages { _ = try? format.recognise(Data(input.prefix(4096))) }
        }
    }
}

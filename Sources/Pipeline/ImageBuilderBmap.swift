import BoardModel
import DiskImage
import Foundation
import Host

/// The `.bmap` beside each disk image, made in the image's own stage so that it is never older than the image.
extension ImageBuilder {
    public func bmapFile(of spec: DiskImageSpec) -> (name: String, url: URL) {
        (spec.bmapName, directory.appendingPathComponent(spec.bmapName))
    }

    func writeBmap(_ spec: DiskImageSpec) throws {
        let text: String
        do {
            text = try Bmap.make(for: directory.appendingPathComponent(spec.name))
        } catch {
            throw BuildError.image(name: spec.bmapName, message: error.description)
        }
        try AtomicFile.write(text, to: bmapFile(of: spec).url)
    }
}

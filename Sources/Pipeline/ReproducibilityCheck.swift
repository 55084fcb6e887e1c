import Foundation
import Host

/// Compares two output folders of the same board file by file, for `bspgen build --check-reproducible`.
public struct ReproducibilityCheck: Sendable {
    public enum Difference: Sendable, Equatable, CustomStringConvertible {
        case onlyIn(name: String, folder: String)
        /// The first byte at which the two files differ (the shorter file's length when one is a prefix).
        case content(name: String, offset: Int, sizes: (Int, Int))

        public var description: String {
            switch self {
            case let .onlyIn(name, folder): "\(name) exists only in \(folder)"
            case let .content(name, offset, sizes): "\(name) differs from byte \(offset) on (sizes \(sizes.0) and \(sizes.1))"
            }
        }

        public static func == (lhs: Difference, rhs: Difference) -> Bool { lhs.description == rhs.description }
    }

    public var identical: [String] = []
    public var differences: [Difference] = []

    /// Files are taken in name order, so the first difference is the same from run to run.
    public init(first: URL, second: URL) throws {
        // Files in sub-folders (licences/) by their paths; legal-info/ is made on request, not by the build.
        let names = { (folder: URL) in Set((try? ArtifactChecker.outputFiles(folder)) ?? []) }
        let (left, right) = (names(first), names(second))
        for name in left.union(right).sorted() {
            guard left.contains(name) else { differences.append(.onlyIn(name: name, folder: second.path)); continue }
            guard right.contains(name) else { differences.append(.onlyIn(name: name, folder: first.path)); continue }
            let a = first.appendingPathComponent(name), b = second.appendingPathComponent(name)
            if try Checksum.sha256(of: a) == Checksum.sha256(of: b) {
                identical.append(name)
            } else {
                differences.append(try Self.firstDifference(name, a, b))
            }
        }
    }

    static func firstDifference(_ name: String, _ a: URL, _ b: URL) throws -> Difference {
        guard let left = FileManager.default.contents(atPath: a.path), let right = FileManager.default.contents(atPath: b.path) else {
            throw HostError.fileSystem(path: a.path, message: "cannot read for comparison")
        }
        let offset = zip(left, right).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(left.count, right.count)
        return .content(name: name, offset: offset, sizes: (left.count, right.count))
    }
}

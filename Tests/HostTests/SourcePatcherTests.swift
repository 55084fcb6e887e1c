@testable import Host
import Foundation
import Testing

/// Patch series on a copy of a pristine tree: the series applies in order, the pristine tree never changes, and
/// a patch that does not apply names its file and hunk and leaves nothing behind.
@Suite struct SourcePatcherTests {
    private let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-patch-\(UUID().uuidString)")

    private func write(_ text: String, _ path: String) throws -> URL {
        let url = folder.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// A pristine tree of two files, as the cache holds it.
    private func pristine() throws -> (SourceFetcher, SourceTree) {
        _ = try write("one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n", "pristine/src/numbers.txt")
        _ = try write("alpha\nbeta\ngamma\n", "pristine/src/letters.txt")
        let tree = SourceTree(source: "fixture", root: folder.appendingPathComponent("pristine/src"), version: "1.0", sha256: String(repeating: "a", count: 64))
        return (SourceFetcher(workspace: Workspace(cacheDirectory: folder.appendingPathComponent("cache").path)), tree)
    }

    private let first = """
        --- a/numbers.txt
        +++ b/numbers.txt
        @@ -1,4 +1,4 @@
         one
        -two
        +TWO
         three
         four

        """
    private let second = """
        --- a/letters.txt
        +++ b/letters.txt
        @@ -1,3 +1,4 @@
         alpha
         beta
        +beta-and-a-half
         gamma

        """

    @Test func aSeriesAppliesInOrderToACopy() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let (fetcher, tree) = try pristine()
        let patches = [try write(first, "patches/0001-numbers.patch"), try write(second, "patches/0002-letters.patch")]
        let patched = try await fetcher.patched(tree, with: patches, log: folder.appendingPathComponent("log"))
        #expect(patched.root != tree.root)
        #expect(try String(contentsOf: patched.root.appendingPathComponent("numbers.txt"), encoding: .utf8).hasPrefix("one\nTWO\n"))
        #expect(try String(contentsOf: patched.root.appendingPathComponent("letters.txt"), encoding: .utf8) == "alpha\nbeta\nbeta-and-a-half\ngamma\n")
        #expect(try String(contentsOf: tree.root.appendingPathComponent("numbers.txt"), encoding: .utf8).hasPrefix("one\ntwo\n"))
        #expect(try String(contentsOf: tree.root.appendingPathComponent("letters.txt"), encoding: .utf8) == "alpha\nbeta\ngamma\n")
        #expect(patched.patches.map(\.name) == ["0001-numbers.patch", "0002-letters.patch"])
        #expect(patched.patches[0].sha256 == (try Checksum.sha256(of: patches[0])))
        #expect(patched.fetchedNow)

        // The same series again finds the patched tree; another series gets another folder.
        let again = try await fetcher.patched(tree, with: patches, log: folder.appendingPathComponent("log"))
        #expect(again.root == patched.root && !again.fetchedNow)
        let one = try await fetcher.patched(tree, with: [patches[1]], log: folder.appendingPathComponent("log"))
        #expect(one.root != patched.root)
        #expect(try String(contentsOf: one.root.appendingPathComponent("numbers.txt"), encoding: .utf8).hasPrefix("one\ntwo\n"))
    }

    @Test func aPatchThatDoesNotApplyIsNamedWithItsHunkAndNothingIsKept() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let (fetcher, tree) = try pristine()
        let good = try write(second, "patches/0001-letters.patch")
        let bad = try write(first.replacingOccurrences(of: " three", with: " THREE"), "patches/0002-numbers.patch")
        do {
            _ = try await fetcher.patched(tree, with: [good, bad], log: folder.appendingPathComponent("log"))
            Issue.record("a failing patch was applied")
        } catch let failure as PatchFailure {
            #expect(failure.patch == bad.path)
            #expect(failure.failures == ["numbers.txt: hunk #1 FAILED at 1"])
            #expect(failure.description.contains("0002-numbers.patch") && failure.description.contains("nothing was kept"))
        }
        let sources = (try? FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("cache/sources").path)) ?? []
        #expect(sources.filter { !$0.hasPrefix(".lock") } == [], "no patched tree, half or whole, is left: \(sources)")
        #expect(try String(contentsOf: tree.root.appendingPathComponent("letters.txt"), encoding: .utf8) == "alpha\nbeta\ngamma\n")
    }

    @Test func aPatchAlreadyInTheSourceIsAFailureNotAReversal() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let (fetcher, tree) = try pristine()
        let patch = try write(first, "patches/0001-numbers.patch")
        let twice = try write(first, "patches/0002-numbers-again.patch")
        await #expect(throws: PatchFailure.self) {
            _ = try await fetcher.patched(tree, with: [patch, twice], log: folder.appendingPathComponent("log"))
        }
    }
}

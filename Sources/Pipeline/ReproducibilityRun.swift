import Foundation
import Host

/// `bspgen build --check-reproducible`: a board built a second time from nothing, in build folders and an
/// output folder of its own under the cache and without ccache, so that no result of the first build can be
/// reused; then the two output folders compared byte by byte.
public struct ReproducibilityRun: Sendable {
    public let board: String
    /// The first build's output folder, `out/<board>/`.
    public let firstOutput: URL
    /// Where the second build happens: `<cache>/reproducible/<board>/`.
    public let scratch: URL

    public init(board: String, workspace: Workspace) {
        self.board = board
        firstOutput = workspace.output(board)
        scratch = workspace.cacheDirectory.appendingPathComponent("reproducible/\(board)", isDirectory: true)
    }

    /// How `build` must change its environment for the second build.
    var isolate: @Sendable (inout BuildEnvironment) -> Void {
        { [scratch] environment in
            environment.workspace = environment.workspace.isolated(in: scratch)
            environment.compilers.ccache = false
        }
    }

    /// Empties the scratch folder, builds the board again through `build` (which applies `isolate`), and compares
    /// the outputs; throws `NotReproducible` naming the first difference.
    public func run(build: (_ isolate: @escaping @Sendable (inout BuildEnvironment) -> Void) async throws -> BoardBuildResult)
        async throws -> ReproducibilityCheck {
        try? FileManager.default.removeItem(at: scratch)
        let second = try await build(isolate)
        let check = try ReproducibilityCheck(first: firstOutput, second: second.outputDirectory)
        guard check.differences.isEmpty else {
            throw NotReproducible(board: board, differences: check.differences, firstOutput: firstOutput, secondOutput: second.outputDirectory)
        }
        return check
    }
}

/// Two builds of one board from the same inputs gave different outputs.
public struct NotReproducible: Error, CustomStringConvertible, Sendable {
    public var board: String
    /// Never empty: the first one is named first.
    public var differences: [ReproducibilityCheck.Difference]
    public var firstOutput: URL
    public var secondOutput: URL

    public var description: String {
        let first = differences.first.map(\.description) ?? "the outputs differ"
        let more = differences.count > 1
            ? " (and \(differences.count - 1) more: \(differences.dropFirst().map(\.description).joined(separator: "; ")))" : ""
        return "\(board) is not reproducible: \(first)\(more)\n    first build: \(firstOutput.path)\n    second build: \(secondOutput.path)"
    }
}

extension NotReproducible: UserFacingError {}

import BoardModel
import Foundation
import Host

extension BuildEnvironment {
    /// A component's source tree: the pristine tree from the cache (fetched and unpacked on first use), then a
    /// patched copy of it when the board patches the component. Both steps are journaled with their times.
    public func preparedSource(_ component: String, _ spec: SourceSpec, patches: [URL]) async throws -> SourceTree {
        let fetcher = SourceFetcher(workspace: workspace)
        progress.begin("\(component) source", spec.description)
        let start = Date()
        let pristine = try await fetcher.fetch(spec, relativeTo: board.folder, log: log("\(component)-source"))
        progress.end(pristine.root.path)
        cacheUses.add(pristine.root)
        let cached = pristine.root.path.replacingOccurrences(of: workspace.sources.path + "/", with: "")
        note(external: "\(component) source", ranBecause: pristine.fetchedNow ? "not in the cache yet" : nil, since: start,
             detail: pristine.fetchedNow ? pristine.root.path : "unpacked tree in the cache (\(cached))")
        guard !patches.isEmpty else { return pristine }

        progress.begin("\(component) patches", "\(patches.count) patch(es) on \(pristine.version)")
        let patchStart = Date()
        let patched = try await fetcher.patched(pristine, with: patches, log: log("\(component)-patches"))
        progress.end(patched.root.path)
        cacheUses.add(patched.root)
        note(external: "\(component) patches", ranBecause: patched.fetchedNow ? "this series is not applied to this source yet" : nil,
             since: patchStart, detail: "\(patches.count) patch(es), tree \(patched.root.deletingLastPathComponent().lastPathComponent)")
        return patched
    }
}

extension StageKey {
    /// The source a stage builds: its archive's checksum (or folder), its version and every patch applied to it.
    mutating func add(source: SourceTree) {
        add("source", source.sha256 ?? source.root.path)
        add("source version", source.version)
        for patch in source.patches { add("patch \(patch.name)", patch.sha256) }
    }
}

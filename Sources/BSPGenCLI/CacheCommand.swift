import ArgumentParser
import DiskImage
import Foundation
import Pipeline

struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cache",
        abstract: "List the cache's shared build folders (kernels, BusyBox, U-Boot, source trees) with their size and the boards that use them.",
        subcommands: [CacheListCommand.self, CacheGCCommand.self], defaultSubcommand: CacheListCommand.self)
}

struct CacheListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list",
        abstract: "Every shared folder of the cache, its size and the boards whose last build used it.")

    @OptionGroup var workspaceOptions: WorkspaceOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let entries = CacheInventory(workspace: workspaceOptions.workspace).entries()
        if json { return try printJSON(entries) }
        printTable([["KIND", "SIZE", "USED BY", "FOLDER"]] + entries.map {
            [$0.kind, human($0.bytes), $0.users.isEmpty ? "(unused)" : $0.users.joined(separator: ","), $0.path]
        })
        let unused = entries.filter(\.users.isEmpty)
        print("\(entries.count) folder(s), \(human(entries.map(\.bytes).reduce(0, +))); \(unused.count) unused, "
              + "\(human(unused.map(\.bytes).reduce(0, +))): `bspgen cache gc` removes them")
    }
}

struct CacheGCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gc",
        abstract: "Remove the shared folders no board's last build used (a kernel of a renamed fragment, trees of an old patch series).",
        discussion: "A board's last build is recorded in <cache>/build/BOARD/; remove that folder to forget a board. Nothing is removed while another bspgen uses the cache.")

    @OptionGroup var workspaceOptions: WorkspaceOptions

    @Flag(help: "Only say what would be removed.")
    var dryRun = false

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        guard let removed = try CacheInventory(workspace: workspaceOptions.workspace).removeUnused(dryRun: dryRun) else {
            throw CommandFailure(message: "another bspgen process is using the cache \(workspaceOptions.workspace.cacheDirectory.path); run gc when it has finished")
        }
        if json { return try printJSON(removed) }
        for entry in removed { print("\(dryRun ? "would remove" : "removed") \(entry.kind) \(entry.path) (\(human(entry.bytes)))") }
        print("\(dryRun ? "would free" : "freed") \(human(removed.map(\.bytes).reduce(0, +))) in \(removed.count) folder(s)")
    }
}

private func human(_ bytes: Int64) -> String { Bmap.humanSize(Int(bytes)) }

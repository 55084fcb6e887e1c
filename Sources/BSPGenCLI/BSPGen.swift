import ArgumentParser

public struct BSPGen: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bspgen",
        abstract: "Turn a board description into a bootable board support package, and prove it boots.",
        subcommands: []
    )
    public init() {}
}

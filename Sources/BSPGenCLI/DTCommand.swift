import ArgumentParser
import DeviceTree
import Foundation
import Host
import UserInput

/// `bspgen dt`: look at and edit flattened device trees with the same code the build uses.
public struct DTCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "dt",
        abstract: "Inspect, edit, overlay and compare device tree blobs (.dtb).",
        subcommands: [Show.self, SetProperty.self, Apply.self, Diff.self]
    )

    public init() {}

    /// Prints a DeviceTreeError as one line on standard error and exits with `status`, instead of
    /// letting it reach ArgumentParser's generic error report.
    static func reportingErrors<Result>(exitStatus status: Int32 = 1, _ body: () throws -> Result) throws -> Result {
        do {
            return try body()
        } catch let error as DeviceTreeError {
            printError(error.description)
            throw ExitCode(status)
        } catch let error as UserFileError {
            printError("write \(error)")
            throw ExitCode(status)
        } catch let error as HostError {
            printError(error.description)
            throw ExitCode(status)
        }
    }
}

extension DTCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a dtb as device tree source, like dtc -I dtb -O dts.",
            discussion: "With PATH, print only that node and its descendants. PATH may also be an alias."
        )

        @Argument(help: "The dtb to print.") var file: String
        @Argument(help: "The node to start from.") var path = "/"

        func run() throws {
            print(try DTCommand.reportingErrors { try DeviceTreeBlob(contentsOf: file).dts(from: path) }, terminator: "")
        }
    }

    struct SetProperty: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set a property, like fdtput.",
            discussion: """
                Values are strings (several make a string list), u32 or u64 numbers (decimal or 0x-prefixed \
                hex, one per cell), or bytes (hex, one per VALUE, 0x optional). No VALUE sets an empty \
                property. The file is rewritten atomically unless -o names another.
                """
        )

        enum ValueType: String, ExpressibleByArgument, CaseIterable {
            case string, u32, u64, bytes
        }

        @Argument(help: "The dtb to edit.") var file: String
        @Argument(help: "The node, e.g. /chosen.") var path: String
        @Argument(help: "The property name.") var property: String
        @Argument(help: "The value(s).") var values: [String] = []
        @Option(name: [.customShort("t"), .long], help: "How to encode the values.") var type: ValueType = .string
        @Option(name: [.short, .customLong("output")], help: "Write here instead of editing FILE in place.") var output: String?
        @Flag(name: [.customShort("c"), .customLong("create")], help: "Create missing nodes on the path.") var createNodes = false

        func validate() throws {
            _ = try value()
        }

        func value() throws -> PropertyValue {
            func number<Value: FixedWidthInteger>(_ text: String, as type: Value.Type) throws -> Value {
                let parsed = text.lowercased().hasPrefix("0x") ? Value(text.dropFirst(2), radix: 16) : Value(text)
                guard let parsed else { throw ValidationError("'\(text)' is not a \(Value.bitWidth)-bit unsigned number") }
                return parsed
            }
            switch type {
            case .string: return .strings(values)
            case .u32: return .u32(try values.map { try number($0, as: UInt32.self) })
            case .u64: return .u64(try values.map { try number($0, as: UInt64.self) })
            case .bytes:
                return .bytes(try values.map { text in
                    let digits = text.lowercased().hasPrefix("0x") ? text.dropFirst(2) : Substring(text)
                    guard let byte = UInt8(digits, radix: 16) else { throw ValidationError("'\(text)' is not a hex byte") }
                    return byte
                })
            }
        }

        func run() throws {
            try DTCommand.reportingErrors {
                // Checked before reading: a link or a device under the name would be replaced, not written.
                try OutputPath.checkFile(output ?? file)
                var tree = try DeviceTreeBlob(contentsOf: file)
                try tree.setProperty(property, value(), at: path, createNodes: createNodes)
                try AtomicFile.write(Data(tree.bytes), to: URL(fileURLWithPath: output ?? file))
            }
        }
    }

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply overlays (.dtbo) to a base dtb, like fdtoverlay.",
            discussion: "Overlays apply in order. The base must keep its labels (dtc -@) for overlays that use them."
        )

        @Argument(help: "The base dtb.") var base: String
        @Argument(help: "The overlays, in order.") var overlays: [String]
        @Option(name: [.short, .customLong("output")], help: "Where to write the result.") var output: String

        func validate() throws {
            guard !overlays.isEmpty else { throw ValidationError("Give at least one overlay to apply.") }
        }

        func run() throws {
            try DTCommand.reportingErrors {
                try OutputPath.checkFile(output)
                let result = try overlays.reduce(try DeviceTreeBlob(contentsOf: base)) { tree, overlay in
                    do {
                        return try tree.applying(DeviceTreeBlob(contentsOf: overlay))
                    } catch var error as DeviceTreeError {
                        if !error.operation.hasPrefix("read ") && !error.operation.hasPrefix("open ") { error.operation += " \(UserText.escaped(overlay))" }
                        throw error
                    }
                }
                try AtomicFile.write(Data(result.bytes), to: URL(fileURLWithPath: output))
            }
        }
    }

    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show how two dtbs differ, node by node and property by property.",
            discussion: "Exit status: 0 when the trees are the same, 1 when they differ, 2 on trouble, like diff."
        )

        @Argument(help: "The old dtb.") var old: String
        @Argument(help: "The new dtb.") var new: String

        func run() throws {
            let diff = try DTCommand.reportingErrors(exitStatus: 2) {
                try DeviceTreeDiff(from: DeviceTreeBlob(contentsOf: old), to: DeviceTreeBlob(contentsOf: new))
            }
            print(diff, terminator: "")
            if !diff.isEmpty { throw ExitCode(1) }
        }
    }
}

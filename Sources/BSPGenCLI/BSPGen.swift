import ArgumentParser
import BoardModel
import Foundation
import Build
import Host
import Initramfs
import Kconfig
import QEMU

public struct BSPGen: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bspgen",
        abstract: "Turn a board description into a bootable board support package, and prove it boots.",
        version: bspgenVersion,
        subcommands: [ListCommand.self, ShowCommand.self, ValidateCommand.self, DoctorCommand.self,
                      ConfigCommand.self, MenuconfigCommand.self, KernelCommand.self, InitramfsCommand.self, CpioCommand.self,
                      BuildCommand.self, BootCommand.self, TestCommand.self, DTCommand.self]
    )
    public init() {}

    /// Our errors are printed as the message they carry, never as a Swift dump, and exit with status 1.
    public static func main(_ arguments: [String]?) async -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch let error as DiagnosticList {
            printError(error.description)
            return 1
        } catch let error as HostError {
            printError(error.description)
            return 1
        } catch let error as BuildError {
            printError(error.description)
            return 1
        } catch let error as QEMUError {
            printError(error.description)
            return 1
        } catch let error as InitramfsError {
            printError(error.description)
            return 1
        } catch let error as KconfigError {
            printError(error.description)
            return 1
        } catch let error as CommandFailure {
            if !error.message.isEmpty { printError(error.message) }
            return error.status
        } catch {
            let code = exitCode(for: error)
            if code == .success { print(fullMessage(for: error)) } else { printError(fullMessage(for: error)) }
            return code.rawValue
        }
    }
}

public let bspgenVersion = "0.1.0"

/// A command's own "this did not work" with the exit status to use; the message has already been made readable.
struct CommandFailure: Error {
    var message: String
    var status: Int32 = 1
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("bspgen: error: \(message)\n".utf8))
}

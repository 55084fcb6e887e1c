import ArgumentParser
import BoardModel
import Foundation
import Pipeline
import DeviceTree
import DiskImage
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
                      BuildCommand.self, ImageCommand.self, LegalInfoCommand.self, FlashCommand.self, BootCommand.self, TestCommand.self, BenchCommand.self, DTCommand.self]
    )
    public init() {}

    /// Our errors are printed as the message they carry, never as a Swift dump, and exit with status 1.
    /// Ctrl-C, SIGTERM and SIGHUP cancel the command: child processes are stopped, nothing half-done is kept,
    /// and the exit status is 128 + the signal.
    public static func main(_ arguments: [String]?) async -> Int32 {
        let interruption = Interruption()
        let work = Task { await run(arguments) }
        interruption.install { work.cancel() }
        let status = await work.value
        interruption.uninstall()
        if let signal = interruption.signal {
            printError("interrupted by \(Interruption.name(signal)); finished stages are kept, the interrupted one will run again")
            return 128 + signal
        }
        return status
    }

    static func run(_ arguments: [String]?) async -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch is CancellationError {
            return 1
        } catch let error as any UserFacingError {
            printError(error.description)
            return 1
        } catch let error as CommandFailure {
            if !error.message.isEmpty { printError(error.message) }
            return error.status
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success { print(message) } else if !message.isEmpty { printError(message) }
            return code.rawValue
        }
    }
}

public let bspgenVersion = bspgenLibraryVersion

/// A command's own "this did not work" with the exit status to use; the message has already been made readable.
struct CommandFailure: Error {
    var message: String
    var status: Int32 = 1
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("bspgen: error: \(message)\n".utf8))
}

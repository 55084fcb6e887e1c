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
                      BuildCommand.self, ImageCommand.self, LegalInfoCommand.self, FlashCommand.self, BootCommand.self, TestCommand.self, DiffCommand.self, BenchCommand.self, DTCommand.self, CacheCommand.self]
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
        } catch let error as DiagnosticList {
            for diagnostic in error.diagnostics { printError(diagnostic.description) }
            return 1
        } catch let error as any UserFacingError {
            printError(error.description)
            return 1
        } catch let error as CommandFailure {
            if !error.message.isEmpty { printError(error.message) }
            return error.status
        } catch {
            let code = exitCode(for: error)
            let domain = (error as NSError).domain
            if domain == NSCocoaErrorDomain || domain == NSPOSIXErrorDomain {
                printError(ErrorText.describe(error))
                return 1
            }
            let message = fullMessage(for: error)
            if code == .success {
                print(message)
            } else if !message.isEmpty {
                // ArgumentParser starts its messages with its own "Error: "; ours says it once.
                printError(message.hasPrefix("Error: ") ? String(message.dropFirst("Error: ".count)) : message)
            }
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

/// Every error bspgen prints has this one form, `bspgen: error: ` and the message (more lines indented under it);
/// control characters it quotes from the input are escaped and very long lines cut, whichever module made it.
func printError(_ message: String) {
    FileHandle.standardError.write(Data("bspgen: error: \(DescriptionText.forTerminal(message))\n".utf8))
}

/// A warning, in the same form as errors.
func printWarning(_ message: String) {
    FileHandle.standardError.write(Data("bspgen: warning: \(DescriptionText.forTerminal(message))\n".utf8))
}

import Pipeline
import Foundation
import Host
import Kconfig
import Testing

/// These run the real kernel's tinyconfig and olddefconfig on the real tree (seconds, not a build).
@Suite(.tags(.realBuild), .serialized) struct KernelConfigTests {
    @Test func boardFragmentSurvivesKconfigAndSavedefconfigIsWritten() async throws {
        let environment = try await testEnvironment(board: "qemu-x86_64", as: "test-kconfig-good")
        let configuration = try await KernelBuilder(environment: environment).configure(force: true)
        let config = try KconfigFile.load(configuration.config).values
        #expect(config["SERIAL_8250_CONSOLE"] == .tristate(.yes))
        #expect(config["ACPI"] == .tristate(.yes))
        let defconfig = try String(contentsOf: configuration.defconfig, encoding: .utf8)
        #expect(defconfig.contains("CONFIG_SERIAL_8250_CONSOLE=y"))
        #expect(configuration.warnings.isEmpty)
        // Same inputs: the stage is not run again.
        #expect(try await KernelBuilder(environment: environment).configure().reused)
    }

    @Test func droppedOptionsAreReportedWithTheirReason() async throws {
        let environment = try await testEnvironment(board: "qemu-x86_64", as: "test-kconfig-bad")
        let fragment = try temporaryFile("""
            # a misspelt symbol, an option whose dependency is off, and an optional one
            CONFIG_SERIAL_8250_CONSOL=y
            CONFIG_USB_EHCI_HCD=y
            CONFIG_DRM_BOCHS=y  # optional
            """, name: "bad.fragment")
        defer { try? FileManager.default.removeItem(at: fragment) }
        await #expect {
            try await KernelBuilder(environment: environment).configure(extraFragments: [fragment], force: true)
        } throws: { error in
            guard case BuildError.kernelConfig(let problems, _, _) = error else { return false }
            return problems.count == 2
                && problems[0].contains("bad.fragment:2: CONFIG_SERIAL_8250_CONSOL=y requested, got not set")
                && problems[0].contains("no such symbol; did you mean CONFIG_SERIAL_8250_CONSOLE?")
                && problems[1].contains("bad.fragment:3: CONFIG_USB_EHCI_HCD=y requested")
                && problems[1].contains("USB_SUPPORT is n")
        }
    }

    @Test func optionalLinesThatKconfigDropsAreWarnings() async throws {
        let environment = try await testEnvironment(board: "qemu-x86_64", as: "test-kconfig-optional")
        let fragment = try temporaryFile("CONFIG_USB_EHCI_HCD=y  # optional: needs USB\n", name: "optional.fragment")
        defer { try? FileManager.default.removeItem(at: fragment) }
        let configuration = try await KernelBuilder(environment: environment).configure(extraFragments: [fragment], force: true)
        #expect(configuration.warnings.count == 1)
        #expect(configuration.warnings.first?.contains("USB_EHCI_HCD") == true)
    }
}

import Foundation
import Testing
@testable import Kconfig

/// Tests on the real Linux trees of Debian's linux-source-6.1 and linux-source-6.12 packages (both installed by
/// scripts/setup.sh), each extracted once into a cache folder (6.1 may be given as `BSPGEN_TEST_KERNEL_TREE`).
struct RealKernelTreeTests {
    static let versions = ["6.1", "6.12"]

    struct MissingTree: Error, CustomStringConvertible {
        var description: String
    }

    /// Extracted at most once per test process; the results are shared by the tests.
    static let trees: [String: Result<URL, any Error>] = Dictionary(uniqueKeysWithValues: versions.map { version in
        (version, Result { try locateOrExtractTree(version) })
    })
    static let indexes: [String: Result<KconfigIndex, any Error>] = trees.mapValues { tree in
        tree.flatMap { tree in Result { try KconfigIndex.scan(tree: tree) } }
    }

    static func tree(_ version: String) throws -> URL { try #require(trees[version]).get() }
    static func index(_ version: String) throws -> KconfigIndex { try #require(indexes[version]).get() }

    static func locateOrExtractTree(_ version: String) throws -> URL {
        if version == "6.1", let given = ProcessInfo.processInfo.environment["BSPGEN_TEST_KERNEL_TREE"], !given.isEmpty {
            return URL(fileURLWithPath: given)
        }
        let name = "linux-source-\(version)"
        let tarball = URL(fileURLWithPath: "/usr/src/\(name).tar.xz")
        let cache = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/bspgen-tests")
        let tree = cache.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: tree.appendingPathComponent("Kconfig").path) { return tree }
        guard FileManager.default.fileExists(atPath: tarball.path) else {
            throw MissingTree(description: "\(tarball.path) is missing: install \(name) (apt-get install \(name)), as scripts/setup.sh does")
        }
        // Extract beside the final place and rename, so an interrupted run leaves no half tree.
        let staging = cache.appendingPathComponent(".extract-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: staging) }
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["-xJf", tarball.path, "-C", staging.path]
        try tar.run()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else { throw MissingTree(description: "tar failed extracting \(tarball.path)") }
        do {
            try FileManager.default.moveItem(at: staging.appendingPathComponent(name), to: tree)
        } catch where FileManager.default.fileExists(atPath: tree.appendingPathComponent("Kconfig").path) {
            // Another run finished first.
        }
        return tree
    }

    @Test(arguments: versions) func indexesTheTreeQuickly(version: String) throws {
        let tree = try Self.tree(version)
        let start = ContinuousClock.now
        let index = try KconfigIndex.scan(tree: tree)
        let elapsed = ContinuousClock.now - start
        print("Indexed \(index.fileCount) Kconfig files, \(index.definitions.count) symbols in \(elapsed)")
        #expect(index.fileCount > 1500)
        #expect(index.definitions.count > 15000)
        #expect(index.unparsedExpressions.isEmpty, "\(index.unparsedExpressions.prefix(10))")
    }

    @Test(arguments: versions) func knownSymbols(version: String) throws {
        let index = try Self.index(version)
        // drivers/acpi/Kconfig: `menuconfig ACPI ... depends on ARCH_SUPPORTS_ACPI`.
        let acpi = try #require(index.definitions["ACPI"]?.first)
        #expect(acpi.location.file == "drivers/acpi/Kconfig")
        #expect(acpi.type == .bool && acpi.hasPrompt)
        #expect(acpi.dependency.map { KconfigIndex.conjuncts($0).contains(.symbol("ARCH_SUPPORTS_ACPI")) } == true)

        let pl011 = try #require(index.definitions["SERIAL_AMBA_PL011"]?.first)
        #expect(pl011.location.file == "drivers/tty/serial/Kconfig")
        #expect(pl011.type == .tristate)

        let console = try #require(index.definitions["SERIAL_8250_CONSOLE"]?.first)
        #expect(console.dependency?.description.hasPrefix("SERIAL_8250=y") == true)
        #expect(index.suggestions(for: "SERIAL_8250_CONSOL") == ["SERIAL_8250_CONSOLE"])

        // Sourced from drivers/net/ethernet/Kconfig inside `if ETHERNET`, itself inside `if NETDEVICES`.
        let e1000 = try #require(index.definitions["E1000"]?.first)
        let terms = try #require(e1000.dependency.map(KconfigIndex.conjuncts))
        #expect(terms.contains(.symbol("PCI")) && terms.contains(.symbol("NET_VENDOR_INTEL")) && terms.contains(.symbol("ETHERNET")))

        #expect(index.definitions["X86_64"]?.allSatisfy { $0.architecture == "x86" } == true)
        #expect(index.architectures(enabledIn: ["X86_64": .tristate(.yes), "PCI": .tristate(.yes)]) == ["x86"])
    }

    @Test(arguments: versions) func checkExplainsOnARealTree(version: String) throws {
        let index = try Self.index(version)
        let obtained = try KconfigFile.parse(text: """
            CONFIG_X86_64=y
            CONFIG_X86=y
            CONFIG_SERIAL_8250=m
            CONFIG_TTY=y
            """, name: ".config")
        let requested = try KconfigFile.parse(text: """
            CONFIG_SERIAL_8250_CONSOLE=y
            CONFIG_SERIAL_8250_CONSOL=y
            CONFIG_ARM64_VA_BITS_48=y  # optional
            CONFIG_ACPI=y
            """, name: "board.config").assignments
        let problems = KconfigCheck.check(requested: requested, obtained: obtained, index: index)
        for problem in problems { print(problem) }
        #expect(problems.map(\.symbol) == ["SERIAL_8250_CONSOLE", "SERIAL_8250_CONSOL", "ARM64_VA_BITS_48", "ACPI"])
        #expect(problems[0].explanation?.contains("SERIAL_8250 is m") == true)
        #expect(problems[1].explanation == "no such symbol; did you mean CONFIG_SERIAL_8250_CONSOLE?")
        #expect(problems[2].explanation == "defined only for arm64, not for x86")
        #expect(problems[3].explanation?.contains("ARCH_SUPPORTS_ACPI is n") == true)
    }
}

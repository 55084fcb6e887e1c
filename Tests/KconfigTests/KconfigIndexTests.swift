import Foundation
import Testing
@testable import Kconfig

struct KconfigIndexTests {
    let index = try! fixtureIndex()

    func only(_ symbol: String) throws -> KconfigIndex.Definition {
        let definitions = try #require(index.definitions[symbol])
        try #require(definitions.count == 1)
        return definitions[0]
    }

    @Test func findsFilesAndSkipsExamples() {
        #expect(index.fileCount == 7)
        #expect(index.definitions["ARM_NOMMU_THING"] != nil)
        #expect(index.definitions["EXAMPLE_ONLY"] == nil)
        #expect(index.unparsedExpressions.isEmpty)
    }

    @Test func typesLocationsAndPrompts() throws {
        let acpi = try only("ACPI")
        #expect(acpi.location == KconfigOrigin(file: "Kconfig", line: 15))
        #expect(acpi.type == .bool && acpi.hasPrompt && acpi.architecture == nil)
        #expect(index.type(of: "X86") == .bool)
        #expect(index.type(of: "CRC32") == .tristate)
        #expect(index.type(of: "CMDLINE") == .string)
        #expect(index.type(of: "LOG_BUF_SHIFT") == .int)
        #expect(index.type(of: "NOPE") == nil)
        #expect(try !only("CRC32").hasPrompt)
        #expect(try only("EMBEDDED_THING").promptCondition == .symbol("EXPERT"))
    }

    @Test func backslashContinuationJoinsDependsOn() throws {
        #expect(try only("ACPI").dependency?.description == "PCI && X86")
    }

    @Test func helpTextIsNotParsed() throws {
        #expect(index.definitions["FAKE_IN_HELP"] == nil)
        #expect(index.definitions["ALSO_FAKE"] == nil)
        #expect(try only("NET").dependency == nil)
        // The entries after the help texts are read again.
        #expect(try only("EMBEDDED_THING").hasPrompt)
        #expect(index.members(ofChoice: try #require(try only("COMP_XZ").choice)) == ["COMP_GZIP", "COMP_XZ"])
    }

    @Test func enclosingBlocksAreInherited() throws {
        // own depends, then menu ... depends on, then if
        #expect(try only("E1000").dependency?.description == "(ACPI || PCI_QUIRKS) && PCI && NET")
        let gzip = try only("COMP_GZIP")
        #expect(gzip.dependency?.description == "NET")
        #expect(gzip.choice == KconfigOrigin(file: "Kconfig", line: 42))
        #expect(try only("CMDLINE").dependency == nil)
        #expect(try only("CMDLINE").choice == nil)
        // A comment's `depends on` belongs to the comment, not to the entry before it.
        #expect(try only("LOG_BUF_SHIFT").dependency == nil)
        #expect(try only("LOG_BUF_SHIFT").hasPrompt)
    }

    @Test func conditionsOfSourcingFilesAreInherited() throws {
        #expect(try only("SERIAL_8250_CONSOLE").dependency?.description == "SERIAL_8250=y && SERIAL")
        #expect(try only("SERIAL").dependency == nil)
        // rsource is relative to the sourcing file; the enclosing menu's dependency counts.
        #expect(try only("DUMMY").dependency?.description == "NET")
        // arch/$(SRCARCH)/Kconfig is sourced unconditionally.
        #expect(try only("X86_ONLY").dependency == nil)
    }

    @Test func architectures() throws {
        #expect(try only("X86_ONLY").architecture == "x86")
        #expect(try only("ARM_NOMMU_THING").architecture == "arm")
        let perArch = try #require(index.definitions["PER_ARCH"])
        #expect(perArch.map(\.architecture) == ["arm64", "x86"])
        #expect(perArch.map(\.location.description) == ["arch/arm64/Kconfig:7", "arch/x86/Kconfig:8"])
        #expect(index.architectures(enabledIn: ["X86": .tristate(.yes), "PER_ARCH": .tristate(.yes), "NET": .tristate(.yes)]) == ["x86"])
        #expect(index.architectures(enabledIn: ["ARM64_ONLY": .tristate(.no)]).isEmpty)
    }

    @Test func selections() throws {
        let selectors = try #require(index.selections["CRC32"])
        #expect(selectors.map(\.selector) == ["LIBFOO"])
        #expect(selectors[0].location == KconfigOrigin(file: "Kconfig", line: 40))
        #expect(index.selections["ARCH_HAS_FOO"]?.map(\.selector) == ["X86"])
    }

    @Test func suggestions() {
        #expect(index.suggestions(for: "SERIAL_8250_CONSOL") == ["SERIAL_8250_CONSOLE"])
        #expect(index.suggestions(for: "acpi") == ["ACPI"])
        #expect(index.suggestions(for: "E1001") == ["E1000"])
        #expect(index.suggestions(for: "COMPLETELY_DIFFERENT").isEmpty)
    }

    @Test func scanningAMissingFolderFails() {
        #expect(throws: KconfigError.self) {
            try KconfigIndex.scan(tree: FileManager.default.temporaryDirectory.appendingPathComponent("no-such-tree-\(UUID())"))
        }
    }
}

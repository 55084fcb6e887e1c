import Testing
@testable import Kconfig

struct KconfigCheckTests {
    let index = try! fixtureIndex()

    /// What olddefconfig might give for an x86 build without modules.
    let obtained = try! parse("""
        CONFIG_X86=y
        CONFIG_NET=y
        CONFIG_COMP_GZIP=y
        # CONFIG_COMP_XZ is not set
        CONFIG_SERIAL=y
        CONFIG_SERIAL_8250=m
        CONFIG_LIBFOO=y
        CONFIG_CRC32=y
        CONFIG_EMBEDDED_THING=y
        # CONFIG_PCI is not set
        CONFIG_CMDLINE="console=ttyS0"
        CONFIG_LOG_BUF_SHIFT=17
        """, name: ".config")

    func problems(_ fragment: String, architecture: String? = nil) throws -> [String: KconfigProblem] {
        let requested = KconfigMerge(base: KconfigFile(name: "base"), fragments: [try parse(fragment, name: "board.config")]).requested
        let problems = KconfigCheck.check(requested: requested, obtained: obtained, index: index, architecture: architecture)
        return Dictionary(uniqueKeysWithValues: problems.map { ($0.symbol, $0) })
    }

    @Test func satisfiedRequestsAreNoProblem() throws {
        #expect(try problems("""
            CONFIG_NET=y
            CONFIG_SERIAL_8250=m
            # CONFIG_PCI is not set
            # CONFIG_ACPI is not set
            CONFIG_CMDLINE="console=ttyS0"
            CONFIG_LOG_BUF_SHIFT=0x11
            CONFIG_LOG_BUF_SHIFT=17
            """).isEmpty)
    }

    @Test func unmetDependencyIsNamed() throws {
        let problem = try #require(try problems("CONFIG_ACPI=y")["ACPI"])
        #expect(problem.requested == .tristate(.yes))
        #expect(problem.obtained == nil)
        #expect(problem.origin == KconfigOrigin(file: "board.config", line: 1))
        #expect(!problem.isOptional)
        #expect(problem.explanation == "depends on PCI && X86: PCI is n")
        #expect(problem.description == "board.config:1: CONFIG_ACPI=y requested, got not set — depends on PCI && X86: PCI is n")
    }

    @Test func dependencyThroughBlocksAndSourcingFiles() throws {
        let found = try problems("""
            CONFIG_E1000=y
            CONFIG_SERIAL_8250_CONSOLE=y
            """)
        #expect(found["E1000"]?.explanation == "depends on (ACPI || PCI_QUIRKS) && PCI && NET: ACPI is n, PCI_QUIRKS is n, PCI is n")
        #expect(found["SERIAL_8250_CONSOLE"]?.explanation == "depends on SERIAL_8250=y && SERIAL: SERIAL_8250 is m")
    }

    @Test func misspeltSymbol() throws {
        let problem = try #require(try problems("CONFIG_SERIAL_8250_CONSOL=y")["SERIAL_8250_CONSOL"])
        #expect(problem.explanation == "no such symbol; did you mean CONFIG_SERIAL_8250_CONSOLE?")
        #expect(try problems("CONFIG_TOTALLY_UNKNOWN_THING=y")["TOTALLY_UNKNOWN_THING"]?.explanation == "no such symbol")
    }

    @Test func otherArchitectureAndOptional() throws {
        let problem = try #require(try problems("CONFIG_ARM64_ONLY=y  # optional: arm64 boards only")["ARM64_ONLY"])
        #expect(problem.isOptional)
        #expect(problem.explanation == "defined only for arm64, not for x86")
        #expect(problem.description.hasPrefix("board.config:1: optional CONFIG_ARM64_ONLY=y requested"))
        // Given explicitly, the architecture need not be inferred.
        #expect(try problems("CONFIG_ARM64_ONLY=y", architecture: "riscv")["ARM64_ONLY"]?.explanation
            == "defined only for arm64, not for riscv")
        // PER_ARCH is defined for x86 without dependencies: the arm64 one's `depends on ARM64` is irrelevant.
        #expect(try problems("CONFIG_PER_ARCH=y")["PER_ARCH"]?.explanation == nil)
    }

    @Test func requestedOffButOn() throws {
        let found = try problems("""
            # CONFIG_CRC32 is not set
            CONFIG_EMBEDDED_THING=n
            # CONFIG_X86 is not set
            """)
        #expect(found["CRC32"]?.explanation == "selected by CONFIG_LIBFOO")
        #expect(found["CRC32"]?.obtained == .tristate(.yes))
        #expect(found["EMBEDDED_THING"]?.explanation == "can only be changed when EXPERT: EXPERT is n")
        #expect(found["X86"]?.explanation == "it has no prompt, so its default applies")
        #expect(found["X86"]?.description == "board.config:3: CONFIG_X86=n requested, got y — it has no prompt, so its default applies")
    }

    @Test func choiceModulesTypesAndPromptless() throws {
        let found = try problems("""
            CONFIG_COMP_XZ=y
            CONFIG_LIBFOO=m
            CONFIG_X86_ONLY="yes"
            CONFIG_ARCH_HAS_FOO=y
            CONFIG_CMDLINE="quiet"
            CONFIG_ACPI=m
            CONFIG_CRC32=m
            """)
        #expect(found["COMP_XZ"]?.explanation == "it is in a choice where CONFIG_COMP_GZIP=y was chosen")
        #expect(found["LIBFOO"]?.explanation == "CONFIG_MODULES is not enabled, so nothing can be m")
        #expect(found["X86_ONLY"]?.explanation == "CONFIG_X86_ONLY is a bool: \"yes\" is not a valid value")
        #expect(found["ARCH_HAS_FOO"]?.explanation == "no such symbol")
        #expect(found["ACPI"]?.explanation == "CONFIG_ACPI is a bool: m is not a valid value")
        #expect(found["CRC32"]?.explanation == "CONFIG_MODULES is not enabled, so nothing can be m; "
            + "it has no prompt, so only a default or select sets it (selected by CONFIG_LIBFOO)")
        #expect(found["CMDLINE"]?.explanation == nil)
        #expect(found["CMDLINE"]?.description == "board.config:5: CONFIG_CMDLINE=\"quiet\" requested, got \"console=ttyS0\"")
    }

    @Test func withoutIndexOnlyValuesAreCompared() throws {
        let requested = try parse("CONFIG_ACPI=y\nCONFIG_NET=y\n# CONFIG_CRC32 is not set\n", name: "f").assignments
        let problems = KconfigCheck.check(requested: requested, obtained: obtained, index: nil)
        #expect(problems.map(\.description) == [
            "f:1: CONFIG_ACPI=y requested, got not set",
            "f:3: CONFIG_CRC32=n requested, got y",
        ])
    }
}

import Testing
@testable import Kconfig

struct KconfigFileTests {
    @Test func parsesEachValueKind() throws {
        let file = try parse("""
            #
            # Automatically generated file; DO NOT EDIT.
            #
            CONFIG_YES=y
            CONFIG_MOD=m
            CONFIG_NO=n
            # CONFIG_UNSET is not set

            CONFIG_STRING="console=ttyS0 \\"quoted\\" back\\\\slash # not a comment"
            CONFIG_EMPTY=""
            CONFIG_INT=-42
            CONFIG_HEX=0x1F
            """, name: "board.config")
        #expect(file.assignments.map(\.symbol) == ["YES", "MOD", "NO", "UNSET", "STRING", "EMPTY", "INT", "HEX"])
        #expect(file.values == [
            "YES": .tristate(.yes), "MOD": .tristate(.module), "NO": .tristate(.no), "UNSET": .tristate(.no),
            "STRING": .string("console=ttyS0 \"quoted\" back\\slash # not a comment"), "EMPTY": .string(""),
            "INT": .number("-42"), "HEX": .number("0x1F"),
        ])
        #expect(file.assignments.map(\.origin.line) == [4, 5, 6, 7, 9, 10, 11, 12])
        #expect(file.assignments.allSatisfy { $0.origin.file == "board.config" && !$0.isOptional })
    }

    @Test func rendersAsKconfigWritesIt() throws {
        let text = """
            CONFIG_YES=y
            # CONFIG_UNSET is not set
            CONFIG_STRING="a \\"b\\" c\\\\d"
            CONFIG_HEX=0x10

            """
        let file = try parse(text)
        #expect(file.text == text)
        #expect(try parse(file.text) == file)
    }

    @Test func optionalMarker() throws {
        let file = try parse("""
            CONFIG_A=y  # optional
            CONFIG_B=m # optional: only on newer kernels
            # CONFIG_C is not set  # optional
            CONFIG_D="x"#optional
            CONFIG_E=y  # optionally needed, not the marker
            CONFIG_F=y  # why: just a comment
            """)
        #expect(file.assignments.map(\.isOptional) == [true, true, true, true, false, false])
        #expect(file.assignments[2].value == .tristate(.no))
        #expect(file.assignments[0].line == "CONFIG_A=y")
    }

    @Test func ordinaryCommentsAreNotOptions() throws {
        let file = try parse("""
            # CONFIG_A=y
            # CONFIG_B is not set, says someone
            #CONFIG_C is not set
            """)
        #expect(file.assignments.map(\.symbol) == ["C"])
    }

    @Test(arguments: [
        ("FOO BAR", "expected CONFIG_<NAME>=<value>, '# CONFIG_<NAME> is not set' or a # comment"),
        ("FOO=y", "expected a symbol starting with CONFIG_"),
        ("CONFIG_=y", "expected a symbol name of letters, digits and _ directly before ="),
        ("CONFIG_FOO =y", "expected a symbol name of letters, digits and _ directly before ="),
        ("CONFIG_FOO=", "missing value after ="),
        ("CONFIG_FOO=  # optional", "missing value after ="),
        ("CONFIG_FOO=\"abc", "unterminated string"),
        ("CONFIG_FOO=\"abc\\\"", "unterminated string"),
        ("CONFIG_FOO=yes", "expected y, m, n, a number or a quoted string after ="),
        ("CONFIG_FOO=0xZZ", "expected y, m, n, a number or a quoted string after ="),
        ("CONFIG_FOO=\"a\" b", "expected only a # comment after the value"),
        ("CONFIG_LOCALVERSION=\"-$(shell id)\"", "a string without '$(' and with '${' only as ${name} (make would expand anything else when Kbuild reads the config)"),
        ("CONFIG_CMDLINE=\"${shell id}\"", "a string without '$(' and with '${' only as ${name} (make would expand anything else when Kbuild reads the config)"),
        ("CONFIG_CMDLINE=\"${HOME\"", "a string without '$(' and with '${' only as ${name} (make would expand anything else when Kbuild reads the config)"),
    ])
    func garbageLine(line: String, expected: String) throws {
        let text = "# fragment\nCONFIG_OK=y\n\n\(line)\nCONFIG_LATER=y\n"
        #expect(throws: KconfigError.invalidLine(KconfigOrigin(file: "frag.config", line: 4), text: line, expected: expected)) {
            try parse(text, name: "frag.config")
        }
    }

    /// U-Boot's defconfigs and boot commands refer to its environment as ${name}: that cannot call make.
    @Test func plainEnvironmentReferencesAreKept() throws {
        let file = try parse("CONFIG_BOOTCOMMAND=\"load ${devtype} ${devnum}:1 ${kernel_addr_r} Image; booti ${kernel_addr_r}\"\n", name: "u-boot")
        #expect(file.values["BOOTCOMMAND"] == .string("load ${devtype} ${devnum}:1 ${kernel_addr_r} Image; booti ${kernel_addr_r}"))
    }

    @Test func errorMessageNamesFileLineAndText() {
        let error = KconfigError.invalidLine(KconfigOrigin(file: "boards/x/a.config", line: 7), text: "FOO=y",
                                             expected: "expected a symbol starting with CONFIG_")
        #expect(error.description == "boards/x/a.config:7: expected a symbol starting with CONFIG_; found `FOO=y`")
    }

    @Test func sameValue() {
        #expect(KconfigValue.number("0x10").isSame(as: .number("0x0010")))
        #expect(KconfigValue.number("1000").isSame(as: .number("0x1000")))
        #expect(KconfigValue.number("16").isSame(as: .number("016")))
        #expect(!KconfigValue.number("16").isSame(as: .number("17")))
        #expect(!KconfigValue.string("16").isSame(as: .number("16")))
        #expect(KconfigValue.tristate(.yes).isSame(as: .tristate(.yes)))
    }
}

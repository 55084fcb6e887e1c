import Testing
@testable import Kconfig

struct KconfigDiffTests {
    let before = try! parse("""
        CONFIG_KEEP=y
        CONFIG_CHANGE=m
        CONFIG_GONE=y
        CONFIG_STRING="old"
        # CONFIG_NOW_VISIBLE_BUT_OFF is not set
        CONFIG_HEX=0x10
        """, name: "before")
    let after = try! parse("""
        CONFIG_KEEP=y
        CONFIG_CHANGE=y
        CONFIG_STRING="new \\"quoted\\""
        CONFIG_APPEARED=m
        CONFIG_HEX=0x0010
        # CONFIG_ALSO_OFF is not set
        """, name: "after")

    @Test func changesAreSortedFragmentLines() {
        #expect(KconfigDiff.changes(from: before, to: after).map(\.line) == [
            "CONFIG_APPEARED=m",
            "CONFIG_CHANGE=y",
            "# CONFIG_GONE is not set",
            "CONFIG_STRING=\"new \\\"quoted\\\"\"",
        ])
        #expect(KconfigDiff.changes(from: after, to: after).isEmpty)
    }

    @Test func roundTrip() throws {
        let changes = KconfigDiff.changes(from: before, to: after)
        let fragment = try parse(try KconfigDiff.apply(changes, toFragment: "", name: "menuconfig.config"), name: "menuconfig.config")
        let merged = KconfigMerge(base: before, fragments: [fragment]).merged
        #expect(KconfigDiff.changes(from: merged, to: after).isEmpty)
        for (symbol, value) in after.values {
            #expect(merged.values[symbol].map { $0.isSame(as: value) } ?? (value == .tristate(.no)), "\(symbol)")
        }
    }

    @Test func applyReplacesInPlaceAndAppends() throws {
        let fragment = """
            # Board options
            CONFIG_CHANGE=m  # optional: keep this comment
            CONFIG_GONE=y

            # Strings
            CONFIG_STRING="older"
            CONFIG_STRING="old"
            CONFIG_UNRELATED=y
            """
        let changes = KconfigDiff.changes(from: before, to: after)
        let updated = try KconfigDiff.apply(changes, toFragment: fragment, name: "board.config")
        #expect(updated == """
            # Board options
            CONFIG_CHANGE=y  # optional: keep this comment
            # CONFIG_GONE is not set

            # Strings
            CONFIG_STRING="older"
            CONFIG_STRING="new \\"quoted\\""
            CONFIG_UNRELATED=y

            # added by bspgen menuconfig
            CONFIG_APPEARED=m

            """)
        #expect(try parse(updated).assignments.first { $0.symbol == "CHANGE" }?.isOptional == true)
        // A second session appends under the existing marker.
        let more = [KconfigAssignment(symbol: "LATER", value: .tristate(.yes), origin: KconfigOrigin(file: "after", line: 1))]
        #expect(try KconfigDiff.apply(more, toFragment: updated, name: "board.config") == updated + "CONFIG_LATER=y\n")
    }

    @Test func applyRejectsGarbage() {
        #expect(throws: KconfigError.invalidLine(KconfigOrigin(file: "board.config", line: 2), text: "oops",
                                                  expected: "expected CONFIG_<NAME>=<value>, '# CONFIG_<NAME> is not set' or a # comment")) {
            try KconfigDiff.apply([], toFragment: "CONFIG_A=y\noops\n", name: "board.config")
        }
    }
}

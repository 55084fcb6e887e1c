import Testing
@testable import Kconfig

struct KconfigMergeTests {
    let base = try! parse("""
        CONFIG_A=y
        # CONFIG_B is not set
        CONFIG_C="base"
        """, name: "base")

    @Test func laterFragmentWinsAndOverridesAreRecorded() throws {
        let first = try parse("""
            CONFIG_B=y
            CONFIG_NEW1=m
            CONFIG_C="first"
            """, name: "first.config")
        let second = try parse("""
            CONFIG_NEW2=y
            CONFIG_B=n  # optional
            CONFIG_NEW1=m
            CONFIG_C="second"
            CONFIG_C="second again"
            """, name: "second.config")
        let merge = KconfigMerge(base: base, fragments: [first, second])
        #expect(merge.merged.text == """
            CONFIG_A=y
            # CONFIG_B is not set
            CONFIG_C="second again"
            CONFIG_NEW1=m
            CONFIG_NEW2=y

            """)
        #expect(merge.merged.assignments.map(\.origin.description)
            == ["base:1", "second.config:2", "second.config:5", "second.config:3", "second.config:1"])
        #expect(merge.requested.map(\.line) == ["# CONFIG_B is not set", "CONFIG_NEW1=m", "CONFIG_C=\"second again\"", "CONFIG_NEW2=y"])
        #expect(merge.requested[0].isOptional)
        // Same value again (NEW1) and base values replaced are not overrides.
        #expect(merge.overrides.map(\.description) == [
            "second.config:2: # CONFIG_B is not set overrides CONFIG_B=y from first.config:1",
            "second.config:4: CONFIG_C=\"second\" overrides CONFIG_C=\"first\" from first.config:3",
            "second.config:5: CONFIG_C=\"second again\" overrides CONFIG_C=\"second\" from second.config:4",
        ])
        #expect(merge.overrides.map(\.symbol) == ["B", "C", "C"])
    }

    @Test func renderingIsStable() throws {
        let fragment = try parse("CONFIG_Z=y\nCONFIG_A=n\nCONFIG_M=y\n", name: "f")
        let once = KconfigMerge(base: base, fragments: [fragment]).merged.text
        let again = KconfigMerge(base: try parse(once, name: "base"), fragments: [fragment]).merged.text
        #expect(once == again)
        #expect(once == "# CONFIG_A is not set\n# CONFIG_B is not set\nCONFIG_C=\"base\"\nCONFIG_Z=y\nCONFIG_M=y\n")
    }
}

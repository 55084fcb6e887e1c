import Foundation
import Testing
@testable import Kconfig

/// Writes `files` (relative path → text) under a fresh temporary folder and returns it.
func writeTree(_ files: [String: String]) throws -> URL {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("kconfig-tests-\(UUID().uuidString)")
    for (path, text) in files {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }
    return root
}

func parse(_ text: String, name: String = "test.config") throws -> KconfigFile {
    try KconfigFile.parse(text: text, name: name)
}

/// A small kernel-like tree exercising the Kconfig constructs the index must handle.
let fixtureTree: [String: String] = [
    "Kconfig": """
        mainmenu "Test kernel"

        source "arch/$(SRCARCH)/Kconfig"
        source "drivers/Kconfig"

        config MODULES
        \tbool "Enable loadable module support"

        config EXPERT
        \tbool "Expert"

        config PCI
        \tbool "PCI support"

        config ACPI
        \tbool "ACPI"
        \tdepends on PCI && \\
        \t\tX86

        menuconfig NET
        \tbool "Networking"
        \thelp
        \t  Help text is not parsed, even when it looks like Kconfig:
        \t  config FAKE_IN_HELP
        \t  depends on NOTHING
        \t  endif

        \t  A second paragraph after a blank line, indented further:
        \t    config ALSO_FAKE

        config EMBEDDED_THING
        \tbool "Only for experts" if EXPERT
        \tdefault y

        config CRC32
        \ttristate

        config LIBFOO
        \ttristate "Foo library"
        \tselect CRC32

        choice
        \tprompt "Compression"
        \tdepends on NET
        \tdefault COMP_GZIP

        config COMP_GZIP
        \tbool "gzip"

        config COMP_XZ
        \tbool "xz"
        \thelp
        \t  xz.
        endchoice

        if NET
        menu "Network drivers"
        \tdepends on PCI

        config E1000
        \ttristate "Intel E1000"
        \tdepends on ACPI || PCI_QUIRKS # a comment

        endmenu
        endif

        config CMDLINE
        \tstring "Command line"

        config LOG_BUF_SHIFT
        \tint
        \tprompt "Log buffer size"
        \trange 12 25

        comment "Only without networking"
        \tdepends on !NET

        """,
    "drivers/Kconfig": """
        menuconfig SERIAL
        \tbool "Serial drivers"

        if SERIAL
        source "drivers/serial/Kconfig"
        endif

        menu "Network devices"
        \tdepends on NET
        rsource "net/Kconfig"
        endmenu

        """,
    "drivers/net/Kconfig": """
        config DUMMY
        \ttristate "Dummy network device"

        """,
    "drivers/serial/Kconfig": """
        config SERIAL_8250
        \ttristate "8250/16550 serial"

        config SERIAL_8250_CONSOLE
        \tbool "Console on 8250"
        \tdepends on SERIAL_8250=y

        """,
    "arch/x86/Kconfig": """
        config X86
        \tdef_bool y
        \tselect ARCH_HAS_FOO

        config X86_ONLY
        \tbool "x86 thing"

        config PER_ARCH
        \tbool "Defined for each architecture"

        """,
    "arch/arm64/Kconfig": """
        config ARM64
        \tdef_bool y

        config ARM64_ONLY
        \tbool "arm64 thing"

        config PER_ARCH
        \tbool "Defined for each architecture"
        \tdepends on ARM64

        """,
    "arch/arm/Kconfig-nommu": """
        config ARM_NOMMU_THING
        \tbool
        """,
    "Documentation/kbuild/Kconfig.example": """
        config EXAMPLE_ONLY
        \tbool "not part of the kernel's configuration"
        """,
]

/// The fixture tree, indexed through the file system as `bspgen` does.
func fixtureIndex() throws -> KconfigIndex {
    let root = try writeTree(fixtureTree)
    defer { try? FileManager.default.removeItem(at: root) }
    return try KconfigIndex.scan(tree: root)
}

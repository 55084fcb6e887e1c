// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "bspgen",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "bspgen", targets: ["bspgen"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.0"),
        // SHA-256 of sources, artifacts and stage inputs: BoringSSL's is fast and audited.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CFDT", providers: [.apt(["libfdt-dev"])]),
        .systemLibrary(name: "CLZMA", pkgConfig: "liblzma", providers: [.apt(["liblzma-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),

        // Files and text from the user: reading regular files only and within a limit, where outputs may go, temporary
        // names beside them, and user text made safe to print. Every module that reads or writes a user-named file uses it.
        .target(name: "UserInput"),
        .target(name: "BoardModel", dependencies: ["UserInput", .product(name: "Yams", package: "Yams")]),
        .target(name: "Host", dependencies: [
            "BoardModel", "UserInput",
            .product(name: "Subprocess", package: "swift-subprocess"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "Kconfig", dependencies: ["UserInput"]),
        .target(name: "DeviceTree", dependencies: ["CFDT", "UserInput"]),
        .target(name: "Initramfs", dependencies: ["CZlib", "CLZMA", "CZstd", "UserInput"]),
        // Partition tables (MBR, GPT) and disk image assembly from partition files: pure, no tools. Also the
        // bmap beside each image and flashing an image to a card (sha256 of block ranges).
        .target(name: "DiskImage", dependencies: ["CZlib", "UserInput", .product(name: "Crypto", package: "swift-crypto")]),
        // SBOMs (SPDX 2.3, CycloneDX 1.6), licence expressions, Kbuild's records of what a build compiled: pure, no tools.
        // Optimized in debug builds too (CI runs the debug binary): a kernel's Kbuild records are ~80 MB of text.
        .target(name: "SBOM", dependencies: ["BoardModel", "UserInput", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: [.unsafeFlags(["-O"])]),
        // report.html and `bspgen diff`: the page (inline CSS and SVG) and the comparison, from values; pure, no tools.
        .target(name: "Report", dependencies: ["Kconfig", "UserInput"]),
        .target(name: "Pipeline", dependencies: ["BoardModel", "Host", "UserInput", "Kconfig", "Initramfs", "DeviceTree", "DiskImage", "QEMU", "SBOM", "Report", "CZlib"]),
        .target(name: "QEMU", dependencies: ["BoardModel", "Host"]),
        // `bspgen bench`: bspgen's rebuild times beside the same steps by hand; measures, never part of a build.
        .target(name: "Bench", dependencies: ["BoardModel", "Host", "Initramfs", "Pipeline", "QEMU"]),
        .target(name: "BSPGenCLI", dependencies: [
            "BoardModel", "Host", "Kconfig", "DeviceTree", "Initramfs", "DiskImage", "Pipeline", "QEMU", "Bench", "Report", "UserInput",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "bspgen", dependencies: ["BSPGenCLI"]),
        // libFuzzer harness for the parsers of untrusted input (scripts/fuzz.sh); a corpus replayer otherwise.
        .executableTarget(name: "bspgen-fuzz", dependencies: ["BoardModel", "Initramfs", "DeviceTree", "Kconfig", "DiskImage", "Report"]),

        .testTarget(name: "UserInputTests", dependencies: ["UserInput"]),
        .testTarget(name: "BoardModelTests", dependencies: ["BoardModel"]),
        .testTarget(name: "HostTests", dependencies: ["Host", "BoardModel"]),
        .testTarget(name: "KconfigTests", dependencies: ["Kconfig"]),
        .testTarget(name: "DeviceTreeTests", dependencies: ["DeviceTree"]),
        .testTarget(name: "InitramfsTests", dependencies: ["Initramfs"]),
        .testTarget(name: "DiskImageTests", dependencies: ["DiskImage", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "BoardModel", "Host", "Kconfig", "Initramfs", "DiskImage", "Report"]),
        .testTarget(name: "SBOMTests", dependencies: ["SBOM", "BoardModel"]),
        .testTarget(name: "ReportTests", dependencies: ["Report"]),
        .testTarget(name: "QEMUTests", dependencies: ["QEMU", "BoardModel", "Host"]),
        .testTarget(name: "BenchTests", dependencies: ["Bench", "Host", "Initramfs"]),
        // Corpus/: the bad-input corpus, run through the built binary by BadInputCorpusTests (see its README).
        .testTarget(name: "BSPGenCLITests", dependencies: ["BSPGenCLI", "BoardModel", "Pipeline", "Host"], exclude: ["Corpus"]),
    ],
    swiftLanguageModes: [.v6]
)

import BoardModel
import DeviceTree
import Foundation
import Initramfs

/// The parsers that read what users and other tools hand bspgen. Each must turn any input into a value or a
/// typed error: never a crash, never a hang.
enum FuzzTarget: String, CaseIterable {
    /// A board file through decoding and every check `bspgen validate` makes.
    case boardYAML = "board-yaml"
    /// A toolchain file through decoding and every check, beside the shipped architectures.
    case toolchainYAML = "toolchain-yaml"
    /// An architecture file through decoding and every check, and its kernel image signatures on the input.
    case archYAML = "arch-yaml"
    /// A gen_init_cpio list through the packer, into an uncompressed archive.
    case cpioList = "cpio-list"
    /// A device tree blob through opening, rendering as dts and packing.
    case dtb

    /// A scratch folder per process: boards/ for board files, and the archive the list target writes.
    static let scratch: URL = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: folder.appendingPathComponent("boards"), withIntermediateDirectories: true)
        try? FileManager.default.createDirectory(at: folder.appendingPathComponent("toolchains"), withIntermediateDirectories: true)
        return folder
    }()

    func run(_ input: Data) {
        switch self {
        case .boardYAML:
            let boards = Self.scratch.appendingPathComponent("boards")
            let file = boards.appendingPathComponent("fuzz.yaml")
            guard (try? input.write(to: file)) != nil else { return }
            let catalog = Catalog(boardsDirectory: boards, toolchainsDirectory: Self.scratch.appendingPathComponent("toolchains"))
            for diagnostic in catalog.diagnostics { _ = diagnostic.description }
        case .toolchainYAML:
            Self.toolchainFile(input)
        case .archYAML:
            Self.architectureFile(input)
        case .cpioList:
            guard let text = String(data: input, encoding: .utf8) else { return }
            let archive = Self.scratch.appendingPathComponent("fuzz.cpio")
            _ = try? InitramfsPacker(sourceDateEpoch: 0).pack([.listText(text, name: "fuzz.list", baseDirectory: Self.scratch)],
                                                               to: archive, compression: .none)
        case .dtb:
            guard var tree = try? DeviceTreeBlob(bytes: input) else { return }
            _ = try? tree.dts()
            tree.pack()
        }
    }
}

#if FUZZING
/// libFuzzer's entry point; the target comes from BSPGEN_FUZZ_TARGET.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start, let target = ProcessInfo.processInfo.environment["BSPGEN_FUZZ_TARGET"].flatMap(FuzzTarget.init) else { return 0 }
    target.run(Data(bytes: start, count: count))
    return 0
}

public typealias Arguments = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<Arguments?>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// SwiftPM links an executable's entry point under the module's name instead of `main`, which would keep
/// libFuzzer's own `main` out: start libFuzzer's driver from here instead.
@_cdecl("bspgen_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: Arguments?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzOneInput)
}
#else
/// Without libFuzzer: replays saved inputs, e.g. a crash file libFuzzer wrote, under a debugger.
@main
struct FuzzReplay {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name), arguments.count > 1 else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
            FileHandle.standardError.write(Data("usage: bspgen-fuzz \(names) FILE...\n".utf8))
            exit(2)
        }
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("bspgen-fuzz: cannot read \(path)\n".utf8))
                exit(1)
            }
            target.run(data)
            print("\(path): ok")
        }
    }
}
#endif

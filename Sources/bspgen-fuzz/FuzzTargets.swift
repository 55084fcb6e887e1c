import BoardModel
import DeviceTree
import DiskImage
import Foundation
import Initramfs
import Kconfig
import Report

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
    /// A cpio archive (plain or gzip/xz/zstd) through the reader the artifact checks use.
    case cpioArchive = "cpio-archive"
    /// A disk image's first sectors (and its last, for a GPT backup) through the MBR and GPT reader.
    case partitionTable = "partition-table"
    /// A Kconfig fragment or `.config` through parsing, merging onto itself, the option check and the diff.
    case kconfigFragment = "kconfig-fragment"
    /// A Kconfig file (the language of the kernel's `Kconfig`) through the index and its questions.
    case kconfigLanguage = "kconfig-language"
    /// A `report.json` (what `bspgen diff` reads of an output folder) through its checks, the page and the diff.
    case reportJSON = "report-json"

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
            // Bytes, not text: lines that are not UTF-8 must be reported by line, comments may hold anything.
            let list = Self.scratch.appendingPathComponent("fuzz.list")
            guard (try? input.write(to: list)) != nil else { return }
            let archive = Self.scratch.appendingPathComponent("fuzz.cpio")
            do {
                _ = try InitramfsPacker(sourceDateEpoch: 0).pack([.list(list)], to: archive, compression: .none)
                _ = try CpioArchiveReader.listing(of: archive)
            } catch {
                _ = String(describing: error)
            }
        case .dtb:
            guard var tree = try? DeviceTreeBlob(bytes: input) else { return }
            _ = try? tree.dts()
            tree.pack()
        case .cpioArchive:
            let archive = Self.scratch.appendingPathComponent("fuzz-archive.cpio")
            guard (try? input.write(to: archive)) != nil else { return }
            _ = try? CpioArchiveReader.listing(of: archive, keepingPrefixOf: ["init", "bin/busybox"])
        case .partitionTable:
            let image = Self.scratch.appendingPathComponent("fuzz-disk.img")
            guard (try? input.write(to: image)) != nil else { return }
            if let table = try? PartitionTable.read(from: image) {
                for partition in table.partitions { _ = (partition.offset, partition.size) }
            }
        case .kconfigFragment:
            let text = String(decoding: input, as: UTF8.self)
            guard let fragment = try? KconfigFile.parse(text: text, name: "fuzz.fragment") else { return }
            let merge = KconfigMerge(base: fragment, fragments: [fragment])
            _ = merge.merged.text
            _ = KconfigCheck.check(requested: merge.requested, obtained: merge.merged, index: nil).map(\.description)
            let changes = KconfigDiff.changes(from: KconfigFile(name: "empty"), to: fragment)
            _ = try? KconfigDiff.apply(changes, toFragment: text, name: "fuzz.fragment")
        case .kconfigLanguage:
            let text = String(decoding: input, as: UTF8.self)
            let index = KconfigIndex(files: ["Kconfig": text, "arch/x86/Kconfig": text])
            let config = Dictionary(index.definitions.keys.map { ($0, KconfigValue.tristate(.yes)) }, uniquingKeysWith: { first, _ in first })
            // A few symbols of each input: the questions are per symbol, and libFuzzer needs many inputs a second.
            for (symbol, definitions) in index.definitions.sorted(by: { $0.key < $1.key }).prefix(8) {
                _ = index.type(of: symbol)
                for definition in definitions {
                    _ = definition.dependency?.value(in: config, index: index)
                    _ = definition.dependency?.unmetTerms(below: .yes, in: [:], index: index)
                }
            }
            _ = index.architectures(enabledIn: config)
            _ = index.definitions.keys.min().map { index.suggestions(for: $0 + "X") }
        case .reportJSON:
            // As `bspgen diff` takes a report: decoded, then used only when its checks find nothing.
            guard let report = try? BuildReport.decode(input), report.problems.isEmpty else { return }
            _ = ReportPage.html(report)
            var other = report
            if let objects = other.kernel?.objects { other.kernel?.objects = Array(objects.dropLast()) }
            if let files = other.initramfs?.files { other.initramfs?.files = Array(files.dropFirst()) }
            let diff = OutputDiff(OutputSnapshot(name: "a", board: report.board, artifacts: report.artifacts, report: report),
                                  OutputSnapshot(name: "b", board: other.board, artifacts: other.artifacts, report: other))
            _ = (diff.text, diff.html, try? JSONEncoder().encode(diff))
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

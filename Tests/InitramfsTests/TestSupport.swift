import Foundation
@testable import Initramfs

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// 2023-11-14T22:13:20Z: after the "old" files below, before anything the tests create.
let testEpoch: Int64 = 1_700_000_000
let oldModificationTime: Int64 = 1_000_000_000

/// A fresh directory, removed after `body`.
func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("bspgen-initramfs-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

struct ProcessResult {
    var status: Int32
    var output: Data
    var errors: String
    var text: String { String(decoding: output, as: UTF8.self) }
}

/// Runs a tool found on PATH; output goes through files so that large outputs cannot block it.
@discardableResult
func run(_ arguments: [String], input: URL? = nil, in directory: URL? = nil) throws -> ProcessResult {
    let capture = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-run-\(UUID().uuidString)")
    let outputFile = capture.appendingPathExtension("out")
    let errorFile = capture.appendingPathExtension("err")
    _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: outputFile)
        try? FileManager.default.removeItem(at: errorFile)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    process.standardInput = try input.map { try FileHandle(forReadingFrom: $0) } ?? FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: outputFile)
    process.standardError = try FileHandle(forWritingTo: errorFile)
    try process.run()
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus,
        output: try Data(contentsOf: outputFile),
        errors: try String(contentsOf: errorFile, encoding: .utf8))
}

/// Runs a tool that must succeed.
@discardableResult
func runChecked(_ arguments: [String], input: URL? = nil, in directory: URL? = nil) throws -> ProcessResult {
    let result = try run(arguments, input: input, in: directory)
    guard result.status == 0 else {
        throw TestFailure("\(arguments.joined(separator: " ")) exited with \(result.status): \(result.errors)")
    }
    return result
}

/// The kernel's usr/gen_init_cpio, built once per test run and kept across runs in a temporary
/// directory named after the sha256 of the kernel source tarball (unpacking it takes half a minute).
let kernelGenInitCpio = Result { try buildGenInitCpio() }

private func buildGenInitCpio() throws -> URL {
    let tarball = "/usr/src/linux-source-6.1.tar.xz"
    guard FileManager.default.fileExists(atPath: tarball) else {
        throw TestFailure(
            "\(tarball) is missing: install the kernel source (apt-get install linux-source-6.1) so that "
                + "the output can be compared with the kernel's own usr/gen_init_cpio.c.")
    }
    let digest = try runChecked(["sha256sum", tarball]).text.prefix(64)
    let cache = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-gen_init_cpio-\(digest)")
    let binary = cache.appendingPathComponent("gen_init_cpio")
    if FileManager.default.isExecutableFile(atPath: binary.path) { return binary }

    try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
    try withTemporaryDirectory { work in
        let member = "linux-source-6.1/usr/gen_init_cpio.c"
        try runChecked(["tar", "-xJf", tarball, "-C", work.path, member])
        let partial = cache.appendingPathComponent("gen_init_cpio.\(UUID().uuidString)")
        try runChecked(["cc", "-O2", "-o", partial.path, work.appendingPathComponent(member).path])
        guard rename(partial.path, binary.path) == 0 else { throw TestFailure("cannot install \(binary.path)") }
    }
    return binary
}

func writeFile(_ url: URL, _ contents: Data, mtime: Int64? = nil) throws {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try contents.write(to: url)
    if let mtime {
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: TimeInterval(mtime))], ofItemAtPath: url.path)
    }
}

func writeFile(_ url: URL, _ text: String, mtime: Int64? = nil) throws {
    try writeFile(url, Data(text.utf8), mtime: mtime)
}

/// Deterministic bytes that do not compress, to exercise many buffer refills.
func noiseData(count: Int) -> Data {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    return Data((0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 56)
    })
}

func makeSocket(at path: String) throws {
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path.utf8.prefix($0.count - 1)) }
    let status = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    guard status == 0 else { throw TestFailure("cannot bind a socket at \(path)") }
}

/// Packs and returns the bytes written.
func packedBytes(
    _ sources: [InitramfsSource], compression: InitramfsCompression = .none, in directory: URL,
    name: String = "initramfs.cpio"
) throws -> Data {
    let destination = directory.appendingPathComponent(name)
    _ = try InitramfsPacker(sourceDateEpoch: testEpoch).pack(sources, to: destination, compression: compression)
    return try Data(contentsOf: destination)
}

/// Every entry's parent directory comes before it.
func parentsPrecedeChildren(_ names: [String]) -> Bool {
    var seen: Set<String> = []
    for name in names {
        if let slash = name.lastIndex(of: "/"), !seen.contains(String(name[..<slash])) { return false }
        seen.insert(name)
    }
    return true
}

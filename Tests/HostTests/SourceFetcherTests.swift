import BoardModel
@testable import Host
import Foundation
import Testing

@Suite struct SourceFetcherTests {
    /// A cache and a small tarball with one top-level folder, like a release tarball.
    private func fixture() throws -> (workspace: Workspace, tarball: URL, folder: URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-sources-\(UUID().uuidString)")
        let tree = folder.appendingPathComponent("pkg-1.0")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try "all:\n".write(to: tree.appendingPathComponent("Makefile"), atomically: true, encoding: .utf8)
        let tarball = folder.appendingPathComponent("pkg-1.0.tar.gz")
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-czf", tarball.path, "-C", folder.path, "pkg-1.0"]
        try tar.run()
        tar.waitUntilExit()
        return (Workspace(cacheDirectory: folder.appendingPathComponent("cache").path), tarball, folder)
    }

    @Test func tarballWithTheRightChecksumIsUnpackedOnce() async throws {
        let (workspace, tarball, folder) = try fixture()
        defer { try? FileManager.default.removeItem(at: folder) }
        let sum = try Checksum.sha256(of: tarball)
        let fetcher = SourceFetcher(workspace: workspace)
        let tree = try await fetcher.fetch(.tarball(path: tarball.path, sha256: sum), relativeTo: folder, log: folder.appendingPathComponent("log"))
        #expect(tree.root.lastPathComponent == "pkg-1.0")
        #expect(FileManager.default.fileExists(atPath: tree.root.appendingPathComponent("Makefile").path))
        #expect(tree.sha256 == sum)
        let again = try await fetcher.fetch(.tarball(path: "pkg-1.0.tar.gz", sha256: nil), relativeTo: folder, log: folder.appendingPathComponent("log"))
        #expect(again.root == tree.root)
    }

    @Test func checksumMismatchNamesBothSumsAndExtractsNothing() async throws {
        let (workspace, tarball, folder) = try fixture()
        defer { try? FileManager.default.removeItem(at: folder) }
        let wrong = String(repeating: "0", count: 64)
        let actual = try Checksum.sha256(of: tarball)
        await #expect {
            try await SourceFetcher(workspace: workspace).fetch(.tarball(path: tarball.path, sha256: wrong), relativeTo: folder,
                                                                log: folder.appendingPathComponent("log"))
        } throws: { error in
            "\(error)".contains("expected sha256 \(wrong), got \(actual); nothing was extracted")
        }
        #expect(!FileManager.default.fileExists(atPath: workspace.sources.path))
    }

    @Test func directoryWithoutMakefileIsRefused() async throws {
        let (workspace, _, folder) = try fixture()
        defer { try? FileManager.default.removeItem(at: folder) }
        await #expect(throws: HostError.self) {
            try await SourceFetcher(workspace: workspace).fetch(.directory(folder.path), relativeTo: folder, log: folder.appendingPathComponent("log"))
        }
        let tree = try await SourceFetcher(workspace: workspace).fetch(.directory("pkg-1.0"), relativeTo: folder, log: folder.appendingPathComponent("log"))
        #expect(tree.root.lastPathComponent == "pkg-1.0")
    }
}

/// Hostile and damaged tarballs: each is refused or contained, nothing is written outside the cache, and no
/// half-unpacked tree is left for a later run to take as good.
@Suite struct HostileTarballTests {
    enum Member {
        case file(String, String)
        case symlink(String, target: String)
        case hardlink(String, target: String)
    }

    /// A ustar archive: 512-byte headers with octal fields and a checksum, data padded to 512 bytes.
    static func tarball(_ members: [Member]) -> Data {
        var archive = Data()
        for member in members {
            var header = [UInt8](repeating: 0, count: 512)
            func put(_ text: String, at offset: Int, width: Int) {
                for (index, byte) in text.utf8.prefix(width).enumerated() { header[offset + index] = byte }
            }
            func octal(_ value: Int, at offset: Int, width: Int) {
                put(String(String(value, radix: 8).suffix(width - 1)).leftPadded(to: width - 1), at: offset, width: width - 1)
            }
            let (name, type, link, data): (String, UInt8, String, Data) = switch member {
            case let .file(name, text): (name, UInt8(ascii: "0"), "", Data(text.utf8))
            case let .symlink(name, target): (name, UInt8(ascii: "2"), target, Data())
            case let .hardlink(name, target): (name, UInt8(ascii: "1"), target, Data())
            }
            put(name, at: 0, width: 100)
            octal(0o644, at: 100, width: 8)
            octal(0, at: 108, width: 8)
            octal(0, at: 116, width: 8)
            octal(data.count, at: 124, width: 12)
            octal(0, at: 136, width: 12)
            header[156] = type
            put(link, at: 157, width: 100)
            put("ustar", at: 257, width: 6)
            put("00", at: 263, width: 2)
            for index in 148..<156 { header[index] = UInt8(ascii: " ") }
            octal(header.reduce(0) { $0 + Int($1) }, at: 148, width: 7)
            archive.append(contentsOf: header)
            archive.append(data)
            archive.append(Data(count: (512 - data.count % 512) % 512))
        }
        archive.append(Data(count: 1024))
        return archive
    }

    private func fetch(_ archive: Data) async throws -> (result: Result<SourceTree, any Error>, folder: URL, workspace: Workspace) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("evil-1.0.tar")
        try archive.write(to: file)
        let workspace = Workspace(cacheDirectory: folder.appendingPathComponent("cache").path)
        let result: Result<SourceTree, any Error>
        do {
            result = .success(try await SourceFetcher(workspace: workspace).fetch(.tarball(path: file.path, sha256: nil), relativeTo: folder,
                                                                                  log: folder.appendingPathComponent("log")))
        } catch {
            result = .failure(error)
        }
        return (result, folder, workspace)
    }

    /// Everything under `folder` but the cache and the archive: what escaped.
    private func escaped(_ folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !["cache", "evil-1.0.tar", "log"].contains($0) }
    }

    @Test(arguments: [
        ("dot-dot member", [Member.file("evil/Makefile", "all:\n"), .file("evil/../../escaped", "x")]),
        ("write through a symlink", [.file("evil/Makefile", "all:\n"), .symlink("evil/link", target: "../../../.."), .file("evil/link/escaped", "x")]),
        ("hard link to a host file", [.file("evil/Makefile", "all:\n"), .hardlink("evil/passwd", target: "/etc/passwd")]),
    ])
    func hostileArchiveIsRefusedAndLeavesNothing(_ label: String, _ members: [Member]) async throws {
        let (result, folder, workspace) = try await fetch(Self.tarball(members))
        defer { try? FileManager.default.removeItem(at: folder) }
        guard case .failure(let error) = result else {
            Issue.record("\(label): unpacked")
            return
        }
        #expect("\(error)".contains("tar"), "the error names the failing command: \(error)")
        #expect(try escaped(folder) == [])
        let trees = (try? FileManager.default.contentsOfDirectory(atPath: workspace.sources.path)) ?? []
        #expect(trees == [], "no tree, whole or partial, is kept: \(trees)")
    }

    @Test func absolutePathsLandInsideTheTree() async throws {
        let (result, folder, _) = try await fetch(Self.tarball([.file("evil/Makefile", "all:\n"), .file("/tmp/bspgen-escaped-absolute", "x")]))
        defer { try? FileManager.default.removeItem(at: folder) }
        let tree = try result.get()
        #expect(!FileManager.default.fileExists(atPath: "/tmp/bspgen-escaped-absolute"))
        #expect(FileManager.default.fileExists(atPath: tree.root.appendingPathComponent("tmp/bspgen-escaped-absolute").path))
    }

    @Test func truncatedArchiveIsAnError() async throws {
        let whole = Self.tarball([.file("evil/Makefile", "all:\n"), .file("evil/big", String(repeating: "x", count: 5000))])
        // Cut inside a member's data, as an interrupted download is (a cut inside a header looks like the end to tar).
        let (result, folder, workspace) = try await fetch(whole.prefix(2600))
        defer { try? FileManager.default.removeItem(at: folder) }
        guard case .failure(let error) = result else {
            Issue.record("a truncated archive was unpacked")
            return
        }
        #expect("\(error)".contains("log:") || "\(error)".contains("tar"), "\(error)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: workspace.sources.path)) ?? []) == [])
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// The private apt configuration for binary packages: derived from the host's sources, with the components and
/// architectures a board asks for, and every place apt writes under the cache.
@Suite struct PrivateAptConfigurationTests {
    @Test func generatedSourcesAddTheComponentAndArchitectureAndWriteOnlyUnderTheCache() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bspgen-apt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let host = folder.appendingPathComponent("etc-apt/sources.list.d")
        try FileManager.default.createDirectory(at: host, withIntermediateDirectories: true)
        try """
            Types: deb
            URIs: http://archive.example/debian
            Suites: bookworm bookworm-updates
            Components: main
            Signed-By: /usr/share/keyrings/example.gpg

            Types: deb
            URIs: http://other.example/repo
            Suites: stable
            Components: main
            Architectures: amd64
            """.write(to: host.appendingPathComponent("host.sources"), atomically: true, encoding: .utf8)
        try "deb [signed-by=/k.gpg] http://mirror.example/debian bookworm main contrib\n"
            .write(to: host.appendingPathComponent("old.list"), atomically: true, encoding: .utf8)
        var fetcher = DebianPackageFetcher(workspace: Workspace(cacheDirectory: folder.appendingPathComponent("cache").path))
        fetcher.hostAptSources = [host]
        let requests = [DebianPackageRequest(package: "raspi-firmware", architecture: "arm64", component: "non-free-firmware"),
                        DebianPackageRequest(package: "opensbi")]
        let options = try fetcher.aptOptions(for: requests)
        let native = try HostArchitecture.native()
        let sources = try String(contentsOf: fetcher.aptRoot.appendingPathComponent("sources.list.d/bspgen-deb.sources"), encoding: .utf8)
        let stanzas = sources.components(separatedBy: "\n\n")
        #expect(stanzas.count == 3)
        #expect(stanzas[0] == """
            Types: deb
            URIs: http://archive.example/debian
            Suites: bookworm bookworm-updates
            Components: main non-free-firmware
            Signed-By: /usr/share/keyrings/example.gpg
            Architectures: \(native) arm64
            """)
        // A host entry that restricts its architectures keeps them: that archive has no others.
        #expect(stanzas[1].contains("Architectures: amd64") && !stanzas[1].contains("arm64"))
        #expect(stanzas[2].contains("Components: main contrib non-free-firmware") && stanzas[2].contains("Signed-By: /k.gpg"))
        #expect(options.contains("APT::Architectures::=\(native)") && options.contains("APT::Architectures::=arm64"))
        #expect(options.firstIndex(of: "APT::Architectures::=\(native)") ?? .max < options.firstIndex(of: "APT::Architectures::=arm64") ?? 0)

        // Every directory apt writes to is under the cache; the host's source list is replaced by nothing.
        let settings = Dictionary(options.filter { $0.contains("=") }.map { option in
            let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }, uniquingKeysWith: { first, _ in first })
        #expect(settings["Dir::Etc::SourceList"] == "/dev/null")
        for key in ["Dir::Etc::SourceParts", "Dir::State::Lists", "Dir::Cache"] {
            let path = try #require(settings[key], "\(key) must be set")
            #expect(path.hasPrefix(folder.appendingPathComponent("cache").path + "/"), "\(key)=\(path)")
        }
        #expect(!options.contains { $0.contains("/etc/apt") || $0.contains("/var/lib/apt") || $0.contains("/var/cache/apt") })
    }

    @Test func withoutRequestsTheHostArchitectureAloneIsRead() throws {
        #expect(try DebianPackageFetcher.architectures(for: [DebianPackageRequest(package: "opensbi")], native: "amd64") == ["amd64"])
        #expect(try DebianPackageFetcher.architectures(for: [DebianPackageRequest(package: "a", architecture: "amd64"),
                                                             DebianPackageRequest(package: "b", architecture: "armhf"),
                                                             DebianPackageRequest(package: "c", architecture: "arm64")], native: "amd64")
                == ["amd64", "arm64", "armhf"])
        #expect(DebBinaryEntries.adjust("Types: deb-src\nURIs: http://x/y\nSuites: ./", components: ["non-free"], architectures: [])
                == "Types: deb\nURIs: http://x/y\nSuites: ./")
    }

    @Test func controlFieldsReadTheFirstStanza() {
        let fields = DebianPackageFetcher.controlFields("Package: opensbi\nVersion: 1.1-2\nDescription: x\n more\n\nPackage: other\n")
        #expect(fields["Package"] == "opensbi" && fields["Version"] == "1.1-2")
    }
}

@Suite struct BuiltUsingTests {
    @Test func builtUsingEntriesAreSourcePackagesWithExactVersions() {
        let parsed = InstalledPackages.parseBuiltUsing("binutils (= 2.40-2), linux (= 6.1.4-1), gcc-12 (= 12.2.0-14), glibc (= 2.36-8)\n")
        #expect(parsed.map { "\($0.name) \($0.version)" } == ["binutils 2.40-2", "linux 6.1.4-1", "gcc-12 12.2.0-14", "glibc 2.36-8"])
        #expect(InstalledPackages.parseBuiltUsing("").isEmpty)
        #expect(InstalledPackages.parseBuiltUsing("odd entry without version").isEmpty)
    }
}

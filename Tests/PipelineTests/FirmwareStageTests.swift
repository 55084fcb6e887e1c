@testable import Pipeline
import BoardModel
import Foundation
@testable import Host
import Testing

extension Tag {
    /// Reaches the Debian archive through bspgen's private apt configuration (seconds, a few megabytes).
    @Tag static var network: Self
}

/// The firmware stage against Debian's real archive, in a cache of its own: a file fetched and unpacked is the
/// file in the package, a second run does nothing, and a wrong file or package is a located error that helps.
@Suite(.serialized, .tags(.network)) struct FirmwareStageTests {
    static let openSBI = "usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"

    /// The fake board of the stage tests with `firmware` added.
    func project(firmware: String) throws -> FakeProject {
        let project = try FakeProject()
        let file = project.boards.appendingPathComponent("fake-arm64.yaml")
        try (try String(contentsOf: file, encoding: .utf8) + firmware).write(to: file, atomically: true, encoding: .utf8)
        return project
    }

    func setFirmware(_ project: FakeProject, _ firmware: String) throws {
        let file = project.boards.appendingPathComponent("fake-arm64.yaml")
        let text = try String(contentsOf: file, encoding: .utf8)
        let base = text.components(separatedBy: "firmware:\n").first ?? text
        try (base + firmware).write(to: file, atomically: true, encoding: .utf8)
    }

    /// What `dpkg-deb --fsys-tarfile DEB | tar -xO PATH` prints, hashed: the package's file read independently.
    func sha256InPackage(_ deb: URL, _ path: String) throws -> String {
        let shell = Process()
        let pipe = Pipe()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "dpkg-deb --fsys-tarfile \"$1\" | tar -xOf - \"./$2\"", "sh", deb.path, path]
        shell.standardOutput = pipe
        try shell.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        shell.waitUntilExit()
        #expect(shell.terminationStatus == 0)
        return Checksum.sha256(data)
    }

    @Test func openSBIIsFetchedUnpackedAndCheckedAndAWrongFileOrPackageIsLocated() async throws {
        let project = try project(firmware: "firmware:\n  - package: opensbi\n    files: [{from: \(Self.openSBI)}]\n")
        defer { project.remove() }
        let environment = try await project.environment()
        let firmware = try await FirmwareStage(environment: environment).build()
        #expect(firmware.files.map(\.name) == ["fw_dynamic.bin", "opensbi.copyright"])
        let deb = try #require(DebianPackageFetcher(workspace: environment.workspace).cached(DebianPackageRequest(package: "opensbi")))
        #expect(try Checksum.sha256(of: firmware.files[0].url) == (try sha256InPackage(deb, Self.openSBI)))
        #expect(try Checksum.sha256(of: firmware.files[1].url) == (try sha256InPackage(deb, "usr/share/doc/opensbi/copyright")))
        #expect(firmware.packages.first?.sha256 == (try Checksum.sha256(of: deb)))
        #expect(firmware.packages.first?.source == "Debian package opensbi (all)")
        #expect(environment.journal.reports.map(\.stage) == ["firmware packages", "firmware opensbi"])

        // Nothing changed: neither apt nor the stage runs.
        let again = try await project.environment()
        _ = try await FirmwareStage(environment: again).build()
        #expect(again.journal.reports.allSatisfy { !$0.ran }, "\(again.journal.reports)")

        // A file the package does not have: named with package and version, at its line, with the close matches.
        try setFirmware(project, "firmware:\n  - package: opensbi\n    files:\n      - {from: usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamc.bin}\n")
        let wrongFile = try await project.environment()
        await #expect {
            _ = try await FirmwareStage(environment: wrongFile).build()
        } throws: { error in
            let diagnostic = (error as? DiagnosticList)?.diagnostics.first
            return diagnostic?.field == "firmware[0].files[0].from" && diagnostic?.location.line == 19
                && diagnostic?.message.contains("is not in the package opensbi 1.") == true
                && diagnostic?.hint?.contains("did you mean '\(Self.openSBI)'") == true
        }

        // A package the archive does not have: named, with apt-cache search to find the right one.
        try setFirmware(project, "firmware:\n  - package: opensbi-firmwares\n    files: [fw_dynamic.bin]\n")
        let wrongPackage = try await project.environment()
        await #expect {
            _ = try await FirmwareStage(environment: wrongPackage).build()
        } throws: { error in
            let diagnostic = (error as? DiagnosticList)?.diagnostics.first
            return diagnostic?.field == "firmware[0].package" && diagnostic?.location.line == 17
                && diagnostic?.message.contains("no Debian package 'opensbi-firmwares'") == true
                && diagnostic?.hint?.contains("apt-cache search opensbi-firmwares") == true
        }
    }

    /// raspi-firmware is in non-free-firmware, which the host's sources may not enable, and is built for `all`:
    /// asked for as arm64 it is still found.
    @Test func raspberryPiFirmwareComesFromTheAddedComponent() async throws {
        let project = try project(firmware: """
            firmware:
              - package: raspi-firmware
                architecture: arm64
                component: non-free-firmware
                files: [{from: usr/lib/raspi-firmware/start4.elf}, {from: usr/lib/raspi-firmware/fixup4.dat, to: fixup-pi4.dat}]

            """)
        defer { project.remove() }
        let environment = try await project.environment()
        let firmware = try await FirmwareStage(environment: environment).build()
        #expect(firmware.files.map(\.name) == ["start4.elf", "fixup-pi4.dat", "raspi-firmware.copyright"])
        let deb = try #require(DebianPackageFetcher(workspace: environment.workspace)
            .cached(DebianPackageRequest(package: "raspi-firmware", architecture: "arm64")))
        #expect(try Checksum.sha256(of: firmware.files[1].url) == (try sha256InPackage(deb, "usr/lib/raspi-firmware/fixup4.dat")))
        let sources = try String(contentsOf: environment.workspace.apt.appendingPathComponent("binary/sources.list.d/bspgen-deb.sources"),
                                 encoding: .utf8)
        #expect(sources.contains("non-free-firmware") && sources.contains("arm64"))
    }
}

import BoardModel
import DeviceTree
import DiskImage
import Foundation
import Host
import QEMU

/// `bspgen test` of a signing board's verified boot. Offline: U-Boot's tree holds the key as U-Boot needs it, U-Boot's
/// files carry that tree, and `fit_check_sign` (built with the board's U-Boot) accepts the signed image and refuses
/// three tampered ones. In QEMU (a boot path through the board's U-Boot): each tampered image, put on a copy of the
/// disk, is refused for its own reason. The tampered images and disks are made in the board's build folder, never
/// in its output.
struct VerifiedBootTest {
    let environment: BuildEnvironment
    let result: BoardBuildResult
    let verifiedBoot: VerifiedBootArtifacts
    let signing: FITSigningSpec
    let fit: FITImageSpec

    init?(environment: BuildEnvironment, result: BoardBuildResult) {
        guard let verifiedBoot = result.verifiedBoot, let fit = environment.board.board.fitImage, let signing = fit.signing else { return nil }
        self.environment = environment
        self.result = result
        self.verifiedBoot = verifiedBoot
        self.signing = signing
        self.fit = fit
    }

    var board: ResolvedBoard { environment.board }
    var output: URL { result.outputDirectory }
    var scratch: URL { environment.buildDirectory.appendingPathComponent("verified-boot", isDirectory: true) }

    /// The tampered images, made once per test run from the image in the output folder.
    func tamperedImages() async throws -> [VerifiedBootPlan.Tampering: URL] {
        let fileManager = FileManager.default
        environment.progress.begin("verified boot", "tampered copies of \(fit.name) (in \(scratch.path))")
        try? fileManager.removeItem(at: scratch)
        let sources = scratch.appendingPathComponent("fit", isDirectory: true)
        try fileManager.createDirectory(at: sources, withIntermediateDirectories: true)
        let log = environment.log("verified-boot")
        try? fileManager.removeItem(at: log)
        let names = result.names
        // The image's own inputs, under the names its source refers to.
        let deviceTree = names.firmwareDeviceTree ?? names.deviceTrees.first
        for name in [names.kernel, names.initramfs] + (deviceTree.map { [$0] } ?? []) {
            try fileManager.linkOrCopy(output.appendingPathComponent(name), to: sources.appendingPathComponent(name))
        }
        let inputs = FITSource.Inputs(board: board, names: names, deviceTree: deviceTree, spec: fit)
        // The variants are made from the image's own source, or they would prove nothing about it.
        guard (try? String(contentsOf: output.appendingPathComponent(fit.sourceName), encoding: .utf8)) == FITSource.render(inputs) else {
            throw BuildError.image(name: fit.sourceName, message: "differs from the source bspgen renders for the board now; build again")
        }
        let epoch = ["SOURCE_DATE_EPOCH": String(environment.sourceDateEpoch)]
        var images: [VerifiedBootPlan.Tampering: URL] = [:]

        // One byte of the kernel's data changed, nothing else.
        let signed = try Data(contentsOf: output.appendingPathComponent(fit.name))
        let changed = scratch.appendingPathComponent("kernel-byte-changed.itb")
        try AtomicFile.write(try Self.changingOneKernelByte(of: signed), to: changed)
        images[.kernelByteChanged] = changed

        // The same image signed with another key of the same name and size.
        let otherKey = scratch.appendingPathComponent("other-key", isDirectory: true)
        try fileManager.createDirectory(at: otherKey, withIntermediateDirectories: true)
        let key = otherKey.appendingPathComponent("\(signing.keyName).key")
        try await ProcessRunner.logged(Command("openssl", ["genpkey", "-quiet", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:\(signing.algorithm.keyBits)",
                                                           "-out", key.path]), log: log)
        try AtomicFile.write(FITSource.render(inputs), to: sources.appendingPathComponent("signed.its"))
        let other = scratch.appendingPathComponent("other-key.itb")
        try await ProcessRunner.logged(Command("mkimage", ["-f", "signed.its", "-k", otherKey.path, "-r", other.path], environment: epoch,
                                               workingDirectory: sources), log: log)
        images[.otherKey] = other

        // The same image without a signature.
        try AtomicFile.write(FITSource.render(inputs, signing: nil), to: sources.appendingPathComponent("unsigned.its"))
        let unsigned = scratch.appendingPathComponent("unsigned.itb")
        try await ProcessRunner.logged(Command("mkimage", ["-f", "unsigned.its", unsigned.path], environment: epoch, workingDirectory: sources), log: log)
        images[.unsigned] = unsigned
        environment.progress.end(images.keys.map(\.rawValue).sorted().joined(separator: ", "))
        return images
    }

    /// A copy of `image` whose kernel data differs in one byte, in the middle, from the signed image's.
    static func changingOneKernelByte(of image: Data) throws -> Data {
        let data = try DeviceTreeBlob(bytes: image).property("data", at: "/images/\(FITSource.kernelNode)")?.value ?? []
        guard data.count > 4096 else { throw BuildError.image(name: "FIT", message: "/images/\(FITSource.kernelNode) has no kernel data") }
        // The data property's bytes, found by a prefix and confirmed whole.
        guard let found = image.range(of: Data(data.prefix(4096))),
              image.subdata(in: found.lowerBound..<found.lowerBound + data.count) == Data(data) else {
            throw BuildError.image(name: "FIT", message: "the kernel's data was not found in the image")
        }
        var changed = image
        let offset = found.lowerBound + data.count / 2
        changed[offset] ^= 0x01
        return changed
    }

    /// Offline: the key as U-Boot holds it, U-Boot's files holding it, and `fit_check_sign` on the signed and the
    /// tampered images.
    func artifactChecks(tampered: [VerifiedBootPlan.Tampering: URL]?) async -> [ArtifactCheck] {
        var checks: [ArtifactCheck] = []
        func check(_ name: String, _ body: () async throws -> String) async {
            do {
                checks.append(ArtifactCheck(name: name, passed: true, detail: try await body()))
            } catch {
                checks.append(ArtifactCheck(name: name, passed: false, detail: "\(error)"))
            }
        }
        let tree = output.appendingPathComponent(VerifiedBootNames.publicKeyTree)
        await check("U-Boot's key \(VerifiedBootNames.publicKeyTree)") {
            try VerifiedBootStage.checkKeyNode(in: tree, signing: signing, bits: signing.algorithm.keyBits)
            return "\(signing.keyNodePath): \(signing.algorithm.rawValue), required = \"\(signing.required.rawValue)\""
        }
        if let bootloader = board.board.bootloader {
            switch bootloader.resolvedControlTree {
            case .uBoot:
                await check("key in U-Boot's files") {
                    let bytes = try Data(contentsOf: tree)
                    let holding = try bootloader.artifacts.map(\.name).filter { try Data(contentsOf: output.appendingPathComponent($0)).range(of: bytes) != nil }
                    guard !holding.isEmpty else { throw BuildError.image(name: VerifiedBootNames.publicKeyTree, message: "none of U-Boot's files holds this tree") }
                    return "\(holding.joined(separator: ", ")) carries \(VerifiedBootNames.publicKeyTree) as U-Boot's own tree"
                }
            case .qemu:
                await check("key given to U-Boot") {
                    let boots = result.plan.boots.filter { $0.firmwareDeviceTree == VerifiedBootNames.publicKeyTree }
                    guard !boots.isEmpty else {
                        throw BuildError.image(name: VerifiedBootNames.publicKeyTree, message: "no boot of the board's U-Boot gives it this tree")
                    }
                    // The run scripts in the output (made with images) must give it too.
                    for boot in boots where fileManagerHas(boot.runScript) {
                        guard try String(contentsOf: output.appendingPathComponent(boot.runScript), encoding: .utf8)
                            .contains("-dtb \(VerifiedBootNames.publicKeyTree)") else {
                            throw BuildError.image(name: boot.runScript, message: "does not give QEMU -dtb \(VerifiedBootNames.publicKeyTree)")
                        }
                    }
                    return "QEMU hands U-Boot this tree (-dtb) on boot path " + boots.map(\.name).joined(separator: ", ")
                }
            }
        }
        let signedLine = "\(signing.algorithm.rawValue):\(signing.keyName)+"
        await check("fit_check_sign \(fit.name)") {
            let run = try await fitCheckSign(output.appendingPathComponent(fit.name))
            guard run.succeeded, run.output.contains(signedLine) else {
                throw BuildError.image(name: fit.name, message: "fit_check_sign did not verify it (\(run.statusText)): "
                                        + run.output.split(separator: "\n").suffix(4).joined(separator: " | "))
            }
            return "verified against \(VerifiedBootNames.publicKeyTree): \(signedLine)"
        }
        if let tampered {
            // Refused for the same reason U-Boot gives: the last line of its refusal.
            for refusal in VerifiedBootPlan.refusals(algorithm: signing.algorithm.rawValue, keyName: signing.keyName,
                                                     required: signing.required.rawValue, kernelNode: FITSource.kernelNode) {
                guard let image = tampered[refusal.tampering], let reason = refusal.expectation.lines.last else { continue }
                await check("fit_check_sign refuses \(refusal.tampering.rawValue)") {
                    let run = try await fitCheckSign(image)
                    guard !run.succeeded else { throw BuildError.image(name: image.lastPathComponent, message: "fit_check_sign accepted it") }
                    let lines = run.output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                    guard let line = lines.first(where: { ConsoleExpectation(name: "", lines: [reason]).advance(0, with: $0) == 1 }) else {
                        throw BuildError.image(name: image.lastPathComponent, message: "fit_check_sign refused it (\(run.statusText)) but not with "
                                                + "'\(reason.joined(separator: " … "))': " + lines.suffix(3).joined(separator: " | "))
                    }
                    return "refused: \(line)"
                }
            }
        }
        return checks
    }

    func fileManagerHas(_ name: String) -> Bool { FileManager.default.fileExists(atPath: output.appendingPathComponent(name).path) }

    func fitCheckSign(_ image: URL) async throws -> CommandResult {
        try await ProcessRunner.capture(Command(verifiedBoot.fitCheckSign.path, ["-f", image.path, "-k", output.appendingPathComponent(VerifiedBootNames.publicKeyTree).path]))
    }

    /// Each refusal of `plan` booted in QEMU from a copy of the boot's disk holding the tampered image instead.
    func refusals(_ boot: BootPlan, plan: VerifiedBootPlan, tampered: [VerifiedBootPlan.Tampering: URL], timeout: Int?) async throws -> [RefusalReport] {
        let fileManager = FileManager.default
        let disk = output.appendingPathComponent(plan.disk)
        let table = try PartitionTable.read(from: disk)
        guard plan.partition < table.partitions.count else {
            throw BuildError.image(name: plan.disk, message: "has no partition \(plan.partition + 1) to hold \(plan.fit)")
        }
        let offset = table.partitions[plan.partition].offset
        var reports: [RefusalReport] = []
        for refusal in plan.refusals {
            guard let image = tampered[refusal.tampering] else { continue }
            // A folder like the output folder, for the run's command line: the boot's files linked, the disk a copy.
            let folder = scratch.appendingPathComponent(refusal.tampering.rawValue, isDirectory: true)
            try fileManager.createDirectory(at: folder, withIntermediateDirectories: true)
            for name in [boot.firmware?.isArtifact == true ? boot.firmware?.path : nil, boot.loader, boot.firmwareDeviceTree, boot.deviceTree].compactMap({ $0 }) {
                try? fileManager.removeItem(at: folder.appendingPathComponent(name))
                try fileManager.linkOrCopy(output.appendingPathComponent(name), to: folder.appendingPathComponent(name))
            }
            let copy = folder.appendingPathComponent(plan.disk)
            try? fileManager.removeItem(at: copy)
            try await ProcessRunner.checked(Command("cp", ["--sparse=always", disk.path, copy.path]))
            try await ProcessRunner.checked(Command("mcopy", ["-o", "-i", "\(copy.path)@@\(offset)", image.path, "::/" + plan.pathOnPartition],
                                                    environment: ["MTOOLS_SKIP_CHECK": "1", "MTOOLSRC": "/dev/null", "TZ": "UTC"]))
            let commandLine = try await BoardTest.commandLine(for: boot, folder: folder)
            environment.progress.begin("refusal \(board.name)", "\(refusal.tampering.rawValue) (\(boot.name))")
            let report = try await QEMURunner.refusalTest(commandLine, expectation: refusal.expectation,
                                                          log: environment.log("\(boot.logName)-refuses-\(refusal.tampering.rawValue)"),
                                                          timeout: .seconds(timeout ?? 180))
            environment.progress.end(report.passed ? "refused as expected" : "FAILED")
            reports.append(report)
            try? fileManager.removeItem(at: copy)
        }
        return reports
    }
}

extension FileManager {
    /// A hard link where the file system allows one, else a copy.
    func linkOrCopy(_ source: URL, to destination: URL) throws {
        do {
            try linkItem(at: source, to: destination)
        } catch {
            try copyItem(at: source, to: destination)
        }
    }
}

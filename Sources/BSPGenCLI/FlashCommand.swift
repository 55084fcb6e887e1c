import ArgumentParser
import BoardModel
import DiskImage
import Foundation
import Host

struct FlashCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "flash",
        abstract: "Write a board's SD-card/disk image from out/BOARD/ to a card, then read it back to check it.",
        discussion: """
            Only the blocks the image's .bmap lists (those that hold data) are written, then the card is synced and \
            every written range is read back and compared with its sha256. bspgen refuses a partition, a mounted or \
            otherwise used disk, a read-only one, one smaller than the image, and a disk that is not removable \
            (unless --force), and asks before writing (unless --yes). A regular file is accepted as a stand-in for a \
            card (it must be at least as large as the image). Writing a disk usually needs root.
            """)

    @OptionGroup var project: ProjectOptions

    @Option(name: .customLong("out"), help: "Output directory the board's images were built into.")
    var outputDirectory = "out"

    @Argument(help: "Board name.")
    var board: String

    @Option(help: "The card's whole-disk block device (e.g. /dev/sdX, /dev/mmcblkN; see `lsblk`), or a regular file standing in for one.")
    var device: String

    @Option(name: .customLong("image"), help: "Which of the board's disk_images (default: its first).")
    var imageName: String?

    @Flag(help: "Write to a disk that is not removable.")
    var force = false

    @Flag(help: "Write without asking.")
    var yes = false

    func run() async throws {
        let resolved = try project.board(board)
        let spec = try chooseImage(resolved.board.diskImages ?? [])
        let folder = Workspace(cacheDirectory: nil, outputDirectory: outputDirectory).output(board)
        let image = folder.appendingPathComponent(spec.name)
        guard FileManager.default.fileExists(atPath: image.path) else {
            throw CommandFailure(message: "\(image.path) does not exist; make it with `bspgen image \(board)` (or `bspgen build \(board) --images`)")
        }
        let progress = ProgressLine()
        do {
            let bmap = try blockMap(spec, folder: folder, image: image, progress: progress)
            let target = try FlashTarget.probe(path: device, imageSize: bmap.imageSize, force: force)
            for warning in target.warnings { printWarning(warning) }
            try confirm(bmap: bmap, target: target)

            var flasher = ImageFlasher(image: image, bmap: bmap, bmapName: spec.bmapName)
            flasher.isCancelled = { Task.isCancelled }
            flasher.progress = { phase, done, total in
                progress.update("\(phase.rawValue) \(Bmap.humanSize(done)) of \(Bmap.humanSize(total)) (\(total == 0 ? 100 : done * 100 / total)%)")
            }
            progress.begin("check", "\(spec.name) against its block map")
            try flasher.checkImage()
            progress.end()
            progress.begin("flash", "\(Bmap.humanSize(bmap.mappedBytes)) of a \(Bmap.humanSize(bmap.imageSize)) image to \(target.path)")
            try flasher.write(to: target)
            let seconds = progress.end()
            progress.begin("verify", "reading \(target.path) back")
            try flasher.verify(target)
            progress.end()
            let rate = seconds > 0 ? String(format: ", %.1f MiB/s", Double(bmap.mappedBytes) / 1_048_576 / seconds) : ""
            print("\(target.path): wrote \(spec.name) (\(Bmap.humanSize(bmap.mappedBytes)) of data in \(bmap.ranges.count) ranges\(rate)), read back and verified")
        } catch let error as FlashError {
            throw CommandFailure(message: error.description)
        } catch let error as BmapError {
            throw CommandFailure(message: "\(error.description); make it again with `bspgen image \(board)`")
        }
    }

    func chooseImage(_ images: [DiskImageSpec]) throws -> DiskImageSpec {
        guard let first = images.first else {
            throw CommandFailure(message: "\(board) describes no disk_images, so there is nothing to flash; see README 'Disk images'")
        }
        guard let imageName else { return first }
        guard let spec = images.first(where: { $0.name == imageName }) else {
            throw CommandFailure(message: "\(board) has no disk image named \(imageName); its images: \(images.map(\.name).joined(separator: ", "))")
        }
        return spec
    }

    /// The bmap beside the image; an image made before bspgen wrote bmaps gets one computed here.
    func blockMap(_ spec: DiskImageSpec, folder: URL, image: URL, progress: ProgressLine) throws -> Bmap {
        let url = folder.appendingPathComponent(spec.bmapName)
        if FileManager.default.fileExists(atPath: url.path) { return try Bmap.read(url) }
        progress.note("no \(spec.bmapName) beside the image (made by an older bspgen): mapping \(spec.name) now")
        return try Bmap.scan(image)
    }

    func confirm(bmap: Bmap, target: FlashTarget) throws(FlashError) {
        switch FlashConfirmation.decide(yes: yes, isTerminal: isatty(STDIN_FILENO) != 0) {
        case .proceed:
            return
        case .refuse:
            throw .noTerminal(path: target.path)
        case .ask:
            FileHandle.standardError.write(Data(FlashConfirmation.question(mappedBytes: bmap.mappedBytes, target: target).utf8))
            guard FlashConfirmation.accepts(readLine()) else { throw .declined(path: target.path) }
        }
    }
}

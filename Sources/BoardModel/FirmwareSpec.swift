import Foundation

/// Files a board takes from a Debian binary package (the Raspberry Pi's `start4.elf`, OpenSBI's
/// `fw_dynamic.bin`): fetched through bspgen's private apt configuration, never the host's, and kept as
/// artifacts of the board under their output names, with the package's licence beside them.
public struct FirmwareSpec: Codable, Sendable, Equatable {
    /// A Debian binary package, e.g. `raspi-firmware`.
    public var package: String
    /// A Debian architecture (`arm64`, `armhf`) for a package that is not built for the host's; apt then reads
    /// that architecture's index too. Absent: the host's architecture (or `all`).
    public var architecture: String?
    /// An archive component the host's apt sources may not enable, e.g. `non-free-firmware`.
    public var component: String?
    public var files: [FirmwareFileSpec]

    public init(package: String, architecture: String? = nil, component: String? = nil, files: [FirmwareFileSpec]) {
        self.package = package
        self.architecture = architecture
        self.component = component
        self.files = files
    }

    /// The package's licence as it goes into the output folder: Debian packages must ship it at this path.
    public var licenseName: String { "\(package).copyright" }
    public var licensePath: String { "usr/share/doc/\(package)/copyright" }
}

/// One file of a firmware package: its path inside the package (as `dpkg-deb -c` lists it, without the leading
/// `./`) and its name among the board's artifacts. The same mapping as a partition's or the boot loader's files.
public typealias FirmwareFileSpec = PartitionFileSpec

extension Board {
    /// Every name the firmware section puts in the output folder, with the field that claims it: each file's
    /// output name, then one licence per package.
    public var firmwareArtifacts: [(field: String, name: String)] {
        var claims: [(field: String, name: String)] = []
        var packages: Set<String> = []
        for (index, spec) in (firmware ?? []).enumerated() {
            for (fileIndex, file) in spec.files.enumerated() {
                claims.append((file.to == nil ? "firmware[\(index)].files[\(fileIndex)].from" : "firmware[\(index)].files[\(fileIndex)].to",
                               file.outputName))
            }
            // A package listed twice is reported by FirmwareChecks, not again as a licence that collides.
            if packages.insert(spec.package).inserted { claims.append(("firmware[\(index)].package", spec.licenseName)) }
        }
        return claims
    }
}

/// Checks of the firmware section that need no network: names apt and dpkg accept, paths that stay inside the
/// package. Output names are claimed with the board's other artifacts (`Board.firmwareArtifacts`), which checks
/// that they are plain file names and collide with nothing.
public enum FirmwareChecks {
    public struct Problem: Sendable, Equatable {
        public var field: String
        public var message: String
        public var hint: String?
    }

    /// Debian policy 5.6.1: lower-case letters, digits, `+ - .`, at least two characters, starting alphanumeric.
    static func isPackageName(_ name: String) -> Bool { Words.isPackageName(name) }

    static func isWord(_ text: String) -> Bool {
        !text.isEmpty && text.first?.isLetter == true && text.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
    }

    public static func problems(_ specs: [FirmwareSpec]) -> [Problem] {
        var problems: [Problem] = []
        var packages: [String: Int] = [:]
        for (index, spec) in specs.enumerated() {
            let field = "firmware[\(index)]"
            if !isPackageName(spec.package) {
                problems.append(Problem(field: field + ".package", message: "\(DescriptionText.quoted(spec.package)) is not a Debian package name",
                                        hint: "expected lower-case letters, digits, '+', '-' or '.', like 'raspi-firmware'"))
            } else if let first = packages[spec.package] {
                problems.append(Problem(field: field + ".package", message: "\(DescriptionText.quoted(spec.package)) is already listed as firmware[\(first)]",
                                        hint: "list all of its files under that entry"))
            } else {
                packages[spec.package] = index
            }
            if let architecture = spec.architecture, !isWord(architecture) {
                problems.append(Problem(field: field + ".architecture", message: "\(DescriptionText.quoted(architecture)) is not a Debian architecture",
                                        hint: "expected a name such as 'arm64', 'armhf' or 'riscv64', as 'dpkg --print-architecture' prints"))
            }
            if let component = spec.component, !isWord(component) {
                problems.append(Problem(field: field + ".component", message: "\(DescriptionText.quoted(component)) is not an archive component",
                                        hint: "expected a name such as 'non-free-firmware', 'non-free' or 'contrib'"))
            }
            if spec.files.isEmpty {
                problems.append(Problem(field: field + ".files", message: "expected at least one file to take from the package",
                                        hint: "list paths inside the package, as 'dpkg-deb -c' prints them: [{from: usr/lib/…}]"))
            }
            for (fileIndex, file) in spec.files.enumerated() {
                let fileField = "\(field).files[\(fileIndex)]"
                let parts = file.from.split(separator: "/", omittingEmptySubsequences: false)
                if file.from.hasPrefix("/") || file.from.hasPrefix("./") {
                    let relative = file.from.drop { $0 == "." || $0 == "/" }
                    problems.append(Problem(field: fileField + ".from", message: "\(DescriptionText.quoted(file.from)) must be relative to the package's root",
                                            hint: "write \(DescriptionText.quoted(String(relative)))"))
                } else if parts.isEmpty || parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
                    problems.append(Problem(field: fileField + ".from", message: "\(DescriptionText.quoted(file.from)) is not a path inside the package",
                                            hint: "expected a path such as 'usr/lib/raspi-firmware/start4.elf'"))
                }
            }
        }
        return problems
    }
}

extension ResolvedBoard {
    /// Where `field` is written in the board's file, for errors found after loading (a file the package does not
    /// have); the file alone when it no longer reads.
    public func location(of field: String) -> SourceLocation {
        guard let text = try? DescriptionText.read(file),
              let decoded = try? YAMLTreeDecoder.decode(Board.self, from: text, file: file.path) else {
            return SourceLocation(file: file.path)
        }
        return decoded.1.location(of: field)
    }
}

import Foundation

/// Every board and toolchain description of a project, loaded and cross-checked.
public struct Catalog: Sendable {
    public let boardsDirectory: URL
    public let toolchainsDirectory: URL
    public let archesDirectory: URL
    /// `bspgen.yaml`; a project without one has no default boards.
    public let settingsFile: URL
    public private(set) var boards: [String: ResolvedBoard] = [:]
    public private(set) var toolchains: [String: Toolchain] = [:]
    public private(set) var architectures: [String: Architecture] = [:]
    public private(set) var settings = ProjectSettings()
    /// Problems in any file; a board with a problem is left out of `boards`.
    public private(set) var diagnostics: [Diagnostic] = []
    /// Toolchain files that have problems, by name: a board naming one is told so, not that the toolchain is unknown.
    private var refusedToolchainFiles: [String: String] = [:]
    /// For a board refused for its toolchain's problems: that toolchain's file, whose problems go with the board's.
    private var refusedToolchainOfBoard: [String: String] = [:]

    public var boardNames: [String] { boards.keys.sorted() }

    /// Loads `*.yaml` in the three directories and the settings file, or only `onlyFiles` among the boards when
    /// given (architectures and toolchains are always all loaded, since boards refer to them).
    /// `archesDirectory` defaults to `arches/` beside the toolchains directory, `settingsFile` to `bspgen.yaml`
    /// beside the boards directory: the project's layout.
    public init(boardsDirectory: URL, toolchainsDirectory: URL, archesDirectory: URL? = nil, settingsFile: URL? = nil,
                onlyFiles: [URL]? = nil) {
        self.boardsDirectory = boardsDirectory.standardizedFileURL
        self.toolchainsDirectory = toolchainsDirectory.standardizedFileURL
        self.archesDirectory = (archesDirectory ?? self.toolchainsDirectory.deletingLastPathComponent().appendingPathComponent("arches"))
            .standardizedFileURL
        self.settingsFile = (settingsFile ?? self.boardsDirectory.deletingLastPathComponent().appendingPathComponent("bspgen.yaml"))
            .standardizedFileURL
        for file in Self.yamlFiles(in: self.archesDirectory) { loadArchitecture(file) }
        for file in Self.yamlFiles(in: toolchainsDirectory) {
            let before = diagnostics.count
            loadToolchain(file)
            if diagnostics.count > before { refusedToolchainFiles[file.deletingPathExtension().lastPathComponent] = file.path }
        }
        loadSettings()
        let dataFolders = [self.toolchainsDirectory, self.archesDirectory].map { $0.path + "/" }
        let boardFiles = onlyFiles?.filter { file in
            let path = file.standardizedFileURL.path
            return path != self.settingsFile.path && !dataFolders.contains { path.hasPrefix($0) }
        } ?? Self.yamlFiles(in: boardsDirectory)
        if let onlyFiles {
            let wanted = Set(onlyFiles.map(\.standardizedFileURL.path))
            diagnostics.removeAll { !wanted.contains(URL(fileURLWithPath: $0.location.file).standardizedFileURL.path) }
        }
        for file in boardFiles { loadBoard(file) }
        for (directory, what, option) in [(self.boardsDirectory, "board", "--boards"), (self.toolchainsDirectory, "toolchain", "--toolchains"),
                                          (self.archesDirectory, "architecture", "--arches")] {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
                diagnostics.append(Diagnostic(SourceLocation(file: directory.path), "\(what)s directory not found",
                                              hint: "run bspgen from the project root, or pass \(option) DIR"))
            } else if !isDirectory.boolValue {
                diagnostics.append(Diagnostic(SourceLocation(file: directory.path), "is a file; \(option) takes the folder of \(what) files",
                                              hint: "to check one file, name it alone: bspgen validate \(directory.path)"))
            }
        }
    }

    /// The board named `name`, or a diagnostic with a "did you mean".
    public func board(named name: String) throws(DiagnosticList) -> ResolvedBoard {
        if let board = boards[name] { return board }
        let location = SourceLocation(file: boardsDirectory.appendingPathComponent("\(name).yaml").path)
        let related = [location.file] + (refusedToolchainOfBoard[URL(fileURLWithPath: location.file).standardizedFileURL.path].map { [$0] } ?? [])
        let broken = related.flatMap { file in diagnostics.filter { $0.location.file == file } }
        if !broken.isEmpty { throw DiagnosticList(broken) }
        throw DiagnosticList([Diagnostic(location, "no board named \(DescriptionText.quoted(name)); known boards: \(boardNames.joined(separator: ", "))",
                                         hint: Suggestion.didYouMean(name, among: boardNames) ?? "see 'bspgen list'")])
    }

    private static func yamlFiles(in directory: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted().map { directory.appendingPathComponent($0) }
    }

    private static func read<T: Decodable>(_ type: T.Type, _ file: URL) throws(DiagnosticList) -> (T, LocationMap) {
        try YAMLTreeDecoder.decode(type, from: try DescriptionText.read(file), file: file.path)
    }

    private mutating func loadArchitecture(_ file: URL) {
        do {
            let (architecture, locations) = try Self.read(Architecture.self, file)
            var problems = ArchitectureChecks(architecture: architecture, file: file, locations: locations).problems()
            if architectures[architecture.name] != nil {
                problems.append(Diagnostic(locations.location(of: "name"), field: "name", "architecture '\(architecture.name)' is defined twice"))
            }
            diagnostics += problems
            if problems.isEmpty { architectures[architecture.name] = architecture }
        } catch {
            diagnostics += error.diagnostics
        }
    }

    private mutating func loadSettings() {
        guard FileManager.default.fileExists(atPath: settingsFile.path) else { return }
        do {
            settings = try Self.read(ProjectSettings.self, settingsFile).0
        } catch {
            diagnostics += error.diagnostics
        }
    }

    private mutating func loadToolchain(_ file: URL) {
        do {
            var (toolchain, locations) = try Self.read(Toolchain.self, file)
            for index in toolchain.kernelRequires?.indices ?? [].indices {
                let location = locations.location(of: "kernel_requires[\(index)]")
                toolchain.kernelRequires?[index].file = location.file
                toolchain.kernelRequires?[index].line = location.line
            }
            var problems = ToolchainChecks(toolchain: toolchain, file: file, locations: locations, architectures: architectures).problems()
            if let existing = toolchains[toolchain.name] {
                problems.append(Diagnostic(locations.location(of: "name"), field: "name", "toolchain '\(existing.name)' is defined twice"))
            }
            diagnostics += problems
            if problems.isEmpty { toolchains[toolchain.name] = toolchain }
        } catch {
            diagnostics += error.diagnostics
        }
    }

    private mutating func loadBoard(_ file: URL) {
        do {
            let (board, locations) = try Self.read(Board.self, file)
            var checks = BoardChecks(board: board, file: file, locations: locations,
                                     boardsDirectory: boardsDirectory, toolchains: toolchains, architectures: architectures)
            checks.refusedToolchainFiles = refusedToolchainFiles
            refusedToolchainOfBoard[file.standardizedFileURL.path] = refusedToolchainFiles[board.toolchain]
            let resolved = checks.resolve()
            diagnostics += checks.problems
            if let resolved, checks.problems.isEmpty { boards[board.name] = resolved }
        } catch {
            diagnostics += error.diagnostics
        }
    }
}

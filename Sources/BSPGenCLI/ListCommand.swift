import ArgumentParser
import BoardModel

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the boards with their architecture, toolchain and how they are validated.")

    @OptionGroup var project: ProjectOptions

    @Flag(help: "Print JSON.")
    var json = false

    struct Row: Encodable {
        var name: String
        var arch: String
        var toolchain: String
        var validation: String
        var description: String
    }

    func run() throws {
        let catalog = project.catalog()
        let rows = catalog.boardNames.compactMap { catalog.boards[$0] }.map {
            Row(name: $0.name, arch: $0.board.arch, toolchain: $0.board.toolchain,
                validation: $0.qemuBootable ? "qemu-boot" : "artifact-check", description: $0.board.description)
        }
        if json {
            try printJSON(rows)
        } else {
            let table = [["BOARD", "ARCH", "TOOLCHAIN", "VALIDATED BY", "DESCRIPTION"]] + rows.map {
                [$0.name, $0.arch, $0.toolchain, $0.validation == "qemu-boot" ? "QEMU boot" : "artifact check", $0.description]
            }
            printTable(table)
        }
        if !catalog.diagnostics.isEmpty {
            throw DiagnosticList(catalog.diagnostics)
        }
    }
}

func printTable(_ rows: [[String]]) {
    guard let columns = rows.first?.count else { return }
    let widths = (0..<columns).map { column in rows.map { $0[column].count }.max() ?? 0 }
    for row in rows {
        let cells = row.enumerated().map { index, cell in
            index == columns - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }
        print(cells.joined(separator: "  "))
    }
}

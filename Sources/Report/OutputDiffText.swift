import Foundation
import UserInput

/// `bspgen diff`'s text and HTML forms (`--json` is the `OutputDiff` value itself).
extension OutputDiff {
    /// How many object lines the text and the page show before summing up the rest.
    static let shownObjects = 30
    static let shownFiles = 40

    /// Names and values come from the two folders' files: shown escaped, so a crafted manifest cannot act on the terminal.
    static func shown(_ text: String) -> String { UserText.escaped(text, limit: 400) }

    public var text: String {
        var lines = ["bspgen diff \(Self.shown(before)) \(Self.shown(after))"]
        if isEmpty { return (lines + ["no differences"]).joined(separator: "\n") + "\n" }
        let counts = (added: artifacts.filter { $0.before == nil }.count, removed: artifacts.filter { $0.after == nil }.count)
        lines.append("")
        lines.append("artifacts: \(artifacts.count - counts.added - counts.removed) changed, \(counts.added) added, \(counts.removed) removed")
        lines += changeTable(artifacts, indent: "  ")
        if let config {
            lines.append("")
            lines.append("kernel config (as scripts/diffconfig): \(config.isEmpty ? "no change" : "\(config.count) options")")
            lines += config.map { "  " + Self.shown($0.line) }
        }
        if let kernelTotal, let kernelSubsystems, let kernelObjects {
            lines.append("")
            lines.append("kernel size (as scripts/bloat-o-meter, text + data + bss of vmlinux's objects): "
                         + "\(ByteCount.text(kernelTotal.before ?? 0)) -> \(ByteCount.text(kernelTotal.after ?? 0)) (\(ByteCount.delta(kernelTotal.delta)))")
            lines.append("  " + Self.bloatSummary(kernelObjects))
            if !kernelSubsystems.isEmpty {
                lines.append("  by subsystem:")
                lines += changeTable(kernelSubsystems, indent: "    ")
                lines.append("  by object:")
                lines += changeTable(Array(kernelObjects.prefix(Self.shownObjects)), indent: "    ")
                if kernelObjects.count > Self.shownObjects { lines.append("    … and \(kernelObjects.count - Self.shownObjects) more (--json lists all)") }
            }
        }
        if let initramfsFiles, let initramfsTotal {
            lines.append("")
            lines.append("initramfs: \(Self.shown(initramfsTotal.name)) \(ByteCount.text(initramfsTotal.before ?? 0)) -> "
                         + "\(ByteCount.text(initramfsTotal.after ?? 0)) (\(ByteCount.delta(initramfsTotal.delta))); \(initramfsFiles.count) files differ in size or presence")
            lines += changeTable(Array(initramfsFiles.prefix(Self.shownFiles)), indent: "  ")
            if initramfsFiles.count > Self.shownFiles { lines.append("  … and \(initramfsFiles.count - Self.shownFiles) more (--json lists all)") }
        }
        if let components, !components.isEmpty {
            lines.append("")
            lines.append("SBOM components:")
            lines += components.map { Self.shown("  \($0.name): \($0.before ?? "(none)") -> \($0.after ?? "(none)")") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// bloat-o-meter's first line: how many names came and went, grew and shrank, and the bytes each way.
    static func bloatSummary(_ changes: [Change]) -> String {
        let added = changes.filter { $0.before == nil }.count
        let removed = changes.filter { $0.after == nil }.count
        let grew = changes.filter { $0.before != nil && $0.after != nil && $0.delta > 0 }.count
        let shrank = changes.filter { $0.before != nil && $0.after != nil && $0.delta < 0 }.count
        let up = changes.filter { $0.delta > 0 }.reduce(0) { $0 + $1.delta }
        let down = changes.filter { $0.delta < 0 }.reduce(0) { $0 + $1.delta }
        return "add/remove: \(added)/\(removed) grow/shrink: \(grew)/\(shrank) up/down: \(up)/\(down) (\(up + down))"
    }

    /// `+ name  before -> after  (delta)`, `+` added, `-` removed, `~` changed; columns padded to the widest.
    func changeTable(_ changes: [Change], indent: String) -> [String] {
        let width = min(changes.map { Self.shown($0.name).count }.max() ?? 0, 60)
        return changes.map { change in
            let mark = change.before == nil ? "+" : change.after == nil ? "-" : "~"
            let shown = Self.shown(change.name)
            let name = shown.count < width ? shown + String(repeating: " ", count: width - shown.count) : shown
            let sizes = "\(change.before.map(String.init) ?? "-") -> \(change.after.map(String.init) ?? "-")"
            return "\(indent)\(mark) \(name)  \(sizes)  (\(change.delta >= 0 ? "+" : "")\(change.delta))"
        }
    }

    public var html: String {
        var body = "<header><h1>bspgen diff</h1><p class=\"note\"><code>\(HTML.escape(before))</code> → <code>\(HTML.escape(after))</code></p></header>\n"
        if isEmpty { body += "<p>No differences.</p>\n" }
        body += "<section id=\"artifacts\"><h2>Artifacts</h2>\n" + changeHTML(artifacts) + "</section>\n"
        if let config {
            body += "<section id=\"config\"><h2>Kernel config</h2>\n<p class=\"note\">As scripts/diffconfig prints it.</p>\n"
                + "<pre class=\"mono\">\(HTML.escape(config.map(\.line).joined(separator: "\n")))</pre></section>\n"
        }
        if let kernelTotal, let kernelSubsystems, let kernelObjects {
            body += "<section id=\"kernel\"><h2>Kernel size</h2>\n<p class=\"note\">text + data + bss of vmlinux's objects: "
                + "\(ByteCount.text(kernelTotal.before ?? 0)) → \(ByteCount.text(kernelTotal.after ?? 0)) (\(ByteCount.delta(kernelTotal.delta))); "
                + "\(HTML.escape(Self.bloatSummary(kernelObjects)))</p>\n<h3>By subsystem</h3>\n" + changeHTML(kernelSubsystems)
                + "<h3>By object</h3>\n" + changeHTML(kernelObjects) + "</section>\n"
        }
        if let initramfsFiles, let initramfsTotal {
            body += "<section id=\"initramfs\"><h2>Initramfs</h2>\n<p class=\"note\">\(HTML.escape(initramfsTotal.name)): "
                + "\(ByteCount.text(initramfsTotal.before ?? 0)) → \(ByteCount.text(initramfsTotal.after ?? 0)) (\(ByteCount.delta(initramfsTotal.delta)))</p>\n"
                + changeHTML(initramfsFiles) + "</section>\n"
        }
        if let components, !components.isEmpty {
            body += "<section id=\"components\"><h2>SBOM components</h2>\n" + ReportPage.table(["component", "before", "after"], components.map {
                [HTML.escape($0.name), HTML.escape($0.before ?? "(none)"), HTML.escape($0.after ?? "(none)")]
            }) + "</section>\n"
        }
        return ReportPage.document(title: "bspgen diff", body: body)
    }

    func changeHTML(_ changes: [Change]) -> String {
        guard !changes.isEmpty else { return "<p class=\"note\">No change.</p>\n" }
        return ReportPage.table(["", "name", "before", "after", "delta"], changes.map { change in
            let mark = change.before == nil ? "added" : change.after == nil ? "removed" : "changed"
            return [mark, HTML.escape(change.name), change.before.map(String.init) ?? "–", change.after.map(String.init) ?? "–",
                    "<span class=\"\(change.delta > 0 ? "bad" : "ok")\">\(change.delta > 0 ? "+" : "")\(change.delta)</span>"]
        }, numeric: [2, 3, 4], keep: [0])
    }
}

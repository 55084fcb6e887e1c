import Foundation

/// Building HTML as text: every value from a build (file names, console lines, config values) goes through
/// `escape`, so nothing a board file says can become markup.
enum HTML {
    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            // Control characters would make the page invalid; shown as their code.
            case _ where character.value < 0x20 && character != "\n" && character != "\t": result += "\\x" + String(format: "%02x", character.value)
            default: result.unicodeScalars.append(character)
            }
        }
        return result
    }

    /// A number for an SVG attribute: fixed decimals, never exponent notation, so the page is the same on every host.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let text = String(format: "%.2f", value)
        return text.hasSuffix(".00") ? String(text.dropLast(3)) : text
    }

    static func seconds(_ value: Double) -> String { String(format: "%.1f s", value) }

    static let palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6",
                          "#d37295", "#a0cbe8"]
    static let otherColour = "#bab0ac"

    static func colour(_ index: Int, name: String) -> String {
        name == "other" || name.hasPrefix("cpio headers") || name == "free space" || name == "partition table and gaps"
            ? otherColour : palette[index % palette.count]
    }
}

/// The page's look: one inline style sheet, system fonts, nothing fetched.
enum PageStyle {
    static let css = """
        :root{--fg:#1d2330;--muted:#5b6475;--line:#d9dde5;--bg:#fff;--soft:#f4f6f9;--ok:#1a7f37;--bad:#c62828;--ran:#4e79a7;--skip:#c7ccd6}
        *{box-sizing:border-box}
        body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
        main{max-width:1100px;margin:0 auto;padding:16px}
        h1{font-size:1.5rem;margin:.2rem 0}
        h2{font-size:1.15rem;margin:1.6rem 0 .5rem;padding-bottom:.2rem;border-bottom:1px solid var(--line)}
        h3{font-size:1rem;margin:1rem 0 .3rem}
        p.note,.muted{color:var(--muted);font-size:.85rem;margin:.2rem 0 .5rem}
        code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.85em}
        .summary{display:flex;flex-wrap:wrap;gap:8px;margin:.6rem 0}
        .chip{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:4px 10px;font-size:.9rem}
        .ok{color:var(--ok)} .bad{color:var(--bad)}
        .chip.ok{border-color:var(--ok)} .chip.bad{border-color:var(--bad)}
        .timeline{display:grid;grid-template-columns:minmax(0,15rem) minmax(0,1fr);column-gap:10px;row-gap:3px;align-items:center}
        .timeline .label{font-size:.85rem;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
        .timeline .label .t{color:var(--muted)}
        .timeline svg{display:block;width:100%;height:14px;background:var(--soft)}
        .axis{position:relative;height:1.2rem;font-size:.75rem;color:var(--muted)}
        .axis span{position:absolute;top:0;transform:translateX(-50%);white-space:nowrap}
        .axis span:first-child{transform:none} .axis span:last-child{transform:translateX(-100%)}
        rect.ran{fill:var(--ran)} rect.skipped{fill:var(--skip)}
        svg.stack{display:block;width:100%;height:26px;border-radius:4px;overflow:hidden}
        ul.legend{list-style:none;padding:0;margin:.4rem 0;display:grid;grid-template-columns:repeat(auto-fill,minmax(16rem,1fr));gap:2px 16px;font-size:.85rem}
        ul.legend li{display:flex;gap:6px;align-items:baseline;min-width:0}
        ul.legend .sw{flex:none;width:.8rem;height:.8rem;border-radius:2px;display:inline-block;transform:translateY(1px)}
        ul.legend .name{overflow-wrap:anywhere}
        ul.legend .v{margin-left:auto;color:var(--muted);white-space:nowrap}
        .scroll{max-width:100%;overflow-x:auto}
        table{border-collapse:collapse;width:100%;font-size:.85rem}
        th,td{text-align:left;padding:3px 8px 3px 0;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
        th{font-weight:600}
        td.n,th.n{text-align:right;white-space:nowrap}
        td.k,th.k{white-space:nowrap;overflow-wrap:normal}
        td.hash{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.75rem;word-break:break-all}
        details{margin:.4rem 0} summary{cursor:pointer;color:var(--muted);font-size:.85rem}
        pre{white-space:pre-wrap;overflow-wrap:anywhere}
        @media (max-width:640px){
          main{padding:10px}
          .timeline{grid-template-columns:minmax(0,1fr);row-gap:0}
          .timeline svg{margin-bottom:6px}
        }
        """
}

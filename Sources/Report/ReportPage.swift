import Foundation

/// `report.html`: one self-contained page (inline CSS, inline SVG, one inline script that only measures the page,
/// no fonts or files fetched) from a `BuildReport`. Pure: the same report gives the same bytes.
public enum ReportPage {
    public static func html(_ report: BuildReport) -> String {
        var body = header(report)
        body += timeline(report.stages, buildSeconds: report.buildSeconds)
        body += sizes(report)
        body += boots(report)
        body += verdicts(report.allVerdicts)
        body += artifacts(report.artifacts)
        body += config(report.config)
        return document(title: "\(report.board): bspgen build report", body: body)
    }

    /// The page around `body`: also used by `bspgen diff --html`, so both look alike.
    static func document(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTML.escape(title))</title>
        <style>
        \(PageStyle.css)
        </style>
        </head>
        <body>
        <main>
        \(body)
        </main>
        <script>
        \(selfCheck)
        </script>
        </body>
        </html>

        """
    }

    // MARK: Sections

    static func header(_ report: BuildReport) -> String {
        let ran = report.stages.filter(\.ran).count
        var chips = ["<span class=\"chip\">\(HTML.escape(report.arch))</span>",
                     "<span class=\"chip\">built in \(HTML.seconds(report.buildSeconds))</span>",
                     "<span class=\"chip\">\(ran) of \(report.stages.count) stages ran</span>"]
        let verdicts = report.allVerdicts
        if !verdicts.isEmpty {
            let failed = verdicts.filter { !$0.passed }.count
            chips.append(failed == 0
                ? "<span class=\"chip ok\">\(verdicts.count) checks passed</span>"
                : "<span class=\"chip bad\">\(failed) of \(verdicts.count) checks failed</span>")
        }
        for boot in report.boots {
            chips.append("<span class=\"chip \(boot.passed ? "ok" : "bad")\">boot \(HTML.escape(boot.method)): \(boot.passed ? "passed" : "FAILED")</span>")
        }
        return """
            <header>
            <h1>\(HTML.escape(report.board))</h1>
            <p class="note">bspgen build report. The manifest (sha256 <code>\(HTML.escape(String(report.manifestSHA256.prefix(16))))</code>…) \
            lists what was built; this page adds what the build and the tests measured on this host.</p>
            <div class="summary">\(chips.joined())</div>
            </header>

            """
    }

    /// One row per stage: its name and time, and a bar on a shared time axis (overlapping stages overlap).
    static func timeline(_ stages: [StageBar], buildSeconds: Double) -> String {
        let end = max(buildSeconds, stages.map { $0.started + $0.seconds }.max() ?? 0, 0.001)
        var rows = ""
        for stage in stages {
            // A skipped stage takes no time: drawn as a thin mark where it was decided, so every stage has its bar.
            let x = stage.started / end * 1000
            let width = max(stage.seconds / end * 1000, 3)
            let reasons = stage.reasons.joined(separator: "; ")
            let state = stage.ran ? "ran" : "skipped"
            let tooltip = "\(stage.name): \(state) \(HTML.seconds(stage.seconds)) from \(HTML.seconds(stage.started)) — \(reasons)"
                + (stage.detail.map { " [\($0)]" } ?? "")
            rows += """
                <div class="label" title="\(HTML.escape(tooltip))">\(HTML.escape(stage.name)) \
                <span class="t">\(stage.ran ? HTML.seconds(stage.seconds) : "skipped")</span></div>\
                <svg viewBox="0 0 1000 10" preserveAspectRatio="none" role="img" aria-label="\(HTML.escape(tooltip))">\
                <rect class="stage-bar \(state)" x="\(HTML.number(min(x, 997)))" y="0" width="\(HTML.number(width))" height="10">\
                <title>\(HTML.escape(tooltip))</title></rect></svg>

                """
        }
        let ticks = axisTicks(end).map { tick in
            // The end is the build's own length: as many decimals as the round ticks before it need.
            let label = tick == end ? String(format: end >= 10 ? "%.0f" : end >= 1 ? "%.1f" : "%.2f", end) : HTML.number(tick)
            return "<span style=\"left:\(HTML.number(tick / end * 100))%\">\(label) s</span>"
        }.joined()
        let skippedReasons = stages.filter { !$0.ran }.map { "\(HTML.escape($0.name)): \(HTML.escape($0.reasons.joined(separator: "; ")))" }
        return """
            <section id="timeline">
            <h2>Stage timeline</h2>
            <p class="note">Each stage of the build on one time axis (seconds since the build began); blue ran, grey was skipped \
            (hover a bar for why). Stages that ran at once overlap.</p>
            <div class="timeline" data-stages="\(stages.count)">
            <div></div><div class="axis">\(ticks)</div>
            \(rows)</div>
            \(skippedReasons.isEmpty ? "" : "<details><summary>Why stages were skipped</summary><ul class=\"muted\">"
                + skippedReasons.map { "<li>\($0)</li>" }.joined() + "</ul></details>")
            \(table(["stage", "ran", "from", "seconds", "why"], stages.map { stage in
                [HTML.escape(stage.name), stage.ran ? "ran" : "skipped", HTML.seconds(stage.started), HTML.seconds(stage.seconds),
                 HTML.escape((stage.reasons + (stage.detail.map { [$0] } ?? [])).joined(separator: "; "))]
            }, numeric: [2, 3], keep: [1], collapsed: "Stages as a table"))
            </section>

            """
    }

    /// Ticks at 1, 2 or 5 times a power of ten, about five of them, and the end.
    static func axisTicks(_ end: Double) -> [Double] {
        let rough = end / 5
        let power = pow(10, floor(log10(max(rough, 1e-3))))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough } ?? rough
        var ticks: [Double] = []
        // The last tick is the end itself: a round tick too close to it would print over it.
        while Double(ticks.count) * step < end - step * 0.3 { ticks.append(Double(ticks.count) * step) }
        return ticks + [end]
    }

    static func sizes(_ report: BuildReport) -> String {
        var html = "<section id=\"sizes\">\n<h2>Where the bytes go</h2>\n"
        if let kernel = report.kernel {
            html += stack(kernel.breakdown, id: "kernel")
            let largest = kernel.objects.sorted { ($0.bytes, $1.name) > ($1.bytes, $0.name) }.prefix(40)
            html += table(["object", "bytes"], largest.map { [HTML.escape($0.name), String($0.bytes)] }, numeric: [1],
                          collapsed: "The \(largest.count) largest objects")
        } else {
            html += "<p class=\"note\">Kernel sizes were not measured for this build.</p>\n"
        }
        if let initramfs = report.initramfs {
            html += stack(initramfs.byKind, id: "initramfs")
            let files = initramfs.files.sorted { ($0.bytes, $1.path) > ($1.bytes, $0.path) }
            html += table(["file", "kind", "bytes"], files.map { [HTML.escape($0.path), HTML.escape($0.kind), String($0.bytes)] },
                          numeric: [2], collapsed: "All \(files.count) files, largest first")
        }
        for (index, image) in report.diskImages.enumerated() {
            html += stack(image, id: "disk-\(index)")
        }
        return html + "</section>\n"
    }

    static func boots(_ report: BuildReport) -> String {
        var html = "<section id=\"boot\">\n<h2>Boot</h2>\n"
        guard !report.boots.isEmpty else {
            return html + "<p class=\"note\">Not booted by <code>bspgen test</code> since this build.</p>\n</section>\n"
        }
        html += "<p class=\"note\">Time from QEMU's start to each line on the console (host clock, software emulation unless "
            + "KVM is named), per boot method.</p>\n"
        for boot in report.boots {
            var previous = 0
            var parts: [SizeBreakdown.Part] = []
            // Milliseconds, so that the phases add up exactly to the last milestone.
            for milestone in boot.milestones {
                let milliseconds = (min(max(milestone.seconds, 0), BuildReport.longestSeconds) * 1000).rounded()
                let now = max(Int(milliseconds.isFinite ? milliseconds : 0), previous)
                parts.append(SizeBreakdown.Part(name: "to \(milestone.name)", bytes: now - previous))
                previous = now
            }
            let verdict = boot.passed ? "<span class=\"ok\">passed</span>" : "<span class=\"bad\">FAILED</span>"
            html += "<h3>\(HTML.escape(boot.method)): \(verdict), \(HTML.seconds(boot.totalSeconds)) in all (\(HTML.escape(boot.accelerator)))</h3>\n"
            if let failure = boot.failure { html += "<p class=\"note bad\">\(HTML.escape(failure))</p>\n" }
            if parts.isEmpty {
                html += "<p class=\"note\">No milestone was seen on the console.</p>\n"
                continue
            }
            html += stack(SizeBreakdown(title: "", note: "", total: previous, parts: parts), id: "boot-\(boot.method)", unit: .milliseconds,
                          showTitle: false)
            var last = 0.0
            html += table(["milestone", "at", "since the previous"], boot.milestones.map { milestone in
                defer { last = milestone.seconds }
                return [HTML.escape(milestone.name), String(format: "%.2f s", milestone.seconds), String(format: "+%.2f s", milestone.seconds - last)]
            }, numeric: [1, 2])
        }
        return html + "</section>\n"
    }

    static func verdicts(_ verdicts: [Verdict]) -> String {
        guard !verdicts.isEmpty else {
            return "<section id=\"verdicts\">\n<h2>Test verdicts</h2>\n<p class=\"note\">Not tested since this build: "
                + "<code>bspgen test</code> adds its verdicts here.</p>\n</section>\n"
        }
        return "<section id=\"verdicts\">\n<h2>Test verdicts</h2>\n"
            + table(["check", "verdict", "detail"], verdicts.map {
                [HTML.escape($0.name), $0.passed ? "<span class=\"ok\">passed</span>" : "<span class=\"bad\">FAILED</span>", HTML.escape($0.detail)]
            }, keep: [1]) + "</section>\n"
    }

    static func artifacts(_ artifacts: [ArtifactEntry]) -> String {
        "<section id=\"artifacts\">\n<h2>Artifacts (manifest.json)</h2>\n"
            + table(["file", "bytes", "sha256"], artifacts.map { [HTML.escape($0.path), String($0.size), HTML.escape($0.sha256)] },
                    numeric: [1], hash: 2)
            + "</section>\n"
    }

    static func config(_ options: [ConfigOption]) -> String {
        let missing = options.filter { !$0.satisfied }
        return "<section id=\"config\">\n<h2>Kernel config: requested and obtained</h2>\n<p class=\"note\">\(options.count) options "
            + "requested by the board's fragments; \(missing.isEmpty ? "all obtained" : "\(missing.count) not as requested").</p>\n"
            + table(["option", "requested", "obtained", "fragment line"], options.map { option in
                let obtained = option.obtained ?? "not set"
                let mark = option.satisfied ? obtained : "<span class=\"bad\">\(HTML.escape(obtained))</span>\(option.optional ? " (optional)" : "")"
                return ["<code>CONFIG_\(HTML.escape(option.symbol))</code>", HTML.escape(option.requested),
                        option.satisfied ? HTML.escape(obtained) : mark, HTML.escape(option.origin)]
            }, collapsed: options.count > 30 ? "All \(options.count) options" : nil)
            + "</section>\n"
    }

    // MARK: Pieces

    enum Unit { case bytes, milliseconds }

    /// A bar split into the parts of `breakdown`, each as wide as its share, with a legend. The parts' values and
    /// the total are in data attributes, so the page's check (and the browser test) can add them up.
    static func stack(_ breakdown: SizeBreakdown, id: String, unit: Unit = .bytes, showTitle: Bool = true) -> String {
        let total = max(breakdown.total, 1)
        var x = 0.0
        var rects = ""
        var legend = ""
        for (index, part) in breakdown.parts.enumerated() {
            let width = Double(part.bytes) / Double(total) * 1000
            let colour = HTML.colour(index, name: part.name)
            let value = unit == .bytes ? ByteCount.text(part.bytes) : String(format: "%.2f s", Double(part.bytes) / 1000)
            let share = String(format: "%.1f %%", Double(part.bytes) / Double(total) * 100)
            let label = "\(part.name): \(value) (\(share))" + (part.detail.map { ", \($0)" } ?? "")
            rects += "<rect x=\"\(HTML.number(x))\" y=\"0\" width=\"\(HTML.number(width))\" height=\"10\" fill=\"\(colour)\" "
                + "data-value=\"\(part.bytes)\"><title>\(HTML.escape(label))</title></rect>"
            legend += "<li><span class=\"sw\" style=\"background:\(colour)\"></span><span class=\"name\">\(HTML.escape(part.name))</span>"
                + "<span class=\"v\">\(value) · \(share)</span></li>"
            x += width
        }
        let name = breakdown.title.isEmpty ? id : breakdown.title
        return (showTitle ? "<h3>\(HTML.escape(breakdown.title))</h3>\n" : "")
            + (breakdown.note.isEmpty ? "" : "<p class=\"note\">\(HTML.escape(breakdown.note))</p>\n")
            + "<svg class=\"stack\" id=\"\(HTML.escape(id))\" data-name=\"\(HTML.escape(name))\" data-total=\"\(breakdown.total)\" "
            + "viewBox=\"0 0 1000 10\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"\(HTML.escape(name))\">\(rects)</svg>\n"
            + "<ul class=\"legend\">\(legend)</ul>\n"
    }

    /// A table of cells that are already HTML; `numeric` columns align right; `hash` is the sha256 column;
    /// `collapsed` puts it in a `<details>` with that summary.
    /// `keep` columns are short words (a verdict) that must not be broken.
    static func table(_ headings: [String], _ rows: [[String]], numeric: Set<Int> = [], hash: Int? = nil, keep: Set<Int> = [],
                      collapsed: String? = nil) -> String {
        func cellClass(_ column: Int) -> String {
            numeric.contains(column) ? " class=\"n\"" : column == hash ? " class=\"hash\"" : keep.contains(column) ? " class=\"k\"" : ""
        }
        let head = headings.enumerated().map { "<th\(cellClass($0.offset))>\($0.element)</th>" }.joined()
        let body = rows.map { row in
            "<tr>" + row.enumerated().map { "<td\(cellClass($0.offset))>\($0.element)</td>" }.joined() + "</tr>\n"
        }.joined()
        let table = "<div class=\"scroll\"><table><thead><tr>\(head)</tr></thead><tbody>\n\(body)</tbody></table></div>\n"
        return collapsed.map { "<details><summary>\(HTML.escape($0))</summary>\n\(table)</details>\n" } ?? table
    }

    /// Runs in the browser when the page loads and writes what it measured into `data-check-*` attributes of
    /// `<body>`: the timeline's bars against its stages, each stacked bar's parts against its total (as numbers
    /// and as drawn widths), and anything wider than the window. It changes nothing visible.
    static let selfCheck = """
        (function () {
          var problems = [];
          var timeline = document.querySelector('.timeline');
          var bars = document.querySelectorAll('.timeline rect.stage-bar').length;
          var stages = timeline ? Number(timeline.dataset.stages) : 0;
          if (bars !== stages) problems.push('timeline: ' + bars + ' bars for ' + stages + ' stages');
          var stacks = document.querySelectorAll('svg.stack');
          stacks.forEach(function (svg) {
            var sum = 0, drawn = 0;
            svg.querySelectorAll('rect').forEach(function (rect) {
              sum += Number(rect.dataset.value);
              drawn += rect.getBoundingClientRect().width;
            });
            var width = svg.getBoundingClientRect().width;
            if (sum !== Number(svg.dataset.total)) problems.push(svg.dataset.name + ': parts add up to ' + sum + ' of ' + svg.dataset.total);
            if (Math.abs(drawn - width) > 1) problems.push(svg.dataset.name + ': parts drawn ' + drawn.toFixed(1) + ' px of ' + width.toFixed(1));
          });
          var root = document.documentElement;
          var limit = root.clientWidth;
          if (root.scrollWidth > limit) problems.push('page ' + root.scrollWidth + ' px wide in a ' + limit + ' px window');
          document.querySelectorAll('main > *, section > *').forEach(function (element) {
            var right = element.getBoundingClientRect().right;
            if (right > limit + 0.5) problems.push((element.id || element.tagName.toLowerCase()) + ' ends at ' + right.toFixed(0) + ' px');
          });
          var body = document.body.dataset;
          body.checkBars = String(bars);
          body.checkStages = String(stages);
          body.checkStacks = String(stacks.length);
          body.checkWidth = String(limit);
          body.checkHeight = String(root.scrollHeight);
          body.checkProblems = problems.join('; ');
          body.checked = 'yes';
        })();
        """
}

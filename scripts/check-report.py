#!/usr/bin/env python3
"""Checks out/BOARD/report.html pages in a real browser (Debian's chromium, headless).

For each page and each width (1280 px, and 390 px as a phone shows it) the page is loaded, its own inline check
runs (it writes data-check-* attributes on <body>: the timeline's bars against its stages, each stacked bar's
parts against its total, as numbers and as drawn widths, and anything wider than the window), and the DOM is
dumped and read back here. Screenshots of both widths are kept in the artifact folder.

Chromium's headless window is at least 500 px wide, so the 390 px view is the page in a 390 px iframe of a small
wrapper page, which copies the frame's check attributes onto its own body.

Usage: scripts/check-report.py [--artifacts DIR] [--no-screenshots] REPORT.html...
Exit status 0 when every page passes; the problems are printed otherwise.
"""
import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

WIDTHS = (1280, 390)
# Headless chromium cannot make its window narrower than this.
MINIMUM_WINDOW = 500
# A screenshot taller than this is cut: the top of the page is what shows the layout.
MAXIMUM_HEIGHT = 12000


def browser():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("check-report: chromium is not installed; scripts/setup.sh installs it (apt-get install chromium)")


def run_browser(url, width, height, extra):
    command = [browser(), "--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--allow-file-access-from-files",
               "--disable-extensions", f"--window-size={width},{height}"] + extra + [url]
    # As root, chromium refuses to run without this.
    if os.geteuid() == 0:
        command.insert(1, "--no-sandbox")
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"chromium exited with {result.returncode}: {result.stderr.decode(errors='replace')[-800:]}")
    return result.stdout.decode(errors="replace")


def wrapper(page, width):
    """A page holding `page` in an iframe `width` px wide that grows to the frame's height."""
    return f"""<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0">
<iframe id="frame" src="{html.escape(page)}" style="border:0;display:block;width:{width}px;height:900px"></iframe>
<script>
var frame = document.getElementById('frame');
frame.addEventListener('load', function () {{
  var inner = frame.contentDocument;
  Object.keys(inner.body.dataset).forEach(function (key) {{ document.body.dataset[key] = inner.body.dataset[key]; }});
  frame.style.height = inner.documentElement.scrollHeight + 'px';
}});
</script></body></html>
"""


def body_attributes(dom):
    match = re.search(r"<body([^>]*)>", dom)
    if not match:
        return {}
    attributes = {key: html.unescape(value) for key, value in re.findall(r'data-check-([a-z]+)="([^"]*)"', match.group(1))}
    if 'data-checked="yes"' in match.group(1):
        attributes["checked"] = "yes"
    return attributes


def check(page, artifacts, screenshots=True):
    problems = []
    name = os.path.basename(os.path.dirname(os.path.abspath(page))) or page
    for width in WIDTHS:
        frame_page = os.path.join(artifacts, f"{name}-{width}.wrapper.html")
        with open(frame_page, "w") as handle:
            handle.write(wrapper("file://" + os.path.abspath(page), width))
        url = "file://" + os.path.abspath(frame_page)
        window = max(width, MINIMUM_WINDOW)
        attributes = body_attributes(run_browser(url, window, 900, ["--dump-dom"]))
        where = f"{page} at {width} px"
        if attributes.get("checked") != "yes":
            problems.append(f"{where}: the page's check did not run")
            continue
        if attributes.get("width") != str(width):
            problems.append(f"{where}: the page was laid out {attributes.get('width')} px wide")
        # (A page whose bars and stages differ says so itself, in its problems.)
        if attributes.get("stages") in (None, "0"):
            problems.append(f"{where}: no stages on the timeline")
        # The kernel and the initramfs at least.
        if int(attributes.get("stacks") or 0) < 2:
            problems.append(f"{where}: {attributes.get('stacks')} size bars, expected the kernel's and the initramfs's at least")
        if attributes.get("problems"):
            problems.append(f"{where}: {attributes['problems']}")
        height = min(int(attributes.get("height") or 900), MAXIMUM_HEIGHT)
        shot = os.path.join(artifacts, f"{name}-{width}.png") if screenshots else "not taken"
        if screenshots:
            run_browser(url, window, height, [f"--screenshot={shot}"])
            if not os.path.exists(shot) or os.path.getsize(shot) == 0:
                problems.append(f"{where}: no screenshot was written")
        verdict = "FAILED" if any(problem.startswith(where) for problem in problems) else (
            f"{attributes.get('bars')} stage bars, {attributes.get('stacks')} size bars adding up, nothing wider than the window")
        print(f"  {name} {width:>4} px: {verdict}; page {attributes.get('height')} px tall; screenshot {shot}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", help="folder for the screenshots (default: a new temporary folder)")
    parser.add_argument("--no-screenshots", action="store_true", help="only measure the pages")
    parser.add_argument("pages", nargs="+")
    arguments = parser.parse_args()
    artifacts = arguments.artifacts or tempfile.mkdtemp(prefix="bspgen-report-check-")
    os.makedirs(artifacts, exist_ok=True)
    start = time.monotonic()
    problems = []
    for page in arguments.pages:
        if not os.path.isfile(page):
            problems.append(f"{page}: no such report (build the board first)")
            continue
        try:
            problems += check(page, artifacts, screenshots=not arguments.no_screenshots)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            problems.append(f"{page}: {error}")
    print(f"report pages: {len(arguments.pages)} checked in {time.monotonic() - start:.1f} s; screenshots in {artifacts}")
    for problem in problems:
        print("FAILED: " + problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

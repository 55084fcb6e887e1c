#!/usr/bin/env python3
"""Writes the man page bspgen(1) from the command definitions, as `bspgen --experimental-dump-help` gives them
(swift-argument-parser's description of every command, argument and option), so the page cannot drift from --help.

Usage: bspgen --experimental-dump-help | scripts/man-page.py > bspgen.1
"""
import json
import sys


def roff(text):
    """Text safe in a roff line: backslashes doubled, and a leading dot or quote escaped."""
    text = (text or "").replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in text.splitlines() or [""]:
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def synopsis(argument):
    names = argument.get("names") or []
    if argument["kind"] == "positional":
        value = f"<{argument.get('valueName', 'value')}>"
    else:
        preferred = argument.get("preferredName") or (names[0] if names else {"kind": "long", "name": argument.get("valueName", "")})
        value = ("-" if preferred["kind"] == "short" else "--") + preferred["name"]
        if argument["kind"] == "option":
            value += f" <{argument.get('valueName', 'value')}>"
    if argument.get("isRepeating"):
        value += " ..."
    return f"[{value}]" if argument.get("isOptional") else value


def option_lines(argument):
    names = [("-" if name["kind"] == "short" else "--") + name["name"] for name in argument.get("names") or []]
    label = ", ".join(names) if names else f"<{argument.get('valueName', 'value')}>"
    if argument["kind"] == "option":
        label += f" <{argument.get('valueName', 'value')}>"
    text = argument.get("abstract", "")
    if argument.get("defaultValue") not in (None, ""):
        text += f" (default: {argument['defaultValue']})"
    return [".TP", f"\\fB{roff(label)}\\fR", roff(text)]


def command_section(command, path, out):
    arguments = [a for a in command.get("arguments") or [] if a.get("shouldDisplay", True)]
    name = " ".join(path)
    out.append(f".SS {roff(name)}" if len(path) > 1 else ".SH SYNOPSIS")
    out.append(f"\\fB{roff(name)}\\fR " + roff(" ".join(synopsis(a) for a in arguments)))
    out.append(".PP")
    out.append(roff(command.get("abstract", "")))
    if command.get("discussion"):
        out.append(".PP")
        out.append(roff(command["discussion"]))
    for argument in arguments:
        out += option_lines(argument)
    subcommands = [c for c in command.get("subcommands") or [] if c.get("shouldDisplay", True) and c["commandName"] != "help"]
    if len(path) == 1 and subcommands:
        out.append(".SH COMMANDS")
    for subcommand in subcommands:
        command_section(subcommand, path + [subcommand["commandName"]], out)


def main():
    tool = json.load(sys.stdin)["command"]
    out = [
        '.TH BSPGEN 1 "" "bspgen" "User Commands"',
        ".SH NAME",
        f"bspgen \\- {roff(tool.get('abstract', ''))}",
    ]
    command_section(tool, [tool["commandName"]], out)
    out += [
        ".SH ENVIRONMENT",
        ".TP", "\\fBBSPGEN_CACHE\\fR", "The cache for sources and stage results (default ~/.cache/bspgen).",
        ".TP", "\\fBNO_COLOR\\fR", "bspgen prints no colour; the live progress line is drawn only when standard error is a terminal.",
        ".SH FILES",
        ".TP", "\\fIout/BOARD/\\fR",
        "A board's output: images, manifest.json, SBOMs, report.html and report.json.",
        ".SH SEE ALSO",
        "README.md in bspgen's source tree.",
    ]
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Proof that the SBOM's kernel file list comes from this build, not from the tree (issue 17). BOARD is built three
# times in its kept build folder (Kbuild recompiles only what the changed options touch, with ccache): as it is,
# with an extra fragment that turns one driver on (`bspgen build --kernel-fragment`), and as it is again. Then:
# - with the driver, licences/linux-files.tsv gains the source of every object Kbuild made in the driver's folder
#   and nothing else compiled; each with the sha256 of the file and the licence its own SPDX-License-Identifier line
#   gives (read here with sed, not with bspgen's scanner), or NOASSERTION when it has none; the other files it gains
#   are headers that those objects' Kbuild records name; it loses nothing;
# - without it again, the whole output folder (kernel image, SBOMs, file lists) is byte for byte the first one.
# Run by scripts/test.sh after the boards are built (about a minute: two kernel configs and incremental builds).
# Usage: scripts/sbom-driver-proof.sh [BOARD [FRAGMENT DRIVER_FOLDER]]
set -euo pipefail
cd "$(dirname "$0")/.."
board=${1:-qemu-x86_64}
fragment=${2:-scripts/sbom-driver-proof.fragment}
driver=${3:-drivers/char/hw_random}
bspgen=.build/debug/bspgen
work=$(mktemp -d "${TMPDIR:-/tmp}/bspgen-sbom-proof.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$SECONDS
failures=0
fail() { echo "sbom driver proof: FAIL: $*" >&2; failures=$((failures + 1)); }

build() {
  local name=$1 began=$SECONDS
  shift
  if ! "$bspgen" build "$board" --out "$work/$name" --quiet "$@" >"$work/$name.log" 2>&1; then
    cat "$work/$name.log" >&2
    echo "sbom driver proof: FAIL: bspgen build $board $* failed" >&2
    exit 1
  fi
  echo "  $name: bspgen build $board $* ($((SECONDS - began)) s)"
}

list() { grep -v '^#' "$work/$1/$board/licences/linux-files.tsv" | LC_ALL=C sort; }

echo "== sbom driver proof: $board, $fragment turns on $driver/"
build before
# The board's kernel build folder (shared by the boards naming the same fragments), as its last build recorded it.
linux=$(python3 -c 'import json, sys; print(next(p for p in json.load(open(sys.argv[1])) if "/kernels/" in p))' \
  "${BSPGEN_CACHE:-$HOME/.cache/bspgen}/build/$board/.bspgen-uses.json")
# The fragment must turn something on that the board does not have already.
while read -r line; do
  case $line in CONFIG_*=y|CONFIG_*=m)
    grep -qx "$line" "$work/before/$board/linux.config" && { echo "sbom driver proof: FAIL: $board already has $line; choose another driver" >&2; exit 1; } ;;
  esac
done <"$fragment"
build with --kernel-fragment "$fragment"
LC_ALL=C comm -13 <(list before) <(list with) >"$work/added"
LC_ALL=C comm -23 <(list before) <(list with) >"$work/removed"
[ -s "$work/removed" ] && fail "the driver's fragment removed files from the list: $(cut -f1 "$work/removed" | head -5 | tr '\n' ' ')"

# What Kbuild archived for the driver's folder in this build (the members of its thin built-in.a: objects of earlier
# builds stay in the folder, not in the archive), each object's source from its record's source_ line.
srctree=$(readlink -f "$linux/source")
ar t "$linux/$driver/built-in.a" | while read -r object; do
  # A thin archive's members: as ar prints them, absolute, or relative to the archive's folder.
  case $object in /*) ;; *) object=$linux/$driver/$object ;; esac
  cat "$(dirname "$object")/.$(basename "$object").cmd"
done >"$work/records"
sed -n "s|^source_[^ ]* := ||p" "$work/records" | while read -r source; do
  source=$(readlink -f "$source")
  echo "${source#"$srctree"/}"
done | LC_ALL=C sort -u >"$work/expected"
[ -s "$work/expected" ] || fail "Kbuild compiled nothing in $driver/: does $fragment turn a driver on?"
awk -F'\t' '$3 == "compiled" { print $1 }' "$work/added" | LC_ALL=C sort >"$work/compiled"
if ! diff -u "$work/expected" "$work/compiled" >"$work/compiled.diff"; then
  fail "the files added as compiled are not the sources of $driver/'s objects (- Kbuild's records, + the list):"
  cat "$work/compiled.diff" >&2
fi

# Every added entry: a file of the source tree whose sha256 and identifier are the file's own; a read one is a header
# that one of the driver's objects' records names.
with_identifier=0
while IFS=$'\t' read -r path origin role licence written sha256; do
  [ "$origin" = source ] || { fail "$path: origin '$origin', expected a file of the kernel's source tree"; continue; }
  file=$srctree/$path
  [ "$(sha256sum <"$file" | cut -d' ' -f1)" = "$sha256" ] || fail "$path: the list's sha256 is not the file's"
  own=$(head -c 4096 "$file" | sed -n 's/.*SPDX-License-Identifier:[[:space:]]*//p' | head -n 1 \
        | sed -e 's|[[:space:]]*\*/[[:space:]]*$||' -e 's/[[:space:]]*$//')
  if [ -z "$own" ]; then
    [ "$written" = - ] && [ "$licence" = NOASSERTION ] || fail "$path has no SPDX-License-Identifier, the list says '$written' ($licence)"
  else
    [ "$written" = "$own" ] || fail "$path says '$own', the list '$written'"
    [ "$licence" != NOASSERTION ] || fail "$path: identifier '$own' not read as an expression"
    with_identifier=$((with_identifier + 1))
  fi
  if [ "$role" = read ]; then
    grep -qF "/$path " "$work/records" || fail "$path was added as read, but no record of $driver/'s objects names it"
  fi
done <"$work/added"
[ "$with_identifier" -gt 0 ] || fail "none of the added files carries an SPDX-License-Identifier"
echo "  added: $(wc -l <"$work/compiled") compiled files of $driver/, $(awk -F'\t' '$3 == "read"' "$work/added" | wc -l) headers they read;" \
     "$with_identifier with an identifier ($(cut -f4 "$work/added" | LC_ALL=C sort | uniq -c | awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}'))"
awk -F'\t' '{ printf "    + %s\t%s\t%s\n", $1, $3, $4 }' "$work/added"

build after
# report.html and report.json hold this run's timings and are outside the manifest (see README).
if ! diff -r -x report.html -x report.json "$work/before/$board" "$work/after/$board" >"$work/after.diff"; then
  fail "without the fragment again, the output is not the first build's:"
  head -20 "$work/after.diff" >&2
else
  echo "  after: the output folder is byte for byte the first build's ($(find "$work/after/$board" -type f | wc -l) files, SBOMs and file lists included)"
fi
echo "== sbom driver proof: $([ "$failures" -eq 0 ] && echo passed || echo "$failures failure(s)") in $((SECONDS - start)) s"
[ "$failures" -eq 0 ]

#!/usr/bin/env bash
# Benchmarks (not tests): set up, then `bspgen bench`, which times bspgen's cold build (CPU time, utilisation), no-op rebuild, one changed
# initramfs file, one changed fragment line, the boot and the packer beside the same steps by hand.
#   scripts/bench.sh [BOARD...] [--all] [--no-cold] [--no-by-hand] [--json]     (default board: qemu-arm64-virt)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
scripts/setup.sh >/dev/null
exec .build/debug/bspgen bench --quiet "$@"

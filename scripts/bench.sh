#!/usr/bin/env bash
# Benchmarks (not tests): for each board, bspgen's cold build, warm no-op rebuild, time to banner and sizes,
# beside the same steps done by hand with a tutorial's commands, in the same run on the same machine.
#   scripts/bench.sh [BOARD...]        (default: qemu-x86_64 qemu-arm64-virt; takes tens of minutes per board)
# "Cold" starts from an empty build directory with the source already unpacked, for both sides.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
scripts/setup.sh >/dev/null
bspgen=$PWD/.build/debug/bspgen
cache=${BSPGEN_CACHE:-$HOME/.cache/bspgen}
boards=("$@"); [ ${#boards[@]} -gt 0 ] || boards=(qemu-x86_64 qemu-arm64-virt)
work=$(mktemp -d /tmp/bspgen-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
ratio() { echo "scale=2; $1 / $2" | bc; }

printf '%-16s %-22s %10s %10s %7s\n' board step bspgen by-hand ratio
for board in "${boards[@]}"; do
  json=$($bspgen show "$board" --json)
  field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1" <<<"$json"; }
  karch=$(field 'd["toolchain"]["kernel_arch"]'); cross=$(field 'd["toolchain"]["cross_compile"]')
  image=$(field 'd["kernel"]["image"]'); base=$(field 'd["kernel"]["base_config"]')
  fragments=$(field '" ".join(d["kernelFragments"])'); bbfragments=$(field '" ".join(d["busyboxFragments"])')
  $bspgen build "$board" --quiet >/dev/null 2>&1   # makes sure sources are unpacked
  ksrc=$(ls -d "$cache"/sources/linux-source-6.1-*/linux-source-6.1 | head -1)
  bbsrc=$(ls -d "$cache"/sources/busybox-*/tree | head -1)

  # bspgen, cold: an empty build directory for this board
  rm -rf "$cache/build/$board"
  t=$(now); $bspgen build "$board" --quiet >/dev/null 2>&1; cold=$(since "$t")
  t=$(now); $bspgen build "$board" --quiet >/dev/null 2>&1; warm=$(since "$t")
  banner=$($bspgen test "$board" --json --quiet 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["secondsToBanner"])')

  # by hand: tinyconfig + fragment, make, busybox make, find | cpio | gzip, the QEMU line
  t=$(now)
  make -s -C "$ksrc" O="$work/linux" ARCH="$karch" CROSS_COMPILE="$cross" "$base" >/dev/null
  (cd "$work/linux" && "$ksrc/scripts/kconfig/merge_config.sh" -m .config $fragments >/dev/null)
  make -s -C "$ksrc" O="$work/linux" ARCH="$karch" CROSS_COMPILE="$cross" olddefconfig >/dev/null
  make -s -C "$ksrc" O="$work/linux" ARCH="$karch" CROSS_COMPILE="$cross" -j"$(nproc)" "$image" >/dev/null 2>&1
  mkdir -p "$work/busybox"   # BusyBox, unlike the kernel, wants O= to exist
  make -s -C "$bbsrc" O="$work/busybox" defconfig >/dev/null
  cat $bbfragments >> "$work/busybox/.config"
  echo "CONFIG_CROSS_COMPILER_PREFIX=\"$cross\"" >> "$work/busybox/.config"
  make -s -C "$bbsrc" O="$work/busybox" oldconfig < <(yes "") >/dev/null 2>&1   # not a pipe: pipefail would see yes die of SIGPIPE
  make -s -C "$bbsrc" O="$work/busybox" CROSS_COMPILE="$cross" -j"$(nproc)" >/dev/null 2>&1
  make -s -C "$bbsrc" O="$work/busybox" CROSS_COMPILE="$cross" CONFIG_PREFIX="$work/rootfs" install >/dev/null 2>&1
  kernel_hand=$(since "$t")
  mkdir -p "$work/rootfs/dev" "$work/rootfs/proc" "$work/rootfs/sys" "$work/rootfs/etc/bspgen"
  cp boards/common/init "$work/rootfs/init"; echo "BSPGEN_BOARD=$board" > "$work/rootfs/etc/bspgen/board"
  t=$(now); (cd "$work/rootfs" && find . | cpio -o -H newc 2>/dev/null | gzip -9 > "$work/initramfs.cpio.gz"); pack_hand=$(since "$t")
  t=$(now); $bspgen cpio --dir "$work/rootfs" -o "$work/ours.cpio.gz" >/dev/null; pack_ours=$(since "$t")

  out=out/$board
  printf '%-16s %-22s %10.1f %10.1f %7s\n' "$board" "cold build (s)" "$cold" "$kernel_hand" "$(ratio "$cold" "$kernel_hand")"
  printf '%-16s %-22s %10.2f %10s %7s\n' "$board" "warm no-op rebuild (s)" "$warm" "-" "-"
  printf '%-16s %-22s %10.2f %10.2f %7s\n' "$board" "initramfs pack (s)" "$pack_ours" "$pack_hand" "$(ratio "$pack_ours" "$pack_hand")"
  printf '%-16s %-22s %10s %10s %7s\n' "$board" "time to banner (s)" "$banner" "-" "-"
  printf '%-16s %-22s %10d %10d %7s\n' "$board" "kernel image (bytes)" "$(stat -c %s "$out/$image")" "$(stat -c %s "$work/linux/arch/"*/boot/"$image")" "-"
  printf '%-16s %-22s %10d %10d %7s\n' "$board" "initramfs (bytes)" "$(stat -c %s "$out"/initramfs.cpio.gz)" "$(stat -c %s "$work/initramfs.cpio.gz")" "-"
  rm -rf "$work/linux" "$work/busybox" "$work/rootfs"
done

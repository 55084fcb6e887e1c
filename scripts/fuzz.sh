#!/usr/bin/env bash
# Fuzzes the readers of untrusted input with libFuzzer for a bounded time each:
#   scripts/fuzz.sh [--long] [SECONDS_PER_TARGET] [TARGET...]
# Targets: board and toolchain YAML, gen_init_cpio lists (bytes, packed and read back), device tree blobs, cpio
# archives (the reader the artifact checks use), partition tables (MBR/GPT), Kconfig fragments and Kconfig files.
# Targets run side by side, as many at once as there are cores.
# Time per target: SECONDS_PER_TARGET, else $BSPGEN_FUZZ_SECONDS, else 30 s; --long makes it 600 s (or
# $BSPGEN_FUZZ_LONG_SECONDS) for a scheduled or by-hand run. The corpus each run grows is kept in .build-fuzz/corpus/
# and seeds the next run. Seeds are the shipped files; inputs found to crash, leak or hang are kept in
# .build-fuzz/findings/ and fail the run; .build-fuzz/summary.txt gets one line per target (executions, time, new
# units, findings).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
seconds=${BSPGEN_FUZZ_SECONDS:-30}
if [ "${1:-}" = --long ]; then
  seconds=${BSPGEN_FUZZ_LONG_SECONDS:-600}
  shift
fi
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
targets=("$@")
all_targets=(board-yaml toolchain-yaml arch-yaml cpio-list dtb cpio-archive partition-table kconfig-fragment kconfig-language report-json)
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
  if [[ " ${all_targets[*]} " != *" $target "* ]]; then
    echo "scripts/fuzz.sh: no target '$target'; the targets are: ${all_targets[*]}" >&2
    exit 2
  fi
done

scratch=.build-fuzz
swift build --scratch-path "$scratch" --product bspgen-fuzz -Xswiftc -DFUZZING -Xswiftc -parse-as-library \
  -Xswiftc -sanitize=fuzzer,address 2>&1 | grep -vE "Cannot export local symbol" | tail -n 3
binary=$(swift build --scratch-path "$scratch" --product bspgen-fuzz --show-bin-path)/bspgen-fuzz

# Seeds that are files of the project.
seed_files() {
  case "$1" in
    board-yaml) ls boards/*.yaml ;;
    toolchain-yaml) ls toolchains/*.yaml ;;
    arch-yaml) ls arches/*.yaml ;;
    cpio-list) ls boards/common/*.list ;;
    dtb) ls Tests/DeviceTreeTests/Corpus/*.dtb 2>/dev/null || true ;;
    kconfig-fragment) find boards -name '*.fragment' -o -name '*.config' | sort ;;
    report-json) ls out/*/report.json 2>/dev/null || true ;;
    *) ;;
  esac
}

# Seeds made here: a small real input of each format, as the everyday tools write it.
make_seeds() {
  local target=$1 corpus=$2 work
  work=$(mktemp -d)
  case "$target" in
    report-json)
      # A small report as bspgen writes one (the boards' own, when built, are seeds too).
      cat > "$corpus/seed.json" <<'EOF'
{"format":1,"board":"b","arch":"aarch64","manifestSHA256":"ab","buildSeconds":2.5,
 "stages":[{"name":"kernel image","ran":true,"reasons":["config changed"],"started":0.1,"seconds":2},
           {"name":"busybox","ran":false,"reasons":["inputs unchanged"],"started":0.2,"seconds":0}],
 "kernel":{"image":"Image","imageSize":3000,"vmlinuxText":2000,"vmlinuxData":800,"vmlinuxBSS":200,
           "objects":[{"name":"fs/ext4/inode.o","bytes":400},{"name":"drivers/tty/tty_io.o","bytes":300},{"name":"init/main.o","bytes":20}]},
 "initramfs":{"file":"initramfs.cpio.gz","compressedSize":600,"archiveSize":1536,"otherEntries":3,
              "files":[{"path":"/bin/busybox","bytes":1000,"kind":"busybox tree"},{"path":"/init","bytes":50,"kind":"init and board info"}]},
 "diskImages":[{"title":"sdcard.img by partition","note":"mbr","total":4096,"parts":[{"name":"boot","bytes":2048},{"name":"rootfs","bytes":1024,"detail":"image"}]}],
 "config":[{"symbol":"PRINTK","requested":"y","obtained":"y","origin":"linux.fragment:1","optional":false,"satisfied":true}],
 "artifacts":[{"path":"Image","size":3000,"sha256":"0f"}],
 "boots":[{"method":"kernel","passed":true,"accelerator":"tcg","totalSeconds":3,"checks":[{"name":"uname -m","passed":true,"detail":"aarch64"}],
           "milestones":[{"name":"kernel started","seconds":0.3},{"name":"banner","seconds":1.9}]}],
 "verdicts":[{"name":"manifest","passed":true,"detail":"ok"}],"components":[{"name":"linux","version":"6.1"}]}
EOF
      ;;
    dtb)
      printf '/dts-v1/;\n/ { compatible = "bspgen,fuzz"; #address-cells = <1>; #size-cells = <1>;\n  chosen { bootargs = "console=ttyS0"; };\n  memory@0 { device_type = "memory"; reg = <0 0x1000>; }; };\n' \
        | dtc -q -I dts -O dtb -o "$corpus/seed.dtb" - ;;
    cpio-archive)
      mkdir -p "$work/tree/bin" "$work/tree/dev"
      printf '#!/bin/sh\necho hello\n' > "$work/tree/init"
      ln -s ../init "$work/tree/bin/sh"
      (cd "$work/tree" && find . | LC_ALL=C sort | cpio --quiet -o -H newc > "$corpus/seed.cpio")
      gzip -9 -n -c "$corpus/seed.cpio" > "$corpus/seed.cpio.gz"
      xz --check=crc32 -c "$corpus/seed.cpio" > "$corpus/seed.cpio.xz"
      zstd -q -c "$corpus/seed.cpio" > "$corpus/seed.cpio.zst" ;;
    partition-table)
      truncate -s 64K "$work/gpt.img" "$work/mbr.img"
      printf 'label: gpt\nfirst-lba: 34\nstart=34, size=16, type=U\nstart=50, size=8, type=L\n' | sfdisk -q "$work/gpt.img"
      printf 'label: dos\nstart=1, size=16, type=c, bootable\nstart=17, size=8, type=83\n' | sfdisk -q "$work/mbr.img"
      cp "$work/gpt.img" "$work/mbr.img" "$corpus/" ;;
    kconfig-language)
      cat > "$corpus/seed.Kconfig" <<'EOF'
menu "Seed"
config SEED
	bool "a seed option"
	depends on (X86 || ARM64) && !SEED_OFF
	select SEED_HELPER if SEED_EXTRA
	default y
	help
	  Help text.
config SEED_HELPER
	tristate
config SEED_LEVEL
	int "level" if EXPERT
	range 0 7
	default 3
choice
	prompt "mode"
config SEED_A
	bool "a"
config SEED_B
	bool "b"
endchoice
if SEED
source "arch/$(SRCARCH)/Kconfig"
endif
endmenu
EOF
      # A few real files of the kernel, when its source is in the cache.
      local tree
      tree=$(ls -d "${BSPGEN_CACHE:-$HOME/.cache/bspgen}"/sources/linux-source-*/linux-source-* 2>/dev/null | head -n 1 || true)
      if [ -n "$tree" ]; then
        for file in init/Kconfig kernel/Kconfig.preempt arch/arm64/Kconfig.platforms drivers/tty/serial/Kconfig; do
          [ -f "$tree/$file" ] && head -c 60000 "$tree/$file" > "$corpus/$(echo "$file" | tr / _)"
        done
      fi ;;
  esac
  rm -rf "$work"
}

# One target: its corpus, seeds and libFuzzer run; what it prints goes to $scratch/TARGET.report, its summary line to
# $scratch/TARGET.summary, its exit status to $scratch/TARGET.status (targets run side by side, see below).
fuzz_target() {
  local target=$1 corpus findings result executions added found
  corpus="$PWD/$scratch/corpus/$target"
  findings="$scratch/findings/$target"
  mkdir -p "$corpus" "$findings"
  for seed in $(seed_files "$target"); do cp "$seed" "$corpus/"; done
  make_seeds "$target" "$corpus"
  set +e
  # The target's scratch files (boards, archives) go to a folder of its own, removed afterwards.
  local temporary="$PWD/$scratch/tmp/$target"
  rm -rf "$temporary" && mkdir -p "$temporary"
  # Leak detection is off: Foundation leaks a buffer once per empty file read (String(contentsOf:)), outside our
  # code; crashes, hangs (-timeout) and runaway memory (-rss_limit_mb) are what this run looks for.
  TMPDIR="$temporary" ASAN_OPTIONS=detect_leaks=0 BSPGEN_FUZZ_TARGET=$target "$binary" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 \
    -max_len=65536 -artifact_prefix="$findings/" -print_final_stats=1 > "$scratch/$target.log" 2>&1
  result=$?
  rm -rf "$temporary"
  {
    echo "== fuzz $target: ${seconds} s"
    grep -E "^(stat::number_of_executed_units|stat::new_units_added|Done)" "$scratch/$target.log"
    if [ "$result" -ne 0 ]; then
      echo "fuzz $target: FAILED (exit $result); log: $scratch/$target.log; inputs: $findings/"
      grep -E "ERROR|SUMMARY|Fatal|Test unit written" "$scratch/$target.log" | head -n 10
    fi
  } > "$scratch/$target.report"
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$target.log" | tail -n 1)
  added=$(sed -n 's/^stat::new_units_added: *//p' "$scratch/$target.log" | tail -n 1)
  found=$(find "$findings" -type f | wc -l)
  echo "$target: ${executions:-0} executions in ${seconds} s, ${added:-0} new units, corpus $(find "$corpus" -type f | wc -l) inputs, findings ${found} (exit ${result})" \
    > "$scratch/$target.summary"
  echo "$result" > "$scratch/$target.status"
}

# Each target keeps one core busy for its whole time: as many run at once as there are cores, so every target gets
# the same fuzzing time as one after another, in a fraction of the wall time.
mkdir -p "$scratch"
started=$SECONDS
for target in "${targets[@]}"; do
  rm -f "$scratch/$target.status"
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
  fuzz_target "$target" &
done
wait
status=0
summary="$scratch/summary.txt"
: > "$summary"
for target in "${targets[@]}"; do
  cat "$scratch/$target.report" "$scratch/$target.summary" 2>/dev/null || true
  cat "$scratch/$target.summary" >> "$summary" 2>/dev/null || echo "$target: did not run" >> "$summary"
  [ "$(cat "$scratch/$target.status" 2>/dev/null)" = 0 ] || status=1
done
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, $(nproc) at a time: $((SECONDS - started)) s"
exit "$status"

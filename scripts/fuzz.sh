#!/usr/bin/env bash
# Fuzzes the parsers of untrusted input (board and toolchain YAML, gen_init_cpio lists, device tree blobs) with
# libFuzzer for a bounded time each: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]. Seeds are the shipped
# files; inputs found to crash, leak or hang are kept in .build-fuzz/findings/ and fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(board-yaml toolchain-yaml arch-yaml cpio-list dtb)

scratch=.build-fuzz
swift build --scratch-path "$scratch" --product bspgen-fuzz -Xswiftc -DFUZZING -Xswiftc -parse-as-library \
  -Xswiftc -sanitize=fuzzer,address 2>&1 | grep -vE "Cannot export local symbol" | tail -n 3
binary=$(swift build --scratch-path "$scratch" --product bspgen-fuzz --show-bin-path)/bspgen-fuzz

seed_files() {
  case "$1" in
    board-yaml) ls boards/*.yaml ;;
    toolchain-yaml) ls toolchains/*.yaml ;;
    arch-yaml) ls arches/*.yaml ;;
    cpio-list) ls boards/common/*.list ;;
    dtb) ls Tests/DeviceTreeTests/Corpus/*.dtb 2>/dev/null || true ;;
  esac
}

status=0
for target in "${targets[@]}"; do
  corpus="$scratch/corpus/$target"
  findings="$scratch/findings/$target"
  mkdir -p "$corpus" "$findings"
  for seed in $(seed_files "$target"); do cp "$seed" "$corpus/"; done
  if [ "$target" = dtb ]; then
    # A small real tree as a seed: dtc's output, the reader's everyday input.
    printf '/dts-v1/;\n/ { compatible = "bspgen,fuzz"; #address-cells = <1>; #size-cells = <1>;\n  chosen { bootargs = "console=ttyS0"; };\n  memory@0 { device_type = "memory"; reg = <0 0x1000>; }; };\n' \
      | dtc -q -I dts -O dtb -o "$corpus/seed.dtb" -
  fi
  echo "== fuzz $target: ${seconds} s"
  set +e
  # Leak detection is off: Foundation leaks a buffer once per empty file read (String(contentsOf:)), outside our
  # code; crashes, hangs (-timeout) and runaway memory (-rss_limit_mb) are what this run looks for.
  ASAN_OPTIONS=detect_leaks=0 BSPGEN_FUZZ_TARGET=$target "$binary" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 \
    -max_len=65536 -artifact_prefix="$findings/" -print_final_stats=1 > "$scratch/$target.log" 2>&1
  result=$?
  set -e
  grep -E "^(stat::number_of_executed_units|stat::new_units_added|Done)" "$scratch/$target.log" || true
  if [ "$result" -ne 0 ]; then
    echo "fuzz $target: FAILED (exit $result); log: $scratch/$target.log; inputs: $findings/"
    grep -E "ERROR|SUMMARY|Fatal|Test unit written" "$scratch/$target.log" | head -n 10
    status=1
  fi
done
exit "$status"

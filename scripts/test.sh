#!/usr/bin/env bash
# The whole test suite: host set-up (apt packages, Swift build), every unit and integration test (swift test),
# a bounded libFuzzer run over the parsers of untrusted input (scripts/fuzz.sh),
# then real builds of every board (bspgen test --all): QEMU boards boot headless, the others have their
# artifacts checked; then the SBOM's proof that the kernel file list follows the build (scripts/sbom-driver-proof.sh),
# every board's report.html in headless chromium (scripts/check-report.py) and bspgen diff against the kernel's
# scripts/diffconfig. Build results are cached in
# ${BSPGEN_CACHE:-~/.cache/bspgen}, so a second run is fast; each stage prints its time.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
start=$SECONDS
scripts/setup.sh
status=0

echo "== swift test"
set +e
# The fake-QEMU tests time a console conversation (a poweroff must end QEMU within 3 s, milestones 0.3 s apart):
# they run after the rest, one at a time (about 40 s), since real builds, browser runs and each other would
# otherwise keep both cores and Swift's threads busy.
swift test --skip QEMUTests 2>&1 | tee .build/swift-test.log
swift_status=${PIPESTATUS[0]}
swift test --skip-build --filter QEMUTests --no-parallel 2>&1 | tee -a .build/swift-test.log
[ "${PIPESTATUS[0]}" -eq 0 ] || swift_status=1
set -e
echo "== swift test: exit status $swift_status after $((SECONDS - start)) s"

echo "== fuzz: every reader of untrusted input under libFuzzer (scripts/fuzz.sh), ${BSPGEN_FUZZ_SECONDS:-30} s each"
set +e
scripts/fuzz.sh "${BSPGEN_FUZZ_SECONDS:-30}"
fuzz_status=$?
set -e
echo "== fuzz: exit status $fuzz_status after $((SECONDS - start)) s"

echo "== bspgen test --all -j $(nproc): build every board (up to $(nproc) at once, one jobserver), boot the QEMU ones, check the artifacts of the others"
set +e
# CPU seconds of everything this shell has waited for (user + system of its children), for the utilisation line.
children_cpu_ticks() { awk '{ print $16 + $17 }' "/proc/$$/stat"; }
boards_ticks=$(children_cpu_ticks)
boards_start=$SECONDS
.build/debug/bspgen test --all --images --quiet -j "$(nproc)"
boot_status=$?
awk -v ticks="$(( $(children_cpu_ticks) - boards_ticks ))" -v hz="$(getconf CLK_TCK)" -v wall="$((SECONDS - boards_start))" -v cores="$(nproc)" \
  'BEGIN { cpu = ticks / hz; printf "== bspgen test --all: %d s wall, %.0f CPU s, utilisation %.2f of %d cores\n", wall, cpu, cpu / (cores * (wall > 0 ? wall : 1)), cores }'
# The firmware and boot loader paths, each from the image bspgen wrote: OVMF + GRUB from a GPT disk; the U-Boot
# bspgen built, from a virtio disk (arm64: U-Boot as firmware holding the board's public key + the signed FIT, then
# three tampered FITs it must refuse; riscv64: OpenSBI + U-Boot) or from an SD card (vexpress-a9, raspberrypi3b:
# U-Boot in place of the kernel); the ext4 root.
# Each is a boot of what is already built (one busy CPU each): $(nproc) at once, each line labelled with its path.
boot_path() {
  # shellcheck disable=SC2086
  .build/debug/bspgen test $1 --quiet 2>&1 | sed -u "s|^|[$1] |"
  return "${PIPESTATUS[0]}"
}
export -f boot_path
printf '%s\n' "qemu-x86_64 --boot disk" "qemu-x86_64 --rootfs ext4" "qemu-arm64-virt --boot uboot" "qemu-arm64-virt --rootfs ext4" \
  "vexpress-a9 --boot uboot" "raspberrypi3b --boot uboot" "qemu-riscv64-virt --boot uboot" \
  | xargs -P "$(nproc)" -I{} bash -c 'boot_path "$1"' _ {} || boot_status=1
set -e
echo "== bspgen test: exit status $boot_status after $((SECONDS - start)) s"

# The SBOM's kernel file list comes from this build: one driver on adds its files, off gives the first output back
# (qemu-x86_64's kept build folder, two incremental kernel builds: about 75 s).
set +e
scripts/sbom-driver-proof.sh qemu-x86_64
sbom_status=$?
set -e


echo "== report pages: every board's out/BOARD/report.html in headless chromium, 1280 and 390 px wide"
report_start=$SECONDS
set +e
# Every bar of the timeline, every size bar adding up, nothing wider than the window; screenshots kept.
scripts/check-report.py --artifacts .build/report-check out/*/report.html
report_status=$?
# bspgen diff on two real builds (two aarch64 boards on the same kernel): its config section is what the kernel's own
# scripts/diffconfig prints, and it names the kernel's size change.
diffconfig=$(find "${BSPGEN_CACHE:-$HOME/.cache/bspgen}/sources" -maxdepth 4 -path '*/scripts/diffconfig' -print -quit)
.build/debug/bspgen diff out/qemu-arm64-virt out/raspberrypi3b > .build/report-check/diff.txt || report_status=1
sed -n '/^kernel config/,/^$/p' .build/report-check/diff.txt | sed '1d;/^$/d;s/^ *//' > .build/report-check/diff-config.txt
python3 "$diffconfig" out/qemu-arm64-virt/linux.config out/raspberrypi3b/linux.config | sed 's/^ *//' > .build/report-check/diffconfig.txt
if ! cmp -s .build/report-check/diff-config.txt .build/report-check/diffconfig.txt || ! grep -q '^kernel size' .build/report-check/diff.txt; then
  echo "FAILED: bspgen diff's kernel config differs from scripts/diffconfig (.build/report-check/diff*.txt)" >&2
  report_status=1
fi
set -e
echo "== report pages and diff: exit status $report_status after $((SECONDS - report_start)) s"


[ "$swift_status" -eq 0 ] && [ "$fuzz_status" -eq 0 ] && [ "$boot_status" -eq 0 ] && [ "$sbom_status" -eq 0 ] && [ "$report_status" -eq 0 ] || status=1
exit "$status"

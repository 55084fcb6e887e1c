#!/usr/bin/env bash
# The whole test suite: host set-up (apt packages, Swift build), every unit and integration test (swift test),
# a bounded libFuzzer run over the parsers of untrusted input (scripts/fuzz.sh),
# then real builds of every board (bspgen test --all): QEMU boards boot headless, the others have their
# artifacts checked; then the SBOM's proof that the kernel file list follows the build (scripts/sbom-driver-proof.sh).
# Build results are cached in
# ${BSPGEN_CACHE:-~/.cache/bspgen}, so a second run is fast; each stage prints its time.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
start=$SECONDS
scripts/setup.sh
status=0

echo "== swift test"
set +e
swift test 2>&1 | tee .build/swift-test.log
swift_status=${PIPESTATUS[0]}
set -e
echo "== swift test: exit status $swift_status after $((SECONDS - start)) s"

echo "== fuzz: every reader of untrusted input under libFuzzer (scripts/fuzz.sh), ${BSPGEN_FUZZ_SECONDS:-30} s each"
set +e
scripts/fuzz.sh "${BSPGEN_FUZZ_SECONDS:-30}"
fuzz_status=$?
set -e
echo "== fuzz: exit status $fuzz_status after $((SECONDS - start)) s"

echo "== bspgen test --all: build every board, boot the QEMU ones, check the artifacts of the others"
set +e
.build/debug/bspgen test --all --images --quiet
boot_status=$?
# The firmware and boot loader paths, each from the image bspgen wrote: OVMF + GRUB from a GPT disk; the U-Boot
# bspgen built, from a virtio disk (arm64: U-Boot as firmware holding the board's public key + the signed FIT, then
# three tampered FITs it must refuse; riscv64: OpenSBI + U-Boot) or from an SD card (vexpress-a9, raspberrypi3b:
# U-Boot in place of the kernel); the ext4 root.
for path in "qemu-x86_64 --boot disk" "qemu-x86_64 --rootfs ext4" "qemu-arm64-virt --boot uboot" "qemu-arm64-virt --rootfs ext4" \
            "vexpress-a9 --boot uboot" "raspberrypi3b --boot uboot" "qemu-riscv64-virt --boot uboot"; do
  # shellcheck disable=SC2086
  .build/debug/bspgen test $path --quiet || boot_status=1
done
set -e
echo "== bspgen test: exit status $boot_status after $((SECONDS - start)) s"

# The SBOM's kernel file list comes from this build: one driver on adds its files, off gives the first output back
# (qemu-x86_64's kept build folder, two incremental kernel builds: about 75 s).
set +e
scripts/sbom-driver-proof.sh qemu-x86_64
sbom_status=$?
set -e

[ "$swift_status" -eq 0 ] && [ "$fuzz_status" -eq 0 ] && [ "$boot_status" -eq 0 ] && [ "$sbom_status" -eq 0 ] || status=1
exit "$status"

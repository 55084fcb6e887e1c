#!/usr/bin/env bash
# Installs what bspgen needs on a Debian 12 host (apt packages) and builds bspgen.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # kernel, BusyBox and U-Boot builds (U-Boot's host tools need gnutls and libuuid)
  build-essential bc bison flex perl libelf-dev libssl-dev libncurses-dev kmod xz-utils zstd ccache libgnutls28-dev uuid-dev
  # spreading compiles over machines (bspgen build --distcc HOSTS; the tests start a distccd on loopback)
  distcc
  # kernel sources (Debian's linux-source-6.1, the default, and 6.12) and Debian source packages (apt-get source, dpkg-source)
  linux-source-6.1 linux-source-6.12 dpkg-dev curl
  # cross toolchains, with the C libraries that static BusyBox links against (not pulled in without recommends)
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross gcc-riscv64-linux-gnu libc6-dev-riscv64-cross
  # libraries bspgen links: libfdt, zlib, liblzma, libzstd
  libfdt-dev zlib1g-dev liblzma-dev libzstd-dev
  # device trees, U-Boot images, archive checks, emulation; FIT signing keys (fit_image.signing)
  device-tree-compiler u-boot-tools cpio libarchive-tools qemu-system-x86 qemu-system-arm qemu-system-misc openssl
  # disk and SD-card images without root: FAT (mkfs.vfat, mtools), ext4 (mke2fs -d, debugfs), sfdisk for the tests;
  # bmaptool, by which the tests prove the .bmap beside each image is one bmaptool copies by
  dosfstools mtools e2fsprogs fdisk bmap-tools
  # firmware boot paths: GRUB for EFI disks, OVMF (x86 UEFI), U-Boot built for QEMU
  grub-common grub-efi-amd64-bin ovmf u-boot-qemu
  # RISC-V's machine-mode firmware (OpenSBI), under which U-Boot and Linux run in QEMU's riscv64 virt
  opensbi
  # a virtual environment for the SBOM validators bspgen test runs (below)
  python3-venv
  # the browser the tests open every board's report.html in (scripts/check-report.py, headless), and the font the
  # page falls back on, named so that screenshots look the same on every machine
  chromium fonts-dejavu-core
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q ' installed$' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The SBOM validators `bspgen test` runs on every board's sbom.spdx.json and sbom.cdx.json, from PyPI into a virtual
# environment under the cache (nothing outside it is written): spdx-tools' pyspdxtools, cyclonedx-python-lib's JSON
# validator (the CycloneDX 1.6 schema is in the package: no network when it validates), the NTIA minimum elements checker.
venv="${BSPGEN_CACHE:-$HOME/.cache/bspgen}/venv/sbom"
validators=(spdx-tools==0.8.5 "cyclonedx-python-lib[json-validation]==11.12.0" ntia-conformance-checker==6.0.0)
if [ ! -f "$venv/installed" ] || [ "$(cat "$venv/installed")" != "${validators[*]}" ]; then
  echo "setup: installing the SBOM validators into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "${validators[@]}"
  echo "${validators[*]}" > "$venv/installed"
fi

if ! command -v swift >/dev/null; then
  [ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
fi
command -v swift >/dev/null || { echo "setup: Swift 6.2 or newer is needed (https://www.swift.org/install/linux/)" >&2; exit 1; }

swift build -c "${BSPGEN_CONFIGURATION:-debug}" --product bspgen 2>&1 | tail -n 3

# Shell completions (bash, zsh, fish) and the man page bspgen(1), generated from the command definitions: as root
# for every user under /usr/local/share, otherwise under ~/.local/share. Each file is written beside its name and
# renamed, so a shell never reads half of one.
bspgen=".build/${BSPGEN_CONFIGURATION:-debug}/bspgen"
if [ "$(id -u)" -eq 0 ]; then share=/usr/local/share; else share="${XDG_DATA_HOME:-$HOME/.local/share}"; fi
install_generated() { # FILE COMMAND...
  local file=$1; shift
  mkdir -p "$(dirname "$file")"
  "$@" > "$file.tmp-$$" && mv -f "$file.tmp-$$" "$file" || { rm -f "$file.tmp-$$"; echo "setup: could not write $file" >&2; return 1; }
}
install_generated "$share/bash-completion/completions/bspgen" "$bspgen" --generate-completion-script bash
install_generated "$share/zsh/site-functions/_bspgen" "$bspgen" --generate-completion-script zsh
install_generated "$share/fish/vendor_completions.d/bspgen.fish" "$bspgen" --generate-completion-script fish
install_generated "$share/man/man1/bspgen.1" sh -c '"$1" --experimental-dump-help | python3 scripts/man-page.py' sh "$bspgen"
echo "setup: completions and the man page in $share (bash-completion, zsh/site-functions, fish/vendor_completions.d, man/man1)"

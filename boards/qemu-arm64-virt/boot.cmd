# U-Boot script for board @BOARD@, written by bspgen; `mkimage -T script` made boot.scr from it.
# U-Boot's distro boot finds boot.scr on the disk's boot partition and runs it with ${devtype}, ${devnum} and
# ${distro_bootpart} set. The FIT image holds the kernel, the device tree and the initramfs with their sha256
# hashes; bootm checks them and copies each to the address the image names (see fit_image in the board file).
setenv bootargs "@CMDLINE@"
load ${devtype} ${devnum}:${distro_bootpart} 0x48000000 @FIT@
bootm 0x48000000

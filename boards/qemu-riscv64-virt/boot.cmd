# U-Boot script for board @BOARD@, written by bspgen; `mkimage -T script` made boot.scr from it.
# U-Boot (S-mode, under OpenSBI) finds it on the disk's active partition through distro boot, which sets devtype,
# devnum and distro_bootpart. The device tree is the one U-Boot runs with (${fdtcontroladdr}): QEMU's, with the
# memory OpenSBI reserved for itself marked, which a tree dumped without firmware would not have.
# The initramfs is loaded last, so ${filesize} is its size: booti takes it raw (address:size).
setenv bootargs "@CMDLINE@"
load ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} @KERNEL@
load ${devtype} ${devnum}:${distro_bootpart} ${ramdisk_addr_r} @INITRAMFS@
booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}

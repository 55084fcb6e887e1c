# U-Boot script for board @BOARD@, written by bspgen; `mkimage -T script` made boot.scr from it.
# U-Boot's distro boot finds it on the card's active partition and sets devtype, devnum and distro_bootpart;
# kernel_addr_r, fdt_addr_r and ramdisk_addr_r come from the board's default environment.
# The initramfs is loaded last, so ${filesize} is its size: booti takes it raw (address:size).
setenv bootargs "@CMDLINE@"
load ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} @KERNEL@
load ${devtype} ${devnum}:${distro_bootpart} ${fdt_addr_r} @DTB@
load ${devtype} ${devnum}:${distro_bootpart} ${ramdisk_addr_r} @INITRAMFS@
booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdt_addr_r}

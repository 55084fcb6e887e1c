# U-Boot script for board @BOARD@, written by bspgen; `mkimage -T script` made boot.scr from it.
# U-Boot's distro boot finds it on the card's active partition and sets devtype, devnum and distro_bootpart.
# The initramfs is loaded last, so ${filesize} is its size; it goes 32 MiB into RAM, above the kernel.
setenv bootargs "@CMDLINE@"
load ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} @KERNEL@
load ${devtype} ${devnum}:${distro_bootpart} ${fdt_addr_r} @DTB@
load ${devtype} ${devnum}:${distro_bootpart} 0x62000000 @INITRAMFS@
bootz ${kernel_addr_r} 0x62000000:${filesize} ${fdt_addr_r}

# U-Boot script for board @BOARD@, written by bspgen; `mkimage -T script` made boot.scr from it.
# The am335x U-Boot bspgen builds finds boot.scr on the first partition of the SD card (distro boot) and runs it.
# The initramfs is loaded last, so ${filesize} is its size.
setenv bootargs "@CMDLINE@"
load mmc 0:1 ${loadaddr} @KERNEL@
load mmc 0:1 ${fdtaddr} @DTB@
load mmc 0:1 ${rdaddr} @INITRAMFS@
bootz ${loadaddr} ${rdaddr}:${filesize} ${fdtaddr}

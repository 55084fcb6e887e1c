load mmc 0:1 0x43000000 @DTB@

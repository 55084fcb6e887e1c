setenv bootargs "@CMDLINE@"
load mmc 0:1 0x48000000 @KERNL@

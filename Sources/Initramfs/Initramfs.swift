// Initramfs module

// QEMU module

// Kconfig module

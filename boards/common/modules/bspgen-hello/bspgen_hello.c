// SPDX-License-Identifier: GPL-2.0-only
/*
 * An example out-of-tree module for kernel.external_modules: it says hello when loaded, and the boot
 * test of the board that loads it reads the line back from the kernel log.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/utsname.h>

static char *greeting = "hello";
module_param(greeting, charp, 0444);
MODULE_PARM_DESC(greeting, "the word the module says when it is loaded");

static int __init bspgen_hello_init(void)
{
	pr_info("bspgen_hello: %s from an out-of-tree module on %s\n", greeting, init_utsname()->release);
	return 0;
}

static void __exit bspgen_hello_exit(void)
{
	pr_info("bspgen_hello: unloaded\n");
}

module_init(bspgen_hello_init);
module_exit(bspgen_hello_exit);

MODULE_DESCRIPTION("bspgen's example out-of-tree module");
MODULE_LICENSE("GPL");

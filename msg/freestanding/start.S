/* SPDX-License-Identifier: BSD-3-Clause */
/* Bare-metal entry on qemu-system-aarch64 -M virt (EL1, MMU off): a
 * stack, a zeroed .bss, the self-test, then PSCI SYSTEM_OFF. */
	.section .text.boot, "ax"
	.global _start
_start:
	ldr	x0, =__stack_top
	mov	sp, x0
	ldr	x1, =__bss_start
	ldr	x2, =__bss_end
1:	cmp	x1, x2
	b.hs	2f
	str	xzr, [x1], #8
	b	1b
2:	bl	vr_fs_main
	ldr	w0, =0x84000008
	hvc	#0
3:	wfi
	b	3b

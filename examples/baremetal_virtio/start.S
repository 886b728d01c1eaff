/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Entry and exception vectors of the bare-metal virtio example (AArch64,
 * EL1, MMU off). QEMU -M virt -kernel jumps to _start at EL1h with the
 * MMU and caches off; PSCI is reached with hvc.
 */
	.section .text.boot, "ax"
	.global _start
_start:
	/* Only CPU 0 runs; -smp 1 is the default, others would park here. */
	mrs	x0, mpidr_el1
	and	x0, x0, #0xff
	cbnz	x0, park
	ldr	x0, =__stack_top
	mov	sp, x0
	ldr	x0, =__bss_start
	ldr	x1, =__bss_end
1:	cmp	x0, x1
	b.hs	2f
	str	xzr, [x0], #8
	b	1b
2:	ldr	x0, =vectors
	msr	vbar_el1, x0
	isb
	bl	main
	bl	bm_power_off
park:	wfe
	b	park

/* Save the caller-saved registers, call a C handler, restore, eret. An
 * IRQ masks further IRQs on entry, so ELR/SPSR need no saving. */
.macro	ENTRY_C handler
	sub	sp, sp, #192
	stp	x0, x1, [sp, #0]
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x29, [sp, #144]
	str	x30, [sp, #160]
	bl	\handler
	ldp	x0, x1, [sp, #0]
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x29, [sp, #144]
	ldr	x30, [sp, #160]
	add	sp, sp, #192
	eret
.endm

	.balign	0x800
vectors:
	/* Current EL with SP_EL0: not used. */
	.balign 0x80
	b	bad_exception
	.balign 0x80
	b	bad_exception
	.balign 0x80
	b	bad_exception
	.balign 0x80
	b	bad_exception
	/* Current EL with SP_ELx: sync, IRQ, FIQ, SError. */
	.balign 0x80
	b	bad_exception
	.balign 0x80
	b	irq_entry
	.balign 0x80
	b	bad_exception
	.balign 0x80
	b	bad_exception
	/* Lower EL, AArch64 and AArch32: not used. */
	.rept 8
	.balign 0x80
	b	bad_exception
	.endr

irq_entry:
	ENTRY_C	bm_irq

bad_exception:
	mrs	x0, esr_el1
	mrs	x1, elr_el1
	mrs	x2, far_el1
	bl	bm_bad_exception
	b	park

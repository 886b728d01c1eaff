/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Start-up for the rtos_min programs: Cortex-M (a vector table: initial
 * stack and reset handler) or Cortex-R/A in ARM state (_start sets the
 * stack). No C library: the three mem* functions libvring may call are the
 * bare-metal example's (examples/baremetal_virtio/libc.c).
 */
#include <stddef.h>
#include <stdint.h>

int main(void);
void reset_handler(void);

extern uint32_t __stack_top;

void reset_handler(void)
{
	(void)main();
	for (;;)
		;
}

#if defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
__attribute__((section(".vectors"), used)) static const void *const vectors[2] = {
	&__stack_top, (const void *)reset_handler};
#else
__attribute__((naked, section(".vectors"), used)) void _start(void);
__attribute__((naked, section(".vectors"), used)) void _start(void)
{
	__asm__ volatile("ldr sp, =__stack_top\n\tb reset_handler");
}
#endif

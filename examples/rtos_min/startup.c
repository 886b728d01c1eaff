/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Start-up and the three mem* functions for the rtos_min programs:
 * Cortex-M (a vector table: initial stack and reset handler) or Cortex-R/A
 * in ARM state (_start sets the stack). No C library.
 */
#include <stddef.h>
#include <stdint.h>

int main(void);
void reset_handler(void);
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);

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

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d < s) {
		while (n--)
			*d++ = *s++;
	} else {
		while (n--)
			d[n] = s[n];
	}
	return dst;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The few board services the bare-metal programs on qemu-system-aarch64
 * -M virt need (examples/rtos_vm, tests/qemu/pci): 32-bit register access,
 * the PL011 UART for their output, the generic timer, and power-off
 * through PSCI. Header only; MMU off, one CPU.
 */
#ifndef RTOS_VM_BOARD_H
#define RTOS_VM_BOARD_H

#include <stdint.h>

#define BOARD_UART_BASE 0x09000000u
#define BOARD_PSCI_SYSTEM_OFF 0x84000008u

static inline void w32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t r32(uintptr_t a) { return *(volatile uint32_t *)a; }

static inline void putc_uart(char c)
{
	while (r32(BOARD_UART_BASE + 0x18) & 0x20u) /* UARTFR.TXFF */
		;
	w32(BOARD_UART_BASE, (uint32_t)(unsigned char)c);
}

static inline void puts_uart(const char *s)
{
	while (*s)
		putc_uart(*s++);
}

static inline void put_dec(uint64_t v)
{
	char b[21];
	int i = 20;

	b[i] = 0;
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	puts_uart(b + i);
}

static inline void put_hex(uint64_t v)
{
	char b[19];
	int i;

	b[0] = '0';
	b[1] = 'x';
	for (i = 17; i >= 2; i--, v >>= 4)
		b[i] = "0123456789abcdef"[v & 15u];
	b[18] = 0;
	puts_uart(b);
}

/* The generic timer: counter and frequency. */
static inline uint64_t ticks(void)
{
	uint64_t v;

	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(v)::"memory");
	return v;
}

static inline uint64_t tick_hz(void)
{
	uint64_t v;

	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(v));
	return v;
}

/* PSCI SYSTEM_OFF: QEMU exits with status 0. */
static inline void board_power_off(void)
{
	register uint64_t x0 __asm__("x0") = BOARD_PSCI_SYSTEM_OFF;

	__asm__ volatile("hvc #0" : "+r"(x0)::"memory");
	for (;;)
		__asm__ volatile("wfi");
}

#endif /* RTOS_VM_BOARD_H */

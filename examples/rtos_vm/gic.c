/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * GICv2 and GICv3 + ITS on qemu-system-aarch64 -M virt (gic.h). Addresses
 * from QEMU's virt memory map; register layouts from the GIC architecture
 * specification (IHI 0069).
 */
#include "gic.h"

#include <stddef.h>

#define GICD_BASE 0x08000000u
#define GICC_BASE 0x08010000u /* GICv2 CPU interface */
#define GITS_BASE 0x08080000u /* GICv3 ITS control frame */
#define GITS_TRANSLATER (GITS_BASE + 0x10040u)
#define GICR_BASE 0x080a0000u /* GICv3 redistributor of CPU 0 (RD_base) */

#define GICD_CTLR 0x0000u
#define GICD_PIDR2_V2 0x0fe8u /* GICv2: in the 4 KiB distributor frame */
#define GICD_PIDR2_V3 0xffe8u /* GICv3: at the end of its 64 KiB frame */
#define GICR_CTLR 0x0000u
#define GICR_TYPER 0x0008u
#define GICR_WAKER 0x0014u
#define GICR_PROPBASER 0x0070u
#define GICR_PENDBASER 0x0078u
#define GITS_CTLR 0x0000u
#define GITS_TYPER 0x0008u
#define GITS_CBASER 0x0080u
#define GITS_CWRITER 0x0088u
#define GITS_CREADR 0x0090u
#define GITS_BASER0 0x0100u

#define LPI_ID_BITS 14u     /* INTIDs below 16384: LPIs 8192..16383 */
#define LPI_FIRST 8192u
#define BOUND 1000000u      /* polls of a register before giving up */

static unsigned version;

static inline void w32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t r32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline void w64(uintptr_t a, uint64_t v) { *(volatile uint64_t *)a = v; }
static inline uint64_t r64(uintptr_t a) { return *(volatile uint64_t *)a; }
static inline void w8(uintptr_t a, uint8_t v) { *(volatile uint8_t *)a = v; }

/* Tables the redistributor and the ITS own (zeroed with the bss). */
static uint8_t lpi_config[(1u << LPI_ID_BITS) - LPI_FIRST] __attribute__((aligned(4096)));
static uint8_t lpi_pending[1u << (LPI_ID_BITS - 3)] __attribute__((aligned(65536)));
static uint64_t its_devices[512] __attribute__((aligned(4096)));
static uint64_t its_collections[512] __attribute__((aligned(4096)));
static uint64_t its_cmdq[512] __attribute__((aligned(4096))); /* 128 commands */
static uint8_t its_itt[256] __attribute__((aligned(256)));
static uint32_t cmd_next;

/* GICD_PIDR2.ArchRev (bits 7:4). A GICv2 distributor has its ID registers
 * at the end of a 4 KiB frame, and nothing behind it (a read at 0xffe8
 * aborts); a GICv3 reads 0 there (reserved), its own at 0xffe8. */
unsigned gic_version(void)
{
	if (!version)
		version = (r32(GICD_BASE + GICD_PIDR2_V2) >> 4 & 0xfu) == 2u ? 2u
			  : (r32(GICD_BASE + GICD_PIDR2_V3) >> 4 & 0xfu) >= 3u ? 3u : 2u;
	return version;
}

void gic2_init(unsigned intid)
{
	w32(GICD_BASE + GICD_CTLR, 1);
	w32(GICC_BASE + 0x004, 0xff); /* priority mask: all */
	w32(GICC_BASE + 0x000, 1);
	/* Level-sensitive (PCI INTx): the reset configuration of an SPI. */
	w8(GICD_BASE + 0x400 + intid, 0xa0);
	w8(GICD_BASE + 0x800 + intid, 0x01);
	w32(GICD_BASE + 0x100 + 4u * (intid / 32u), 1u << (intid % 32u));
}

/* ---- GICv3: system-register CPU interface ---------------------------------- */
static inline void icc_sre(uint64_t v) { __asm__ volatile("msr S3_0_C12_C12_5, %0\n\tisb" ::"r"(v)); }
static inline uint64_t icc_sre_get(void)
{
	uint64_t v;

	__asm__ volatile("mrs %0, S3_0_C12_C12_5" : "=r"(v));
	return v;
}
static inline void icc_pmr(uint64_t v) { __asm__ volatile("msr S3_0_C4_C6_0, %0" ::"r"(v)); }
static inline void icc_igrpen1(uint64_t v) { __asm__ volatile("msr S3_0_C12_C12_7, %0\n\tisb" ::"r"(v)); }

uint32_t gic_ack(void)
{
	uint64_t v;

	if (gic_version() == 2)
		return r32(GICC_BASE + 0x00c);
	__asm__ volatile("mrs %0, S3_0_C12_C12_0" : "=r"(v)::"memory"); /* ICC_IAR1_EL1 */
	return (uint32_t)v;
}

void gic_eoi(uint32_t iar)
{
	if (gic_version() == 2) {
		w32(GICC_BASE + 0x010, iar);
		return;
	}
	__asm__ volatile("msr S3_0_C12_C12_1, %0" ::"r"((uint64_t)iar) : "memory"); /* ICC_EOIR1_EL1 */
}

/* One ITS command: write it, move CWRITER, wait until the ITS read it. */
static int its_cmd(uint64_t d0, uint64_t d1, uint64_t d2, uint64_t d3)
{
	uint64_t *c = &its_cmdq[cmd_next / 8u];
	uint32_t n;

	c[0] = d0;
	c[1] = d1;
	c[2] = d2;
	c[3] = d3;
	__asm__ volatile("dsb sy" ::: "memory");
	cmd_next = (cmd_next + 32u) % (uint32_t)sizeof(its_cmdq);
	w64(GITS_BASE + GITS_CWRITER, cmd_next);
	for (n = 0; n < BOUND; n++) {
		uint64_t rd = r64(GITS_BASE + GITS_CREADR);

		if (rd & 1u)
			return -1; /* stalled on a command error */
		if ((rd & 0xfffe0u) == cmd_next)
			return 0;
	}
	return -1;
}

/* Program GITS_BASER<n> of @p type (1 devices, 4 collections) with one
 * 4 KiB page at @p table. */
static int its_table(unsigned type, void *table)
{
	unsigned n;

	for (n = 0; n < 8; n++) {
		uintptr_t reg = GITS_BASE + GITS_BASER0 + 8u * n;
		uint64_t v = r64(reg);

		if ((v >> 56 & 7u) != type)
			continue;
		/* Keep type and entry size; flat, 4 KiB pages, one page. */
		v &= (7ull << 56) | (0x1full << 48);
		v |= 1ull << 63 | ((uint64_t)(uintptr_t)table & 0x0000fffffffff000ull);
		w64(reg, v);
		return (r64(reg) >> 63) ? 0 : -1;
	}
	return -1;
}

int gic3_its_init(uint32_t devid, uint32_t lpi, uint64_t *doorbell, const char **why)
{
	uint64_t typer, rdbase;
	uint32_t n;

	if (gic_version() != 3) {
		*why = "not a GICv3";
		return -1;
	}
	if (lpi < LPI_FIRST || lpi >= (1u << LPI_ID_BITS) || devid >= 512) {
		*why = "LPI or device id out of the tables' range";
		return -1;
	}
	/* Distributor: affinity routing, both groups on (security off). */
	w32(GICD_BASE + GICD_CTLR, (1u << 4) | (1u << 1) | 1u);
	for (n = 0; n < BOUND && (r32(GICD_BASE + GICD_CTLR) & (1u << 31)); n++)
		;
	/* Redistributor: awake, then the LPI tables, then LPIs on. */
	w32(GICR_BASE + GICR_WAKER, r32(GICR_BASE + GICR_WAKER) & ~2u);
	for (n = 0; n < BOUND && (r32(GICR_BASE + GICR_WAKER) & 4u); n++)
		;
	if (r32(GICR_BASE + GICR_WAKER) & 4u) {
		*why = "the redistributor did not wake";
		return -1;
	}
	lpi_config[lpi - LPI_FIRST] = 0xa0u | 1u; /* priority 0xa0, enabled */
	__asm__ volatile("dsb sy" ::: "memory");
	w64(GICR_BASE + GICR_PROPBASER,
	    ((uint64_t)(uintptr_t)lpi_config & 0x000ffffffffff000ull) | (LPI_ID_BITS - 1u));
	w64(GICR_BASE + GICR_PENDBASER,
	    ((uint64_t)(uintptr_t)lpi_pending & 0x000fffffffff0000ull) | (1ull << 62));
	w32(GICR_BASE + GICR_CTLR, r32(GICR_BASE + GICR_CTLR) | 1u);
	/* CPU interface: system registers, every priority, group 1 on. */
	icc_sre(icc_sre_get() | 1u);
	icc_pmr(0xff);
	icc_igrpen1(1);
	/* ITS: device and collection tables, command queue, on. */
	typer = r64(GITS_BASE + GITS_TYPER);
	if (its_table(1, its_devices) || its_table(4, its_collections)) {
		*why = "no device or collection table in GITS_BASER";
		return -1;
	}
	w64(GITS_BASE + GITS_CBASER, 1ull << 63 | ((uint64_t)(uintptr_t)its_cmdq & 0x000ffffffffff000ull));
	w64(GITS_BASE + GITS_CWRITER, 0);
	cmd_next = 0;
	w32(GITS_BASE + GITS_CTLR, r32(GITS_BASE + GITS_CTLR) | 1u);
	/* The redistributor as the ITS names it: its address (PTA) or the
	 * processor number. */
	rdbase = (typer >> 19 & 1u) ? (GICR_BASE >> 16) : (r64(GICR_BASE + GICR_TYPER) >> 8 & 0xffffu);
	/* MAPD: device -> ITT with 2 event ids; MAPC: collection 0 -> CPU 0;
	 * MAPTI: event 0 -> the LPI in collection 0; then INVALL, SYNC. */
	if (its_cmd(0x08u | (uint64_t)devid << 32, 0 /* 1 event id bit */,
		    1ull << 63 | ((uint64_t)(uintptr_t)its_itt & 0x000fffffffffff00ull), 0) ||
	    its_cmd(0x09u, 0, 1ull << 63 | rdbase << 16 | 0u, 0) ||
	    its_cmd(0x0au | (uint64_t)devid << 32, 0u | (uint64_t)lpi << 32, 0u, 0) ||
	    its_cmd(0x0du, 0, 0u, 0) ||
	    its_cmd(0x05u, 0, rdbase << 16, 0)) {
		*why = "the ITS did not take its commands";
		return -1;
	}
	*doorbell = GITS_TRANSLATER;
	return 0;
}

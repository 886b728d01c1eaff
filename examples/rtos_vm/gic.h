/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The interrupt controller of qemu-system-aarch64 -M virt for the RTOS
 * guest: GICv2 (the default; PCI INTx lines are SPIs) or GICv3 with an ITS
 * (-M virt,gic-version=3; PCI MSI-X messages become LPIs). Bare metal, MMU
 * off, one CPU.
 */
#ifndef RTOS_VM_GIC_H
#define RTOS_VM_GIC_H

#include <stdint.h>

/** 2 or 3: the distributor's architecture revision (GICD_PIDR2). */
unsigned gic_version(void);

/** GICv2: enable level-sensitive SPI @p intid to CPU 0. */
void gic2_init(unsigned intid);

/**
 * GICv3 with an ITS: redistributor and CPU interface on, LPIs on, and the
 * ITS told that event 0 of PCI device @p devid (its requester id) is LPI
 * @p lpi on CPU 0. On success *@p doorbell is the address an MSI-X entry
 * writes the event id to (GITS_TRANSLATER).
 * @return 0; -1 with *@p why set when the hardware does not cooperate
 */
int gic3_its_init(uint32_t devid, uint32_t lpi, uint64_t *doorbell, const char **why);

/** Acknowledge the highest pending interrupt: its INTID (1020+: none). */
uint32_t gic_ack(void);

/** End of interrupt for what gic_ack() returned. */
void gic_eoi(uint32_t iar);

#endif /* RTOS_VM_GIC_H */

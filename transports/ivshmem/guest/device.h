/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal to the ivshmem guest peer: the PCI device, found and mapped
 * through sysfs, with its MSI-X vectors taken to eventfds through VFIO when
 * an IOMMU makes that possible. No libvring region logic here: guest.c
 * builds the transport on top.
 */
#ifndef VR_IVSHMEM_GUEST_DEVICE_H
#define VR_IVSHMEM_GUEST_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VR__IVG_MAX_VEC 64u
#define VR__IVG_ADDR_BYTES 32u
#define VR__IVG_MSG_BYTES 192u

struct vr__ivg_dev {
	char root[128];                /* sysfs mount, "/sys" */
	char addr[VR__IVG_ADDR_BYTES]; /* "0000:00:01.0" */
	uint64_t bar_len[3];           /* sizes from sysfs "resource" */
	volatile void *regs;           /* BAR0 */
	void *shm;                     /* BAR2 */
	size_t regs_len, shm_len;
	int res_fd[3];                 /* sysfs resource files, or -1 */
	/* VFIO */
	bool vfio;
	int container, group, device;
	int efd[VR__IVG_MAX_VEC];      /* one eventfd per MSI-X vector */
	uint32_t nvec;
	char old_driver[64];           /* driver bound before us, "" if none */
	bool override_set;
};

/* Find the device: @want (a PCI address) or, if NULL, the first 1af4:1110
 * under /sys/bus/pci/devices. 0 with d->addr and d->bar_len filled;
 * VR_EDEVICE (absent, not ivshmem, BARs missing); VR_EINVAL (bad address). */
int vr__ivg_dev_find(struct vr__ivg_dev *d, const char *want, char *msg,
		     size_t cap);

/* Map BAR0 and BAR2 through sysfs (enable first). */
int vr__ivg_dev_map_sysfs(struct vr__ivg_dev *d, char *msg, size_t cap);

/* Bind to vfio-pci, open container, group and device, map BAR0 and BAR2
 * through the device fd, route min(nvec wanted, MSI-X count) vectors to
 * eventfds, set Bus Master. On failure everything it did is undone (the
 * device is given back to its old driver) and @msg says why. */
int vr__ivg_dev_open_vfio(struct vr__ivg_dev *d, uint32_t want_vec, char *msg,
			  size_t cap);

/* @root: the sysfs mount (NULL: "/sys"). */
void vr__ivg_dev_init(struct vr__ivg_dev *d, const char *root);
void vr__ivg_dev_close(struct vr__ivg_dev *d);

#endif

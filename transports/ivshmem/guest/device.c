/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ivshmem PCI device from Linux guest userspace: found through sysfs,
 * its BARs mapped through sysfs resource files or through a VFIO device fd,
 * its MSI-X vectors routed to eventfds through VFIO.
 *
 * VFIO needs an IOMMU group for the device: in QEMU an emulated
 * intel-iommu (with intremap=on) and intel_iommu=on on the guest command
 * line; Debian's kernels have no VFIO no-IOMMU mode. MSI-X messages are
 * memory writes by the device, which QEMU drops unless the Bus Master bit of
 * the PCI command register is set, so it is set (through the VFIO config
 * region, and checked through sysfs) after the vectors are enabled.
 *
 * Every number read from sysfs or the kernel is checked before use.
 */
#define _GNU_SOURCE

#include "device.h"

#include <vring/errors.h>
#include <vring/ivshmem_regs.h>
#include <vring/region.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>


static int msgf(char *msg, size_t cap, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int msgf(char *msg, size_t cap, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
	return rc;
}

static int oserr(char *msg, size_t cap, const char *what, const char *path)
{
	int e = errno;

	return msgf(msg, cap, VR_EIO, "%s %s: %s", what, path, strerror(e));
}

/* Read a small sysfs file into @buf (NUL-terminated). 0 or -errno. */
static int read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, cap - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	buf[n] = '\0';
	return 0;
}

/* Write a string to a sysfs attribute. 0 or -errno. */
static int write_small(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(s);
	ssize_t n;

	if (fd < 0)
		return -errno;
	do
		n = write(fd, s, len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	return (size_t)n == len ? 0 : -EIO;
}

static int dev_path(const struct vr__ivg_dev *d, const char *leaf, char *out,
		    size_t cap)
{
	int n = snprintf(out, cap, "%s/bus/pci/devices/%s/%s", d->root, d->addr, leaf);

	return n > 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
}

/* "0x1af4\n" -> 0x1af4; false on anything else. */
static bool parse_hex_id(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 16);
	if (errno || end == s || (*end != '\n' && *end != '\0') || v > 0xffff)
		return false;
	*out = (unsigned)v;
	return true;
}

/* A PCI address as sysfs names it: dddd:bb:dd.f, nothing else (it becomes
 * part of paths). */
static bool addr_ok(const char *a)
{
	static const char pat[] = "xxxx:xx:xx.x";
	size_t i;

	if (strlen(a) != sizeof(pat) - 1)
		return false;
	for (i = 0; pat[i]; i++) {
		if (pat[i] == 'x' ? !strchr("0123456789abcdef", a[i]) || a[i] == '\0'
				  : a[i] != pat[i])
			return false;
	}
	return true;
}

static bool is_ivshmem(const char *root, const char *addr)
{
	char path[PATH_MAX], buf[32];
	unsigned ven, dev;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/vendor", root, addr);
	if (read_small(path, buf, sizeof(buf)) != 0 || !parse_hex_id(buf, &ven))
		return false;
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/device", root, addr);
	if (read_small(path, buf, sizeof(buf)) != 0 || !parse_hex_id(buf, &dev))
		return false;
	return ven == VR_IVSHMEM_VENDOR_ID && dev == VR_IVSHMEM_DEVICE_ID;
}

/* BAR sizes from the "resource" file: one "start end flags" line per
 * resource, hex. */
static int read_bars(struct vr__ivg_dev *d, char *msg, size_t cap)
{
	char path[PATH_MAX], buf[2048], *line, *save = NULL;
	unsigned i = 0;
	int rc;

	if (dev_path(d, "resource", path, sizeof(path)) != 0)
		return msgf(msg, cap, VR_EINVAL, "PCI path too long");
	rc = read_small(path, buf, sizeof(buf));
	if (rc)
		return msgf(msg, cap, VR_EIO, "read %s: %s", path, strerror(-rc));
	for (line = strtok_r(buf, "\n", &save); line && i < 3;
	     line = strtok_r(NULL, "\n", &save), i++) {
		unsigned long long s, e, f;

		if (sscanf(line, "%llx %llx %llx", &s, &e, &f) != 3)
			return msgf(msg, cap, VR_EDEVICE, "%s: unreadable line %u", path, i);
		d->bar_len[i] = (e > s || (e == s && s != 0)) ? e - s + 1 : 0;
	}
	if (i < 3)
		return msgf(msg, cap, VR_EDEVICE, "%s: fewer than 3 resources", path);
	if (d->bar_len[VR_IVSHMEM_BAR_REGS] < 16)
		return msgf(msg, cap, VR_EDEVICE,
			    "%s: BAR0 (registers) is %" PRIu64 " bytes, needs 16",
			    d->addr, d->bar_len[0]);
	if (d->bar_len[VR_IVSHMEM_BAR_SHMEM] < VR_REGION_HEADER_BYTES)
		return msgf(msg, cap, VR_EDEVICE,
			    "%s: BAR2 (shared memory) is %" PRIu64
			    " bytes, smaller than a region header page",
			    d->addr, d->bar_len[2]);
	if (d->bar_len[VR_IVSHMEM_BAR_SHMEM] > (uint64_t)SIZE_MAX)
		return msgf(msg, cap, VR_EDEVICE, "%s: BAR2 too large to map", d->addr);
	return 0;
}

void vr__ivg_dev_init(struct vr__ivg_dev *d, const char *root)
{
	unsigned i;

	memset(d, 0, sizeof(*d));
	snprintf(d->root, sizeof(d->root), "%s", root ? root : "/sys");
	for (i = 0; i < 3; i++)
		d->res_fd[i] = -1;
	d->container = d->group = d->device = -1;
	for (i = 0; i < VR__IVG_MAX_VEC; i++)
		d->efd[i] = -1;
}

int vr__ivg_dev_find(struct vr__ivg_dev *d, const char *want, char *msg,
		     size_t cap)
{
	if (want) {
		if (!addr_ok(want))
			return msgf(msg, cap, VR_EINVAL,
				    "PCI address \"%.40s\" is not of the form 0000:00:01.0",
				    want);
		if (!is_ivshmem(d->root, want))
			return msgf(msg, cap, VR_EDEVICE,
				    "no ivshmem device (1af4:1110) at %s", want);
		snprintf(d->addr, sizeof(d->addr), "%.31s", want);
	} else {
		char dpath[PATH_MAX];
		DIR *dir;
		struct dirent *e;
		char best[VR__IVG_ADDR_BYTES] = "";

		snprintf(dpath, sizeof(dpath), "%s/bus/pci/devices", d->root);
		dir = opendir(dpath);
		if (!dir)
			return oserr(msg, cap, "opendir", dpath);
		/* The lowest address, so that the choice does not depend on
		 * the directory order. */
		while ((e = readdir(dir)) != NULL) {
			if (!addr_ok(e->d_name) || !is_ivshmem(d->root, e->d_name))
				continue;
			if (!best[0] || strcmp(e->d_name, best) < 0)
				snprintf(best, sizeof(best), "%.31s", e->d_name);
		}
		closedir(dir);
		if (!best[0])
			return msgf(msg, cap, VR_EDEVICE,
				    "no ivshmem device (PCI 1af4:1110) in %s", dpath);
		snprintf(d->addr, sizeof(d->addr), "%s", best);
	}
	return read_bars(d, msg, cap);
}

/* ---- sysfs mapping ---------------------------------------------------- */

static int map_resource(struct vr__ivg_dev *d, unsigned bar, void **out,
			char *msg, size_t cap)
{
	char path[PATH_MAX], leaf[16];
	struct stat st;
	void *m;
	int fd;

	snprintf(leaf, sizeof(leaf), "resource%u", bar);
	if (dev_path(d, leaf, path, sizeof(path)) != 0)
		return msgf(msg, cap, VR_EINVAL, "PCI path too long");
	fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0)
		return oserr(msg, cap, "open", path);
	/* The file's size is the BAR's; it must agree with "resource". */
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != d->bar_len[bar]) {
		close(fd);
		return msgf(msg, cap, VR_EDEVICE, "%s: size disagrees with the BAR", path);
	}
	m = mmap(NULL, (size_t)d->bar_len[bar], PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	if (m == MAP_FAILED) {
		int rc = oserr(msg, cap, "mmap", path);

		close(fd);
		return rc;
	}
	d->res_fd[bar] = fd;
	*out = m;
	return 0;
}

int vr__ivg_dev_map_sysfs(struct vr__ivg_dev *d, char *msg, size_t cap)
{
	char path[PATH_MAX];
	void *m;
	int rc;

	if (dev_path(d, "enable", path, sizeof(path)) != 0)
		return msgf(msg, cap, VR_EINVAL, "PCI path too long");
	rc = write_small(path, "1");
	if (rc && rc != -EBUSY) /* already enabled by a driver: fine */
		return msgf(msg, cap, VR_EIO, "write 1 to %s: %s", path, strerror(-rc));
	rc = map_resource(d, VR_IVSHMEM_BAR_REGS, &m, msg, cap);
	if (rc)
		return rc;
	d->regs = m;
	d->regs_len = (size_t)d->bar_len[VR_IVSHMEM_BAR_REGS];
	rc = map_resource(d, VR_IVSHMEM_BAR_SHMEM, &m, msg, cap);
	if (rc)
		return rc;
	d->shm = m;
	d->shm_len = (size_t)d->bar_len[VR_IVSHMEM_BAR_SHMEM];
	return 0;
}

/* ---- VFIO ------------------------------------------------------------- */

static int current_driver(const struct vr__ivg_dev *d, char *out, size_t cap)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;
	const char *base;

	out[0] = '\0';
	if (dev_path(d, "driver", path, sizeof(path)) != 0)
		return -ENAMETOOLONG;
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return errno == ENOENT ? 0 : -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= cap)
		return -ENAMETOOLONG;
	memcpy(out, base, strlen(base) + 1);
	return 0;
}

static int write_root(const struct vr__ivg_dev *d, const char *leaf, const char *s)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s", d->root, leaf);
	return write_small(path, s);
}

/* Give the device back to the driver it had (or none). Best effort. */
static void unbind_vfio(struct vr__ivg_dev *d)
{
	char path[PATH_MAX], drv[64];

	if (current_driver(d, drv, sizeof(drv)) == 0 && strcmp(drv, "vfio-pci") == 0 &&
	    dev_path(d, "driver/unbind", path, sizeof(path)) == 0)
		(void)write_small(path, d->addr);
	if (d->override_set && dev_path(d, "driver_override", path, sizeof(path)) == 0)
		(void)write_small(path, "\n");
	d->override_set = false;
	if (d->old_driver[0])
		(void)write_root(d, "/bus/pci/drivers_probe", d->addr);
}

static int bind_vfio(struct vr__ivg_dev *d, char *msg, size_t cap)
{
	char path[PATH_MAX], drv[64];
	int rc;

	snprintf(path, sizeof(path), "%s/bus/pci/drivers/vfio-pci", d->root);
	if (access(path, F_OK) != 0)
		return msgf(msg, cap, VR_EDEVICE,
			    "the vfio-pci driver is not loaded (modprobe vfio-pci)");
	rc = current_driver(d, drv, sizeof(drv));
	if (rc)
		return msgf(msg, cap, VR_EIO, "driver link of %s: %s", d->addr,
			    strerror(-rc));
	if (strcmp(drv, "vfio-pci") == 0)
		return 0;
	snprintf(d->old_driver, sizeof(d->old_driver), "%s", drv);
	if (dev_path(d, "driver_override", path, sizeof(path)) != 0)
		return msgf(msg, cap, VR_EINVAL, "PCI path too long");
	rc = write_small(path, "vfio-pci");
	if (rc)
		return msgf(msg, cap, VR_EIO, "write %s: %s", path, strerror(-rc));
	d->override_set = true;
	if (drv[0]) {
		if (dev_path(d, "driver/unbind", path, sizeof(path)) != 0)
			return msgf(msg, cap, VR_EINVAL, "PCI path too long");
		rc = write_small(path, d->addr);
		if (rc)
			return msgf(msg, cap, VR_EIO, "unbind %s from %s: %s", d->addr, drv,
				    strerror(-rc));
	}
	rc = write_root(d, "/bus/pci/drivers_probe", d->addr);
	if (rc)
		return msgf(msg, cap, VR_EIO, "probe %s for vfio-pci: %s", d->addr,
			    strerror(-rc));
	rc = current_driver(d, drv, sizeof(drv));
	if (rc || strcmp(drv, "vfio-pci") != 0)
		return msgf(msg, cap, VR_EDEVICE,
			    "vfio-pci did not bind %s (is there an IOMMU? guest needs "
			    "intel_iommu=on and QEMU -device intel-iommu)",
			    d->addr);
	return 0;
}

static int iommu_group(const struct vr__ivg_dev *d, char *msg, size_t cap)
{
	char path[PATH_MAX], target[PATH_MAX], *end;
	const char *base;
	ssize_t n;
	long g;

	if (dev_path(d, "iommu_group", path, sizeof(path)) != 0)
		return msgf(msg, cap, VR_EINVAL, "PCI path too long");
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return msgf(msg, cap, VR_EDEVICE,
			    "%s has no IOMMU group (no IOMMU: the guest needs "
			    "intel_iommu=on and QEMU -device intel-iommu,intremap=on)",
			    d->addr);
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	errno = 0;
	g = strtol(base, &end, 10);
	if (errno || end == base || *end || g < 0 || g > INT_MAX)
		return msgf(msg, cap, VR_EDEVICE, "odd IOMMU group name \"%.32s\"", base);
	return (int)g;
}

static int map_vfio_region(struct vr__ivg_dev *d, unsigned index, size_t need,
			   void **out, size_t *len, char *msg, size_t cap)
{
	struct vfio_region_info ri;
	void *m;

	memset(&ri, 0, sizeof(ri));
	ri.argsz = sizeof(ri);
	ri.index = index;
	if (ioctl(d->device, VFIO_DEVICE_GET_REGION_INFO, &ri) != 0)
		return msgf(msg, cap, VR_EIO, "VFIO_DEVICE_GET_REGION_INFO(%u): %s",
			    index, strerror(errno));
	if (ri.size < need || ri.size > (uint64_t)SIZE_MAX)
		return msgf(msg, cap, VR_EDEVICE,
			    "VFIO region %u is %llu bytes, expected at least %zu", index,
			    (unsigned long long)ri.size, need);
	if (!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return msgf(msg, cap, VR_EDEVICE, "VFIO region %u cannot be mapped",
			    index);
	if (ri.offset > (uint64_t)INT64_MAX)
		return msgf(msg, cap, VR_EDEVICE, "VFIO region %u offset out of range",
			    index);
	m = mmap(NULL, (size_t)ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, d->device,
		 (off_t)ri.offset);
	if (m == MAP_FAILED)
		return msgf(msg, cap, VR_EIO, "mmap VFIO region %u: %s", index,
			    strerror(errno));
	*out = m;
	*len = (size_t)ri.size;
	return 0;
}

/* Set Memory and Bus Master in the command register through the VFIO
 * config region, then read it back through sysfs. */
static int set_bus_master(struct vr__ivg_dev *d, char *msg, size_t cap)
{
	struct vfio_region_info ri;
	unsigned char cmd[2];
	char path[PATH_MAX];
	uint16_t v;
	int fd;

	memset(&ri, 0, sizeof(ri));
	ri.argsz = sizeof(ri);
	ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(d->device, VFIO_DEVICE_GET_REGION_INFO, &ri) != 0 || ri.size < 64 ||
	    ri.offset > (uint64_t)INT64_MAX - VR_PCI_COMMAND)
		return msgf(msg, cap, VR_EIO, "VFIO config region: %s", strerror(errno));
	if (pread(d->device, cmd, 2, (off_t)(ri.offset + VR_PCI_COMMAND)) != 2)
		return msgf(msg, cap, VR_EIO, "read PCI command: %s", strerror(errno));
	v = (uint16_t)(cmd[0] | (cmd[1] << 8));
	v |= VR_PCI_COMMAND_MEMORY | VR_PCI_COMMAND_MASTER;
	cmd[0] = (unsigned char)v;
	cmd[1] = (unsigned char)(v >> 8);
	if (pwrite(d->device, cmd, 2, (off_t)(ri.offset + VR_PCI_COMMAND)) != 2)
		return msgf(msg, cap, VR_EIO, "write PCI command: %s", strerror(errno));
	/* What the device has now (sysfs config reads the real register). */
	if (dev_path(d, "config", path, sizeof(path)) != 0)
		return msgf(msg, cap, VR_EINVAL, "PCI path too long");
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return oserr(msg, cap, "open", path);
	if (pread(fd, cmd, 2, VR_PCI_COMMAND) != 2) {
		close(fd);
		return oserr(msg, cap, "read", path);
	}
	v = (uint16_t)(cmd[0] | (cmd[1] << 8));
	if (!(v & VR_PCI_COMMAND_MASTER)) {
		v |= VR_PCI_COMMAND_MEMORY | VR_PCI_COMMAND_MASTER;
		cmd[0] = (unsigned char)v;
		cmd[1] = (unsigned char)(v >> 8);
		if (pwrite(fd, cmd, 2, VR_PCI_COMMAND) != 2 ||
		    pread(fd, cmd, 2, VR_PCI_COMMAND) != 2 ||
		    !((cmd[0] | (cmd[1] << 8)) & VR_PCI_COMMAND_MASTER)) {
			close(fd);
			return msgf(msg, cap, VR_EDEVICE,
				    "cannot set the PCI Bus Master bit of %s", d->addr);
		}
	}
	close(fd);
	return 0;
}

static int route_msix(struct vr__ivg_dev *d, uint32_t want, char *msg, size_t cap)
{
	struct vfio_irq_info ii;
	struct vfio_irq_set *set;
	size_t sz;
	uint32_t i, n;
	int rc;

	memset(&ii, 0, sizeof(ii));
	ii.argsz = sizeof(ii);
	ii.index = VFIO_PCI_MSIX_IRQ_INDEX;
	if (ioctl(d->device, VFIO_DEVICE_GET_IRQ_INFO, &ii) != 0)
		return msgf(msg, cap, VR_EIO, "VFIO_DEVICE_GET_IRQ_INFO(MSI-X): %s",
			    strerror(errno));
	if (ii.count == 0 || !(ii.flags & VFIO_IRQ_INFO_EVENTFD))
		return msgf(msg, cap, VR_EDEVICE,
			    "%s has no MSI-X vectors (ivshmem-plain, or vectors=0)",
			    d->addr);
	n = ii.count < want ? ii.count : want;
	if (n > VR__IVG_MAX_VEC)
		n = VR__IVG_MAX_VEC;
	for (i = 0; i < n; i++) {
		d->efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->efd[i] < 0)
			return oserr(msg, cap, "eventfd", "");
	}
	sz = sizeof(*set) + n * sizeof(int32_t);
	set = (struct vfio_irq_set *)calloc(1, sz);
	if (!set)
		return msgf(msg, cap, VR_EIO, "out of memory");
	set->argsz = (uint32_t)sz;
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_MSIX_IRQ_INDEX;
	set->start = 0;
	set->count = n;
	memcpy(set->data, d->efd, n * sizeof(int32_t));
	rc = ioctl(d->device, VFIO_DEVICE_SET_IRQS, set);
	free(set);
	if (rc != 0)
		return msgf(msg, cap, VR_EIO, "VFIO_DEVICE_SET_IRQS(MSI-X, %u): %s", n,
			    strerror(errno));
	d->nvec = n;
	return 0;
}

int vr__ivg_dev_open_vfio(struct vr__ivg_dev *d, uint32_t want_vec, char *msg,
			  size_t cap)
{
	struct vfio_group_status gs;
	char path[64];
	void *m;
	int g, rc;

	if (access("/dev/vfio/vfio", F_OK) != 0) {
		rc = msgf(msg, cap, VR_EDEVICE,
			  "no /dev/vfio/vfio (modprobe vfio-pci vfio_iommu_type1)");
		goto fail;
	}
	g = iommu_group(d, msg, cap);
	if (g < 0) {
		rc = g;
		goto fail;
	}
	rc = bind_vfio(d, msg, cap);
	if (rc)
		goto fail;
	d->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (d->container < 0) {
		rc = oserr(msg, cap, "open", "/dev/vfio/vfio");
		goto fail;
	}
	if (ioctl(d->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(d->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) <= 0) {
		rc = msgf(msg, cap, VR_EDEVICE,
			  "VFIO has no type-1 IOMMU (modprobe vfio_iommu_type1)");
		goto fail;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%d", g);
	d->group = open(path, O_RDWR | O_CLOEXEC);
	if (d->group < 0) {
		rc = oserr(msg, cap, "open", path);
		goto fail;
	}
	memset(&gs, 0, sizeof(gs));
	gs.argsz = sizeof(gs);
	if (ioctl(d->group, VFIO_GROUP_GET_STATUS, &gs) != 0 ||
	    !(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		rc = msgf(msg, cap, VR_EDEVICE,
			  "IOMMU group %d is not viable (another device in it is "
			  "bound to a host driver)", g);
		goto fail;
	}
	if (ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container) != 0) {
		rc = msgf(msg, cap, VR_EIO, "VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
		goto fail;
	}
	if (ioctl(d->container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) != 0) {
		rc = msgf(msg, cap, VR_EIO, "VFIO_SET_IOMMU(TYPE1): %s", strerror(errno));
		goto fail;
	}
	d->device = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, d->addr);
	if (d->device < 0) {
		rc = msgf(msg, cap, VR_EIO, "VFIO_GROUP_GET_DEVICE_FD(%s): %s", d->addr,
			  strerror(errno));
		goto fail;
	}
	rc = map_vfio_region(d, VFIO_PCI_BAR0_REGION_INDEX, 16, &m, &d->regs_len, msg, cap);
	if (rc)
		goto fail;
	d->regs = m;
	rc = map_vfio_region(d, VFIO_PCI_BAR2_REGION_INDEX, VR_REGION_HEADER_BYTES, &m,
			     &d->shm_len, msg, cap);
	if (rc)
		goto fail;
	d->shm = m;
	rc = route_msix(d, want_vec, msg, cap);
	if (rc)
		goto fail;
	rc = set_bus_master(d, msg, cap);
	if (rc)
		goto fail;
	d->vfio = true;
	return 0;
fail:
	vr__ivg_dev_close(d);
	return rc;
}

void vr__ivg_dev_close(struct vr__ivg_dev *d)
{
	unsigned i;

	if (d->shm)
		munmap(d->shm, d->shm_len);
	if (d->regs)
		munmap((void *)(uintptr_t)d->regs, d->regs_len);
	d->shm = NULL;
	d->regs = NULL;
	d->shm_len = d->regs_len = 0;
	for (i = 0; i < 3; i++) {
		if (d->res_fd[i] >= 0)
			close(d->res_fd[i]);
		d->res_fd[i] = -1;
	}
	/* Closing the device fd disables its interrupts. */
	if (d->device >= 0)
		close(d->device);
	if (d->group >= 0)
		close(d->group);
	if (d->container >= 0)
		close(d->container);
	d->device = d->group = d->container = -1;
	for (i = 0; i < VR__IVG_MAX_VEC; i++) {
		if (d->efd[i] >= 0)
			close(d->efd[i]);
		d->efd[i] = -1;
	}
	d->nvec = 0;
	if (d->override_set || d->vfio)
		unbind_vfio(d);
	d->vfio = false;
}

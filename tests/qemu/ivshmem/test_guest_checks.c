/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ivshmem guest peer against a fake PCI device: a sysfs tree in a
 * temporary directory (vendor, device, resource, and regular files standing
 * for resource0 and resource2, which mmap like the real ones), given to
 * vr_ivshmem_guest_open() through cfg.sysfs_root. Covers what a QEMU guest
 * cannot be made to show: IVPosition out of range, BARs too small or
 * disagreeing, a region header that lies, and the transport ops (doorbell
 * register writes, heartbeat liveness, a whole channel between two ends on
 * one fake device). No QEMU, no root: label unit.
 */
#define _GNU_SOURCE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vring/channel.h>
#include <vring/ivshmem_guest.h>

#define ADDR "0000:00:05.0"
#define MS 1000000ull

struct fake {
	char root[256];
	char dev[512];
	uint64_t bar_len[3];
};

static void put_file(const char *dir, const char *leaf, const void *data, size_t len)
{
	char path[1024];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, leaf);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	assert_true(fd >= 0);
	if (len)
		assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void put_text(const char *dir, const char *leaf, const char *text)
{
	put_file(dir, leaf, text, strlen(text));
}

static void sized_file(const char *dir, const char *leaf, uint64_t len)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, leaf);
	put_file(dir, leaf, "", 0);
	assert_int_equal(truncate(path, (off_t)len), 0);
}

/* The "resource" file: BAR0 regs, BAR1 MSI-X (or absent), BAR2 memory. */
static void write_resource(struct fake *f)
{
	char text[1024];
	size_t n = 0;
	uint64_t base[3] = {0xfe000000u, 0xfe001000u, 0x800000000ull};
	unsigned i;

	for (i = 0; i < 3; i++) {
		if (f->bar_len[i])
			n += (size_t)snprintf(text + n, sizeof(text) - n,
					      "0x%016llx 0x%016llx 0x0000000000040200\n",
					      (unsigned long long)base[i],
					      (unsigned long long)(base[i] + f->bar_len[i] - 1));
		else
			n += (size_t)snprintf(text + n, sizeof(text) - n,
					      "0x%016llx 0x%016llx 0x%016llx\n", 0ull, 0ull, 0ull);
	}
	for (i = 3; i < 13; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "0x%016llx 0x%016llx 0x%016llx\n", 0ull, 0ull, 0ull);
	put_text(f->dev, "resource", text);
}

/* A device with MSI-X (doorbell) or without (plain), IVPosition @pos,
 * BAR2 of @shm bytes. */
static void make_fake(struct fake *f, bool msix, uint32_t pos, uint64_t shm)
{
	unsigned char regs[256];
	char path[512];

	memset(f, 0, sizeof(*f));
	snprintf(f->root, sizeof(f->root), "/tmp/vr-ivg-sysfs.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(path, sizeof(path), "%s/bus", f->root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/bus/pci", f->root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/bus/pci/devices", f->root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(f->dev, sizeof(f->dev), "%s/bus/pci/devices/" ADDR, f->root);
	assert_int_equal(mkdir(f->dev, 0700), 0);
	put_text(f->dev, "vendor", "0x1af4\n");
	put_text(f->dev, "device", "0x1110\n");
	put_text(f->dev, "enable", "0\n");
	f->bar_len[0] = 256;
	f->bar_len[1] = msix ? 4096 : 0;
	f->bar_len[2] = shm;
	write_resource(f);
	memset(regs, 0, sizeof(regs));
	regs[8] = (unsigned char)pos;
	regs[9] = (unsigned char)(pos >> 8);
	regs[10] = (unsigned char)(pos >> 16);
	regs[11] = (unsigned char)(pos >> 24);
	put_file(f->dev, "resource0", regs, sizeof(regs));
	sized_file(f->dev, "resource2", shm);
}

static void rm_fake(struct fake *f)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
}

/* Map the fake BAR2 to write a region or a bad header into it. */
static void *map_shm(struct fake *f)
{
	char path[600];
	void *m;
	int fd;

	snprintf(path, sizeof(path), "%s/resource2", f->dev);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	m = mmap(NULL, (size_t)f->bar_len[2], PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(m != MAP_FAILED);
	return m;
}

static struct vr_region_cfg region_cfg(uint32_t format)
{
	struct vr_region_cfg rc;

	memset(&rc, 0, sizeof(rc));
	rc.queue_count = 2;
	rc.queue[0].size = rc.queue[1].size = 64;
	rc.queue[0].format = rc.queue[1].format = format;
	rc.buf_bytes = 256;
	rc.buf_count = 128;
	rc.device_features = VR_FEATURE(VR_F_VERSION_1) | VR_FEATURE(VR_F_EVENT_IDX) |
			     VR_FEATURE(VR_F_RING_RESET) |
			     (format == VR_FORMAT_PACKED ? VR_FEATURE(VR_F_RING_PACKED) : 0);
	return rc;
}

static void format_region(struct fake *f, uint32_t format)
{
	struct vr_region_cfg rc = region_cfg(format);
	void *m = map_shm(f);

	assert_int_equal(vr_region_format(m, (size_t)f->bar_len[2], &rc, 1, NULL), 0);
	munmap(m, (size_t)f->bar_len[2]);
}

static struct vr_ivshmem_guest_cfg base_cfg(struct fake *f, uint32_t role)
{
	struct vr_ivshmem_guest_cfg c;

	memset(&c, 0, sizeof(c));
	c.role = role;
	c.peer_id = VR_IVSHMEM_GUEST_PEER_AUTO;
	c.sysfs_root = f->root;
	c.flags = VR_IVSHMEM_GUEST_NO_VFIO; /* never touch the real VFIO */
	c.open_timeout_ns = 200 * MS;
	c.heartbeat_ns = 5 * MS;
	c.liveness_timeout_ns = 200 * MS;
	return c;
}

static int open_expect(struct vr_ivshmem_guest_cfg *c, int want, const char *text)
{
	struct vr_ivshmem_guest g;
	int rc = vr_ivshmem_guest_open(&g, c);

	if (rc == 0)
		vr_ivshmem_guest_close(&g);
	if (rc != want)
		fprintf(stderr, "open: got %s (%s), want %s\n", vr_errname(rc),
			vr_ivshmem_guest_last_error(&g), vr_errname(want));
	assert_int_equal(rc, want);
	if (text && !strstr(vr_ivshmem_guest_last_error(&g), text))
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", vr_ivshmem_guest_last_error(&g),
			text);
	if (text)
		assert_non_null(strstr(vr_ivshmem_guest_last_error(&g), text));
	return rc;
}

/* ---- The freestanding register layer ------------------------------------------ */

static void test_regs(void **state)
{
	uint32_t regs[64], v = 0, id = 99;
	(void)state;

	memset(regs, 0, sizeof(regs));
	assert_int_equal(vr_ivshmem_doorbell_value(3, 1, &v), 0);
	assert_int_equal(v, 0x00030001u);
	assert_int_equal(vr_ivshmem_doorbell_value(0xffff, 0xffff, &v), 0);
	assert_int_equal(v, 0xffffffffu);
	assert_int_equal(vr_ivshmem_doorbell_value(0x10000, 0, &v), VR_EINVAL);
	assert_int_equal(vr_ivshmem_doorbell_value(0, 0x10000, &v), VR_EINVAL);
	assert_int_equal(vr_ivshmem_doorbell_value(0, 0, NULL), VR_EINVAL);
	assert_int_equal(vr_ivshmem_ring(regs, 7, 1), 0);
	assert_int_equal(vr_ivshmem_reg_read(regs, VR_IVSHMEM_DOORBELL), 0x00070001u);
	assert_int_equal(vr_ivshmem_ring(regs, 0x10000, 1), VR_EINVAL);
	assert_int_equal(vr_ivshmem_ring(NULL, 1, 1), VR_EINVAL);
	/* IVPosition: unset, in range, above the caller's limit, above 16 bits. */
	vr_ivshmem_reg_write(regs, VR_IVSHMEM_IV_POSITION, 0xffffffffu);
	assert_int_equal(vr_ivshmem_read_position(regs, VR_IVSHMEM_MAX_ID, &id), VR_EAGAIN);
	assert_int_equal(id, 99);
	vr_ivshmem_reg_write(regs, VR_IVSHMEM_IV_POSITION, 5);
	assert_int_equal(vr_ivshmem_read_position(regs, 5, &id), 0);
	assert_int_equal(id, 5);
	assert_int_equal(vr_ivshmem_read_position(regs, 4, &id), VR_EDEVICE);
	vr_ivshmem_reg_write(regs, VR_IVSHMEM_IV_POSITION, 0x10000);
	assert_int_equal(vr_ivshmem_read_position(regs, 0xffffffffu, &id), VR_EDEVICE);
	assert_int_equal(vr_ivshmem_read_position(regs, 5, NULL), VR_EINVAL);
	/* INTx. */
	vr_ivshmem_intx_enable(regs, 1);
	assert_int_equal(vr_ivshmem_reg_read(regs, VR_IVSHMEM_INTR_MASK), 1);
	vr_ivshmem_intx_enable(regs, 0);
	assert_int_equal(vr_ivshmem_reg_read(regs, VR_IVSHMEM_INTR_MASK), 0);
	vr_ivshmem_reg_write(regs, VR_IVSHMEM_INTR_STATUS, 1);
	assert_int_equal(vr_ivshmem_intx_ack(regs), 1);
	/* BAR sizes. */
	assert_int_equal(vr_ivshmem_check_bar(1 << 20, 1 << 20), 0);
	assert_int_equal(vr_ivshmem_check_bar(1 << 20, (1 << 20) + 1), VR_ETRUNC);
	assert_int_equal(vr_ivshmem_check_bar(2048, 1024), VR_ETRUNC);
	assert_string_equal(vr_errname(VR_EDEVICE), "VR_EDEVICE");
}

/* ---- Finding the device ---------------------------------------------------- */

static void test_no_device(void **state)
{
	struct fake f;
	struct vr_ivshmem_guest_cfg c;
	(void)state;

	make_fake(&f, false, 0, 1 << 20);
	put_text(f.dev, "device", "0x1000\n"); /* virtio-net, not ivshmem */
	c = base_cfg(&f, VR_ROLE_DEVICE);
	open_expect(&c, VR_EDEVICE, "no ivshmem device");
	c.pci_addr = ADDR;
	open_expect(&c, VR_EDEVICE, "no ivshmem device (1af4:1110) at " ADDR);
	c.pci_addr = "../../etc/x";
	open_expect(&c, VR_EINVAL, "not of the form");
	rm_fake(&f);
}

static void test_bar_checks(void **state)
{
	struct fake f;
	struct vr_ivshmem_guest_cfg c;
	(void)state;

	/* BAR2 below a header page. */
	make_fake(&f, false, 0, 2048);
	c = base_cfg(&f, VR_ROLE_DEVICE);
	open_expect(&c, VR_EDEVICE, "smaller than a region header page");
	rm_fake(&f);

	/* The resource file and the BAR disagree. */
	make_fake(&f, false, 0, 1 << 20);
	sized_file(f.dev, "resource2", 1 << 19);
	c = base_cfg(&f, VR_ROLE_DEVICE);
	open_expect(&c, VR_EDEVICE, "size disagrees");
	rm_fake(&f);

	/* BAR0 missing. */
	make_fake(&f, false, 0, 1 << 20);
	f.bar_len[0] = 0;
	write_resource(&f);
	c = base_cfg(&f, VR_ROLE_DEVICE);
	open_expect(&c, VR_EDEVICE, "BAR0");
	rm_fake(&f);

	/* A garbled resource file. */
	make_fake(&f, false, 0, 1 << 20);
	put_text(f.dev, "resource", "nonsense\n");
	c = base_cfg(&f, VR_ROLE_DEVICE);
	open_expect(&c, VR_EDEVICE, "unreadable");
	rm_fake(&f);
}

static void test_ivposition(void **state)
{
	struct fake f;
	struct vr_ivshmem_guest_cfg c;
	(void)state;

	make_fake(&f, true, 0x10000, 1 << 20);
	format_region(&f, VR_FORMAT_SPLIT);
	c = base_cfg(&f, VR_ROLE_DEVICE);
	open_expect(&c, VR_EDEVICE, "IVPosition");
	rm_fake(&f);

	make_fake(&f, true, 0xffffffffu, 1 << 20);
	format_region(&f, VR_FORMAT_SPLIT);
	c = base_cfg(&f, VR_ROLE_DEVICE);
	open_expect(&c, VR_ETIMEDOUT, "not connected to its ivshmem server");
	rm_fake(&f);

	/* Its own id as the peer. */
	make_fake(&f, true, 3, 1 << 20);
	format_region(&f, VR_FORMAT_SPLIT);
	c = base_cfg(&f, VR_ROLE_DEVICE);
	c.peer_id = 3;
	open_expect(&c, VR_EINVAL, "own id");
	c.peer_id = 0x10000;
	open_expect(&c, VR_EINVAL, "out of range");
	rm_fake(&f);
}

static void test_region_checks(void **state)
{
	struct fake f;
	struct vr_ivshmem_guest_cfg c;
	unsigned char *m;
	(void)state;

	/* No region laid out in time. */
	make_fake(&f, false, 0, 1 << 20);
	c = base_cfg(&f, VR_ROLE_DEVICE);
	open_expect(&c, VR_ETIMEDOUT, "no libvring region");

	/* A header that claims more than the BAR. */
	format_region(&f, VR_FORMAT_SPLIT);
	m = (unsigned char *)map_shm(&f);
	m[VR_RH_REGION_BYTES + 2] = 0x20; /* region_bytes += 2 MiB */
	open_expect(&c, VR_ETRUNC, "smaller than the region");

	/* An inconsistent header: no queues. */
	format_region(&f, VR_FORMAT_SPLIT);
	memset(m + VR_RH_QUEUE_COUNT, 0, 4);
	open_expect(&c, VR_EREGION, "bad region");

	/* Not libvring at all. */
	format_region(&f, VR_FORMAT_SPLIT);
	m[1] = 'X';
	open_expect(&c, VR_EMAGIC, "bad region");

	/* FORMAT on a BAR too small for the region asked for. */
	{
		struct vr_region_cfg rc = region_cfg(VR_FORMAT_SPLIT);

		rc.buf_count = 8192;
		c = base_cfg(&f, VR_ROLE_DRIVER);
		c.flags |= VR_IVSHMEM_GUEST_FORMAT;
		c.region = &rc;
		open_expect(&c, VR_ETRUNC, "the region needs");
		c.role = VR_ROLE_DEVICE;
		open_expect(&c, VR_EINVAL, "driver role");
	}
	munmap(m, (size_t)f.bar_len[2]);
	rm_fake(&f);
}

static void test_bad_cfg(void **state)
{
	struct fake f;
	struct vr_ivshmem_guest_cfg c;
	(void)state;

	make_fake(&f, false, 0, 1 << 20);
	format_region(&f, VR_FORMAT_SPLIT);
	c = base_cfg(&f, 0);
	open_expect(&c, VR_EINVAL, "role");
	c = base_cfg(&f, VR_ROLE_DEVICE);
	c.heartbeat_ns = 10; /* below 100 us */
	open_expect(&c, VR_EINVAL, "heartbeat");
	c = base_cfg(&f, VR_ROLE_DEVICE);
	c.liveness_timeout_ns = c.heartbeat_ns; /* below two periods */
	open_expect(&c, VR_EINVAL, "liveness");
	/* Interrupts required on a device without MSI-X. */
	c = base_cfg(&f, VR_ROLE_DEVICE);
	c.flags |= VR_IVSHMEM_GUEST_REQUIRE_IRQ;
	open_expect(&c, VR_EDEVICE, "interrupts required");
	assert_int_equal(vr_ivshmem_guest_open(NULL, &c), VR_EINVAL);
	rm_fake(&f);
}

/* ---- The transport ----------------------------------------------------------- */

static uint32_t read_reg(struct fake *f, unsigned off)
{
	char path[600];
	unsigned char b[4];
	int fd;

	snprintf(path, sizeof(path), "%s/resource0", f->dev);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, 4, off), 4);
	close(fd);
	return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
	       ((uint32_t)b[3] << 24);
}

static void test_doorbell_register(void **state)
{
	struct fake f;
	struct vr_ivshmem_guest_cfg c;
	struct vr_ivshmem_guest g;
	(void)state;

	make_fake(&f, true, 7, 1 << 20);
	format_region(&f, VR_FORMAT_SPLIT);
	c = base_cfg(&f, VR_ROLE_DEVICE);
	c.peer_id = 5;
	assert_int_equal(vr_ivshmem_guest_open(&g, &c), 0);
	assert_int_equal(vr_ivshmem_guest_id(&g), 7);
	assert_int_equal(vr_ivshmem_guest_peer_id(&g), 5);
	/* NO_VFIO: rings through the register, waits by polling, says so. */
	assert_int_equal(vr_ivshmem_guest_irq_mode(&g), VR_IVSHMEM_GUEST_IRQ_POLL);
	assert_non_null(strstr(vr_ivshmem_guest_irq_note(&g), "VFIO not asked for"));
	assert_int_equal(g.t.flags & VR_TRANSPORT_POLLING, 0);
	assert_int_equal(g.t.ops->notify(&g.t, 1), 0);
	assert_int_equal(read_reg(&f, 12), (5u << 16) | 1u);
	assert_int_equal(g.t.ops->notify(&g.t, 0), 0);
	assert_int_equal(read_reg(&f, 12), 5u << 16);
	assert_int_equal(vr_ivshmem_guest_rings(&g), 2);
	assert_int_equal(g.t.ops->notify(&g.t, 2), VR_EINVAL);
	assert_int_equal(g.t.ops->wait(&g.t, 2, 0), VR_EINVAL);
	/* No peer bound yet. */
	assert_int_equal(g.t.ops->peer_state(&g.t), VR_PEER_WAITING);
	assert_int_equal(vr_ivshmem_guest_attach_peer(&g, 30 * MS), VR_ETIMEDOUT);
	vr_ivshmem_guest_close(&g);
	vr_ivshmem_guest_close(&g); /* twice: harmless */
	rm_fake(&f);
}

struct beater {
	uint32_t *hb;
	atomic_bool stop;
};

static void *beat(void *arg)
{
	struct beater *b = (struct beater *)arg;
	struct timespec ts = {0, 2000000};

	while (!atomic_load(&b->stop)) {
		vr_region_store((unsigned char *)b->hb - VR_RH_DRIVER_HEARTBEAT,
				VR_RH_DRIVER_HEARTBEAT,
				vr_region_load((unsigned char *)b->hb - VR_RH_DRIVER_HEARTBEAT,
					       VR_RH_DRIVER_HEARTBEAT) + 1);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void test_heartbeat_liveness(void **state)
{
	struct fake f;
	struct vr_ivshmem_guest_cfg c;
	struct vr_ivshmem_guest g;
	struct beater b;
	pthread_t thr;
	unsigned char *m;
	uint64_t t0;
	int st;
	(void)state;

	make_fake(&f, false, 0, 1 << 20);
	format_region(&f, VR_FORMAT_SPLIT);
	m = (unsigned char *)map_shm(&f);
	c = base_cfg(&f, VR_ROLE_DEVICE);
	assert_int_equal(vr_ivshmem_guest_open(&g, &c), 0);
	assert_int_equal(vr_ivshmem_guest_irq_mode(&g), VR_IVSHMEM_GUEST_IRQ_NONE);
	assert_true(g.t.flags & VR_TRANSPORT_POLLING);
	assert_int_equal(vr_ivshmem_guest_id(&g), -1);
	/* Our own heartbeat moves. */
	{
		uint32_t h0 = vr_region_load(m, VR_RH_DEVICE_HEARTBEAT);
		struct timespec ts = {0, 50000000};

		nanosleep(&ts, NULL);
		assert_true(vr_region_load(m, VR_RH_DEVICE_HEARTBEAT) != h0);
	}
	b.hb = (uint32_t *)(void *)(m + VR_RH_DRIVER_HEARTBEAT);
	atomic_init(&b.stop, false);
	assert_int_equal(pthread_create(&thr, NULL, beat, &b), 0);
	assert_int_equal(vr_ivshmem_guest_attach_peer(&g, 2000 * MS), 0);
	assert_int_equal(g.t.ops->peer_state(&g.t), VR_PEER_ALIVE);
	assert_int_equal(vr_ivshmem_guest_attach_peer(&g, 0), VR_ESTATE);
	assert_string_equal(vr_ivshmem_guest_peer_error(&g), "");
	/* The driver stops: dead within the liveness timeout (200 ms) plus
	 * slack for a loaded machine, and not before it. */
	atomic_store(&b.stop, true);
	pthread_join(thr, NULL);
	t0 = now_ns();
	while ((st = g.t.ops->peer_state(&g.t)) == VR_PEER_ALIVE && now_ns() - t0 < 5000 * MS) {
		struct timespec ts = {0, 1000000};

		nanosleep(&ts, NULL);
	}
	assert_int_equal(st, VR_EPEERDEAD);
	assert_true(now_ns() - t0 >= 150 * MS);
	assert_string_equal(vr_ivshmem_guest_peer_error(&g), "heartbeat stopped");
	assert_int_equal(g.t.ops->wait(&g.t, 0, 10 * MS), VR_EPEERDEAD);
	assert_int_equal(g.t.ops->notify(&g.t, 0), VR_EPEERDEAD);
	/* A new driver session: the generation moves; attach again. */
	vr_region_store(m, VR_RH_GENERATION, vr_region_load(m, VR_RH_GENERATION) + 1);
	atomic_store(&b.stop, false);
	assert_int_equal(pthread_create(&thr, NULL, beat, &b), 0);
	assert_int_equal(vr_ivshmem_guest_attach_peer(&g, 2000 * MS), 0);
	assert_int_equal(g.t.ops->peer_state(&g.t), VR_PEER_ALIVE);
	/* ... and a generation change while attached is a dead driver. */
	vr_region_store(m, VR_RH_GENERATION, vr_region_load(m, VR_RH_GENERATION) + 1);
	assert_int_equal(g.t.ops->peer_state(&g.t), VR_EPEERDEAD);
	assert_string_equal(vr_ivshmem_guest_peer_error(&g), "region generation changed");
	atomic_store(&b.stop, true);
	pthread_join(thr, NULL);
	vr_ivshmem_guest_close(&g);
	munmap(m, (size_t)f.bar_len[2]);
	rm_fake(&f);
}

/* Two ends on one fake device, a driver that lays the region out and a
 * device, exchange messages through a channel (polling). */
struct side {
	struct vr_ivshmem_guest g;
	struct vr_chan ch;
	void *state;
	int rc;
	uint32_t n;
};

static void *dev_main(void *arg)
{
	struct side *s = (struct side *)arg;
	struct vr_chan_cfg cc;
	unsigned char buf[256];
	uint32_t i;
	int rc;

	memset(&cc, 0, sizeof(cc));
	s->rc = vr_ivshmem_guest_attach_peer(&s->g, 5000 * MS);
	if (s->rc)
		return NULL;
	s->state = malloc(vr_chan_state_size(&s->g.t));
	do
		rc = vr_chan_open(&s->ch, &s->g.t, &cc, s->state, vr_chan_state_size(&s->g.t));
	while (rc == VR_EAGAIN);
	s->rc = rc;
	for (i = 0; i < s->n && !s->rc; i++) {
		rc = vr_chan_recv(&s->ch, buf, sizeof(buf), 5000 * MS);
		if (rc != (int)(2 + i % 199) || buf[0] != (unsigned char)i ||
		    buf[rc - 1] != (unsigned char)(i * 7)) {
			s->rc = rc < 0 ? rc : -1000;
			break;
		}
		s->rc = vr_chan_send(&s->ch, buf, (size_t)rc, 5000 * MS);
	}
	return NULL;
}

static void run_pair(uint32_t format)
{
	struct fake f;
	struct vr_ivshmem_guest_cfg cd, cv;
	struct vr_region_cfg rc = region_cfg(format);
	struct side drv, dev;
	struct vr_chan_cfg cc;
	unsigned char buf[256], in[256];
	pthread_t thr;
	uint32_t i;

	memset(&drv, 0, sizeof(drv));
	memset(&dev, 0, sizeof(dev));
	make_fake(&f, false, 0, 1 << 20);
	cd = base_cfg(&f, VR_ROLE_DRIVER);
	cd.flags |= VR_IVSHMEM_GUEST_FORMAT;
	cd.region = &rc;
	cd.liveness_timeout_ns = 3000 * MS;
	assert_int_equal(vr_ivshmem_guest_open(&drv.g, &cd), 0);
	cv = base_cfg(&f, VR_ROLE_DEVICE);
	cv.liveness_timeout_ns = 3000 * MS;
	assert_int_equal(vr_ivshmem_guest_open(&dev.g, &cv), 0);
	dev.n = 2000;
	assert_int_equal(pthread_create(&thr, NULL, dev_main, &dev), 0);
	memset(&cc, 0, sizeof(cc));
	drv.state = malloc(vr_chan_state_size(&drv.g.t));
	assert_int_equal(vr_chan_open(&drv.ch, &drv.g.t, &cc, drv.state,
				      vr_chan_state_size(&drv.g.t)), 0);
	assert_int_equal(vr_ivshmem_guest_attach_peer(&drv.g, 5000 * MS), 0);
	for (i = 0; i < dev.n; i++) {
		uint32_t len = 2 + i % 199;
		int r;

		memset(buf, (int)(i & 0xff), len);
		buf[len - 1] = (unsigned char)(i * 7);
		buf[0] = (unsigned char)i;
		assert_int_equal(vr_chan_send(&drv.ch, buf, len, 5000 * MS), 0);
		r = vr_chan_recv(&drv.ch, in, sizeof(in), 5000 * MS);
		if (r != (int)len)
			fprintf(stderr, "message %u: recv %d, device rc %d\n", i, r, dev.rc);
		assert_int_equal(r, (int)len);
		assert_memory_equal(in, buf, len);
	}
	pthread_join(thr, NULL);
	assert_int_equal(dev.rc, 0);
	/* The driver leaving moves the generation: the device sees it. */
	vr_ivshmem_guest_close(&drv.g);
	assert_int_equal(dev.g.t.ops->peer_state(&dev.g.t), VR_EPEERDEAD);
	vr_ivshmem_guest_close(&dev.g);
	free(drv.state);
	free(dev.state);
	rm_fake(&f);
}

static void test_channel_split(void **state)
{
	(void)state;
	run_pair(VR_FORMAT_SPLIT);
}

static void test_channel_packed(void **state)
{
	(void)state;
	run_pair(VR_FORMAT_PACKED);
}

/* A driver opening a region a previous session used: the old device's
 * used ring must not survive into the new session. */
static void test_new_session_zeroes_rings(void **state)
{
	struct fake f;
	struct vr_ivshmem_guest_cfg c;
	struct vr_ivshmem_guest g;
	struct vr_region_info info;
	struct vr_split_areas a;
	unsigned char *m;
	uint32_t gen;
	(void)state;

	make_fake(&f, false, 0, 1 << 20);
	format_region(&f, VR_FORMAT_SPLIT);
	m = (unsigned char *)map_shm(&f);
	assert_int_equal(vr_region_parse(m, (size_t)f.bar_len[2], &info), 0);
	assert_int_equal(vr_region_split_areas(m, &info, 0, &a), 0);
	memset(a.used, 0x5a, 6 + 8 * 64);
	vr_region_store(m, VR_RH_DEVICE_STATUS, 15);
	gen = vr_region_load(m, VR_RH_GENERATION);
	c = base_cfg(&f, VR_ROLE_DRIVER);
	assert_int_equal(vr_ivshmem_guest_open(&g, &c), 0);
	assert_int_equal(((unsigned char *)a.used)[2], 0);
	assert_int_equal(vr_region_load(m, VR_RH_DEVICE_STATUS), 0);
	assert_int_equal(vr_region_load(m, VR_RH_GENERATION), gen + 1);
	vr_ivshmem_guest_close(&g);
	munmap(m, (size_t)f.bar_len[2]);
	rm_fake(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regs),
		cmocka_unit_test(test_no_device),
		cmocka_unit_test(test_bar_checks),
		cmocka_unit_test(test_ivposition),
		cmocka_unit_test(test_region_checks),
		cmocka_unit_test(test_bad_cfg),
		cmocka_unit_test(test_doorbell_register),
		cmocka_unit_test(test_heartbeat_liveness),
		cmocka_unit_test(test_channel_split),
		cmocka_unit_test(test_channel_packed),
		cmocka_unit_test(test_new_session_zeroes_rings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

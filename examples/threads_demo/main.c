/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libvring threads demo: a driver thread and a device thread exchange
 * messages over one shared region, first through a split ring, then through
 * a packed ring. The driver sends 64-byte messages carrying a sequence
 * number; the device checks each one and acknowledges it with a 16-byte
 * reply written into the chain's writable buffer; the driver checks the
 * reply. Buffers live in the region after the ring and descriptors carry
 * offsets into the region, as two VMs sharing a region would do.
 *
 * Each side polls while there is work, spins briefly when there is none,
 * then arms notifications and sleeps on a futex doorbell that the peer
 * rings only when the ring's suppression logic says so. The report gives
 * messages/s, cycles/message and notifications/message per format.
 *
 *   vring_threads_demo [--messages N] [--format split|packed|both]
 *                      [--queue-size N] [--no-event-idx]
 */
#define _GNU_SOURCE

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vring/vring.h>

#define DEMO_DEFAULT_MESSAGES 2000000ull
#define DEMO_DEFAULT_QSIZE 256u
#define DEMO_MSG_BYTES 64u   /* driver -> device */
#define DEMO_REPLY_BYTES 16u /* device -> driver */
#define DEMO_BLOCK 128u      /* message at 0, reply at 64 */
#define DEMO_SPIN 256u       /* idle polls before arming and sleeping */
#define DEMO_WAIT_MS 1000u   /* futex timeout; the loop re-checks after */
#define DEMO_REPLY_MAGIC 0xac4e0000ac4e0000ull

/* ---- Options ---------------------------------------------------------------- */

struct demo_opts {
	uint64_t messages;
	bool split, packed;
	uint32_t qsize;
	bool event_idx;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vring_threads_demo [options]\n"
		"  --messages N         messages per format (default %llu)\n"
		"  --format F           split, packed or both (default both)\n"
		"  --queue-size N       queue size, 2..32768 (a message takes two\n"
		"                       descriptors); a power of two for split\n"
		"                       (default %u)\n"
		"  --no-event-idx       do not negotiate VIRTIO_F_EVENT_IDX\n"
		"  --help               this text\n",
		(unsigned long long)DEMO_DEFAULT_MESSAGES, DEMO_DEFAULT_QSIZE);
}

static int bad_arg(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "vring_threads_demo: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\n(try --help)\n");
	return -1;
}

/* Parse a decimal count in [min, max]. */
static int parse_count(const char *opt, const char *s, uint64_t min,
		       uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s)
		return bad_arg("%s needs a value%s", opt, "");
	if (*s < '0' || *s > '9')
		return bad_arg("%s: \"%s\" is not a number", opt, s);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return bad_arg("%s: \"%s\" is not a number", opt, s);
	if (v < min || v > max) {
		fprintf(stderr,
			"vring_threads_demo: %s: %llu is out of range %llu..%llu\n"
			"(try --help)\n",
			opt, v, (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

/* Returns 0 to run, 1 after --help, -1 on a bad argument. */
static int parse_args(int argc, char **argv, struct demo_opts *o)
{
	int i;

	o->messages = DEMO_DEFAULT_MESSAGES;
	o->split = o->packed = true;
	o->qsize = DEMO_DEFAULT_QSIZE;
	o->event_idx = true;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		char name[32];
		const char *eq = strchr(a, '=');
		uint64_t v;

		/* Accept both "--opt value" and "--opt=value". */
		if (eq && (size_t)(eq - a) < sizeof(name)) {
			memcpy(name, a, (size_t)(eq - a));
			name[eq - a] = '\0';
			a = name;
			val = eq + 1;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 1;
		} else if (strcmp(a, "--no-event-idx") == 0 && !val) {
			o->event_idx = false;
		} else if (strcmp(a, "--messages") == 0 ||
			   strcmp(a, "--queue-size") == 0 ||
			   strcmp(a, "--format") == 0) {
			if (!val) {
				if (i + 1 >= argc)
					return bad_arg("%s needs a value%s", a, "");
				val = argv[++i];
			}
			if (strcmp(a, "--messages") == 0) {
				if (parse_count(a, val, 1, UINT64_C(1) << 40, &v))
					return -1;
				o->messages = v;
			} else if (strcmp(a, "--queue-size") == 0) {
				if (parse_count(a, val, 2, VR_QUEUE_SIZE_MAX, &v))
					return -1;
				o->qsize = (uint32_t)v;
			} else if (strcmp(val, "split") == 0) {
				o->split = true;
				o->packed = false;
			} else if (strcmp(val, "packed") == 0) {
				o->split = false;
				o->packed = true;
			} else if (strcmp(val, "both") == 0) {
				o->split = o->packed = true;
			} else {
				return bad_arg("--format: \"%s\" is not split, "
					       "packed or both%s",
					       val, "");
			}
		} else {
			return bad_arg("unknown argument \"%s\"%s", argv[i], "");
		}
	}
	if (o->split && !vr_split_size_valid(o->qsize)) {
		fprintf(stderr,
			"vring_threads_demo: --queue-size %u: a split ring needs a "
			"power of two (use --format packed for other sizes)\n",
			o->qsize);
		return -1;
	}
	return 0;
}

/* ---- Time and cycles -------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
static inline uint64_t cycles_now(void)
{
	uint32_t lo, hi;

	__asm__ __volatile__("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}
#elif defined(__aarch64__)
static inline uint64_t cycles_now(void)
{
	uint64_t v;

	__asm__ __volatile__("isb; mrs %0, cntvct_el0" : "=r"(v)::"memory");
	return v;
}
#else
static inline uint64_t cycles_now(void)
{
	return now_ns();
}
#endif

/* Describe the counter behind cycles_now(); on x86-64 measure the TSC
 * frequency against CLOCK_MONOTONIC first. */
static void cycles_calibrate(char *what, size_t len)
{
#if defined(__x86_64__)
	uint64_t t0, t1, c0, c1;
	double hz;

	t0 = now_ns();
	c0 = cycles_now();
	while ((t1 = now_ns()) - t0 < 100000000u) /* 100 ms */
		;
	c1 = cycles_now();
	hz = (double)(c1 - c0) * 1e9 / (double)(t1 - t0);
	snprintf(what, len,
		 "rdtsc; TSC at %.3f GHz, measured against CLOCK_MONOTONIC "
		 "over 100 ms (cycles = TSC reference cycles)",
		 hz / 1e9);
#elif defined(__aarch64__)
	uint64_t f;

	__asm__ __volatile__("mrs %0, cntfrq_el0" : "=r"(f));
	snprintf(what, len,
		 "cntvct_el0 at %.3f MHz (cntfrq_el0); cycles = counter "
		 "ticks, not CPU cycles",
		 (double)f / 1e6);
#else
	snprintf(what, len,
		 "clock_gettime(CLOCK_MONOTONIC): no cycle counter on this "
		 "CPU, cycles/msg column is nanoseconds/message");
#endif
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* ---- Doorbells ---------------------------------------------------------------- */

/* A futex word per direction. The sleeper reads it before arming, so a ring
 * landing between its arm and its wait makes the wait return at once. */
struct bell {
	_Alignas(64) _Atomic uint32_t word;
	_Atomic uint64_t rings;
};

static void bell_ring(struct bell *b)
{
	atomic_fetch_add(&b->word, 1);
	atomic_fetch_add_explicit(&b->rings, 1, memory_order_relaxed);
	syscall(SYS_futex, (uint32_t *)&b->word, FUTEX_WAKE_PRIVATE, 1, NULL,
		NULL, 0);
}

static void bell_wait(struct bell *b, uint32_t seen)
{
	struct timespec ts = { DEMO_WAIT_MS / 1000,
			       (long)(DEMO_WAIT_MS % 1000) * 1000000L };

	syscall(SYS_futex, (uint32_t *)&b->word, FUTEX_WAIT_PRIVATE, seen, &ts,
		NULL, 0);
}

/* ---- One ring, both roles ------------------------------------------------------ */

struct demo {
	bool packed;
	uint32_t num;
	uint64_t messages;
	unsigned char *region;
	size_t region_len;
	size_t pool_off; /* first buffer block, offset in the region */
	_Alignas(64) struct vr_split_drv sdrv;
	_Alignas(64) struct vr_split_dev sdev;
	_Alignas(64) struct vr_packed_drv pdrv;
	_Alignas(64) struct vr_packed_dev pdev;
	void *drv_state, *dev_state;
	struct bell to_dev, to_drv;
	_Atomic int stop;
	_Atomic int failed;
	int cpu[2];
};

static void demo_fail(struct demo *d, const char *who, const char *what, int err)
{
	fprintf(stderr, "vring_threads_demo: %s ring, %s: %s: %s (%s)\n",
		d->packed ? "packed" : "split", who, what, vr_errname(err),
		vr_strerror(err));
	atomic_store(&d->failed, 1);
	atomic_store(&d->stop, 1);
	bell_ring(&d->to_dev);
	bell_ring(&d->to_drv);
}

static void pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* Best effort: a failure only costs some performance. */
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *driver_main(void *arg)
{
	struct demo *d = (struct demo *)arg;
	uint64_t sent = 0, done = 0;
	uint32_t *free_blocks = malloc(d->num * sizeof(*free_blocks));
	uint32_t nfree = 0, i;
	unsigned idle = 0;

	pin_self(d->cpu[0]);
	if (!free_blocks) {
		fprintf(stderr, "vring_threads_demo: out of memory\n");
		atomic_store(&d->failed, 1);
		atomic_store(&d->stop, 1);
		bell_ring(&d->to_dev);
		return NULL;
	}
	for (i = 0; i < d->num; i++)
		free_blocks[nfree++] = d->num - 1 - i;
	if (d->packed)
		vr_packed_drv_suppress_used_notify(&d->pdrv);
	else
		vr_split_drv_suppress_used_notify(&d->sdrv);

	while (done < d->messages && !atomic_load_explicit(&d->stop, memory_order_relaxed)) {
		struct vr_used_buf u;
		bool progress = false;
		int ret;

		/* Collect acknowledgements and check them. */
		for (;;) {
			ret = d->packed ? vr_packed_drv_get_used(&d->pdrv, &u)
					: vr_split_drv_get_used(&d->sdrv, &u);
			if (ret)
				break;
			{
				uint32_t b = (uint32_t)(uintptr_t)u.cookie;
				const unsigned char *blk =
					d->region + d->pool_off + (size_t)b * DEMO_BLOCK;
				uint64_t seq, ack;

				memcpy(&seq, blk, 8);
				memcpy(&ack, blk + DEMO_MSG_BYTES, 8);
				if (u.len != DEMO_REPLY_BYTES ||
				    ack != (seq ^ DEMO_REPLY_MAGIC)) {
					fprintf(stderr, "vring_threads_demo: bad "
							"reply to message %" PRIu64 "\n",
						seq);
					atomic_store(&d->failed, 1);
					atomic_store(&d->stop, 1);
					bell_ring(&d->to_dev);
					goto out;
				}
				free_blocks[nfree++] = b;
				done++;
				progress = true;
			}
		}
		if (ret != VR_EAGAIN) {
			demo_fail(d, "driver", "get_used", ret);
			break;
		}

		/* Send as many as fit, then one publish and one kick check. */
		if (sent < d->messages && nfree > 0) {
			unsigned added = 0;

			while (sent < d->messages && nfree > 0) {
				uint32_t b = free_blocks[nfree - 1];
				size_t off = d->pool_off + (size_t)b * DEMO_BLOCK;
				unsigned char *blk = d->region + off;
				struct vr_seg seg[2] = {
					{ off, DEMO_MSG_BYTES },
					{ off + DEMO_MSG_BYTES, DEMO_REPLY_BYTES },
				};
				uint64_t fill = sent * 0x9e3779b97f4a7c15ull;

				memcpy(blk, &sent, 8);
				for (i = 8; i < DEMO_MSG_BYTES; i += 8)
					memcpy(blk + i, &fill, 8);
				ret = d->packed
					? vr_packed_drv_add(&d->pdrv, seg, 1, 1,
							    (void *)(uintptr_t)b)
					: vr_split_drv_add(&d->sdrv, seg, 1, 1,
							   (void *)(uintptr_t)b);
				if (ret == VR_ENOSPC)
					break;
				if (ret < 0) {
					demo_fail(d, "driver", "add", ret);
					goto out;
				}
				nfree--;
				sent++;
				added++;
			}
			if (added) {
				ret = d->packed ? vr_packed_drv_kick_prepare(&d->pdrv)
						: vr_split_drv_kick_prepare(&d->sdrv);
				if (ret < 0) {
					demo_fail(d, "driver", "kick_prepare", ret);
					break;
				}
				if (ret)
					bell_ring(&d->to_dev);
				progress = true;
			}
		}
		if (progress) {
			idle = 0;
			continue;
		}
		if (idle++ < DEMO_SPIN) {
			cpu_relax();
			continue;
		}
		idle = 0;
		{
			uint32_t seen = atomic_load(&d->to_drv.word);

			ret = d->packed ? vr_packed_drv_arm_used_notify(&d->pdrv)
					: vr_split_drv_arm_used_notify(&d->sdrv);
			if (ret < 0) {
				demo_fail(d, "driver", "arm_used_notify", ret);
				break;
			}
			if (ret == 0)
				bell_wait(&d->to_drv, seen);
			if (d->packed)
				vr_packed_drv_suppress_used_notify(&d->pdrv);
			else
				vr_split_drv_suppress_used_notify(&d->sdrv);
		}
	}
out:
	free(free_blocks);
	return NULL;
}

static void *device_main(void *arg)
{
	struct demo *d = (struct demo *)arg;
	uint64_t expect = 0;
	unsigned idle = 0;

	pin_self(d->cpu[1]);
	if (d->packed)
		vr_packed_dev_suppress_avail_notify(&d->pdev);
	else
		vr_split_dev_suppress_avail_notify(&d->sdev);

	while (expect < d->messages && !atomic_load_explicit(&d->stop, memory_order_relaxed)) {
		struct vr_iov iov[2];
		struct vr_chain c;
		unsigned handled = 0;
		int ret;

		/* Take everything available, acknowledge each, publish once. */
		for (;;) {
			uint64_t seq, ack;

			c.iov = iov;
			c.iov_cap = 2;
			ret = d->packed ? vr_packed_dev_pop(&d->pdev, &c)
					: vr_split_dev_pop(&d->sdev, &c);
			if (ret)
				break;
			if (c.n_out != 1 || c.n_in != 1 ||
			    iov[0].len != DEMO_MSG_BYTES ||
			    iov[1].len != DEMO_REPLY_BYTES) {
				fprintf(stderr, "vring_threads_demo: unexpected "
						"chain shape\n");
				atomic_store(&d->failed, 1);
				atomic_store(&d->stop, 1);
				bell_ring(&d->to_drv);
				return NULL;
			}
			memcpy(&seq, iov[0].base, 8);
			if (seq != expect) {
				fprintf(stderr, "vring_threads_demo: message %" PRIu64
						" arrived where %" PRIu64 " was due\n",
					seq, expect);
				atomic_store(&d->failed, 1);
				atomic_store(&d->stop, 1);
				bell_ring(&d->to_drv);
				return NULL;
			}
			ack = seq ^ DEMO_REPLY_MAGIC;
			memcpy(iov[1].base, &ack, 8);
			memcpy((unsigned char *)iov[1].base + 8, &seq, 8);
			ret = d->packed
				? vr_packed_dev_complete(&d->pdev, c.id, DEMO_REPLY_BYTES)
				: vr_split_dev_complete(&d->sdev, c.id, DEMO_REPLY_BYTES);
			if (ret) {
				demo_fail(d, "device", "complete", ret);
				return NULL;
			}
			expect++;
			handled++;
		}
		if (ret != VR_EAGAIN) {
			demo_fail(d, "device", "pop", ret);
			return NULL;
		}
		if (handled) {
			ret = d->packed ? vr_packed_dev_notify_prepare(&d->pdev)
					: vr_split_dev_notify_prepare(&d->sdev);
			if (ret < 0) {
				demo_fail(d, "device", "notify_prepare", ret);
				return NULL;
			}
			if (ret)
				bell_ring(&d->to_drv);
			idle = 0;
			continue;
		}
		if (idle++ < DEMO_SPIN) {
			cpu_relax();
			continue;
		}
		idle = 0;
		{
			uint32_t seen = atomic_load(&d->to_dev.word);

			ret = d->packed ? vr_packed_dev_arm_avail_notify(&d->pdev)
					: vr_split_dev_arm_avail_notify(&d->sdev);
			if (ret < 0) {
				demo_fail(d, "device", "arm_avail_notify", ret);
				return NULL;
			}
			if (ret == 0)
				bell_wait(&d->to_dev, seen);
			if (d->packed)
				vr_packed_dev_suppress_avail_notify(&d->pdev);
			else
				vr_split_dev_suppress_avail_notify(&d->sdev);
		}
	}
	return NULL;
}

/* Lay out the ring and the buffer pool in one region and set up both
 * queues. Returns 0 or a VR_E* code. */
static int demo_setup(struct demo *d, const struct demo_opts *o, bool packed)
{
	struct vr_queue_cfg cfg;
	struct vr_layout lay;
	size_t ds, vs;
	int err;

	d->packed = packed;
	d->num = o->qsize;
	d->messages = o->messages;
	err = packed ? vr_packed_layout(d->num, &lay)
		     : vr_split_layout(d->num, VR_LEGACY_ALIGN, &lay);
	if (err)
		return err;
	d->pool_off = (lay.total + 4095) & ~(size_t)4095;
	d->region_len = d->pool_off + (size_t)d->num * DEMO_BLOCK;
	d->region = aligned_alloc(4096, (d->region_len + 4095) & ~(size_t)4095);
	if (!d->region)
		return VR_ERANGE;
	memset(d->region, 0, d->region_len);

	memset(&cfg, 0, sizeof(cfg));
	cfg.num = d->num;
	cfg.features = VR_FEATURE(VR_F_VERSION_1);
	if (packed)
		cfg.features |= VR_FEATURE(VR_F_RING_PACKED);
	if (o->event_idx)
		cfg.features |= VR_FEATURE(VR_F_EVENT_IDX);
	/* Bus address = offset in the region, on both sides. */
	cfg.mem = vr_mem_window(d->region, 0, d->region_len);

	ds = packed ? vr_packed_drv_state_size(d->num) : vr_split_drv_state_size(d->num);
	vs = packed ? vr_packed_dev_state_size(d->num) : vr_split_dev_state_size(d->num);
	d->drv_state = aligned_alloc(64, (ds + 63) & ~(size_t)63);
	d->dev_state = aligned_alloc(64, (vs + 63) & ~(size_t)63);
	if (!d->drv_state || !d->dev_state)
		return VR_ERANGE;
	if (packed) {
		struct vr_packed_areas a;

		err = vr_packed_areas_from_region(&a, d->region, lay.total, d->num);
		if (!err)
			err = vr_packed_drv_init(&d->pdrv, &cfg, &a, d->drv_state, ds);
		if (!err)
			err = vr_packed_dev_init(&d->pdev, &cfg, &a, d->dev_state, vs);
	} else {
		struct vr_split_areas a;

		err = vr_split_areas_from_region(&a, d->region, lay.total, d->num,
						 VR_LEGACY_ALIGN);
		if (!err)
			err = vr_split_drv_init(&d->sdrv, &cfg, &a, d->drv_state, ds);
		if (!err)
			err = vr_split_dev_init(&d->sdev, &cfg, &a, d->dev_state, vs);
	}
	return err;
}

static void demo_teardown(struct demo *d)
{
	free(d->region);
	free(d->drv_state);
	free(d->dev_state);
}

/* Pick two different CPUs this process may run on, or -1 for "do not pin". */
static void pick_cpus(int cpu[2])
{
	cpu_set_t set;
	int i, n = 0;

	cpu[0] = cpu[1] = -1;
	if (sched_getaffinity(0, sizeof(set), &set) != 0 || CPU_COUNT(&set) < 2)
		return;
	for (i = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, &set))
			cpu[n++] = i;
	if (n < 2)
		cpu[0] = cpu[1] = -1;
}

static int run_format(const struct demo_opts *o, bool packed)
{
	struct demo *d;
	pthread_t drv, dev;
	uint64_t t0, t1, c0, c1, notes;
	double secs;
	int err, failed;

	d = aligned_alloc(64, (sizeof(*d) + 63) & ~(size_t)63);
	if (!d) {
		fprintf(stderr, "vring_threads_demo: out of memory\n");
		return -1;
	}
	memset(d, 0, sizeof(*d));
	pick_cpus(d->cpu);
	err = demo_setup(d, o, packed);
	if (err) {
		fprintf(stderr, "vring_threads_demo: %s ring set-up failed: %s (%s)\n",
			packed ? "packed" : "split", vr_errname(err), vr_strerror(err));
		demo_teardown(d);
		free(d);
		return -1;
	}

	t0 = now_ns();
	c0 = cycles_now();
	if (pthread_create(&dev, NULL, device_main, d) != 0) {
		fprintf(stderr, "vring_threads_demo: cannot start a thread\n");
		demo_teardown(d);
		free(d);
		return -1;
	}
	if (pthread_create(&drv, NULL, driver_main, d) != 0) {
		fprintf(stderr, "vring_threads_demo: cannot start a thread\n");
		atomic_store(&d->stop, 1);
		bell_ring(&d->to_dev);
		pthread_join(dev, NULL);
		demo_teardown(d);
		free(d);
		return -1;
	}
	pthread_join(drv, NULL);
	pthread_join(dev, NULL);
	c1 = cycles_now();
	t1 = now_ns();

	failed = atomic_load(&d->failed);
	if (!failed) {
		secs = (double)(t1 - t0) / 1e9;
		notes = atomic_load(&d->to_dev.rings) + atomic_load(&d->to_drv.rings);
		printf("%-7s %12" PRIu64 " %9.3f %13.0f %11.1f %18.4f\n",
		       packed ? "packed" : "split", d->messages, secs,
		       (double)d->messages / secs,
		       (double)(c1 - c0) / (double)d->messages,
		       (double)notes / (double)d->messages);
		fflush(stdout);
	}
	demo_teardown(d);
	free(d);
	return failed ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct demo_opts o;
	char clock_desc[160];
	int cpu[2], rc = 0, p;

	p = parse_args(argc, argv, &o);
	if (p)
		return p > 0 ? 0 : 2;

	cycles_calibrate(clock_desc, sizeof(clock_desc));
	pick_cpus(cpu);
	printf("libvring %d.%d.%d threads demo: %" PRIu64 " messages per format, "
	       "queue size %u, EVENT_IDX %s\n",
	       VR_VERSION_MAJOR, VR_VERSION_MINOR, VR_VERSION_PATCH, o.messages,
	       o.qsize, o.event_idx ? "on" : "off");
	printf("message %u bytes, reply %u bytes; ", DEMO_MSG_BYTES, DEMO_REPLY_BYTES);
	if (cpu[0] >= 0)
		printf("driver thread on CPU %d, device thread on CPU %d\n", cpu[0],
		       cpu[1]);
	else
		printf("threads not pinned (fewer than 2 CPUs available)\n");
	printf("clock: %s\n", clock_desc);
	printf("wall cyc/msg: elapsed counter ticks per message, waiting included (not CPU cost)\n\n");
	printf("%-7s %12s %9s %13s %11s %18s\n", "format", "messages", "seconds",
	       "messages/s", "wall cyc/msg", "notifications/msg");
	if (o.split && run_format(&o, false))
		rc = 1;
	if (o.packed && run_format(&o, true))
		rc = 1;
	return rc;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The other process of the two-process tests. One executable, three roles:
 *
 *   vr_peer device --socket P --end E [--resume] [--log F] ...
 *       Connects (device role), receives messages zero-copy (borrow,
 *       check every byte, log the seq, release), sends a PROGRESS control
 *       message every --reply-every messages and DONE after seq E - 1,
 *       then exits 0. Without --resume the stream must start at seq 0;
 *       with it, the first message names where it starts (bytes 0..3).
 *       With --log, each seq is appended (4 bytes, O_APPEND) before the
 *       message is released, and again with bit 31 set (PC_LOG_ACKED)
 *       once the release has returned: every acknowledged message is in
 *       the log, and those known to be acknowledged are marked.
 *       --open-delay-ms N waits N ms between attaching and opening the
 *       channel (a slow device).
 *
 *   vr_peer driver --socket P --end E --format split|packed [--polling]
 *       Listens (memfd, driver role), accepts one device, waits for its
 *       RESUME control message, sends seq RESUME.next .. E - 1, waits for
 *       DONE, exits 0.
 *
 *   vr_peer intruder --socket P --dir D --region-bytes N --buf-bytes B
 *                    --buf-count C [--listener-pid PID]
 *       Calls vr_shm_connect on a socket whose listener has a device
 *       attached: must get VR_EPERM. Then looks for the region by name:
 *       D must hold nothing but the socket, and no object in /dev/shm may
 *       be that region. With --listener-pid, also says (on stderr, for
 *       information) whether /proc/PID/fd lets it open the memfd.
 *
 * Exit codes: 0 success; 2 usage; 10+ set-up; 20+ stream errors; 30+
 * intruder findings. Every failure prints one line on stderr.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vring/channel.h>
#include <vring/shm.h>

#include "common.h"

struct opts {
	const char *role;
	const char *socket;
	const char *log;
	const char *dir;
	uint32_t end;
	uint64_t seed;
	uint32_t min_len;
	uint32_t reply_every;
	uint64_t timeout_ns;
	bool resume;
	uint32_t format;
	bool polling;
	uint32_t qsize, buf_bytes, buf_count;
	uint64_t liveness_ns;
	uint64_t region_bytes;
	long listener_pid;
	uint64_t open_delay_ns;
};

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vr_peer[%ld]: ", (long)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* ---- Channel set-up ----------------------------------------------------------- */

static void *chan_state(const struct vr_shm *s, size_t *n)
{
	void *state;

	*n = vr_chan_state_size(&s->t);
	if (*n == 0)
		die(11, "vr_chan_state_size: region does not parse");
	state = aligned_alloc(64, (*n + 63) & ~(size_t)63);
	if (!state)
		die(11, "out of memory");
	return state;
}

/* Device: open, retrying while the driver is not ready yet. */
static void open_device(struct vr_chan *ch, struct vr_shm *s, void *state,
			size_t n, uint64_t timeout_ns)
{
	struct vr_chan_cfg cc;
	uint64_t end = pc_now_ns() + timeout_ns;
	int r;

	memset(&cc, 0, sizeof(cc));
	cc.features = PC_OFFERED; /* a device takes what the driver chose */
	while ((r = vr_chan_open(ch, &s->t, &cc, state, n)) == VR_EAGAIN) {
		if (pc_now_ns() > end)
			die(12, "vr_chan_open: driver not ready in time");
		pc_sleep_ns(PC_MS / 2);
	}
	if (r)
		die(12, "vr_chan_open: %s", vr_strerror(r));
}

static void send_ctl(struct vr_chan *ch, uint32_t kind, uint32_t first,
		     uint32_t next, uint64_t sum, bool zero_copy,
		     uint64_t timeout_ns)
{
	struct pc_ctl c;
	int r;

	memset(&c, 0, sizeof(c));
	c.magic = PC_CTL_MAGIC;
	c.kind = kind;
	c.first = first;
	c.next = next;
	c.sum = sum;
	c.pid = (uint32_t)getpid();
	if (zero_copy) {
		void *buf;
		uint32_t cap;
		int tok = vr_chan_send_reserve(ch, &buf, &cap, timeout_ns);

		if (tok < 0)
			die(23, "vr_chan_send_reserve (control): %s", vr_strerror(tok));
		if (cap < sizeof(c))
			die(23, "reserved buffer of %u bytes", cap);
		memcpy(buf, &c, sizeof(c));
		r = vr_chan_send_commit(ch, tok, sizeof(c));
	} else {
		r = vr_chan_send(ch, &c, sizeof(c), timeout_ns);
	}
	if (r)
		die(23, "sending control message %u: %s", kind, vr_strerror(r));
}

/* ---- Device ----------------------------------------------------------------------- */

static int device_main(const struct opts *o)
{
	struct vr_shm s;
	struct vr_chan ch;
	struct vr_chan_msg m;
	void *state;
	unsigned char *gather;
	size_t n;
	uint32_t max_len, expect = 0, first = UINT32_MAX, count = 0;
	uint64_t sum = 0;
	int r, fd = -1;

	memset(&s, 0, sizeof(s));
	r = vr_shm_connect(&s, o->socket, o->timeout_ns);
	if (r)
		die(10, "vr_shm_connect: %s (%s)", vr_strerror(r), vr_shm_last_error(&s));
	state = chan_state(&s, &n);
	/* A slow device: the driver has the region to itself meanwhile. */
	if (o->open_delay_ns)
		pc_sleep_ns(o->open_delay_ns);
	open_device(&ch, &s, state, n, o->timeout_ns);
	max_len = vr_chan_max_msg(&ch);
	gather = malloc(max_len);
	if (!gather)
		die(11, "out of memory");
	if (o->log) {
		fd = open(o->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0)
			die(13, "open %s: %s", o->log, strerror(errno));
	}

	while (expect < o->end) {
		const unsigned char *data;
		uint32_t seq, bad, want;
		uint64_t h;

		r = vr_chan_recv_borrow(&ch, &m, o->timeout_ns);
		if (r < 0)
			die(20, "vr_chan_recv_borrow after %u messages (next %u): %s (%s)",
			    count, expect, vr_strerror(r), vr_shm_peer_error(&s));
		if (m.nseg == 1) {
			data = (const unsigned char *)m.data;
		} else {
			uint32_t i, off = 0;

			if (m.len > max_len)
				die(21, "message of %u bytes in %u segments", m.len, m.nseg);
			for (i = 0; i < m.nseg; i++) {
				memcpy(gather + off, m.seg[i].base, m.seg[i].len);
				off += (uint32_t)m.seg[i].len;
			}
			data = gather;
		}
		if (first == UINT32_MAX) {
			if (o->resume) {
				if (m.len < 4)
					die(21, "first message of %u bytes names no seq", m.len);
				expect = pc_seq_of(data);
				if (expect >= o->end)
					die(21, "first message is seq %u, end %u", expect, o->end);
			}
			first = expect;
		}
		seq = expect;
		want = pc_len(o->seed, seq, o->min_len, max_len);
		if (m.len != want)
			die(21, "seq %u: %u bytes, expected %u (first %u)", seq, m.len, want,
			    first);
		h = pc_check(data, o->seed, seq, m.len, &bad);
		if (bad != UINT32_MAX)
			die(22, "seq %u (%u bytes): byte %u wrong (names seq %u)", seq, m.len,
			    bad, m.len >= 4 ? pc_seq_of(data) : 0);
		/* Logged before the release: every acknowledged message is in
		 * the log, and a message logged but not released is one the
		 * driver will send again. */
		if (fd >= 0 && write(fd, &seq, sizeof(seq)) != (ssize_t)sizeof(seq))
			die(24, "write log: %s", strerror(errno));
		r = vr_chan_recv_release(&ch, &m);
		if (r)
			die(20, "vr_chan_recv_release seq %u: %s", seq, vr_strerror(r));
		/* Released: its used entry is published, the driver has it. */
		if (fd >= 0) {
			uint32_t acked = seq | PC_LOG_ACKED;

			if (write(fd, &acked, sizeof(acked)) != (ssize_t)sizeof(acked))
				die(24, "write log: %s", strerror(errno));
		}
		sum += h;
		count++;
		expect++;
		if (expect == o->end)
			send_ctl(&ch, PC_DONE, first, expect, sum, count & 1, o->timeout_ns);
		else if (count % o->reply_every == 0)
			send_ctl(&ch, PC_PROGRESS, first, expect, sum,
				 (count / o->reply_every) & 1, o->timeout_ns);
	}
	if (fd >= 0)
		close(fd);
	free(gather);
	vr_shm_close(&s);
	free(state);
	return 0;
}

/* ---- Driver ------------------------------------------------------------------------- */

static void recv_ctl(struct vr_chan *ch, struct pc_ctl *c, uint32_t kind,
		     uint64_t timeout_ns)
{
	int r = vr_chan_recv(ch, c, sizeof(*c), timeout_ns);

	if (r < 0)
		die(20, "waiting for control message %u: %s", kind, vr_strerror(r));
	if (r != (int)sizeof(*c) || c->magic != PC_CTL_MAGIC || c->kind != kind)
		die(21, "expected control message %u, got %d bytes of kind %u", kind,
		    r, c->kind);
}

static int driver_main(const struct opts *o)
{
	struct vr_shm s;
	struct vr_shm_cfg sc;
	struct vr_chan ch;
	struct vr_chan_cfg cc;
	struct pc_ctl c;
	unsigned char *msg;
	void *state;
	size_t n;
	uint32_t seq;
	int r;

	memset(&s, 0, sizeof(s));
	memset(&sc, 0, sizeof(sc));
	pc_region_cfg(&sc.region, o->format, o->qsize, o->buf_bytes, o->buf_count);
	sc.backing = VR_SHM_MEMFD;
	sc.flags = o->polling ? VR_SHM_POLLING : 0;
	sc.socket_path = o->socket;
	sc.liveness_timeout_ns = o->liveness_ns;
	r = vr_shm_listen(&s, &sc);
	if (r)
		die(10, "vr_shm_listen: %s (%s)", vr_strerror(r), vr_shm_last_error(&s));
	state = chan_state(&s, &n);
	memset(&cc, 0, sizeof(cc));
	cc.features = pc_driver_features(o->polling);
	r = vr_chan_open(&ch, &s.t, &cc, state, n);
	if (r)
		die(12, "vr_chan_open: %s", vr_strerror(r));
	msg = malloc(o->buf_bytes);
	if (!msg)
		die(11, "out of memory");
	r = vr_shm_accept(&s, o->timeout_ns);
	if (r)
		die(10, "vr_shm_accept: %s (%s)", vr_strerror(r), vr_shm_last_error(&s));

	/* The application-level resume: the device says where to go on. */
	recv_ctl(&ch, &c, PC_RESUME, o->timeout_ns);
	if (c.next > o->end)
		die(21, "RESUME at %u beyond the end %u", c.next, o->end);
	for (seq = c.next; seq < o->end; seq++) {
		uint32_t len = pc_len(o->seed, seq, o->min_len, o->buf_bytes);

		if (seq & 1) {
			void *buf;
			uint32_t cap;
			int tok = vr_chan_send_reserve(&ch, &buf, &cap, o->timeout_ns);

			if (tok < 0)
				die(20, "vr_chan_send_reserve seq %u: %s", seq, vr_strerror(tok));
			pc_fill(buf, o->seed, seq, len);
			r = vr_chan_send_commit(&ch, tok, len);
		} else {
			pc_fill(msg, o->seed, seq, len);
			r = vr_chan_send(&ch, msg, len, o->timeout_ns);
		}
		if (r)
			die(20, "sending seq %u: %s (%s)", seq, vr_strerror(r),
			    vr_shm_peer_error(&s));
	}
	recv_ctl(&ch, &c, PC_DONE, o->timeout_ns);
	if (c.next != o->end)
		die(21, "DONE at %u, end %u", c.next, o->end);
	vr_shm_close(&s);
	free(state);
	free(msg);
	return 0;
}

/* ---- Intruder ------------------------------------------------------------------------ */

/* Is @path the region (magic, sizes and pool as the test made it)? */
static bool is_the_region(const char *path, const struct opts *o)
{
	unsigned char h[VR_REGION_HEADER_BYTES];
	uint64_t bytes;
	uint32_t bb, bc;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	ssize_t got;

	if (fd < 0)
		return false;
	got = pread(fd, h, sizeof(h), 0);
	close(fd);
	if (got != (ssize_t)sizeof(h) || memcmp(h, VR_REGION_MAGIC, 8) != 0)
		return false;
	memcpy(&bytes, h + VR_RH_REGION_BYTES, 8);
	memcpy(&bb, h + VR_RH_BUF_BYTES, 4);
	memcpy(&bc, h + VR_RH_BUF_COUNT, 4);
	return bytes == o->region_bytes && bb == o->buf_bytes && bc == o->buf_count;
}

static int intruder_main(const struct opts *o)
{
	struct vr_shm s;
	DIR *d;
	struct dirent *e;
	char path[512];
	int r;

	memset(&s, 0, sizeof(s));
	r = vr_shm_connect(&s, o->socket, o->timeout_ns);
	if (r == 0) {
		vr_shm_close(&s);
		die(30, "vr_shm_connect succeeded while a device is attached");
	}
	if (r != VR_EPERM)
		die(31, "vr_shm_connect: %s, expected VR_EPERM (%s)", vr_strerror(r),
		    vr_shm_last_error(&s));
	fprintf(stderr, "vr_peer[%ld] intruder: refused: %s\n", (long)getpid(),
		vr_shm_last_error(&s));

	/* No name leads to the region: the socket directory holds only the
	 * socket, and /dev/shm has no object that is this region. */
	d = opendir(o->dir);
	if (!d)
		die(32, "opendir %s: %s", o->dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    !strcmp(e->d_name, "sock"))
			continue;
		die(33, "%s holds %s besides the socket", o->dir, e->d_name);
	}
	closedir(d);
	d = opendir("/dev/shm");
	if (d) {
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
			if (is_the_region(path, o))
				die(34, "the region is reachable as %s", path);
		}
		closedir(d);
	}

	/* Information only: a process of the same uid that may ptrace the
	 * listener reaches its fds through /proc; that is outside what a
	 * transport can prevent without making the listener undumpable. */
	if (o->listener_pid > 0) {
		char fdir[64];
		int found = 0;

		snprintf(fdir, sizeof(fdir), "/proc/%ld/fd", o->listener_pid);
		d = opendir(fdir);
		if (d) {
			while ((e = readdir(d)) != NULL) {
				if (e->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path), "%s/%s", fdir, e->d_name);
				if (is_the_region(path, o))
					found = 1;
			}
			closedir(d);
		}
		fprintf(stderr, "vr_peer[%ld] intruder: /proc/%ld/fd %s the memfd "
			"(same uid, ptrace access)\n", (long)getpid(), o->listener_pid,
			found ? "opens" : "does not open");
	}
	return 0;
}

/* ---- Options ---------------------------------------------------------------------------- */

static uint64_t num(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || !*s || *end)
		die(2, "bad %s: %s", what, s);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"socket", required_argument, NULL, 's'},
		{"end", required_argument, NULL, 'e'},
		{"seed", required_argument, NULL, 'S'},
		{"min-len", required_argument, NULL, 'm'},
		{"reply-every", required_argument, NULL, 'k'},
		{"timeout-ms", required_argument, NULL, 't'},
		{"log", required_argument, NULL, 'l'},
		{"resume", no_argument, NULL, 'r'},
		{"format", required_argument, NULL, 'f'},
		{"polling", no_argument, NULL, 'p'},
		{"queue-size", required_argument, NULL, 'q'},
		{"buf-bytes", required_argument, NULL, 'b'},
		{"buf-count", required_argument, NULL, 'c'},
		{"liveness-ms", required_argument, NULL, 'L'},
		{"dir", required_argument, NULL, 'd'},
		{"region-bytes", required_argument, NULL, 'R'},
		{"listener-pid", required_argument, NULL, 'P'},
		{"open-delay-ms", required_argument, NULL, 'D'},
		{NULL, 0, NULL, 0}
	};
	struct opts o;
	int c;

	memset(&o, 0, sizeof(o));
	o.seed = 1;
	o.min_len = 1;
	o.reply_every = 64;
	o.timeout_ns = 10 * PC_SEC;
	o.qsize = 128;
	o.buf_bytes = 1024;
	o.buf_count = 128;
	if (argc < 2)
		die(2, "usage: vr_peer device|driver|intruder --socket PATH ...");
	o.role = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': o.socket = optarg; break;
		case 'e': o.end = (uint32_t)num(optarg, "end"); break;
		case 'S': o.seed = num(optarg, "seed"); break;
		case 'm': o.min_len = (uint32_t)num(optarg, "min-len"); break;
		case 'k': o.reply_every = (uint32_t)num(optarg, "reply-every"); break;
		case 't': o.timeout_ns = num(optarg, "timeout") * PC_MS; break;
		case 'l': o.log = optarg; break;
		case 'r': o.resume = true; break;
		case 'f':
			if (!strcmp(optarg, "split"))
				o.format = VR_FORMAT_SPLIT;
			else if (!strcmp(optarg, "packed"))
				o.format = VR_FORMAT_PACKED;
			else
				die(2, "bad format %s", optarg);
			break;
		case 'p': o.polling = true; break;
		case 'q': o.qsize = (uint32_t)num(optarg, "queue-size"); break;
		case 'b': o.buf_bytes = (uint32_t)num(optarg, "buf-bytes"); break;
		case 'c': o.buf_count = (uint32_t)num(optarg, "buf-count"); break;
		case 'L': o.liveness_ns = num(optarg, "liveness") * PC_MS; break;
		case 'd': o.dir = optarg; break;
		case 'R': o.region_bytes = num(optarg, "region-bytes"); break;
		case 'P': o.listener_pid = (long)num(optarg, "listener-pid"); break;
		case 'D': o.open_delay_ns = num(optarg, "open-delay-ms") * PC_MS; break;
		default: die(2, "bad option");
		}
	}
	if (!o.socket)
		die(2, "--socket is required");
	if (o.reply_every == 0 || o.min_len == 0)
		die(2, "--reply-every and --min-len must be positive");
	if (!strcmp(o.role, "device")) {
		if (o.end == 0)
			die(2, "--end is required");
		return device_main(&o);
	}
	if (!strcmp(o.role, "driver")) {
		if (o.end == 0)
			die(2, "--end is required");
		return driver_main(&o);
	}
	if (!strcmp(o.role, "intruder")) {
		if (!o.dir || !o.region_bytes)
			die(2, "--dir and --region-bytes are required");
		return intruder_main(&o);
	}
	die(2, "unknown role %s", o.role);
}

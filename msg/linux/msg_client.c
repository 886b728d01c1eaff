/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Linux side of the message protocol (vring/msg_client.h): ports over
 * file descriptors and libvring channels, framing and matching from the
 * freestanding core (vring/frame.h), payloads through protobuf-c.
 *
 * One loop serves every blocking call: pump() reads what the transport
 * has (waiting at most until a deadline), runs it through the parser and
 * sorts each frame: an answer to a request in flight goes to the stash
 * (where its waiter finds it), a late, duplicate or unknown answer is
 * counted and dropped, anything else goes to the inbox for vr_msg_recv().
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <vring/channel.h>
#include <vring/msg_client.h>

#define VR_MSG_DEF_PAYLOAD 4096u
#define VR_MSG_DEF_PENDING 32u
#define VR_MSG_DEF_INBOX 64u
/* While the peer of a reconnectable port is away, look again this often. */
#define VR_MSG_RETRY_MS 20

struct vr__stash {
	bool used;
	uint32_t seq;
	int rc;                /* 0, or VR_EBADMSG when it did not decode */
	Vrmsg__Envelope *env;
};

struct vr__inbox_ent {
	struct vr_msg_in in;
	uint64_t serial;
};

struct vr_msg_port {
	struct vr_msg_io io;
	bool datagram;         /* each read returns one whole frame */
	int fd;                /* fd ports */
	bool own_fd, is_sock, reconnect;
	struct vr_chan *ch;    /* channel ports */
	uint32_t max_payload;
	uint32_t idle_ms;      /* vr_msg_cfg.idle_resync_ms */
	uint8_t *pbuf;         /* the parser's buffer */
	struct vr_frame_parser parser;
	uint8_t *rdbuf;        /* one read */
	size_t rdcap;
	uint8_t *txbuf;        /* one frame out */
	size_t txcap;
	struct vr_req_slot *slots;
	struct vr_req_table req;
	struct vr__stash *stash;
	uint32_t nstash, stash_next;
	struct vr__inbox_ent *inbox;
	uint32_t in_cap, in_head, in_count;
	uint64_t in_serial;
	struct vr_msg_stats st;
	uint64_t dgram_bad;    /* datagram ports: messages that were no frame */
};

/* ---- Clock ----------------------------------------------------------------- */

static int64_t vr__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t vr__deadline(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : vr__now_ms() + timeout_ms;
}

/* Milliseconds left until the deadline for poll(): -1 for none. */
static int vr__left(int64_t deadline)
{
	int64_t d;

	if (deadline < 0)
		return -1;
	d = deadline - vr__now_ms();
	if (d <= 0)
		return 0;
	return d > 60000 ? 60000 : (int)d;
}

static int64_t vr__min_deadline(int64_t a, int64_t b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/* Sleep a retry step, never past the deadline. */
static void vr__nap(int64_t deadline)
{
	int ms = vr__left(deadline);
	struct timespec ts;

	if (ms < 0 || ms > VR_MSG_RETRY_MS)
		ms = VR_MSG_RETRY_MS;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)ms * 1000000L;
	nanosleep(&ts, NULL);
}

/* ---- File descriptor transport -------------------------------------------- */

static int vr__fd_gone(struct vr_msg_port *p, int64_t deadline)
{
	p->st.peer_gone++;
	if (!p->reconnect)
		return VR_EPEERDEAD;
	if (deadline >= 0 && vr__now_ms() >= deadline)
		return VR_ETIMEDOUT;
	vr__nap(deadline);
	return VR_EAGAIN;
}

static int vr__fd_write(void *ctx, const void *buf, size_t len, int64_t deadline)
{
	struct vr_msg_port *p = (struct vr_msg_port *)ctx;
	const uint8_t *b = (const uint8_t *)buf;
	size_t off = 0;

	while (off < len) {
		ssize_t n = p->is_sock ? send(p->fd, b + off, len - off, MSG_NOSIGNAL)
				       : write(p->fd, b + off, len - off);
		struct pollfd pfd;
		int rc;

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN ||
			      errno == ENODEV || (errno == EIO && p->reconnect))) {
			rc = vr__fd_gone(p, deadline);
			if (rc != VR_EAGAIN)
				return rc;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return VR_EIO;
		pfd.fd = p->fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		rc = poll(&pfd, 1, vr__left(deadline));
		if (rc < 0 && errno != EINTR)
			return VR_EIO;
		if (rc == 0)
			return VR_ETIMEDOUT;
		if (rc > 0 && !(pfd.revents & POLLOUT) &&
		    (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))) {
			if (pfd.revents & POLLNVAL)
				return VR_EIO;
			rc = vr__fd_gone(p, deadline);
			if (rc != VR_EAGAIN)
				return rc;
		}
	}
	return 0;
}

static int vr__fd_read(void *ctx, void *buf, size_t cap, int64_t deadline)
{
	struct vr_msg_port *p = (struct vr_msg_port *)ctx;

	for (;;) {
		ssize_t n = read(p->fd, buf, cap);
		struct pollfd pfd;
		int rc;

		if (n > 0)
			return (int)n;
		if (n == 0)
			return vr__fd_gone(p, deadline);
		if (errno == EINTR)
			continue;
		/* A terminal whose other side closed reads EIO: gone too. */
		if (errno == ECONNRESET || (errno == EIO && p->reconnect))
			return vr__fd_gone(p, deadline);
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return VR_EIO;
		pfd.fd = p->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		rc = poll(&pfd, 1, vr__left(deadline));
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			return VR_EIO;
		}
		if (rc == 0)
			return VR_ETIMEDOUT;
		if (pfd.revents & POLLNVAL)
			return VR_EIO;
		if (!(pfd.revents & POLLIN))
			return vr__fd_gone(p, deadline); /* hang-up, nothing left to read */
	}
}

static void vr__fd_close(void *ctx)
{
	struct vr_msg_port *p = (struct vr_msg_port *)ctx;

	if (p->own_fd && p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* ---- Channel transport ---------------------------------------------------- */

static uint64_t vr__timeout_ns(int64_t deadline)
{
	int ms = vr__left(deadline);

	return ms < 0 ? VR_WAIT_FOREVER : (uint64_t)ms * 1000000u;
}

static int vr__chan_write(void *ctx, const void *buf, size_t len, int64_t deadline)
{
	struct vr_msg_port *p = (struct vr_msg_port *)ctx;
	uint32_t q = p->ch->t->role == VR_ROLE_DRIVER ? VR_CHAN_TX : VR_CHAN_RX;
	int rc = vr_chan_send(p->ch, buf, len, vr__timeout_ns(deadline));

	if (rc == VR_EAGAIN)
		return VR_ETIMEDOUT;
	if (rc == VR_ETIMEDOUT || rc == VR_EPEERDEAD || rc == VR_EMSGSIZE)
		return rc;
	if (rc < 0)
		return VR_EIO;
	/* A batching policy may hold the message back; the answer is awaited
	 * on the other queue, so publish it now. */
	rc = vr_chan_flush(p->ch, q);
	return rc == VR_EPEERDEAD ? rc : 0;
}

static int vr__chan_read(void *ctx, void *buf, size_t cap, int64_t deadline)
{
	struct vr_msg_port *p = (struct vr_msg_port *)ctx;
	int rc = vr_chan_recv(p->ch, buf, cap, vr__timeout_ns(deadline));

	if (rc > 0)
		return rc;
	if (rc == VR_EAGAIN || rc == VR_ETIMEDOUT)
		return VR_ETIMEDOUT;
	if (rc == VR_EPEERDEAD)
		return rc;
	return VR_EIO;
}

/* ---- Port set-up ----------------------------------------------------------- */

static int vr__port_new(const struct vr_msg_io *io, const struct vr_msg_cfg *cfg,
			size_t rdcap, struct vr_msg_port **out)
{
	struct vr_msg_cfg c = cfg ? *cfg : (struct vr_msg_cfg){0};
	struct vr_msg_port *p;
	size_t pcap;

	if (!c.max_payload)
		c.max_payload = VR_MSG_DEF_PAYLOAD;
	if (!c.max_pending)
		c.max_pending = VR_MSG_DEF_PENDING;
	if (!c.inbox)
		c.inbox = VR_MSG_DEF_INBOX;
	if (c.max_payload > VR_FRAME_LEN_MAX || c.max_pending > 65536 || c.inbox > 65536 ||
	    c.reconnect < 0 || c.reconnect > VR_MSG_RECONNECT_NO)
		return VR_EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return VR_EIO;
	p->fd = -1;
	p->max_payload = c.max_payload;
	p->idle_ms = c.idle_resync_ms ? c.idle_resync_ms : 50;
	pcap = VR_FRAME_PARSER_BUF_SIZE(c.max_payload);
	if (pcap < VR_FRAME_TEXT_MAX + 2u)
		pcap = VR_FRAME_TEXT_MAX + 2u;
	p->pbuf = malloc(pcap);
	p->rdcap = rdcap ? rdcap : pcap;
	p->rdbuf = malloc(p->rdcap);
	p->txcap = VR_FRAME_HDR_SIZE + (size_t)c.max_payload;
	if (p->txcap < VR_FRAME_TEXT_MAX + 2u)
		p->txcap = VR_FRAME_TEXT_MAX + 2u;
	p->txbuf = malloc(p->txcap);
	p->slots = calloc(c.max_pending, sizeof(*p->slots));
	p->stash = calloc(c.max_pending, sizeof(*p->stash));
	p->nstash = c.max_pending;
	p->inbox = calloc(c.inbox, sizeof(*p->inbox));
	p->in_cap = c.inbox;
	if (!p->pbuf || !p->rdbuf || !p->txbuf || !p->slots || !p->stash || !p->inbox ||
	    vr_frame_parser_init(&p->parser, p->pbuf, pcap, c.max_payload, 0, 0) != 0 ||
	    vr_req_init(&p->req, p->slots, c.max_pending, 1) != 0) {
		free(p->pbuf);
		free(p->rdbuf);
		free(p->txbuf);
		free(p->slots);
		free(p->stash);
		free(p->inbox);
		free(p);
		return VR_EIO;
	}
	if (io)
		p->io = *io;
	*out = p;
	return 0;
}

int vr_msg_open_io(const struct vr_msg_io *io, const struct vr_msg_cfg *cfg,
		   struct vr_msg_port **out)
{
	if (!io || !io->write || !io->read || !out)
		return VR_EINVAL;
	return vr__port_new(io, cfg, 0, out);
}

int vr_msg_open_fd(int fd, bool own_fd, const struct vr_msg_cfg *cfg,
		   struct vr_msg_port **out)
{
	struct vr_msg_port *p;
	struct stat sb;
	int rc, fl;

	if (fd < 0 || !out || fstat(fd, &sb) != 0)
		return VR_EINVAL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return VR_EIO;
	rc = vr__port_new(NULL, cfg, 0, &p);
	if (rc)
		return rc;
	p->fd = fd;
	p->own_fd = own_fd;
	p->is_sock = S_ISSOCK(sb.st_mode);
	if (!cfg || cfg->reconnect == VR_MSG_RECONNECT_AUTO)
		p->reconnect = S_ISCHR(sb.st_mode);
	else
		p->reconnect = cfg->reconnect == VR_MSG_RECONNECT_YES;
	p->io.write = vr__fd_write;
	p->io.read = vr__fd_read;
	p->io.close = vr__fd_close;
	p->io.ctx = p;
	*out = p;
	return 0;
}

int vr_msg_open(const char *path, const struct vr_msg_cfg *cfg,
		struct vr_msg_port **out)
{
	struct stat sb;
	int fd, rc;

	if (!path || !out)
		return VR_EINVAL;
	if (stat(path, &sb) != 0)
		return VR_EIO;
	if (S_ISSOCK(sb.st_mode)) {
		struct sockaddr_un sa;

		if (strlen(path) >= sizeof(sa.sun_path))
			return VR_EINVAL;
		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		memcpy(sa.sun_path, path, strlen(path) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return VR_EIO;
		if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
			int e = errno;

			close(fd);
			errno = e;
			return VR_EIO;
		}
	} else {
		fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			return VR_EIO;
		/* A terminal (a virtio console port is an hvc tty) must pass
		 * bytes untouched: no echo back to the peer, no line editing,
		 * no \n -> \r\n. */
		if (isatty(fd)) {
			struct termios t;

			if (tcgetattr(fd, &t) != 0) {
				close(fd);
				return VR_EIO;
			}
			cfmakeraw(&t);
			if (tcsetattr(fd, TCSANOW, &t) != 0) {
				close(fd);
				return VR_EIO;
			}
		}
	}
	rc = vr_msg_open_fd(fd, true, cfg, out);
	if (rc)
		close(fd);
	return rc;
}

int vr_msg_open_chan(struct vr_chan *ch, const struct vr_msg_cfg *cfg,
		     struct vr_msg_port **out)
{
	struct vr_msg_port *p;
	size_t rdcap;
	int rc;

	if (!ch || !out || !ch->t)
		return VR_EINVAL;
	rdcap = vr_chan_max_msg(ch);
	if (rdcap == 0)
		return VR_EINVAL;
	rc = vr__port_new(NULL, cfg, rdcap, &p);
	if (rc)
		return rc;
	p->ch = ch;
	p->datagram = true;
	p->io.write = vr__chan_write;
	p->io.read = vr__chan_read;
	p->io.ctx = p;
	*out = p;
	return 0;
}

static void vr__in_free(struct vr_msg_in *in)
{
	free(in->data);
	if (in->env)
		vrmsg__envelope__free_unpacked(in->env, NULL);
	memset(in, 0, sizeof(*in));
}

void vr_msg_close(struct vr_msg_port *p)
{
	uint32_t i;

	if (!p)
		return;
	if (p->io.close)
		p->io.close(p->io.ctx);
	for (i = 0; i < p->nstash; i++)
		if (p->stash[i].used && p->stash[i].env)
			vrmsg__envelope__free_unpacked(p->stash[i].env, NULL);
	for (i = 0; i < p->in_count; i++)
		vr__in_free(&p->inbox[(p->in_head + i) % p->in_cap].in);
	free(p->pbuf);
	free(p->rdbuf);
	free(p->txbuf);
	free(p->slots);
	free(p->stash);
	free(p->inbox);
	free(p);
}

int vr_msg_fd(const struct vr_msg_port *p)
{
	return p ? p->fd : -1;
}

void vr_msg_get_stats(const struct vr_msg_port *p, struct vr_msg_stats *out)
{
	if (!p || !out)
		return;
	*out = p->st;
	vr_frame_parser_get_stats(&p->parser, &out->rx);
	vr_req_get_stats(&p->req, &out->req);
	out->bad_messages = p->dgram_bad;
}

void vr_msg_free(Vrmsg__Envelope *e)
{
	if (e)
		vrmsg__envelope__free_unpacked(e, NULL);
}

void vr_msg_in_release(struct vr_msg_in *in)
{
	if (in)
		vr__in_free(in);
}

/* ---- Receiving ---------------------------------------------------------------- */

static void vr__stash_put(struct vr_msg_port *p, uint32_t seq, int rc, Vrmsg__Envelope *env)
{
	struct vr__stash *s = NULL;
	uint32_t i;

	for (i = 0; i < p->nstash; i++)
		if (!p->stash[i].used) {
			s = &p->stash[i];
			break;
		}
	if (!s) {
		/* Every slot holds an answer nobody collected: the oldest
		 * cursor position gives way. */
		s = &p->stash[p->stash_next];
		p->stash_next = (p->stash_next + 1) % p->nstash;
		if (s->env)
			vrmsg__envelope__free_unpacked(s->env, NULL);
	}
	s->used = true;
	s->seq = seq;
	s->rc = rc;
	s->env = env;
}

static bool vr__stash_take(struct vr_msg_port *p, uint32_t seq, int *rc,
			   Vrmsg__Envelope **env)
{
	uint32_t i;

	for (i = 0; i < p->nstash; i++) {
		struct vr__stash *s = &p->stash[i];

		if (s->used && s->seq == seq) {
			*rc = s->rc;
			*env = s->env;
			s->used = false;
			s->env = NULL;
			return true;
		}
	}
	return false;
}

static void vr__inbox_put(struct vr_msg_port *p, const struct vr_frame *f,
			  Vrmsg__Envelope *env)
{
	struct vr__inbox_ent *e;
	uint8_t *copy = malloc((size_t)f->len + 1);

	if (!copy) {
		if (env)
			vrmsg__envelope__free_unpacked(env, NULL);
		p->st.inbox_dropped++;
		return;
	}
	if (f->len)
		memcpy(copy, f->payload, f->len);
	copy[f->len] = 0;
	if (p->in_count == p->in_cap) {
		vr__in_free(&p->inbox[p->in_head].in);
		p->in_head = (p->in_head + 1) % p->in_cap;
		p->in_count--;
		p->st.inbox_dropped++;
	}
	e = &p->inbox[(p->in_head + p->in_count) % p->in_cap];
	p->in_count++;
	e->serial = ++p->in_serial;
	e->in.kind = f->kind;
	e->in.type = f->type;
	e->in.flags = f->flags;
	e->in.seq = f->seq;
	e->in.data = copy;
	e->in.len = f->len;
	e->in.env = env;
}

/* Remove inbox entry i (0 = oldest) into *out. */
static void vr__inbox_take(struct vr_msg_port *p, uint32_t i, struct vr_msg_in *out)
{
	uint32_t k;

	*out = p->inbox[(p->in_head + i) % p->in_cap].in;
	for (k = i; k + 1 < p->in_count; k++)
		p->inbox[(p->in_head + k) % p->in_cap] = p->inbox[(p->in_head + k + 1) % p->in_cap];
	p->in_count--;
}

static void vr__dispatch(struct vr_msg_port *p, const struct vr_frame *f)
{
	Vrmsg__Envelope *env = NULL;

	if (f->kind == VR_FRAME_KIND_BINARY &&
	    (f->type == VR_FRAME_T_REQUEST || f->type == VR_FRAME_T_RESPONSE ||
	     f->type == VR_FRAME_T_EVENT)) {
		env = vrmsg__envelope__unpack(NULL, f->len, f->payload);
		if (!env)
			p->st.undecodable++;
	}
	if (f->kind == VR_FRAME_KIND_BINARY && f->type == VR_FRAME_T_RESPONSE) {
		if (vr_req_match(&p->req, f->seq, (uint64_t)vr__now_ms()) == 0)
			vr__stash_put(p, f->seq, env ? 0 : VR_EBADMSG, env);
		else if (env) /* late, duplicate or unknown: counted by the table */
			vrmsg__envelope__free_unpacked(env, NULL);
		return;
	}
	vr__inbox_put(p, f, env);
}

static int vr__parser_cb(void *ctx, const struct vr_frame *f)
{
	vr__dispatch((struct vr_msg_port *)ctx, f);
	return 0;
}

/* Read once (waiting at most until the deadline) and sort what came.
 * Returns 0 (something read), VR_ETIMEDOUT, VR_EAGAIN (peer away),
 * VR_EPEERDEAD or VR_EIO. */
static int vr__pump(struct vr_msg_port *p, int64_t deadline)
{
	int64_t until = deadline;
	bool idle_cut = false;
	int n;

	/* A partial frame is waiting: wait no longer than the idle period
	 * for its next byte, then give it up and rescan (a frame cut short
	 * by a dying writer must not hold back the answers behind it). */
	if (!p->datagram && vr_frame_parser_pending(&p->parser) > 0) {
		int64_t idle = vr__now_ms() + p->idle_ms;

		if (until < 0 || idle < until) {
			until = idle;
			idle_cut = true;
		}
	}
	n = p->io.read(p->io.ctx, p->rdbuf, p->rdcap, until);
	if (n == VR_ETIMEDOUT && idle_cut) {
		vr_frame_parser_resync(&p->parser);
		vr_frame_parser_push(&p->parser, NULL, 0, vr__parser_cb, p);
		return VR_EAGAIN;
	}
	if (n <= 0)
		return n == 0 ? VR_EAGAIN : n;
	if (p->datagram) {
		struct vr_frame f;

		if (vr_frame_decode(p->rdbuf, (size_t)n, p->max_payload, &f) == 0)
			vr__dispatch(p, &f);
		else
			p->dgram_bad++;
		return 0;
	}
	vr_frame_parser_push(&p->parser, p->rdbuf, (size_t)n, vr__parser_cb, p);
	return 0;
}

static void vr__expire(struct vr_msg_port *p)
{
	uint32_t seq;

	while (vr_req_expire(&p->req, (uint64_t)vr__now_ms(), &seq) == 0)
		;
}

/* ---- Sending ------------------------------------------------------------------- */

static int vr__send_env(struct vr_msg_port *p, uint8_t type, uint16_t flags, uint32_t seq,
			const Vrmsg__Envelope *env, int64_t deadline)
{
	size_t len;
	int n, rc;

	if (!env || env->body_case == VRMSG__ENVELOPE__BODY__NOT_SET)
		return VR_EINVAL;
	len = vrmsg__envelope__get_packed_size(env);
	if (len > p->max_payload)
		return VR_EMSGSIZE;
	vrmsg__envelope__pack(env, p->txbuf + VR_FRAME_HDR_SIZE);
	n = vr_frame_seal(p->txbuf, p->txcap, type, flags, seq, len);
	if (n < 0)
		return n;
	rc = p->io.write(p->io.ctx, p->txbuf, (size_t)n, deadline);
	if (rc == 0) {
		p->st.frames_sent++;
		p->st.bytes_sent += (uint64_t)n;
	}
	return rc;
}

int vr_msg_send_request(struct vr_msg_port *p, const Vrmsg__Envelope *req,
			int timeout_ms, uint32_t *seq)
{
	uint64_t tmo = timeout_ms < 0 ? UINT64_MAX : (uint64_t)timeout_ms;
	uint32_t s;
	int rc;

	if (!p || !req || !seq)
		return VR_EINVAL;
	vr__expire(p);
	rc = vr_req_start(&p->req, (uint64_t)vr__now_ms(), tmo, &s);
	if (rc)
		return rc;
	rc = vr__send_env(p, VR_FRAME_T_REQUEST, 0, s, req, vr__deadline(timeout_ms));
	if (rc) {
		vr_req_cancel(&p->req, s);
		return rc;
	}
	*seq = s;
	return 0;
}

int vr_msg_wait(struct vr_msg_port *p, uint32_t seq, Vrmsg__Envelope **resp,
		int timeout_ms)
{
	int64_t deadline = vr__deadline(timeout_ms);
	bool looked = false; /* timeout 0 still reads once */

	if (!p || !resp)
		return VR_EINVAL;
	*resp = NULL;
	for (;;) {
		Vrmsg__Envelope *env;
		uint64_t due;
		int rc, state;

		if (vr__stash_take(p, seq, &rc, &env)) {
			*resp = env;
			return rc;
		}
		vr__expire(p);
		state = vr_req_state(&p->req, seq);
		if (state == VR_REQ_EXPIRED)
			return VR_ETIMEDOUT;
		if (state != VR_REQ_PENDING)
			return VR_ENOMATCH;
		if (looked && deadline >= 0 && vr__now_ms() >= deadline)
			return VR_ETIMEDOUT;
		looked = true;
		due = vr_req_next_deadline(&p->req);
		rc = vr__pump(p, vr__min_deadline(deadline, due >= (uint64_t)INT64_MAX ? -1 : (int64_t)due));
		if (rc == VR_EPEERDEAD || rc == VR_EIO)
			return rc;
	}
}

int vr_msg_call(struct vr_msg_port *p, const Vrmsg__Envelope *req,
		Vrmsg__Envelope **resp, int timeout_ms)
{
	uint32_t seq;
	int rc;

	if (!p || !req || !resp)
		return VR_EINVAL;
	*resp = NULL;
	rc = vr_msg_send_request(p, req, timeout_ms, &seq);
	if (rc)
		return rc;
	rc = vr_msg_wait(p, seq, resp, timeout_ms);
	if (rc == VR_EPEERDEAD || rc == VR_EIO)
		vr_req_cancel(&p->req, seq);
	return rc;
}

int vr_msg_send_event(struct vr_msg_port *p, const Vrmsg__Envelope *ev, int timeout_ms)
{
	if (!p)
		return VR_EINVAL;
	return vr__send_env(p, VR_FRAME_T_EVENT, 0, 0, ev, vr__deadline(timeout_ms));
}

int vr_msg_respond(struct vr_msg_port *p, uint32_t seq, const Vrmsg__Envelope *resp,
		   int timeout_ms)
{
	if (!p)
		return VR_EINVAL;
	return vr__send_env(p, VR_FRAME_T_RESPONSE, 0, seq, resp, vr__deadline(timeout_ms));
}

static bool vr__text_ok(const char *cmd, size_t *len)
{
	size_t n = 0;

	if (!cmd || !((cmd[0] >= 'A' && cmd[0] <= 'Z') || (cmd[0] >= 'a' && cmd[0] <= 'z')))
		return false;
	while (cmd[n] != '\0') {
		if ((unsigned char)cmd[n] < 0x20 || (unsigned char)cmd[n] > 0x7E)
			return false;
		if (++n > VR_FRAME_TEXT_MAX)
			return false;
	}
	*len = n;
	return true;
}

static int vr__send_text(struct vr_msg_port *p, const char *cmd, int64_t deadline)
{
	size_t n;
	int rc;

	if (!p || !vr__text_ok(cmd, &n))
		return VR_EINVAL;
	/* "\n" cmd "\n" in one write. The leading empty line makes the
	 * command a line start even when damaged bytes went before it (a
	 * peer's parser skips empty lines); a channel message is the line
	 * alone (message boundaries already separate it). */
	if (p->datagram) {
		memcpy(p->txbuf, cmd, n);
		p->txbuf[n] = '\n';
		n += 1;
	} else {
		p->txbuf[0] = '\n';
		memcpy(p->txbuf + 1, cmd, n);
		p->txbuf[n + 1] = '\n';
		n += 2;
	}
	rc = p->io.write(p->io.ctx, p->txbuf, n, deadline);
	if (rc == 0) {
		p->st.texts_sent++;
		p->st.bytes_sent += n;
	}
	return rc;
}

int vr_msg_send_text(struct vr_msg_port *p, const char *cmd, int timeout_ms)
{
	return vr__send_text(p, cmd, vr__deadline(timeout_ms));
}

int vr_msg_call_text(struct vr_msg_port *p, const char *cmd, char *reply, size_t cap,
		     int timeout_ms)
{
	int64_t deadline = vr__deadline(timeout_ms);
	uint64_t after;
	bool looked = false;
	int rc;

	if (!p || !reply || cap == 0)
		return VR_EINVAL;
	after = p->in_serial; /* only a line that arrives after the command */
	rc = vr__send_text(p, cmd, deadline);
	if (rc)
		return rc;
	for (;;) {
		uint32_t i;

		for (i = 0; i < p->in_count; i++) {
			struct vr__inbox_ent *e = &p->inbox[(p->in_head + i) % p->in_cap];
			struct vr_msg_in in;
			size_t n;

			if (e->in.kind != VR_FRAME_KIND_TEXT || e->serial <= after)
				continue;
			vr__inbox_take(p, i, &in);
			n = in.len < cap - 1 ? in.len : cap - 1;
			memcpy(reply, in.data, n);
			reply[n] = '\0';
			vr__in_free(&in);
			return (int)n;
		}
		if (looked && deadline >= 0 && vr__now_ms() >= deadline)
			return VR_ETIMEDOUT;
		looked = true;
		rc = vr__pump(p, deadline);
		if (rc == VR_EPEERDEAD || rc == VR_EIO)
			return rc;
	}
}

int vr_msg_recv(struct vr_msg_port *p, struct vr_msg_in *in, int timeout_ms)
{
	int64_t deadline = vr__deadline(timeout_ms);
	int rc;

	if (!p || !in)
		return VR_EINVAL;
	for (;;) {
		if (p->in_count > 0) {
			vr__inbox_take(p, 0, in);
			return 0;
		}
		if (deadline >= 0 && vr__now_ms() >= deadline && timeout_ms != 0)
			return VR_ETIMEDOUT;
		rc = vr__pump(p, deadline);
		if (rc == VR_EPEERDEAD || rc == VR_EIO)
			return rc;
		if (timeout_ms == 0 && p->in_count == 0)
			return VR_EAGAIN;
	}
}

/* ---- Typed calls ---------------------------------------------------------------- */

static int vr__call_ack(struct vr_msg_port *p, const Vrmsg__Envelope *req,
			struct vr_msg_ack *ack, int timeout_ms)
{
	Vrmsg__Envelope *resp = NULL;
	int rc;

	if (!ack)
		return VR_EINVAL;
	rc = vr_msg_call(p, req, &resp, timeout_ms);
	if (rc)
		return rc;
	if (resp->body_case != VRMSG__ENVELOPE__BODY_ACK || !resp->ack) {
		vr_msg_free(resp);
		return VR_EBADMSG;
	}
	ack->status = (int)resp->ack->status;
	memset(ack->detail, 0, sizeof(ack->detail));
	if (resp->ack->detail)
		strncpy(ack->detail, resp->ack->detail, sizeof(ack->detail) - 1);
	vr_msg_free(resp);
	return 0;
}

int vr_msg_set_sensor_gain(struct vr_msg_port *p, Vrmsg__Sensor sensor,
			   Vrmsg__GainLevel level, int32_t gain_mdb,
			   struct vr_msg_ack *ack, int timeout_ms)
{
	Vrmsg__Envelope env = VRMSG__ENVELOPE__INIT;
	Vrmsg__SetSensorGain g = VRMSG__SET_SENSOR_GAIN__INIT;

	g.sensor = sensor;
	g.level = level;
	g.gain_mdb = gain_mdb;
	env.body_case = VRMSG__ENVELOPE__BODY_SET_SENSOR_GAIN;
	env.set_sensor_gain = &g;
	return vr__call_ack(p, &env, ack, timeout_ms);
}

int vr_msg_start_adas(struct vr_msg_port *p, uint32_t stage_mask,
		      uint32_t frame_rate_hz, bool low_latency,
		      struct vr_msg_ack *ack, int timeout_ms)
{
	Vrmsg__Envelope env = VRMSG__ENVELOPE__INIT;
	Vrmsg__StartAdasProcessing s = VRMSG__START_ADAS_PROCESSING__INIT;

	s.stage_mask = stage_mask;
	s.frame_rate_hz = frame_rate_hz;
	s.low_latency = low_latency;
	env.body_case = VRMSG__ENVELOPE__BODY_START_ADAS_PROCESSING;
	env.start_adas_processing = &s;
	return vr__call_ack(p, &env, ack, timeout_ms);
}

int vr_msg_get_telemetry(struct vr_msg_port *p, bool reset_counters,
			 Vrmsg__Envelope **out, int timeout_ms)
{
	Vrmsg__Envelope env = VRMSG__ENVELOPE__INIT;
	Vrmsg__GetTelemetry g = VRMSG__GET_TELEMETRY__INIT;
	Vrmsg__Envelope *resp = NULL;
	int rc;

	if (!out)
		return VR_EINVAL;
	*out = NULL;
	g.reset_counters = reset_counters;
	env.body_case = VRMSG__ENVELOPE__BODY_GET_TELEMETRY;
	env.get_telemetry = &g;
	rc = vr_msg_call(p, &env, &resp, timeout_ms);
	if (rc)
		return rc;
	*out = resp;
	if (resp->body_case == VRMSG__ENVELOPE__BODY_TELEMETRY && resp->telemetry)
		return 0;
	if (resp->body_case == VRMSG__ENVELOPE__BODY_ACK)
		return VR_EPERM;
	vr_msg_free(resp);
	*out = NULL;
	return VR_EBADMSG;
}

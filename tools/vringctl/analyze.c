/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vringctl: the header part of the analysis, the findings list, and the
 * helpers both ring formats use to walk chains (the same checks, in the
 * same order, as libvring's device: libvring/internal.h).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"

/* Descriptors (ring and indirect) walked per queue at most: a hostile
 * region of 32768 chains each looping through 32768 descriptors would
 * otherwise take minutes. */
#define VC_WALK_BUDGET ((uint64_t)1 << 22)

/* ---- Findings -------------------------------------------------------------- */

static struct vc_finding *append(struct vc_findings *f)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 16;
		struct vc_finding *v = realloc(f->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		f->v = v;
		f->cap = cap;
	}
	return &f->v[f->n++];
}

void vc_find(struct vc_findings *f, int sev, int queue, int code,
	     const char *fmt, ...)
{
	size_t slot = queue < 0 ? VR_REGION_MAX_QUEUES : (size_t)queue;
	struct vc_finding *e;
	va_list ap;

	if (sev == VC_SEV_ERROR)
		f->errors++;
	else
		f->warnings++;
	if (f->listed[slot] >= VC_MAX_LISTED || !(e = append(f))) {
		f->unlisted[slot][sev]++;
		return;
	}
	f->listed[slot]++;
	e->sev = sev;
	e->queue = queue;
	e->code = code;
	e->more = 0;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
}

void vc_findings_close(struct vc_findings *f)
{
	size_t slot;
	int sev;

	for (slot = 0; slot <= VR_REGION_MAX_QUEUES; slot++)
		for (sev = 0; sev < 2; sev++) {
			size_t more = f->unlisted[slot][sev];
			struct vc_finding *e;

			if (!more || !(e = append(f)))
				continue;
			e->sev = sev;
			e->queue = slot == VR_REGION_MAX_QUEUES ? -1 : (int)slot;
			e->code = 0;
			e->more = more;
			snprintf(e->text, sizeof(e->text), "%zu more %s%s not listed", more,
				 sev == VC_SEV_ERROR ? "error" : "warning", more == 1 ? "" : "s");
			f->unlisted[slot][sev] = 0;
		}
}

void vc_print_finding(FILE *out, const char *indent, const struct vc_finding *e)
{
	fprintf(out, "%s%s: ", indent, e->sev == VC_SEV_ERROR ? "error" : "warning");
	if (e->queue >= 0)
		fprintf(out, "queue %d: ", e->queue);
	else
		fprintf(out, "header: ");
	fputs(e->text, out);
	if (e->code)
		fprintf(out, " (%s)", vr_errname(e->code));
	fputc('\n', out);
}

void vc_findings_free(struct vc_findings *f)
{
	free(f->v);
	memset(f, 0, sizeof(*f));
}

/* ---- Chain helpers ------------------------------------------------------------ */

void vc_chain_fail(struct vc_chain_view *ch, int err, const char *fmt, ...)
{
	va_list ap;

	if (ch->err)
		return; /* the first problem stops a device: keep that one */
	ch->err = err;
	va_start(ap, fmt);
	vsnprintf(ch->why, sizeof(ch->why), fmt, ap);
	va_end(ap);
}

struct vc_chain_view *vc_new_chain(struct vc_queue_view *q,
				   struct vc_chain_view *scratch)
{
	struct vc_chain_view *ch = scratch;

	if (q->nchains < VC_SHOW_CHAINS) {
		if (q->nchains == q->chains_cap) {
			size_t cap = q->chains_cap ? 2 * q->chains_cap : 16;
			struct vc_chain_view *v = realloc(q->chains, cap * sizeof(*v));

			if (!v)
				return NULL;
			q->chains = v;
			q->chains_cap = cap;
		}
		ch = &q->chains[q->nchains++];
	}
	memset(ch, 0, sizeof(*ch));
	ch->first = q->ndescs;
	ch->shown = ch != scratch;
	q->chains_total++;
	return ch;
}

int vc_show_desc(struct vc_queue_view *q, struct vc_chain_view *ch,
		 bool indirect, uint32_t index, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	struct vc_desc_view *d;

	/* Per chain, and per queue: a dump stays readable and bounded
	 * whatever the ring holds. Chains not kept show nothing. */
	if (!ch->shown || ch->count >= VC_SHOW_DESCS ||
	    q->ndescs >= VC_SHOW_QUEUE_DESCS) {
		ch->hidden++;
		return 0;
	}
	if (q->ndescs == q->descs_cap) {
		size_t cap = q->descs_cap ? 2 * q->descs_cap : 64;
		struct vc_desc_view *v = realloc(q->descs, cap * sizeof(*v));

		if (!v)
			return -1;
		q->descs = v;
		q->descs_cap = cap;
	}
	d = &q->descs[q->ndescs++];
	d->indirect = indirect;
	d->index = index;
	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
	ch->count++;
	return 0;
}

/* Where a buffer that is not wholly inside the pool points. */
static const char *where(const struct vc_snap *s, uint64_t addr)
{
	const struct vr_region_info *in = &s->info;
	uint32_t i;

	if (addr < VR_REGION_HEADER_BYTES)
		return "the header";
	if (addr >= in->region_bytes)
		return "past the region";
	if (in->stats_off && addr >= in->stats_off &&
	    addr < in->stats_off + VR_REGION_STATS_BYTES(in->queue_count))
		return "the statistics area";
	for (i = 0; i < in->queue_count; i++) {
		const struct vr_region_queue *q = &in->queue[i];
		uint64_t end = q->device_off + (q->format == VR_FORMAT_SPLIT
							? vr_split_used_bytes(q->size) : 4);

		if (addr >= q->desc_off && addr < end)
			return "the queue areas";
	}
	if (addr >= in->pool_off && addr < in->pool_off + in->pool_bytes)
		return "the pool, but runs past its end";
	return "outside the pool";
}

/* Is [addr, addr + len) wholly in the pool (libvring's device window)? */
static bool in_pool(const struct vc_snap *s, uint64_t addr, uint64_t len)
{
	const struct vr_region_info *in = &s->info;

	return addr >= in->pool_off && addr - in->pool_off <= in->pool_bytes &&
	       len <= in->pool_bytes - (addr - in->pool_off);
}

int vc_check_segment(const struct vc_ctx *c, struct vc_walk *w,
		     struct vc_chain_view *ch, uint64_t addr, uint32_t len,
		     bool write)
{
	const struct vc_snap *s = c->s;

	if (len == 0) {
		vc_chain_fail(ch, VR_EZEROLEN, "a zero-length buffer");
		return VR_EZEROLEN;
	}
	/* len > 0 here: a buffer whose last byte is the last bus address
	 * (ending exactly at 2^64) does not wrap. */
	if ((uint64_t)len - 1 > UINT64_MAX - addr) {
		vc_chain_fail(ch, VR_EOVERFLOW, "buffer 0x%llx + %u wraps around",
			      (unsigned long long)addr, len);
		return VR_EOVERFLOW;
	}
	if (write) {
		w->seen_write = true;
	} else if (w->seen_write) {
		vc_chain_fail(ch, VR_EORDER,
			      "a device-readable buffer after a writable one");
		return VR_EORDER;
	}
	w->total += len;
	if (w->total > UINT32_MAX) {
		vc_chain_fail(ch, VR_EOVERFLOW, "more than 4 GiB in one chain");
		return VR_EOVERFLOW;
	}
	if (!in_pool(s, addr, len)) {
		if (addr >= s->info.region_bytes || len > s->info.region_bytes - addr)
			vc_chain_fail(ch, VR_EFAULT,
				      "buffer [0x%llx, +%u) is outside the region "
				      "(%llu bytes)", (unsigned long long)addr, len,
				      (unsigned long long)s->info.region_bytes);
		else
			vc_chain_fail(ch, VR_EFAULT,
				      "buffer [0x%llx, +%u) is not in the pool: it "
				      "points into %s", (unsigned long long)addr, len,
				      where(s, addr));
		return VR_EFAULT;
	}
	ch->nsegs++;
	if (write)
		ch->in_bytes += len;
	else
		ch->out_bytes += len;
	return 0;
}

int vc_check_indirect(const struct vc_ctx *c, struct vc_chain_view *ch,
		      uint64_t addr, uint32_t len, uint16_t flags,
		      uint32_t max_entries)
{
	const struct vc_snap *s = c->s;

	if (!(c->a->features & VR_FEATURE(VR_F_INDIRECT_DESC))) {
		vc_chain_fail(ch, VR_EINDIRECT,
			      "an indirect descriptor, but INDIRECT_DESC is not "
			      "negotiated");
		return VR_EINDIRECT;
	}
	if (flags & VR_DESC_F_NEXT) {
		vc_chain_fail(ch, VR_EINDIRECT,
			      "an indirect descriptor with NEXT set");
		return VR_EINDIRECT;
	}
	if (len == 0 || len % 16 != 0) {
		vc_chain_fail(ch, VR_EINDIRECT,
			      "indirect table length %u is not a positive multiple "
			      "of 16", len);
		return VR_EINDIRECT;
	}
	if (len / 16 > max_entries) {
		vc_chain_fail(ch, VR_EINDIRECT,
			      "indirect table of %u entries, more than the queue "
			      "size %u", len / 16, max_entries);
		return VR_EINDIRECT;
	}
	if ((uint64_t)len - 1 > UINT64_MAX - addr) { /* len > 0, as above */
		vc_chain_fail(ch, VR_EOVERFLOW, "indirect table 0x%llx + %u wraps around",
			      (unsigned long long)addr, len);
		return VR_EOVERFLOW;
	}
	if (!in_pool(s, addr, len)) {
		if (addr >= s->info.region_bytes || len > s->info.region_bytes - addr)
			vc_chain_fail(ch, VR_EFAULT,
				      "indirect table [0x%llx, +%u) is outside the "
				      "region", (unsigned long long)addr, len);
		else
			vc_chain_fail(ch, VR_EFAULT,
				      "indirect table [0x%llx, +%u) is not in the pool: "
				      "it points into %s", (unsigned long long)addr, len,
				      where(s, addr));
		return VR_EFAULT;
	}
	/* No alignment rule: the spec sets none, and libvring's device reads a
	 * table at any address (issue 11 finding 6). */
	return (int)(len / 16);
}

void vc_queue_view_free(struct vc_queue_view *q)
{
	free(q->chains);
	free(q->descs);
	free(q->used);
	q->chains = NULL;
	q->descs = NULL;
	q->used = NULL;
}

/* ---- Header ------------------------------------------------------------------- */

/* Is any byte of [from, to) of the copy not zero? */
static bool nonzero(const unsigned char *b, size_t from, size_t to)
{
	for (; from < to; from++)
		if (b[from])
			return true;
	return false;
}

/* The error code a side last recorded in its statistics records, or 0. */
static int side_error(const struct vc_analysis *a, int side)
{
	uint32_t i;

	for (i = 0; i < a->nq; i++)
		if (a->q[i].has_stats && a->q[i].stat[side][VR_RS_ERROR])
			return (int)(int32_t)a->q[i].stat[side][VR_RS_ERROR];
	return 0;
}

static void check_status(struct vc_analysis *a, const char *who, uint32_t st,
			 int side)
{
	uint32_t known = VR_STATUS_ACKNOWLEDGE | VR_STATUS_DRIVER |
			 VR_STATUS_DRIVER_OK | VR_STATUS_FEATURES_OK |
			 VR_STATUS_NEEDS_RESET | VR_STATUS_FAILED;
	int err = side_error(a, side);

	if (st & VR_STATUS_NEEDS_RESET) {
		if (err)
			vc_find(&a->f, VC_SEV_ERROR, -1, err,
				"%s status has NEEDS_RESET: the %s met a protocol "
				"violation (its statistics say %s: %s)", who, who,
				vr_errname(err), vr_strerror(err));
		else
			vc_find(&a->f, VC_SEV_ERROR, -1, 0,
				"%s status has NEEDS_RESET: the %s met a protocol "
				"violation", who, who);
	}
	if (st & VR_STATUS_FAILED)
		vc_find(&a->f, VC_SEV_ERROR, -1, 0,
			"%s status has FAILED: the %s gave up", who, who);
	if (st & ~known)
		vc_find(&a->f, VC_SEV_WARN, -1, 0,
			"%s status 0x%x has unknown bits 0x%x", who, st, st & ~known);
}

static void check_header(struct vc_analysis *a)
{
	const struct vc_snap *s = a->snap;
	const unsigned char *b = s->buf;
	size_t qend = VR_REGION_QTABLE_OFF + (size_t)s->info.queue_count *
					     VR_REGION_QENTRY_BYTES;
	uint64_t extra;
	uint32_t i;

	if (a->hdr_flags)
		vc_find(&a->f, VC_SEV_WARN, -1, 0,
			"header flags 0x%x: reserved, should be 0", a->hdr_flags);
	if (nonzero(b, 96, VR_REGION_QTABLE_OFF))
		vc_find(&a->f, VC_SEV_WARN, -1, 0,
			"reserved header bytes 96..255 are not zero");
	if (nonzero(b, qend, VR_REGION_HEADER_BYTES))
		vc_find(&a->f, VC_SEV_WARN, -1, 0,
			"reserved header bytes after the queue table are not zero");
	for (i = 0; i < s->info.queue_count; i++) {
		uint32_t qf = vc_rd32(b + VR_REGION_QTABLE_OFF + i * VR_REGION_QENTRY_BYTES +
				      VR_RQ_FLAGS);

		if (qf)
			vc_find(&a->f, VC_SEV_WARN, (int)i, 0,
				"queue table flags 0x%x: reserved, should be 0", qf);
	}
	check_status(a, "driver", a->driver_status, 0);
	check_status(a, "device", a->device_status, 1);
	if (!a->negotiated)
		return;
	extra = a->driver_features &
		~(a->device_features | VR_FEATURE(VR_F_RING_PACKED));
	if (extra) {
		char names[256];

		vc_feature_names(extra, names, sizeof(names));
		vc_find(&a->f, VC_SEV_ERROR, -1, VR_EFEATURES,
			"the driver accepted features the device does not offer: %s",
			names);
	}
	for (i = 0; i < s->info.queue_count; i++) {
		bool packed = s->info.queue[i].format == VR_FORMAT_PACKED;
		bool flag = (a->driver_features & VR_FEATURE(VR_F_RING_PACKED)) != 0;

		if (packed != flag)
			vc_find(&a->f, VC_SEV_ERROR, (int)i, VR_EFEATURES,
				"%s queue, but RING_PACKED is %s in the driver "
				"features", packed ? "packed" : "split",
				flag ? "set" : "not set");
	}
}

/* ---- The whole analysis ------------------------------------------------------ */

int vc_analyze(const struct vc_snap *s, struct vc_analysis *a)
{
	unsigned char *base = s->buf;
	uint32_t i;
	int r;

	memset(a, 0, sizeof(*a));
	a->snap = s;
	/* The live words, as the copy has them; the library's own atomic
	 * accessors work on the private copy as well. */
	a->device_features = s->info.device_features;
	a->driver_features = vr_region_load_features(base, VR_RH_DRIVER_FEATURES);
	a->driver_status = vr_region_load(base, VR_RH_DRIVER_STATUS);
	a->device_status = vr_region_load(base, VR_RH_DEVICE_STATUS);
	a->driver_heartbeat = vr_region_load(base, VR_RH_DRIVER_HEARTBEAT);
	a->device_heartbeat = vr_region_load(base, VR_RH_DEVICE_HEARTBEAT);
	a->hdr_flags = vr_region_load(base, VR_RH_FLAGS);
	a->negotiated = (a->driver_status & VR_STATUS_FEATURES_OK) != 0;
	a->live = (a->driver_status & a->device_status & VR_STATUS_DRIVER_OK) != 0;
	/* Rings are checked against what was agreed, or before that against
	 * the offer (nothing should be in flight then anyway). */
	a->features = a->negotiated ? a->driver_features : a->device_features;
	a->nq = s->info.queue_count;

	for (i = 0; i < a->nq; i++) {
		struct vc_queue_view *q = &a->q[i];
		const struct vr_region_queue *rq = &s->info.queue[i];
		uint32_t side, k;

		q->index = i;
		q->format = rq->format;
		q->size = rq->size;
		q->desc_off = rq->desc_off;
		q->driver_off = rq->driver_off;
		q->device_off = rq->device_off;
		q->held = -1;
		q->last_used = -1;
		for (side = 0; side < 2; side++) {
			const uint32_t *rec = vr_region_stats(
				base, &s->info, i, side ? VR_ROLE_DEVICE : VR_ROLE_DRIVER);

			if (!rec)
				continue;
			q->has_stats = true;
			for (k = 0; k < VR_RS_COUNT; k++)
				q->stat[side][k] = vr_region_stat_load(rec, (enum vr_region_stat)k);
		}
	}
	check_header(a);
	for (i = 0; i < a->nq; i++) {
		struct vc_ctx c;

		c.s = s;
		c.a = a;
		c.f = &a->f;
		c.budget = VC_WALK_BUDGET;
		r = a->q[i].format == VR_FORMAT_SPLIT ? vc_analyze_split(&c, &a->q[i])
						      : vc_analyze_packed(&c, &a->q[i]);
		if (r) {
			vc_err(NULL, "out of memory analysing queue %u", i);
			return -1;
		}
		if (c.budget == 0)
			vc_find(&a->f, VC_SEV_WARN, (int)i, 0,
				"stopped walking chains after %llu descriptors; the "
				"rest of this queue is not checked",
				(unsigned long long)VC_WALK_BUDGET);
	}
	vc_findings_close(&a->f);
	return 0;
}

void vc_analysis_free(struct vc_analysis *a)
{
	uint32_t i;

	for (i = 0; i < VR_REGION_MAX_QUEUES; i++)
		vc_queue_view_free(&a->q[i]);
	vc_findings_free(&a->f);
}

/* ---- A header the parser refused ----------------------------------------------- */

struct area {
	uint64_t off, len;
	char name[48];
};

static bool inside(uint64_t off, uint64_t bytes, uint64_t end)
{
	return off >= VR_REGION_HEADER_BYTES && off <= end && bytes <= end - off;
}

void vc_header_diagnose(const struct vc_snap *s, struct vc_findings *f)
{
	static const char *const area_names[2][3] = {
		{"descriptor table", "available ring", "used ring"},
		{"descriptor ring", "driver event area", "device event area"},
	};
	const unsigned char *b = s->buf;
	uint64_t rb = vc_rd64(b + VR_RH_REGION_BYTES);
	uint32_t qc = vc_rd32(b + VR_RH_QUEUE_COUNT);
	uint64_t pool_off = vc_rd64(b + VR_RH_POOL_OFF);
	uint64_t pool_bytes = vc_rd64(b + VR_RH_POOL_BYTES);
	uint32_t buf_bytes = vc_rd32(b + VR_RH_BUF_BYTES);
	uint32_t buf_count = vc_rd32(b + VR_RH_BUF_COUNT);
	uint64_t stats_off = vc_rd64(b + VR_RH_STATS_OFF);
	uint16_t hb = vc_rd16(b + VR_RH_HEADER_BYTES);
	struct area *ar;
	size_t n = 0, before = f->n, i, j;

	ar = calloc(VR_REGION_MAX_QUEUES * 3 + 2, sizeof(*ar));
	if (hb != VR_REGION_HEADER_BYTES)
		vc_find(f, VC_SEV_ERROR, -1, VR_EREGION,
			"header_bytes is %u, not %u", hb, VR_REGION_HEADER_BYTES);
	if (rb > s->file_bytes)
		vc_find(f, VC_SEV_ERROR, -1, VR_ETRUNC,
			"region_bytes %llu exceeds the %llu bytes of the file",
			(unsigned long long)rb, (unsigned long long)s->file_bytes);
	if (rb < VR_REGION_HEADER_BYTES)
		vc_find(f, VC_SEV_ERROR, -1, VR_EREGION,
			"region_bytes %llu is smaller than the header page",
			(unsigned long long)rb);
	if (qc == 0 || qc > VR_REGION_MAX_QUEUES) {
		vc_find(f, VC_SEV_ERROR, -1, VR_EREGION,
			"queue_count %u is not in 1..%u", qc, VR_REGION_MAX_QUEUES);
		qc = 0;
	}
	for (i = 0; i < qc; i++) {
		const unsigned char *e = b + VR_REGION_QTABLE_OFF + i * VR_REGION_QENTRY_BYTES;
		uint32_t size = vc_rd16(e + VR_RQ_SIZE), fmt = vc_rd16(e + VR_RQ_FORMAT);
		int k;

		if (fmt > VR_FORMAT_PACKED) {
			vc_find(f, VC_SEV_ERROR, (int)i, VR_EREGION,
				"unknown queue format %u", fmt);
			continue;
		}
		if (fmt == VR_FORMAT_SPLIT ? !vr_split_size_valid(size)
					   : !vr_packed_size_valid(size)) {
			vc_find(f, VC_SEV_ERROR, (int)i, VR_EREGION,
				"size %u is not valid for a %s queue%s", size,
				fmt == VR_FORMAT_SPLIT ? "split" : "packed",
				fmt == VR_FORMAT_SPLIT ? " (a power of two, 1..32768)"
						       : " (1..32768)");
			continue;
		}
		for (k = 0; k < 3; k++) {
			static const unsigned offs[3] = {VR_RQ_DESC_OFF, VR_RQ_DRIVER_OFF,
							 VR_RQ_DEVICE_OFF};
			uint64_t off = vc_rd64(e + offs[k]), len, align;

			if (fmt == VR_FORMAT_SPLIT) {
				len = k == 0 ? vr_split_desc_bytes(size)
				      : k == 1 ? vr_split_avail_bytes(size)
					       : vr_split_used_bytes(size);
				align = k == 0 ? VR_DESC_ALIGN : k == 1 ? VR_AVAIL_ALIGN
									: VR_USED_ALIGN;
			} else {
				len = k == 0 ? vr_packed_desc_bytes(size) : 4;
				align = k == 0 ? VR_DESC_ALIGN : VR_EVENT_ALIGN;
			}
			if (!inside(off, len, rb)) {
				vc_find(f, VC_SEV_ERROR, (int)i, VR_EREGION,
					"%s [0x%llx, +%llu) is not inside [4096, "
					"region_bytes)", area_names[fmt][k],
					(unsigned long long)off, (unsigned long long)len);
				continue;
			}
			if (off % align) {
				vc_find(f, VC_SEV_ERROR, (int)i, VR_EREGION,
					"%s at 0x%llx is not %llu-byte aligned",
					area_names[fmt][k], (unsigned long long)off,
					(unsigned long long)align);
				continue;
			}
			if (ar) {
				ar[n].off = off;
				ar[n].len = len;
				snprintf(ar[n].name, sizeof(ar[n].name), "queue %zu %s",
					 i, area_names[fmt][k]);
				n++;
			}
		}
	}
	if (buf_bytes == 0 || buf_count == 0)
		vc_find(f, VC_SEV_ERROR, -1, VR_EREGION,
			"the pool has buf_bytes %u and buf_count %u; both must be "
			"positive", buf_bytes, buf_count);
	if (!inside(pool_off, pool_bytes, rb)) {
		vc_find(f, VC_SEV_ERROR, -1, VR_EREGION,
			"the pool [0x%llx, +%llu) is not inside [4096, region_bytes)",
			(unsigned long long)pool_off, (unsigned long long)pool_bytes);
	} else {
		if ((uint64_t)buf_bytes * buf_count > pool_bytes)
			vc_find(f, VC_SEV_ERROR, -1, VR_EREGION,
				"%u buffers of %u bytes do not fit the %llu-byte pool",
				buf_count, buf_bytes, (unsigned long long)pool_bytes);
		if (ar) {
			ar[n].off = pool_off;
			ar[n].len = pool_bytes;
			snprintf(ar[n].name, sizeof(ar[n].name), "the pool");
			n++;
		}
	}
	if (stats_off && qc) {
		uint64_t len = VR_REGION_STATS_BYTES(qc);

		if (!inside(stats_off, len, rb))
			vc_find(f, VC_SEV_ERROR, -1, VR_EREGION,
				"the statistics area [0x%llx, +%llu) is not inside "
				"[4096, region_bytes)", (unsigned long long)stats_off,
				(unsigned long long)len);
		else if (stats_off % VR_REGION_ALIGN)
			vc_find(f, VC_SEV_ERROR, -1, VR_EREGION,
				"the statistics area at 0x%llx is not %u-byte aligned",
				(unsigned long long)stats_off, VR_REGION_ALIGN);
		else if (ar) {
			ar[n].off = stats_off;
			ar[n].len = len;
			snprintf(ar[n].name, sizeof(ar[n].name), "the statistics area");
			n++;
		}
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (ar[i].off < ar[j].off + ar[j].len &&
			    ar[j].off < ar[i].off + ar[i].len)
				vc_find(f, VC_SEV_ERROR, -1, VR_EREGION,
					"%s [0x%llx, +%llu) overlaps %s [0x%llx, +%llu)",
					ar[i].name, (unsigned long long)ar[i].off,
					(unsigned long long)ar[i].len, ar[j].name,
					(unsigned long long)ar[j].off,
					(unsigned long long)ar[j].len);
	free(ar);
	if (f->n == before)
		vc_find(f, VC_SEV_ERROR, -1, s->parse_err, "the header is refused (%s)",
			vr_errname(s->parse_err));
	vc_findings_close(f);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * notify.pml: the notify/wait handshake of libvring under x86-TSO.
 *
 * One producer publishes NMSG messages on a ring of QSIZE entries and, after
 * every publish, decides whether to notify (vr_{split,packed}_drv_kick_prepare
 * = publish + need_notify). One consumer takes messages and, when the ring is
 * empty, runs the channel's wait loop (vr__chan_wait in
 * libvring/chan_wait.c, called from dev_next in channel.c): arm the
 * notification, full fence, look again, and only then sleep on the doorbell;
 * after every wake-up (and after a re-check that found work) it suppresses
 * notifications again. See docs/MODEL.md for the mapping to the code.
 *
 * Memory is x86-TSO: every store of a side goes into that side's FIFO store
 * buffer and reaches memory later, in order (the drain_* processes); a side's
 * loads see its own newest buffered store to the same location first; a full
 * fence (vr__fence_full) waits until the side's buffer is empty.
 *
 * Configuration (spin -D...):
 *   PACKED             packed ring (position + wrap counter); default split
 *   EVENT_IDX          VIRTIO_F_EVENT_IDX suppression; default flags
 *   NO_FENCE_PRODUCER  drop F1 from need_notify (expect a lost wakeup)
 *   NO_FENCE_CONSUMER  drop F4 from arm_avail_notify (expect a lost wakeup)
 *   QSIZE              queue size (default 2)
 *   NMSG               messages the producer sends (default 4)
 *   START              split only: initial free-running 16-bit index
 *                      (default 0; 65534 makes the indexes wrap)
 *   SBSIZE             store-buffer entries per side, 1..4 (default 3)
 *   COALESCE=n         chan_notify.c coalescing: doorbells the consumer
 *                      asked for are owed, rung once n are owed or at any
 *                      later time (T passed)
 *
 * Properties: the checker process runs when the whole system is stuck
 * (timeout: every process blocked or finished, every store buffer drained)
 * and asserts that the consumer is not asleep with a message pending (lost
 * wakeup) and that it consumed all NMSG messages (no stranded message).
 * Assertions inside the sides check the model itself (the consumer never
 * takes a message whose publishing store has not reached memory; indexes
 * never run further apart than the queue size).
 */

#ifndef QSIZE
#define QSIZE 2
#endif
#ifndef NMSG
#define NMSG 4
#endif
#ifndef START
#define START 0
#endif
#ifndef SBSIZE
#define SBSIZE 3
#endif
#if SBSIZE < 1 || SBSIZE > 4
#error "SBSIZE must be 1..4 (LOAD and DRAIN look at four entries)"
#endif

#define M16 65535 /* uint16_t arithmetic: (x) & M16 */

/* ---- Shared memory: one word per location ---------------------------- */

#ifdef PACKED
/* device event suppression area (written by the device, read by the driver) */
#define L_EV_FLAGS 0      /* device_event->flags */
#define L_EV_OFFWRAP 1    /* device_event->off_wrap */
#define L_DESC(p) (2 + (p)) /* desc[p].flags */
#define NLOC (2 + QSIZE)

#define EV_ENABLE 0  /* VR_EVENT_F_ENABLE */
#define EV_DISABLE 1 /* VR_EVENT_F_DISABLE */
#define EV_DESC 2    /* VR_EVENT_F_DESC */
#define WRAP_BIT 32768 /* 1 << VR_EVENT_WRAP_SHIFT */

/* desc flags, only the two bits that matter: 1 = AVAIL (bit 7), 2 = USED
 * (bit 15). vr__packed_avail_bits / vr__packed_used_bits: */
#define AVAIL_BITS(w) ((w) -> 1 : 2)
#define USED_BITS(w) ((w) -> 3 : 0)
#else
#define L_AVAIL_IDX 0   /* avail->idx (driver) */
#define L_USED_IDX 1    /* used->idx (device) */
#define L_USED_FLAGS 2  /* used->flags (device): VR_USED_F_NO_NOTIFY = 1 */
#define L_AVAIL_EVENT 3 /* avail_event at the end of the used ring (device) */
#define NLOC 4

#define NO_NOTIFY 1 /* VR_USED_F_NO_NOTIFY */
#endif

int mem[NLOC]; /* all zero at init, as vr_*_init leave the rings */

/* ---- TSO store buffers --------------------------------------------------- */

typedef sbuf {
	byte n;       /* entries in use, oldest at 0 */
	byte loc[4];
	int val[4];
	byte pub[4];  /* ghost: messages this store makes visible */
};
sbuf sbp; /* producer (driver) */
sbuf sbc; /* consumer (device) */

/* A side's load of location L: its own newest buffered store, else memory. */
#define HIT(s, i, L) (s.n > (i) && s.loc[i] == (L))
#define LOAD(s, L) \
	(HIT(s, 3, L) -> s.val[3] : \
	(HIT(s, 2, L) -> s.val[2] : \
	(HIT(s, 1, L) -> s.val[1] : \
	(HIT(s, 0, L) -> s.val[0] : mem[L]))))

/* A store enters the buffer (stalls while the buffer is full). */
inline STORE(s, L, v, k)
{
	atomic {
		s.n < SBSIZE ->
		s.loc[s.n] = (L);
		s.val[s.n] = (v);
		s.pub[s.n] = (k);
		s.n++
	}
}

/* Full fence (mfence / locked instruction): wait until the buffer drained. */
#define FENCE(s) (s.n == 0)

byte visible;  /* ghost: messages whose publishing store reached memory */
byte sent;     /* ghost: messages the producer published (program order) */
byte consumed; /* ghost: messages the consumer took */
bit doorbell;  /* eventfd: notify sets it, the woken wait reads it to 0 */
bool asleep;   /* ghost: consumer blocked on the doorbell */

/* Scratch for PRINT_DRAIN, reset to 0 inside the same step so it never
 * tells two states apart (not "hidden": BFS refuses hidden variables). */
byte dloc;
int dval;

/* One line per store that reaches memory (for the trail). */
inline PRINT_DRAIN(who, L, v)
{
	if
#ifdef PACKED
	:: L == L_EV_FLAGS ->
		printf("MSC: mem    %c's store reaches memory: device_event.flags = %d\n", who, v)
	:: L == L_EV_OFFWRAP ->
		printf("MSC: mem    %c's store reaches memory: device_event.off_wrap = %d/%d\n",
		       who, v & 32767, (v >> 15) & 1)
	:: else ->
		printf("MSC: mem    %c's store reaches memory: desc[%d].flags = %d\n", who, L - 2, v)
#else
	:: L == L_AVAIL_IDX ->
		printf("MSC: mem    %c's store reaches memory: avail->idx = %d\n", who, v)
	:: L == L_USED_IDX ->
		printf("MSC: mem    %c's store reaches memory: used->idx = %d\n", who, v)
	:: L == L_USED_FLAGS ->
		printf("MSC: mem    %c's store reaches memory: used->flags = %d\n", who, v)
	:: else ->
		printf("MSC: mem    %c's store reaches memory: avail_event = %d\n", who, v)
#endif
	fi
}

/* The oldest entry of a buffer reaches memory. */
inline DRAIN(s, who)
{
	d_step {
		s.n > 0 ->
		mem[s.loc[0]] = s.val[0];
		visible = visible + s.pub[0];
		dloc = s.loc[0];
		dval = s.val[0];
		PRINT_DRAIN(who, dloc, dval);
		dloc = 0;
		dval = 0;
		s.loc[0] = s.loc[1]; s.val[0] = s.val[1]; s.pub[0] = s.pub[1];
		s.loc[1] = s.loc[2]; s.val[1] = s.val[2]; s.pub[1] = s.pub[2];
		s.loc[2] = s.loc[3]; s.val[2] = s.val[3]; s.pub[2] = s.pub[3];
		s.n--;
		/* keep unused entries zero: one state per buffer content */
		s.loc[s.n] = 0; s.val[s.n] = 0; s.pub[s.n] = 0
	}
}

proctype drain_producer()
{
end:	do
	:: DRAIN(sbp, 'P')
	od
}

proctype drain_consumer()
{
end:	do
	:: DRAIN(sbc, 'C')
	od
}

#ifdef COALESCE
/* chan_notify.c coalescing: a doorbell the peer asked for is owed (owe(): a
 * locked fetch_add, so a full fence on x86) and paid by exactly one thread
 * (pay(): a locked exchange) once COALESCE are owed, or by anyone once T
 * passed (the payer process). */
byte owed;
#endif

/* The doorbell (transport notify): a release. An eventfd write is a system
 * call whose locked instructions drain the store buffer; an MMIO or port
 * doorbell is ordered after the earlier stores too. So the producer's
 * stores are in memory before the consumer can wake. */
inline RING()
{
	atomic {
		FENCE(sbp) ->
		doorbell = 1;
		printf("MSC: P      notify: ring the doorbell\n")
	}
}

#ifdef COALESCE
/* pay(): the exchange takes what is owed; whoever gets non-zero rings,
 * anyone else does nothing. */
inline PAY(who)
{
	atomic {
		if
		:: owed > 0 ->
			owed = 0;
			doorbell = 1;
			printf("MSC: %c      pay the owed doorbell: ring\n", who)
		:: else -> skip
		fi
	}
}

/* Time T passes: a later call on the producer's end, its own blocking
 * wait, or vr_chan_service() from a timer pays what is owed (T: the
 * payer process, marked T in the trail). */
proctype payer()
{
end:	do
	:: atomic { owed > 0 -> PAY('T') }
	od
}
#endif

/* ======================================================================= */
#ifndef PACKED
/*                 Split ring: 16-bit free-running indexes                 */
/* ======================================================================= */

/* vr_need_event(event, new_idx, old_idx), uint16_t arithmetic */
#define NEED_EVENT(ev, nidx, oidx) \
	((((nidx) - (ev) - 1) & M16) < (((nidx) - (oidx)) & M16))

/* Driver: vr_split_drv_add x k, vr_split_drv_kick_prepare, then the
 * doorbell if asked (publish() in libvring/chan_notify.c). */
proctype producer()
{
	int avail_idx = START;  /* q->avail_idx */
	int avail_pub = START;  /* q->avail_pub */
	int kick_old = START;   /* q->kick_old */
	int last_used = START;  /* q->last_used */
	int since_kick = 0;     /* q->since_kick */
	byte in_flight = 0;     /* q->in_flight */
	byte k;
	int seen;
	int ev;
	bool need;

	do
	:: sent == NMSG -> break
	:: else ->
		/* Ring full: collect used entries (vr_split_drv_get_used, A2).
		 * Blocks until the device's used->idx moved: the reverse
		 * direction's wait is not modelled (see MODEL.md). */
		if
		:: in_flight == QSIZE ->
			atomic {
				LOAD(sbp, L_USED_IDX) != last_used ->
				seen = LOAD(sbp, L_USED_IDX);
				assert(((seen - last_used) & M16) <= in_flight);
				in_flight = in_flight - ((seen - last_used) & M16);
				last_used = seen
			}
		:: else -> skip
		fi;
		/* A batch of k messages (add x k), 1 <= k <= free entries. */
		k = 1;
		do
		:: k < QSIZE - in_flight && sent + k < NMSG -> k++
		:: break
		od;
		avail_idx = (avail_idx + k) & M16;
		in_flight = in_flight + k;
		sent = sent + k;
		printf("MSC: P      publish %d message(s): avail->idx = %d (into the store buffer)\n", k, avail_idx);
		/* vr_split_drv_publish: R1, release store of avail->idx */
		STORE(sbp, L_AVAIL_IDX, avail_idx, k);
		since_kick = since_kick + k;
		if
		:: since_kick > 65536 -> since_kick = 65536
		:: else -> skip
		fi;
		avail_pub = avail_idx;

		/* The API allows several publishes before one need_notify (the
		 * channel does not batch that way); not before the producer
		 * could block on a full ring, nor after the last message. */
		if
		:: sent < NMSG && in_flight < QSIZE ->
			printf("MSC: P      need_notify deferred\n");
			goto next
		:: true
		fi;
		/* vr_split_drv_need_notify -> vr__split_need_notify */
#ifndef NO_FENCE_PRODUCER
		FENCE(sbp); /* F1 */
		printf("MSC: P      F1 full fence (store buffer empty)\n");
#endif
		atomic {
			if
			:: since_kick == 0 -> need = 0
			:: else ->
#ifdef EVENT_IDX
				ev = LOAD(sbp, L_AVAIL_EVENT);
				need = since_kick >= 65536 ||
				       NEED_EVENT(ev, avail_pub, kick_old);
				printf("MSC: P      need_notify: avail_event = %d, old..new = %d..%d -> %d\n",
				       ev, kick_old, avail_pub, need);
#else
				ev = LOAD(sbp, L_USED_FLAGS);
				need = !(ev & NO_NOTIFY);
				printf("MSC: P      need_notify: used->flags = %d -> %d\n", ev, need);
#endif
				kick_old = avail_pub;
				since_kick = 0
			fi
		}
		if
#ifdef COALESCE
		:: need ->
			atomic {
				FENCE(sbp) -> /* owe(): locked add */
				owed++;
				printf("MSC: P      owe the doorbell (%d owed)\n", owed)
			}
			if
			:: owed >= COALESCE -> PAY('P')
			:: else -> skip
			fi
#else
		:: need -> RING()
#endif
		:: else -> skip
		fi;
next:		skip
	od;
	printf("MSC: P      done: %d messages sent\n", sent)
}

/* Device: channel.c dev_next (vr_split_dev_pop; vr__chan_wait with
 * vr_split_dev_arm_avail_notify / vr_split_dev_suppress_avail_notify),
 * dev_done (vr_split_dev_complete + publish). */
proctype consumer()
{
	int last_avail = START; /* q->last_avail */
	int avail_seen = START; /* q->avail_seen */
	int used_idx = START;   /* q->used_idx */
	byte used_flags = 0;    /* q->used_flags */
	int seen;
	int pending;

	do
	:: /* vr_split_dev_pop: re-read avail->idx (A1) once the cached
	    * value is used up */
		if
		:: last_avail == avail_seen ->
			atomic {
				seen = LOAD(sbc, L_AVAIL_IDX);
				pending = (seen - last_avail) & M16;
				assert(pending <= QSIZE); /* else VR_EAVAILIDX */
				avail_seen = seen
			}
		:: else -> skip
		fi;
		if
		:: last_avail != avail_seen ->
			atomic {
				assert(consumed < visible);
				consumed++;
				last_avail = (last_avail + 1) & M16;
				printf("MSC: C      take message %d\n", consumed)
			}
			/* dev_done: complete + publish, R2 */
			used_idx = (used_idx + 1) & M16;
			printf("MSC: C      complete: used->idx = %d (into the store buffer)\n", used_idx);
			STORE(sbc, L_USED_IDX, used_idx, 0)
		:: else ->
			/* vr__chan_wait -> arm() -> vr_split_dev_arm_avail_notify */
#ifdef EVENT_IDX
			printf("MSC: C      ring empty: arm, avail_event = %d (into the store buffer)\n", last_avail);
			STORE(sbc, L_AVAIL_EVENT, last_avail, 0);
#else
			used_flags = used_flags & ~NO_NOTIFY;
			printf("MSC: C      ring empty: arm, used->flags = %d (into the store buffer)\n", used_flags);
			STORE(sbc, L_USED_FLAGS, used_flags, 0);
#endif
#ifndef NO_FENCE_CONSUMER
			FENCE(sbc); /* F4 */
			printf("MSC: C      F4 full fence (store buffer empty)\n");
#endif
			atomic {
				seen = LOAD(sbc, L_AVAIL_IDX);
				pending = (seen - last_avail) & M16;
				assert(pending <= QSIZE);
				avail_seen = seen;
				printf("MSC: C      re-check: avail->idx = %d, %d pending\n", seen, pending)
			}
			if
			:: pending != 0 -> skip
			:: else ->
				/* ops->wait on the doorbell, no timeout */
				asleep = 1;
				printf("MSC: C      sleep on the doorbell\n");
end_wait:			atomic {
					doorbell ->
					doorbell = 0;
					asleep = 0;
					printf("MSC: C      woken\n")
				}
			fi;
			/* vr_split_dev_suppress_avail_notify */
#ifdef EVENT_IDX
			printf("MSC: C      suppress: avail_event = %d (into the store buffer)\n",
			       (last_avail - 1) & M16);
			STORE(sbc, L_AVAIL_EVENT, (last_avail - 1) & M16, 0)
#else
			if
			:: !(used_flags & NO_NOTIFY) ->
				used_flags = used_flags | NO_NOTIFY;
				printf("MSC: C      suppress: used->flags = %d (into the store buffer)\n", used_flags);
				STORE(sbc, L_USED_FLAGS, used_flags, 0)
			:: else -> skip
			fi
#endif
		fi
	od
}

#else
/* ======================================================================= */
/*             Packed ring: ring position + wrap counter                   */
/* ======================================================================= */

#define IS_AVAIL(f, w) ((f) == AVAIL_BITS(w))
#define IS_USED(f, w) ((f) == USED_BITS(w))

/* vr_packed_need_event(off_wrap, QSIZE, new, old) into @res */
inline PACKED_NEED_EVENT(ow, npos, nwrap, opos, owrap, res)
{
	ev_pos = (ow) & 32767;
	if
	:: ev_pos >= QSIZE -> res = 1
	:: else ->
		ev = ev_pos + ((((ow) >> 15) & 1) -> QSIZE : 0);
		nw = (npos) + ((nwrap) -> QSIZE : 0);
		ol = (opos) + ((owrap) -> QSIZE : 0);
		ev_dist = ev + 2 * QSIZE - ol;
		if
		:: ev_dist >= 2 * QSIZE -> ev_dist = ev_dist - 2 * QSIZE
		:: else -> skip
		fi;
		new_dist = nw + 2 * QSIZE - ol;
		if
		:: new_dist >= 2 * QSIZE -> new_dist = new_dist - 2 * QSIZE
		:: else -> skip
		fi;
		res = (ev_dist < new_dist)
	fi
}

/* Driver: vr_packed_drv_add x k, vr_packed_drv_kick_prepare, then the
 * doorbell if asked (publish() in libvring/chan_notify.c). */
proctype producer()
{
	byte next_avail = 0;  /* q->next_avail */
	bit avail_wrap = 1;   /* q->avail_wrap */
	byte next_used = 0;   /* q->next_used */
	bit used_wrap = 1;    /* q->used_wrap */
	byte num_free = QSIZE;
	byte held_pos;        /* q->held_pos */
	byte held_flags;      /* q->held_flags */
	byte pub_pos = 0;     /* q->pub_pos */
	bit pub_wrap = 1;     /* q->pub_wrap */
	byte kick_pos = 0;    /* q->kick_pos */
	bit kick_wrap = 1;    /* q->kick_wrap */
	int since_kick = 0;   /* q->since_kick */
	byte k;
	byte i;
	int evf;
	int ow;
	int ev_pos, ev, nw, ol, ev_dist, new_dist;
	bool need;

	do
	:: sent == NMSG -> break
	:: else ->
		/* No free position: collect used descriptors
		 * (vr_packed_drv_get_used, A2); at least one, blocking (the
		 * reverse direction's wait is not modelled), then any more that
		 * are there. */
		if
		:: num_free == 0 ->
			do
			:: atomic {
				IS_USED(LOAD(sbp, L_DESC(next_used)), used_wrap) ->
				num_free++;
				next_used++;
				if
				:: next_used == QSIZE -> next_used = 0; used_wrap = 1 - used_wrap
				:: else -> skip
				fi
			   }
			:: num_free > 0 -> break
			od
		:: else -> skip
		fi;
		k = 1;
		do
		:: k < num_free && sent + k < NMSG -> k++
		:: break
		od;
		/* vr_packed_drv_add x k: the first head's flags are held back
		 * (vr__packed_drv_set_head), the others stored relaxed. */
		i = 0;
		do
		:: i == k -> break
		:: else ->
			if
			:: i == 0 ->
				held_pos = next_avail;
				held_flags = AVAIL_BITS(avail_wrap)
			:: else ->
				STORE(sbp, L_DESC(next_avail), AVAIL_BITS(avail_wrap), 0)
			fi;
			next_avail++;
			if
			:: next_avail == QSIZE -> next_avail = 0; avail_wrap = 1 - avail_wrap
			:: else -> skip
			fi;
			num_free--;
			i++
		od;
		sent = sent + k;
		printf("MSC: P      publish %d message(s) at desc[%d], wrap %d (into the store buffer)\n",
		       k, held_pos, held_flags == 1);
		/* vr_packed_drv_publish: R1, release store of the head's flags */
		STORE(sbp, L_DESC(held_pos), held_flags, k);
		pub_pos = next_avail;
		pub_wrap = avail_wrap;
		since_kick = since_kick + k;
		if
		:: since_kick > 2 * QSIZE -> since_kick = 2 * QSIZE
		:: else -> skip
		fi;

		/* Several publishes before one need_notify: as for split. */
		if
		:: sent < NMSG && num_free > 0 ->
			printf("MSC: P      need_notify deferred\n");
			goto next
		:: true
		fi;
		/* vr_packed_drv_need_notify -> vr__packed_need_notify */
#ifndef NO_FENCE_PRODUCER
		FENCE(sbp); /* F1 */
		printf("MSC: P      F1 full fence (store buffer empty)\n");
#endif
		if
		:: since_kick == 0 -> need = 0
		:: else ->
			/* two loads, flags first, as the code reads them */
			evf = LOAD(sbp, L_EV_FLAGS);
			atomic {
				ow = LOAD(sbp, L_EV_OFFWRAP);
				if
				:: evf == EV_DISABLE -> need = 0
#ifdef EVENT_IDX
				:: evf == EV_DESC ->
					if
					:: since_kick >= 2 * QSIZE -> need = 1
					:: else ->
						PACKED_NEED_EVENT(ow, pub_pos, pub_wrap,
								  kick_pos, kick_wrap, need)
					fi
#endif
				:: else -> need = 1
				fi;
				printf("MSC: P      need_notify: device_event flags = %d off_wrap = %d/%d, old..new = %d/%d..%d/%d -> %d\n",
				       evf, ow & 32767, (ow >> 15) & 1, kick_pos, kick_wrap,
				       pub_pos, pub_wrap, need);
				kick_pos = pub_pos;
				kick_wrap = pub_wrap;
				since_kick = 0
			}
		fi;
		if
#ifdef COALESCE
		:: need ->
			atomic {
				FENCE(sbp) -> /* owe(): locked add */
				owed++;
				printf("MSC: P      owe the doorbell (%d owed)\n", owed)
			}
			if
			:: owed >= COALESCE -> PAY('P')
			:: else -> skip
			fi
#else
		:: need -> RING()
#endif
		:: else -> skip
		fi;
next:		skip
	od;
	printf("MSC: P      done: %d messages sent\n", sent)
}

/* Device: channel.c dev_next (vr_packed_dev_pop; vr__chan_wait with
 * vr_packed_dev_arm_avail_notify / vr_packed_dev_suppress_avail_notify),
 * dev_done (vr_packed_dev_complete + publish). */
proctype consumer()
{
	byte next_avail = 0; /* q->next_avail */
	bit avail_wrap = 1;  /* q->avail_wrap */
	byte next_used = 0;  /* q->next_used */
	bit used_wrap = 1;   /* q->used_wrap */
	int f;
	bool avail;

	do
	:: /* vr_packed_dev_pop: A1, acquire load of desc[next_avail].flags */
		atomic {
			f = LOAD(sbc, L_DESC(next_avail));
			avail = IS_AVAIL(f, avail_wrap)
		}
		if
		:: avail ->
			atomic {
				assert(consumed < visible);
				consumed++;
				printf("MSC: C      take message %d at desc[%d]\n", consumed, next_avail);
				next_avail++;
				if
				:: next_avail == QSIZE -> next_avail = 0; avail_wrap = 1 - avail_wrap
				:: else -> skip
				fi
			}
			/* dev_done: vr_packed_dev_complete + publish, R2: one used
			 * descriptor, its flags stored with release */
			printf("MSC: C      complete: desc[%d] used (into the store buffer)\n", next_used);
			STORE(sbc, L_DESC(next_used), USED_BITS(used_wrap), 0);
			next_used++;
			if
			:: next_used == QSIZE -> next_used = 0; used_wrap = 1 - used_wrap
			:: else -> skip
			fi
		:: else ->
			/* vr__chan_wait -> arm() -> vr_packed_dev_arm_avail_notify */
#ifdef EVENT_IDX
			printf("MSC: C      ring empty: arm, off_wrap = %d/%d, flags = DESC (into the store buffer)\n",
			       next_avail, avail_wrap);
			STORE(sbc, L_EV_OFFWRAP, next_avail + avail_wrap * WRAP_BIT, 0);
			STORE(sbc, L_EV_FLAGS, EV_DESC, 0);
#else
			printf("MSC: C      ring empty: arm, flags = ENABLE (into the store buffer)\n");
			STORE(sbc, L_EV_FLAGS, EV_ENABLE, 0);
#endif
#ifndef NO_FENCE_CONSUMER
			FENCE(sbc); /* F4 */
			printf("MSC: C      F4 full fence (store buffer empty)\n");
#endif
			atomic {
				f = LOAD(sbc, L_DESC(next_avail));
				avail = IS_AVAIL(f, avail_wrap);
				printf("MSC: C      re-check: desc[%d].flags avail = %d\n", next_avail, avail)
			}
			if
			:: avail -> skip
			:: else ->
				asleep = 1;
				printf("MSC: C      sleep on the doorbell\n");
end_wait:			atomic {
					doorbell ->
					doorbell = 0;
					asleep = 0;
					printf("MSC: C      woken\n")
				}
			fi;
			/* vr_packed_dev_suppress_avail_notify */
			printf("MSC: C      suppress: flags = DISABLE (into the store buffer)\n");
			STORE(sbc, L_EV_FLAGS, EV_DISABLE, 0)
		fi
	od
}
#endif

/* Runs only when nothing else can move: every side finished or blocked,
 * every store buffer drained. */
proctype checker()
{
	timeout ->
	printf("MSC: end    sent %d, consumed %d, consumer asleep %d\n", sent, consumed, asleep);
	assert(!(asleep && consumed < sent)); /* lost wakeup */
	assert(consumed == NMSG)              /* stranded message */
}

init
{
	atomic {
#ifndef PACKED
		/* split: indexes may start anywhere on the 16-bit cycle */
		mem[L_AVAIL_IDX] = START;
		mem[L_USED_IDX] = START;
		mem[L_AVAIL_EVENT] = START; /* 0 at START 0, as the device's init leaves it */
#endif
		run drain_producer();
		run drain_consumer();
		run producer();
		run consumer();
		run checker();
#ifdef COALESCE
		run payer();
#endif
	}
}

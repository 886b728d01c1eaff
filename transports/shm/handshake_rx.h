/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the shm transport: the one step of receiving a handshake
 * message that handles descriptors. Separate from handshake.h, which is
 * pure (and fuzzed with modelled fds): this closes real ones, and is
 * tested with real sockets (tests/test_shm_handshake.c). Header-only for
 * the same reason as handshake.h. Needs the POSIX socket API: the includer
 * defines _POSIX_C_SOURCE (200809L) or _GNU_SOURCE first.
 */
#ifndef VR_SHM_HANDSHAKE_RX_H
#define VR_SHM_HANDSHAKE_RX_H

#include <sys/socket.h>
#include <unistd.h>

#include "handshake.h"

/*
 * After recvmsg returned @got >= 0 bytes into @mh: move every fd of its
 * SCM_RIGHTS control messages into @fds (at most @cap; any beyond are
 * closed at once), then judge the message with vr__hs_check_frame. All
 * fds are collected before the message is judged, so that whatever the
 * answer none leaks into this process (an empty SEQPACKET message may
 * carry fds too). @fds NULL: the caller asked for none (no control
 * buffer; the kernel discards any and sets MSG_CTRUNC).
 * @return 0 with *nfds set; or vr__hs_check_frame's error, with every fd
 *         received closed and *nfds untouched
 */
static inline int vr__hs_take_fds(size_t got, struct msghdr *mh, int *fds,
				  unsigned cap, unsigned *nfds)
{
	struct cmsghdr *c;
	unsigned n = 0, rx = 0, i;
	int rc;

	for (c = fds ? CMSG_FIRSTHDR(mh) : NULL; c; c = CMSG_NXTHDR(mh, c)) {
		size_t k, cnt;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < cnt; k++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
			if (n < cap) {
				fds[n++] = f;
			} else {
				close(f);
				rx |= VR__HS_RX_EXCESS;
			}
		}
	}
	if (mh->msg_flags & (MSG_CTRUNC | MSG_TRUNC))
		rx |= VR__HS_RX_CUT;
	rc = vr__hs_check_frame(got, rx);
	if (rc) {
		for (i = 0; i < n; i++)
			close(fds[i]);
		return rc;
	}
	if (nfds)
		*nfds = n;
	return 0;
}

#endif /* VR_SHM_HANDSHAKE_RX_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/* vr_strerror() and vr_errname(): the text of every VR_E* code. */
#include <vring/errors.h>

struct vr__errtext {
	int code;
	const char *name;
	const char *text;
};

static const struct vr__errtext vr__errors[] = {
	{VR_OK, "VR_OK", "success"},
	{VR_EAGAIN, "VR_EAGAIN", "nothing ready now, try again"},
	{VR_ENOSPC, "VR_ENOSPC", "not enough free descriptors"},
	{VR_EINVAL, "VR_EINVAL", "invalid argument"},
	{VR_ERANGE, "VR_ERANGE", "region or buffer too small"},
	{VR_EALIGN, "VR_EALIGN", "ring area misaligned"},
	{VR_ENOTSUP, "VR_ENOTSUP", "feature not negotiated"},
	{VR_E2BIG, "VR_E2BIG", "chain has more segments than the iov array"},
	{VR_ESTATE, "VR_ESTATE", "call not valid in the queue's state"},
	{VR_EBROKEN, "VR_EBROKEN", "queue broken by a protocol violation; reset it"},
	{VR_EAVAILIDX, "VR_EAVAILIDX", "peer moved the available index by more than the queue size"},
	{VR_EHEAD, "VR_EHEAD", "peer gave a chain head out of range"},
	{VR_ENEXT, "VR_ENEXT", "peer gave a descriptor next index out of range"},
	{VR_ELOOP, "VR_ELOOP", "peer's chain loops or is longer than the queue"},
	{VR_ENESTED, "VR_ENESTED", "peer nested an indirect table in an indirect table"},
	{VR_EINDIRECT, "VR_EINDIRECT", "peer gave a malformed indirect descriptor"},
	{VR_EOVERFLOW, "VR_EOVERFLOW", "peer's address range wraps or chain exceeds 4 GiB"},
	{VR_EFAULT, "VR_EFAULT", "peer named memory outside the allowed window"},
	{VR_EORDER, "VR_EORDER", "peer put a readable segment after a writable one"},
	{VR_EZEROLEN, "VR_EZEROLEN", "peer gave a zero-length descriptor"},
	{VR_EINFLIGHT, "VR_EINFLIGHT", "peer reused a chain still in flight"},
	{VR_EBUFID, "VR_EBUFID", "peer gave a buffer id out of range"},
	{VR_EUSEDID, "VR_EUSEDID", "peer returned an id that is not in flight"},
	{VR_EUSEDLEN, "VR_EUSEDLEN", "peer returned a length above the writable bytes"},
	{VR_EUSEDIDX, "VR_EUSEDIDX", "peer moved the used index past the chains in flight"},
	{VR_EFLAGS, "VR_EFLAGS", "peer's packed descriptor flags are inconsistent"},
	{VR_ETIMEDOUT, "VR_ETIMEDOUT", "timed out"},
	{VR_EMSGSIZE, "VR_EMSGSIZE", "message larger than the channel maximum"},
	{VR_EPEERDEAD, "VR_EPEERDEAD", "peer is gone"},
	{VR_EMAGIC, "VR_EMAGIC", "not a libvring region (bad magic)"},
	{VR_EVERSION, "VR_EVERSION", "unsupported region layout version"},
	{VR_EREGION, "VR_EREGION", "region header inconsistent with the region"},
	{VR_ETRUNC, "VR_ETRUNC", "region truncated: smaller than its header says"},
	{VR_EIO, "VR_EIO", "operating system error"},
	{VR_EPERM, "VR_EPERM", "not allowed to join the channel"},
	{VR_EFEATURES, "VR_EFEATURES", "feature negotiation failed"},
	{VR_EDEVICE, "VR_EDEVICE", "device unusable or reporting impossible values"},
};

static const struct vr__errtext *vr__find(int err)
{
	unsigned i;

	for (i = 0; i < sizeof(vr__errors) / sizeof(vr__errors[0]); i++)
		if (vr__errors[i].code == err)
			return &vr__errors[i];
	return 0;
}

const char *vr_strerror(int err)
{
	const struct vr__errtext *e;

	if (err > 0)
		return "success";
	e = vr__find(err);
	return e ? e->text : "unknown error";
}

const char *vr_errname(int err)
{
	const struct vr__errtext *e;

	if (err > 0)
		return "VR_OK";
	e = vr__find(err);
	return e ? e->name : "VR_E?";
}

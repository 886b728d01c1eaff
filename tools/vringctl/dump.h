/* SPDX-License-Identifier: BSD-3-Clause */
/* vringctl dump: the text and JSON renderings of an analysed snapshot. */
#ifndef VRINGCTL_DUMP_H
#define VRINGCTL_DUMP_H

#include "analyze.h"

/* @only_q: the one queue to show, or -1 for all. */
void vc_dump_text(FILE *out, const struct vc_region *r, const struct vc_analysis *a,
		  int only_q);
void vc_dump_json(FILE *out, const struct vc_region *r, const struct vc_analysis *a,
		  int only_q);

/* Channel role of queue @q ("TX: driver -> device"), or NULL when the
 * region's first two queues do not form a channel. */
const char *vc_channel_role(const struct vc_analysis *a, uint32_t q);

#endif /* VRINGCTL_DUMP_H */

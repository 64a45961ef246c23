// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Placeholder until the walk lands: one segment covering the interval. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "critpath.h"

int critpath__build(const struct mpx_model *m, size_t start_task, uint64_t begin,
		    uint64_t end, struct mpx_cpath *out)
{
	(void)m;
	memset(out, 0, sizeof(*out));
	out->begin = begin;
	out->end = end;
	out->seg = calloc(1, sizeof(*out->seg));
	if (!out->seg)
		return -ENOMEM;
	out->seg[0] = (struct mpx_cp_seg){ begin, end, (uint32_t)start_task, 0,
					   MPX_CP_UNKNOWN, -1, 0 };
	out->n = out->cap = 1;
	return 0;
}

void critpath__free(struct mpx_cpath *cp)
{
	free(cp->seg);
	memset(cp, 0, sizeof(*cp));
}

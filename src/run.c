// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdlib.h>
#include <string.h>

#include "run.h"
#include "util.h"

struct mpx_run *runset__add(struct mpx_runset *rs, enum mpx_mode mode, int repeat)
{
	struct mpx_run *r, *nr;

	nr = realloc(rs->runs, (rs->n + 1) * sizeof(*rs->runs));
	if (!nr)
		return NULL;
	rs->runs = nr;
	r = &rs->runs[rs->n++];
	memset(r, 0, sizeof(*r));
	r->mode = mode;
	r->repeat = repeat;
	evbuf__init(&r->eb);
	model__init(&r->m);
	r->exit_code = MPX_EXIT_ERROR;
	return r;
}

void runset__free(struct mpx_runset *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		evbuf__free(&rs->runs[i].eb);
		model__free(&rs->runs[i].m);
	}
	free(rs->runs);
	rs->runs = NULL;
	rs->n = 0;
}

int runset__exit_code(const struct mpx_runset *rs)
{
	size_t i;

	if (!rs->n)
		return MPX_EXIT_ERROR;
	for (i = 0; i < rs->n; i++)
		if (!rs->runs[i].done || rs->runs[i].exit_code)
			return rs->runs[i].done ? rs->runs[i].exit_code : MPX_EXIT_ERROR;
	return 0;
}

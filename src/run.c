// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"
#include "util.h"

const char *mpx_mode_name(enum mpx_mode mode)
{
	switch (mode) {
	case MPX_MODE_PROCESS: return "process";
	case MPX_MODE_POOL: return "pool";
	case MPX_MODE_BOTH: return "both";
	default: return "command";
	}
}

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

bool runset__traced(const struct mpx_runset *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		if (rs->runs[i].done)
			return true;
	return false;
}

void runset__free(struct mpx_runset *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		evbuf__free(&rs->runs[i].eb);
		model__free(&rs->runs[i].m);
		free(rs->runs[i].rssx);
	}
	free(rs->runs);
	rs->runs = NULL;
	rs->n = 0;
	for (i = 0; i < rs->nstrs; i++)
		free(rs->strs[i]);
	free(rs->strs);
	rs->strs = NULL;
	rs->nstrs = 0;
}

const char *runset__keep(struct mpx_runset *rs, char *s)
{
	char **ns = realloc(rs->strs, (rs->nstrs + 1) * sizeof(*rs->strs));

	if (!ns) {
		free(s);
		return NULL;
	}
	rs->strs = ns;
	rs->strs[rs->nstrs++] = s;
	return s;
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

bool run__seed_of(const struct mpx_model *m, struct mpx_seed *seed)
{
	const struct mpx_task *t = m->tasks;

	memset(seed, 0, sizeof(*seed));
	if (m->nevents || m->nreqs || m->nrss)
		return false;
	if (!m->ntasks)
		return true;
	if (m->ntasks != 1 || !t->is_root || t->tid != m->root_tid ||
	    t->start_ns != m->t0 || t->ncomms > 1)
		return false;
	seed->seeded = true;
	seed->tid = t->tid;
	seed->pid = t->pid;
	seed->ppid = t->ppid;
	seed->have_comm = t->ncomms == 1;
	if (seed->have_comm)
		memcpy(seed->comm, t->comm, sizeof(seed->comm));
	seed->ts = m->t0;
	seed->have_k = t->have_base;
	if (t->have_base)
		seed->k = t->k_base;
	return true;
}

void run__replay(struct evbuf *eb, struct mpx_model *m, uint64_t end_ns)
{
	const char *dump = getenv("MPX_DUMP_EVENTS");
	size_t i;

	evbuf__sort(eb);
	/* Each CPU's scheduler clock against event time (see clock_lag()). */
	if (model__calibrate_clocks(m, eb))
		m->nomem++;
	for (i = 0; i < eb->n; i++) {
		const struct mpx_hdr *h = evbuf__get(eb, i);

		/* Before the release the held child was only getting to its
		 * barrier: the seed (schedstat read after that) covers it. */
		if (h->ts < m->t0)
			continue;
		if (dump)
			mpx_event_print(stderr, h, m->t0);
		model__apply(m, h);
	}
	model__finish(m, end_ns);
}

void run__analyze(struct mpx_run *r, uint64_t end_ns)
{
	/* Seeded but not fed yet: what a trace file needs to redo this. */
	run__seed_of(&r->m, &r->seed);
	r->end_ns = end_ns;
	r->analyzed = true;
	run__replay(&r->eb, &r->m, end_ns);
}

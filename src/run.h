/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * One traced run (its events, its model, what the runner saw) and the set
 * of runs of one mpxtrace invocation.  Pure C: filled live or from a file.
 */
#ifndef MPX_RUN_H
#define MPX_RUN_H

#ifdef __BPF__
#error "run.h is user-space only"
#endif

#include <stdbool.h>
#include <stddef.h>

#include "evbuf.h"
#include "model.h"
#include "opts.h"
#include "report.h"

struct mpx_run {
	enum mpx_mode mode;		/* PROCESS, POOL, or NONE for a command */
	int repeat;			/* 0-based index among runs of this mode */
	struct evbuf eb;
	struct mpx_model m;
	struct mpx_run_info info;
	int exit_code;			/* what mpxtrace mirrors */
	bool done;			/* traced to the end */
};

struct mpx_runset {
	struct mpx_run *runs;
	size_t n;
	bool builtin;			/* --mode: our own workload */
	struct mpx_workload_opts work;	/* effective knobs (defaults filled) */
	const char *note;		/* e.g. runtime fallback */
};

/* Append a fresh run; NULL on ENOMEM. */
struct mpx_run *runset__add(struct mpx_runset *rs, enum mpx_mode mode, int repeat);
void runset__free(struct mpx_runset *rs);
/* The status mpxtrace exits with: the first failing run's, else 0. */
int runset__exit_code(const struct mpx_runset *rs);

#endif /* MPX_RUN_H */

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
#include <stdint.h>

#include "evbuf.h"
#include "model.h"
#include "opts.h"
#include "report.h"

/*
 * The workload's root task as it was seeded into the model before any
 * event (model__seed_root's arguments): a trace file stores it so that
 * reading the file back seeds the same model.
 */
struct mpx_seed {
	bool seeded;			/* model__seed_root() was called */
	bool have_comm;			/* comm was passed (not NULL) */
	bool have_k;			/* k was passed (schedstat read) */
	uint32_t tid, pid, ppid;
	char comm[MPX_COMM_LEN];
	uint64_t ts;			/* the model's t0 */
	struct mpx_kcounters k;		/* the root's base counters */
};

struct mpx_run {
	enum mpx_mode mode;		/* PROCESS, POOL, or NONE for a command */
	int repeat;			/* 0-based index among runs of this mode */
	struct evbuf eb;
	struct mpx_model m;
	struct mpx_run_info info;
	int exit_code;			/* what mpxtrace mirrors */
	bool done;			/* traced to the end */
	bool analyzed;			/* run__analyze() fed the model */
	uint64_t end_ns;		/* ... closing open lifetimes at this time */
	struct mpx_seed seed;		/* valid when analyzed */
	/* Read from a trace file, for the model once it is replayed: each
	 * process's exact RSS (--rss=exact), 6 x u64 each: pid, peak, anon,
	 * file, shmem, last. */
	uint64_t *rssx;
	size_t nrssx;
};

struct mpx_runset {
	struct mpx_run *runs;
	size_t n;
	bool builtin;			/* --mode: our own workload */
	struct mpx_workload_opts work;	/* effective knobs (defaults filled) */
	const char *note;		/* e.g. runtime fallback */
	char **strs;			/* strings the runset owns (read from a file) */
	size_t nstrs;
};

/* "process", "pool", "both", or "command" for a command after --. */
const char *mpx_mode_name(enum mpx_mode mode);

/* Append a fresh run; NULL on ENOMEM. */
struct mpx_run *runset__add(struct mpx_runset *rs, enum mpx_mode mode, int repeat);
void runset__free(struct mpx_runset *rs);
/* Whether any run was traced to its end (or its interruption). */
bool runset__traced(const struct mpx_runset *rs);
/* The status mpxtrace exits with: the first failing run's, else 0. */
int runset__exit_code(const struct mpx_runset *rs);
/* Take ownership of a malloc'd string (freed by runset__free); returns s,
 * or NULL (and frees s) on ENOMEM. */
const char *runset__keep(struct mpx_runset *rs, char *s);

/*
 * The model's root as model__seed_root() left it, before any event:
 * false when the model holds anything else (events applied, more tasks).
 */
bool run__seed_of(const struct mpx_model *m, struct mpx_seed *seed);
/* Sort eb and feed the model in timestamp order; close open lifetimes at
 * end_ns.  The same for a live run and one read from a file. */
void run__replay(struct evbuf *eb, struct mpx_model *m, uint64_t end_ns);
/* Note the run's seed and end time, then run__replay() it. */
void run__analyze(struct mpx_run *r, uint64_t end_ns);

#endif /* MPX_RUN_H */

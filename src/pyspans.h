/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Python spans of a run, from its MPX_EV_PY / MPX_EV_GIL records: imports
 * (nested, with inclusive and exclusive time), GC pauses, audit events,
 * recorded function calls and GIL waits, per task of the model.
 * Pure C: no libbpf; unit-tested from synthetic events.
 */
#ifndef MPX_PYSPANS_H
#define MPX_PYSPANS_H

#ifdef __BPF__
#error "pyspans.h is user-space only"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evbuf.h"
#include "model.h"

/* A span: import, GC pause, function call or GIL wait. */
struct mpx_pyspan {
	uint64_t start, end;
	uint64_t excl_ns;	/* import/call: minus the imports/calls nested in it */
	int64_t arg;		/* GC: objects collected; import: found (1/0) */
	uint32_t task;		/* index in the model */
	int32_t val;		/* GC: generation; call: line */
	uint16_t depth;		/* nesting depth of imports/calls, 0: outermost */
	bool open;		/* never closed: cut at the task's end */
	char name[MPX_PYNAME_LEN + 1];
};

struct mpx_pyaudit {
	uint64_t ts;
	uint32_t task;
	char name[MPX_PYNAME_LEN + 1];
};

enum mpx_pyspan_kind {
	MPX_PS_IMPORT,
	MPX_PS_GC,
	MPX_PS_CALL,
	MPX_PS_GIL,
	MPX_PS_MAX,
};

/* Per task totals. */
struct mpx_pytask {
	uint64_t import_ns;		/* outermost imports, inclusive */
	uint64_t gc_ns, gil_ns, gil_max_ns;
	uint64_t futex_gil_ns;		/* futex sleep inside GIL waits */
	uint64_t futex_other_ns;	/* the rest of its futex sleep */
	uint32_t nimports, ngc, naudit, ngil, ncalls;
};

/* One interpreter's probes: attached before the run, or when a traced
 * task exec'd it (late: its spans before ts are missing). */
struct mpx_pyinterp {
	uint64_t ts;			/* attached */
	uint64_t exec_ns;		/* late: the exec it followed, else 0 */
	uint32_t tid;			/* late: the task that exec'd it */
	uint32_t attached, missing;	/* MPX_PYP_* */
	bool late;
	char binary[MPX_PYNAME_LEN + 1];
};

#define MPX_PY_MAX_INTERP 8

struct mpx_pyspans {
	bool probes_known;		/* the run says which probes it had */
	struct mpx_pyinterp interp[MPX_PY_MAX_INTERP];
	uint32_t ninterp;
	uint32_t attached, missing;	/* MPX_PYP_* */
	char binary[MPX_PYNAME_LEN + 1];
	struct mpx_pyspan *s[MPX_PS_MAX];	/* each in start order per task */
	size_t n[MPX_PS_MAX], cap[MPX_PS_MAX];
	struct mpx_pyaudit *audit;
	size_t naudit, audit_cap;
	struct mpx_pytask *task;	/* one per model task */
	size_t ntasks;
	bool any;			/* at least one Python record */
};

/* Build from eb (sorted, as run__replay leaves it) against m. */
int pyspans__build(struct mpx_pyspans *ps, const struct evbuf *eb, const struct mpx_model *m);
void pyspans__free(struct mpx_pyspans *ps);

/* Time of task's outermost imports (inclusive) overlapping [a, b). */
uint64_t pyspans__import_in(const struct mpx_pyspans *ps, uint32_t task, uint64_t a,
			    uint64_t b, const struct mpx_pyspan **longest);
/* The first of task's GIL waits (s[MPX_PS_GIL] is by task, then start)
 * that may last until t or later: the ones before it end before t. */
size_t pyspans__gil_first(const struct mpx_pyspans *ps, uint32_t task, uint64_t t);
/* From GIL wait lo on, in (task, start) order: the first of a task after
 * task, or of task starting at or after t0 (UINT64_MAX: the next task's). */
size_t pyspans__gil_bound(const struct mpx_pyspans *ps, size_t lo, uint32_t task, uint64_t t0);
/* GIL-wait time of task overlapping [a, b). */
uint64_t pyspans__gil_in(const struct mpx_pyspans *ps, uint32_t task, uint64_t a, uint64_t b);
/* Whether an audit event names a phase (fork, exec, subprocess, ...). */
bool pyspans__audit_is_phase(const char *name);

#endif /* MPX_PYSPANS_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The critical path of an interval: walk back from its end through the
 * start task's waits, following each wakeup to the task that woke it.
 * Segments are disjoint, in time order, and sum exactly to end - begin.
 * The rules and the choices behind them are at the top of critpath.c.
 */
#ifndef MPX_CRITPATH_H
#define MPX_CRITPATH_H

#ifdef __BPF__
#error "critpath.h is user-space only"
#endif

#include <stddef.h>
#include <stdint.h>

#include "model.h"

enum mpx_cp_kind {
	MPX_CP_RUN,		/* running or runnable */
	MPX_CP_WAIT,		/* blocked, woken by no traced task */
	MPX_CP_WAKE_LAT,	/* the waker's try_to_wake_up (or the parent's
				 * fork) to our wakeup */
	MPX_CP_UNKNOWN,		/* nothing traced to follow */
	MPX_CP_NKINDS,
};

struct mpx_cp_seg {
	uint64_t start, end;	/* ns, tracepoint time */
	uint32_t task;		/* index into m->tasks */
	uint8_t state;		/* enum mpx_tstate of that task then */
	uint8_t kind;		/* enum mpx_cp_kind */
	int32_t reason;		/* wait reason id for blocked segments, else -1 */
	uint32_t via_tid;	/* the task whose wakeup (or fork) led here;
				 * 0 for the start task */
};

struct mpx_cpath {
	struct mpx_cp_seg *seg;
	size_t n, cap;
	uint64_t begin, end;
};

/*
 * Walk back from end to begin starting in task index start_task.  out is
 * overwritten (free it with critpath__free() even on error).  end <= begin
 * gives an empty path.  Returns 0, -EINVAL (start_task out of range) or
 * -ENOMEM.
 */
int critpath__build(const struct mpx_model *m, size_t start_task, uint64_t begin,
		    uint64_t end, struct mpx_cpath *out);
/*
 * What a sleep [start, end) of task (an index) that no traced task woke
 * waited for, when something else knows: a tid, the walk going on in that
 * task at the same instant (as after a wakeup), or 0.  The Python GIL: a timed wait that
 * timed out as the holder let go.
 */
typedef uint32_t (*critpath_waited_fn)(void *ctx, size_t task, uint64_t start,
				       uint64_t end);
/* critpath__build(), asking waited() about sleeps without a traced waker. */
int critpath__build_with(const struct mpx_model *m, size_t start_task, uint64_t begin,
			 uint64_t end, critpath_waited_fn waited, void *ctx,
			 struct mpx_cpath *out);
void critpath__free(struct mpx_cpath *cp);
/* "run", "wait", "wake-latency", "unknown". */
const char *critpath__kind_name(uint8_t kind);
/* The bucket a segment counts in: wake latency is run-queue time after a
 * wakeup; what could not be followed is unaccounted. */
enum mpx_bucket critpath__bucket(const struct mpx_cp_seg *s);

#define MPX_CP_ANY (-1)
/* Time on the path of task index task and of kind (MPX_CP_ANY: any). */
uint64_t critpath__sum(const struct mpx_cpath *cp, long task, int kind);

#endif /* MPX_CRITPATH_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Summary mode in user space: the kernel's per-task records (summary.h)
 * turned into the task model the reporters print.  Pure C, no libbpf.
 */
#ifndef MPX_SUMMSET_H
#define MPX_SUMMSET_H

#ifdef __BPF__
#error "summset.h is user-space only"
#endif

#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "summary.h"

/* The records of one run, as they are drained from the kernel. */
struct mpx_summset {
	struct mpx_summ *v;
	size_t n, cap;
};

/* Append one record (a copy); -ENOMEM. */
int summset__add(struct mpx_summset *ss, const struct mpx_summ *s);
void summset__free(struct mpx_summset *ss);

/*
 * Put every record into m as a task, in start order: the one flagged
 * MPX_SU_ROOT fills the seeded root (model__seed_root), the rest are new.
 * Lifetimes still open close at end_ns (alive_at_end) or, for a task that
 * exited without a final switch-out seen, at its exit.  Marks m->summary.
 */
int summary__apply(struct mpx_model *m, struct mpx_summset *ss, uint64_t end_ns);

#endif /* MPX_SUMMSET_H */

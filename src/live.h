/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* A live invocation: plan the runs (a command, or the built-in modes),
 * trace each, and hand back a runset ready for analysis. */
#ifndef MPX_LIVE_H
#define MPX_LIVE_H

#ifdef __BPF__
#error "live.h is user-space only"
#endif

#include "opts.h"
#include "run.h"

/* Returns 0 when every planned run was traced (or a signal cut the plan
 * short: runs are then marked), else MPX_EXIT_* with the error printed. */
int live__execute(const struct mpx_opts *o, struct mpx_runset *rs);

#endif /* MPX_LIVE_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* A live run: start the workload held, attach, release, drain until the
 * whole tree has exited (or a signal), detach. */
#ifndef MPX_TRACE_H
#define MPX_TRACE_H

#ifdef __BPF__
#error "trace.h is user-space only"
#endif

#include "evbuf.h"
#include "model.h"
#include "opts.h"
#include "report.h"

/*
 * Run o->argv under tracing.  Events land in eb; the root task is seeded
 * into m; run is filled in.  Returns 0 or an MPX_EXIT_* code (error printed).
 * *exit_code receives the status mpxtrace should mirror.
 */
int trace__run(const struct mpx_opts *o, struct evbuf *eb, struct mpx_model *m,
	       struct mpx_run_info *run, int *exit_code);

/* Sort eb and feed the model; close open lifetimes at end_ns. */
void trace__analyze(struct evbuf *eb, struct mpx_model *m, uint64_t end_ns);

#endif /* MPX_TRACE_H */

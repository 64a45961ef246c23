/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The analysed runs as a timeline for ui.perfetto.dev (and chrome://tracing):
 * a Chrome trace-event JSON document, gzip-compressed when the file name
 * ends in ".gz".
 *
 * Each run's processes are process groups of their own ("pool run 1:
 * python3 [1234]"), each task a thread track ("worker-1 python3 1240") whose
 * slices are its intervals; the run's main process also carries a
 * "phases" track, a "critical path" track and a "runnable tasks" counter.
 * Wakeups and forks are flow arrows.  Pure C over the analysis.
 */
#ifndef MPX_PERFETTO_H
#define MPX_PERFETTO_H

#ifdef __BPF__
#error "perfetto.h is user-space only"
#endif

#include "analysis.h"

/*
 * Write the timeline to path (through path.tmp, renamed when complete;
 * mode 0600).  Returns 0 or -errno.
 */
int perfetto__write(const struct mpx_analysis *an, const char *path);

/*
 * Can perfetto__write() write path?  Creates and removes path.tmp, so
 * that a bad path fails before anything is traced.  Returns 0 or -errno.
 */
int perfetto__check(const char *path);

#endif /* MPX_PERFETTO_H */

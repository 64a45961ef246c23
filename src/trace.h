/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Live tracing: one session (programs loaded and attached once), any
 * number of runs (start a workload held, track it, release, drain until its
 * whole tree has exited or a signal came).
 */
#ifndef MPX_TRACE_H
#define MPX_TRACE_H

#ifdef __BPF__
#error "trace.h is user-space only"
#endif

#include <stdbool.h>

#include "evbuf.h"
#include "model.h"
#include "opts.h"
#include "report.h"

struct trace_session;

/* Load and attach.  Returns 0 or MPX_EXIT_* (error printed). */
int trace__open(struct trace_session **out, const struct collect_opts *co);
void trace__close(struct trace_session *s);

/*
 * Run argv under tracing.  Events land in eb; the root task is seeded into
 * m; run is filled in.  Returns 0 or an MPX_EXIT_* code (error printed);
 * *exit_code receives the status mpxtrace should mirror.
 */
int trace__run(struct trace_session *s, char *const argv[], bool as_root,
	       int stdout_to, struct evbuf *eb, struct mpx_model *m,
	       struct mpx_run_info *run, int *exit_code);

struct pyprobe;
struct pyprobe_opts;
/* Attach the Python probes for argv's interpreter (or, bin not NULL, the
 * interpreter at bin, which process pid runs when not 0) to the loaded
 * session (its tracked set and ring buffer); NULL only without memory. */
struct pyprobe *trace__python(struct trace_session *s, const struct pyprobe_opts *o,
			      char *const argv[], const char *bin, uint32_t pid);

/* Call fn for each exec of a traced task while a run goes on (after its
 * record reached eb; fn may add records to eb). */
typedef void (*trace_exec_fn)(void *ctx, const struct mpx_exec *e, struct evbuf *eb);
void trace__on_exec(struct trace_session *s, trace_exec_fn fn, void *ctx);

/* Call fn with the root's pid once it is forked, before it runs the
 * command (each run). */
typedef void (*trace_start_fn)(void *ctx, uint32_t pid);
void trace__on_start(struct trace_session *s, trace_start_fn fn, void *ctx);

/* A signal asked us to stop: no further runs. */
bool trace__stopped(void);

/* Sort eb and feed the model; close open lifetimes at end_ns. */
void trace__analyze(struct evbuf *eb, struct mpx_model *m, uint64_t end_ns);

/* SUDO_UID/SUDO_GID when the workload will run as the invoking user, else -1. */
void trace__workload_ids(bool as_root, long *uid, long *gid);

#endif /* MPX_TRACE_H */

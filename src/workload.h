/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Built-in workloads: the command lines of the process and pool runs, in
 * a private temporary directory that holds the task files and, for the
 * python runtime, the script mpxtrace carries inside itself.
 */
#ifndef MPX_WORKLOAD_H
#define MPX_WORKLOAD_H

#ifdef __BPF__
#error "workload.h is user-space only"
#endif

#include <stdbool.h>
#include <stdint.h>

#include "opts.h"

#define MPX_WORK_MAX_ARGS 32

struct mpx_workload {
	struct mpx_workload_opts o;	/* defaults filled in */
	char dir[64];			/* private temp dir, removed by cleanup */
	char script[128];		/* python: the script's path in dir */
	char python[256];		/* python: the interpreter */
	char self[4096];		/* native: this executable */
	const char *note;		/* why the runtime differs from the ask */
	char *argv[MPX_WORK_MAX_ARGS];
	char argbuf[MPX_WORK_MAX_ARGS][64];
};

/*
 * Fill defaults, pick the runtime, make the temp dir (owned by uid/gid when
 * >= 0, so the workload can write there under sudo) and write the script.
 * Returns 0 or MPX_EXIT_* after printing one line.
 */
int workload__prepare(struct mpx_workload *w, const struct mpx_workload_opts *o,
		      long uid, long gid);
/* argv (NULL-terminated, valid until the next call) for one mode run. */
char **workload__argv(struct mpx_workload *w, enum mpx_mode mode);
/* Remove the temp dir and everything in it. */
void workload__cleanup(struct mpx_workload *w);

#endif /* MPX_WORKLOAD_H */

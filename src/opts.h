/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Command line of mpxtrace. */
#ifndef MPX_OPTS_H
#define MPX_OPTS_H

#ifdef __BPF__
#error "opts.h is user-space only"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collect.h"

struct mpx_opts {
	char **argv;		/* the workload command, NULL-terminated */
	int argc;
	bool json;
	bool wide;
	bool as_root;
	const char *output;	/* report file, NULL: stdout */
	struct collect_opts collect;
};

/* Parse argv.  Returns 0, or MPX_EXIT_USAGE after a one-line message
 * (or -1 when --help/--version printed and the caller should exit 0). */
int opts__parse(struct mpx_opts *o, int argc, char **argv);

#endif /* MPX_OPTS_H */

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
#include "pyprobe.h"

enum mpx_mode {
	MPX_MODE_NONE,		/* a command after -- */
	MPX_MODE_PROCESS,
	MPX_MODE_POOL,
	MPX_MODE_BOTH,
};

enum mpx_runtime {
	MPX_RT_AUTO,		/* python when an interpreter exists */
	MPX_RT_PYTHON,
	MPX_RT_NATIVE,
};

/* Built-in workload knobs; 0/NULL means "not given" (defaults applied later). */
struct mpx_workload_opts {
	enum mpx_mode mode;
	enum mpx_runtime runtime;
	uint32_t tasks, workers, ms, repeat;
	uint64_t bytes;
	const char *kind;
	const char *start_method;
	const char *python;
};

/* argv[1]: none (a live run), "record" or "report". */
enum mpx_cmd {
	MPX_CMD_LIVE,
	MPX_CMD_RECORD,		/* trace, write a trace file, no report */
	MPX_CMD_REPORT,		/* read a trace file, report: no tracing */
};

struct mpx_opts {
	enum mpx_cmd cmd;
	const char *save;	/* trace file to write (record -o, --save), or NULL */
	const char *input;	/* report: the trace file to read */
	char **argv;		/* the workload command, NULL-terminated */
	int argc;
	bool json;
	bool wide;
	bool as_root;
	const char *output;	/* report file, NULL: stdout */
	const char *perfetto;	/* timeline file (perfetto.h), or NULL */
	const char *csv;	/* CSV directory (csv.h), or NULL */
	const char *html;	/* HTML page (report_html.h), or NULL */
	struct collect_opts collect;
	struct mpx_workload_opts work;
	struct pyprobe_opts py;		/* --python-probes, --py-functions */
};

/* Parse argv.  Returns 0, or MPX_EXIT_USAGE after a one-line message
 * (or -1 when --help/--version printed and the caller should exit 0). */
int opts__parse(struct mpx_opts *o, int argc, char **argv);

#endif /* MPX_OPTS_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Python probes: find the interpreter a command runs (PATH, #!, pyenv
 * shims) and the libpython it links, then attach CPython's USDT probes and
 * uprobes on its GIL take path, scoped in the kernel to the traced tree
 * (the main collector's tracked map) and writing into its ring buffer.
 * A missing probe is a note, never an error.
 */
#ifndef MPX_PYPROBE_H
#define MPX_PYPROBE_H

#ifdef __BPF__
#error "pyprobe.h is user-space only"
#endif

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "events.h"

struct pyprobe_opts {
	bool off;			/* --python-probes=off */
	const char *functions;		/* --py-functions=GLOB, or NULL */
};

/* The maps of the main collector the Python programs share. */
struct pyprobe_maps {
	int tracked_fd, events_fd, drops_fd;
};

struct pyprobe;

/*
 * Attach to the python argv[0] resolves to.  Always returns a pyprobe (NULL
 * only without memory); what was attached and what was not is in its note.
 */
struct pyprobe *pyprobe__open(const struct pyprobe_opts *o, char *const argv[],
			      const struct pyprobe_maps *maps);
/* The same, for the interpreter at bin (a path to an ELF file); pid, when
 * not 0, runs it: its libpython is the one that process maps. */
struct pyprobe *pyprobe__open_bin(const struct pyprobe_opts *o, const char *bin,
				  uint32_t pid, const struct pyprobe_maps *maps);
/* CPython's audit probe on process pid (a process that exec'd, or is to
 * exec, p's interpreter): the other probes are on every process mapping the
 * interpreter, this one only on the processes named (forked children
 * inherit nothing).  Once per pid: 1 attached now, 0 attached before (or no
 * audit probe), -errno (-ENOSPC: too many processes). */
int pyprobe__audit(struct pyprobe *p, uint32_t pid);
/* Processes with an audit probe of their own, at most (per interpreter). */
#define PYPROBE_MAX_AUDIT 32
/* Processes pyprobe__audit() turned away: past that limit. */
uint32_t pyprobe__audit_skipped(const struct pyprobe *p);
/* Whether p's probes are on the file at bin already. */
bool pyprobe__covers(const struct pyprobe *p, const char *bin);
/* The Python interpreter process pid runs after exec'ing filename (its
 * /proc exe, else filename with #! lines followed), or false. */
bool pyprobe__exec_python(uint32_t pid, const char *filename, char *bin, size_t sz);
/* Python interpreters the words of argv name (a shell's -c string, env,
 * nice, time ...): at most max, distinct files; returns how many. */
int pyprobe__scan_argv(char *const argv[], char bins[][PATH_MAX], int max);
/* One line: what was attached to which binary, what was unavailable. */
const char *pyprobe__note(const struct pyprobe *p);
/* The command runs a Python interpreter (probes off: false). */
bool pyprobe__is_python(const struct pyprobe *p);
/* The command runs a Python without its USDT probes (or --py-functions). */
bool pyprobe__wanted_missing(const struct pyprobe *p);
/* The MPX_PY_PROBES record of a run (ts, tid, pid given by the caller). */
void pyprobe__record(const struct pyprobe *p, struct mpx_py *rec);
/* Function probes: entries seen in the traced tree, entries recorded (the
 * glob matched), returns seen, returns matched. */
void pyprobe__func_stats(const struct pyprobe *p, uint64_t st[4]);
/* Run count and run time (ns) of p's programs so far (collector.h's
 * bpf_obj_stats), added to st[0] and st[1]. */
void pyprobe__prog_stats(const struct pyprobe *p, uint64_t st[2]);
void pyprobe__destroy(struct pyprobe *p);

/* Exposed for tests: the interpreter a command runs, or false (why set). */
bool pyprobe__resolve(const char *arg0, char *bin, size_t binsz, char *why, size_t whysz);

#endif /* MPX_PYPROBE_H */

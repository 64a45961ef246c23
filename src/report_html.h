/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The analysed runs as one self-contained HTML page: the explanation (the
 * text report's sentences), bucket bars per run, the tree's memory over
 * time and a Gantt chart of every task's states, drawn by an inline script
 * from inline JSON.  Nothing is fetched: no fonts, scripts or styles from
 * the network.  Pure C over the analysis.
 */
#ifndef MPX_REPORT_HTML_H
#define MPX_REPORT_HTML_H

#ifdef __BPF__
#error "report_html.h is user-space only"
#endif

#include <stdio.h>

#include "analysis.h"

/* Most Gantt segments on one page; past it, short intervals merge. */
#define MPX_HTML_MAX_SEGS	150000

/* Write the page to f.  Returns 0 or -errno. */
int html__emit(const struct mpx_analysis *an, FILE *f);

/*
 * Write the page to path (through path.tmp, renamed when complete; mode
 * 0600, owned by the sudo user).  Returns 0 or -errno.
 */
int html__write(const struct mpx_analysis *an, const char *path);

/*
 * Can html__write() write path?  Creates and removes path.tmp, so that a
 * bad path fails before anything is traced.  Returns 0 or -errno.
 */
int html__check(const char *path);

#endif /* MPX_REPORT_HTML_H */

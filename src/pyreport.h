/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The Python part of the reports: text section, JSON keys (pyspans.h). */
#ifndef MPX_PYREPORT_H
#define MPX_PYREPORT_H

#ifdef __BPF__
#error "pyreport.h is user-space only"
#endif

#include <stdio.h>

#include "analysis.h"
#include "json_writer.h"

/* Which probes the run had, in words ("" when the run says nothing). */
void pyreport__probes(const struct mpx_pyspans *py, char *buf, size_t sz);
/* The short per-task Python section of a run (nothing without Python). */
void pyreport__text(const struct mpx_run_analysis *ra, FILE *f);
/* The run's "python_probes" key (nothing when the run says nothing). */
void pyreport__run_json(const struct mpx_run_analysis *ra, struct json_writer *w);
/* A phase's Python keys (imports inside it, starts it holds). */
void pyreport__phase_json(const struct mpx_phase *p, struct json_writer *w);
/* The run's facts of a Python command's phases (py_* keys). */
void pyreport__facts_json(const struct mpx_run_analysis *ra, struct json_writer *w);
/* Per task keys py_imports, py_gc, py_audit, py_calls, gil_wait_ns, ...;
 * ctx is the run analysis (mpx_report.task_json). */
void pyreport__task_json(const void *ctx, size_t task_idx, struct json_writer *w);

#endif /* MPX_PYREPORT_H */

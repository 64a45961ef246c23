/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The analysed runs as CSV tables for spreadsheets and pandas: in one
 * directory, tasks.csv (a row per task of every run), waits.csv (a row per
 * task and wait reason) and critical_path.csv (a row per segment).  Fields
 * are quoted as RFC 4180 says; "run" is the run's index in the JSON
 * report's runs[].  Pure C over the analysis.
 */
#ifndef MPX_CSV_H
#define MPX_CSV_H

#ifdef __BPF__
#error "csv.h is user-space only"
#endif

#include <stdbool.h>
#include <stdio.h>

#include "analysis.h"

/*
 * Write the three files into dir, created (mode 0700) if missing; each goes
 * through NAME.tmp, renamed when complete (mode 0600).  Returns 0 or -errno.
 */
int csv__write(const struct mpx_analysis *an, const char *dir);

/*
 * Can csv__write() write into dir?  Creates dir if missing and a temporary
 * file in it, so that a bad path fails before anything is traced.
 * Returns 0 or -errno.
 */
int csv__check(const char *dir);

/* Nothing will be written: removes the directory csv__check() made. */
void csv__abandon(const char *dir);

/* One field of a row: quoted when it holds a comma, quote, CR or LF. */
void csv__field(FILE *f, const char *s, bool first);

#endif /* MPX_CSV_H */

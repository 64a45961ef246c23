/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The whole report of an invocation: for --mode, a summary screen (wall
 * time per mode, phases, the explanation, the claims) and then per-run
 * task tables; for a command, its task table.  Text or JSON.
 */
#ifndef MPX_OUTPUT_H
#define MPX_OUTPUT_H

#ifdef __BPF__
#error "output.h is user-space only"
#endif

#include <stdbool.h>
#include <stdio.h>

#include "analysis.h"

void output__text(const struct mpx_analysis *an, FILE *f, bool wide);
void output__json(const struct mpx_analysis *an, FILE *f);
/* s word-wrapped to 79 columns: the first line after lead, the rest
 * indented by indent spaces. */
void output__wrap(FILE *f, const char *lead, int indent, const char *s);

#endif /* MPX_OUTPUT_H */

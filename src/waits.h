/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Wait reasons: what a task blocked in, named from the kernel stack taken
 * at its switch-out ("pipe_read in read()", "futex_wait in futex()").
 * Kernel symbols come from /proc/kallsyms (or any file in its format).
 */
#ifndef MPX_WAITS_H
#define MPX_WAITS_H

#ifdef __BPF__
#error "waits.h is user-space only"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MPX_REASON_LEN 48
/* Reason id of the workload's first task held at mpxtrace's start barrier. */
#define MPX_REASON_BARRIER (-2)

struct ksyms;

/* Load symbols from a kallsyms-format stream; NULL on error (errno set). */
struct ksyms *ksyms__load(FILE *f);
void ksyms__free(struct ksyms *k);
/* The table in a binary form, for a cache; load checks key and form
 * (NULL, errno EINVAL, on any mismatch). */
int ksyms__save(const struct ksyms *k, FILE *f, const char *key);
struct ksyms *ksyms__load_saved(FILE *f, const char *key);
/* Is addr in the core kernel's text (_stext.._etext; true when unknown)? */
bool ksyms__in_core_text(const struct ksyms *k, uint64_t addr);
/* Name of the function containing addr, or NULL. */
const char *ksyms__find(const struct ksyms *k, uint64_t addr);

/*
 * Pick the reason from symbol names, innermost frame first: skip the
 * scheduler's own frames and generic wait plumbing, keep the first frame
 * that says what is awaited, and add the system call it came from.
 */
void waits__reason(const char *const names[], size_t n, char *out, size_t outsz);

/* Stack id -> reason string for one run. */
struct mpx_reasons {
	struct mpx_reason {
		int32_t id;
		char name[MPX_REASON_LEN];
	} *v;			/* in the order added */
	size_t n, cap;
	uint32_t *slot;		/* hash of ids: index in v + 1, 0 free */
	size_t nslot;		/* a power of two, at least twice n */
};

int reasons__add(struct mpx_reasons *r, int32_t id, const char *name);
/* The reason for a stack id, or NULL. */
const char *reasons__get(const struct mpx_reasons *r, int32_t id);
void reasons__free(struct mpx_reasons *r);

#endif /* MPX_WAITS_H */

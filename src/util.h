/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Small helpers every module may use: the one error function, number
 * parsing, clocks.  No libbpf here. */
#ifndef MPX_UTIL_H
#define MPX_UTIL_H

#ifdef __BPF__
#error "util.h is user-space only"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

/* Exit codes of mpxtrace itself (the workload's status is mirrored otherwise). */
#define MPX_EXIT_ERROR		1	/* mpxtrace failed (BPF, IO, ...) */
#define MPX_EXIT_USAGE		2	/* bad command line */
#define MPX_EXIT_NOEXEC		126	/* command found but not executable */
#define MPX_EXIT_NOTFOUND	127	/* command not found */

extern bool mpx_verbose;
extern bool mpx_json_errors;	/* -j: errors also as {"error": ...} on stdout */

/* Print "mpxtrace: <msg>" to stderr (and JSON on stdout with -j). */
void mpx_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mpx_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mpx_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Parse a whole decimal number in [min, max].  Returns 0 or -EINVAL/-ERANGE;
 * *out is untouched on error.
 */
int mpx_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* CLOCK_MONOTONIC in ns: the clock bpf_ktime_get_ns() reads. */
uint64_t mpx_now_ns(void);
/* When this process started (CLOCK_MONOTONIC ns): from the kernel's task
 * statistics (to the us), else /proc/self/stat (to the clock tick). */
uint64_t mpx_start_ns(void);

/*
 * Under sudo, a file mpxtrace writes belongs to the user who ran sudo
 * (SUDO_UID/SUDO_GID), not to root: give fd (or path) to them.  No-op
 * otherwise.  Returns 0 or -errno.
 */
int mpx_give_to_invoker(int fd);
int mpx_give_path_to_invoker(const char *path);

/*
 * Open PATH.tmp for writing, mode 0600 whatever the umask, a stale one
 * replaced, owned by the invoking user under sudo; *tmp gets its path
 * (free it).  The caller writes, then mpx_commit_out() renames it over
 * PATH, or mpx_abort_out() removes it: a failed write leaves nothing that
 * looks complete.  An existing PATH that is no regular file (a pipe,
 * /dev/null) is opened in place and *tmp is NULL.  Returns the fd or -errno.
 * mpx_open_out() is the same with mode (before the umask) instead of 0600.
 */
int mpx_open_tmp(const char *path, char **tmp);
int mpx_open_out(const char *path, mode_t mode, char **tmp);
int mpx_commit_out(const char *path, const char *tmp);
void mpx_abort_out(const char *tmp);
/* Whether path can be written as above: 0 or -errno; leaves nothing. */
int mpx_check_out(const char *path);

/* Grow *buf (element size elsz) so that it holds at least need elements. */
int mpx_grow(void **buf, size_t *cap, size_t need, size_t elsz);

/*
 * Sort n elements of elsz bytes (8 or 16) by the uint64_t key each starts
 * with, stably: equal keys keep their order.  A radix sort, linear in n
 * whatever the order of the input (sorted streams interleaved, batches).
 * Returns 0, or -ENOMEM or -EINVAL with v untouched.
 */
int mpx_sort_by_u64(void *v, size_t n, size_t elsz);
/* The first index of sorted v[0, n) holding x or more; n when none does. */
size_t mpx_lower_bound_u64(const uint64_t *v, size_t n, uint64_t x);
/* The k-th largest of v[0, n) (k from 1; 0 when n is 0), reordering v:
 * linear in n, no allocation. */
uint64_t mpx_kth_largest_u64(uint64_t *v, size_t n, size_t k);

#endif /* MPX_UTIL_H */

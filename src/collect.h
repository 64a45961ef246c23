/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The collector: load and attach the BPF programs, track tasks, drain the
 * ring buffer into an evbuf.  The only module that uses libbpf. */
#ifndef MPX_COLLECT_H
#define MPX_COLLECT_H

#ifdef __BPF__
#error "collect.h is user-space only"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evbuf.h"
#include "model.h"
#include "summary.h"

enum mpx_attach {
	MPX_ATTACH_AUTO,	/* tp_btf, else raw_tp */
	MPX_ATTACH_TP_BTF,
	MPX_ATTACH_RAW_TP,
};

struct collect_opts {
	size_t ringbuf_bytes;	/* power of two, multiple of the page size */
	uint32_t max_tasks;	/* tracked-task map size */
	enum mpx_attach attach;
	bool rss_exact;		/* kmem:rss_stat (classic tracepoint, via tracefs) */
	bool summary;		/* per-task totals in the kernel, no events (summary.h) */
	bool wakeup_events;	/* sched_wakeup records too (event mode) */
};

struct collector;

/* Open, configure, load and attach.  Returns 0 or -errno (error printed). */
int collector__open(struct collector **out, const struct collect_opts *o,
		    struct evbuf *sink);
/* Where records go from now on (NULL: dropped, counted as rejected). */
void collector__set_sink(struct collector *c, struct evbuf *sink);
/* Add one task to the in-kernel tracked set. */
int collector__track(struct collector *c, uint32_t tid, uint32_t pid);
/* Wait up to timeout_ms for data, then move everything waiting into the sink. */
int collector__poll(struct collector *c, int timeout_ms);
/* Records still in the kernel's per-CPU batches, to the sink (end of a run). */
int collector__drain(struct collector *c);
/* An epoll fd that becomes readable when records wait (for the caller's epoll). */
int collector__epoll_fd(struct collector *c);
/* Fd of a map of the main object ("tracked", "events", "drops") for a
 * second object to share (bpf_map__reuse_fd), or -ENOENT. */
int collector__map_fd(struct collector *c, const char *name);
/* Move the exact RSS figures (--rss=exact) into the model, and clear them. */
int collector__take_rss(struct collector *c, struct mpx_model *m);
/* Move the per-task loss counts into the model, and clear them. */
int collector__take_lost(struct collector *c, struct mpx_model *m);
/* --summary: start the record of the workload's first task (held asleep). */
int collector__summary_seed(struct collector *c, const struct mpx_summ *s);
/*
 * --summary: hand every finished task's record to fn and forget it in the
 * kernel; all: also the records of tasks still alive (then the kernel side
 * is empty).  Returns the number of records or a negative fn/-errno.
 */
int collector__summary_drain(struct collector *c, bool all,
			     int (*fn)(void *ctx, const struct mpx_summ *s), void *ctx);
/* Number of tasks still in the in-kernel tracked set. */
int collector__ntracked(struct collector *c);
/* Per-CPU drop counters summed (enum mpx_drop). */
void collector__drops(struct collector *c, uint64_t out[MPX_DROP_MAX]);
/* Send sig to the thread-group of every task still tracked. */
int collector__signal_tracked(struct collector *c, int sig);
/* Kernel stack of a stack id (MPX_STACK_DEPTH entries, 0-padded). */
int collector__stack(struct collector *c, int32_t id, uint64_t *ips);
const char *collector__attach_name(const struct collector *c);
/* The kernel's run count and run time (ns) of obj's loaded programs,
 * summed into st[0] and st[1]; the time is counted only while
 * kernel.bpf_stats_enabled is 1. */
struct bpf_object;
void bpf_obj_stats(const struct bpf_object *obj, uint64_t st[2]);
void collector__prog_stats(const struct collector *c, uint64_t st[2]);
/* Whether kernel.bpf_stats_enabled is 1. */
bool bpf_stats_on(void);
/* Detach and free; NULL is fine. */
void collector__destroy(struct collector *c);

#endif /* MPX_COLLECT_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Synthetic scheduler events for unit tests, so that a test reads like the
 * scenario it checks:
 *
 *	struct scn s;
 *
 *	scn__init(&s);
 *	scn__fork(&s, 1000, PARENT, CHILD, 0, "child");
 *	scn__wakeup_new(&s, 1000, CHILD);
 *	scn__in(&s, 3000, CHILD);
 *	scn__out(&s, 13000, CHILD, MPX_TASK_RUNNING, kc(10000, 2000, 1));
 *	scn__apply(&s, &m);
 *
 * The mk_*() makers build one record of include/events.h with hdr.type,
 * hdr.size, hdr.ts and hdr.cpu set; the scn__*() layer appends them to an
 * evbuf and remembers each task's pid from its fork, so callers name tasks
 * by tid only.  Kernel counters are always given explicitly: they are the
 * "kernel truth" a test is built around.
 */
#ifndef MPX_EVENTS_BUILDER_H
#define MPX_EVENTS_BUILDER_H

#include <string.h>

#include "evbuf.h"
#include "model.h"
#include "testlib.h"

/* ---- records ---------------------------------------------------------- */

/* Copy a NUL-terminated name into a zeroed fixed-size field, truncating. */
static inline void mk_name(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	memcpy(dst, src, len < size ? len : size - 1);
}

static inline struct mpx_kcounters kc(uint64_t sum_exec, uint64_t run_delay,
				      uint64_t pcount)
{
	return (struct mpx_kcounters){
		.sum_exec_runtime = sum_exec,
		.run_delay = run_delay,
		.pcount = pcount,
	};
}

static inline struct mpx_hdr mk_hdr(enum mpx_ev_type type, size_t size,
				    uint64_t ts, uint16_t cpu)
{
	return (struct mpx_hdr){
		.ts = ts, .type = type, .cpu = cpu, .size = (uint32_t)size,
	};
}

/* prev_tid 0: only a switch-in of next; next_tid 0: only a switch-out. */
static inline struct mpx_switch mk_switch(uint64_t ts, uint16_t cpu,
					  uint32_t prev_tid, uint32_t prev_pid,
					  uint32_t prev_state,
					  struct mpx_kcounters prev_k,
					  uint32_t next_tid, uint32_t next_pid)
{
	return (struct mpx_switch){
		.hdr = mk_hdr(MPX_EV_SWITCH, sizeof(struct mpx_switch), ts, cpu),
		.prev_k = prev_k,
		.prev_tid = prev_tid, .prev_pid = prev_pid,
		.next_tid = next_tid, .next_pid = next_pid,
		.prev_state = prev_state,
		.flags = prev_tid && prev_state == MPX_TASK_RUNNING ? MPX_SW_PREEMPT : 0,
		.stack_id = -1,
	};
}

static inline struct mpx_wakeup mk_wakeup(uint64_t ts, uint16_t cpu, uint32_t tid,
					  uint32_t pid, uint32_t waker_tid,
					  uint32_t flags)
{
	return (struct mpx_wakeup){
		.hdr = mk_hdr(MPX_EV_WAKEUP, sizeof(struct mpx_wakeup), ts, cpu),
		.waking_ts = ts,
		.tid = tid, .pid = pid,
		.waker_tid = waker_tid, .waker_pid = waker_tid,
		.target_cpu = cpu,
		.flags = flags | (waker_tid ? MPX_WK_WAKER_KNOWN : 0),
	};
}

static inline struct mpx_fork mk_fork(uint64_t ts, uint16_t cpu,
				      uint32_t parent_tid, uint32_t parent_pid,
				      uint32_t child_tid, uint32_t child_pid,
				      uint32_t flags, const char *comm)
{
	struct mpx_fork e = {
		.hdr = mk_hdr(MPX_EV_FORK, sizeof(struct mpx_fork), ts, cpu),
		.parent_tid = parent_tid, .parent_pid = parent_pid,
		.child_tid = child_tid, .child_pid = child_pid,
		.flags = flags,
	};

	mk_name(e.comm, sizeof(e.comm), comm);
	return e;
}

static inline struct mpx_exec mk_exec(uint64_t ts, uint16_t cpu, uint32_t tid,
				      uint32_t pid, uint32_t old_tid,
				      const char *comm, const char *filename)
{
	struct mpx_exec e = {
		.hdr = mk_hdr(MPX_EV_EXEC, sizeof(struct mpx_exec), ts, cpu),
		.tid = tid, .pid = pid, .old_tid = old_tid,
	};

	mk_name(e.comm, sizeof(e.comm), comm);
	mk_name(e.filename, sizeof(e.filename), filename);
	return e;
}

static inline struct mpx_exit mk_exit(uint64_t ts, uint16_t cpu, uint32_t tid,
				      uint32_t pid, struct mpx_kcounters k,
				      int32_t exit_code)
{
	return (struct mpx_exit){
		.hdr = mk_hdr(MPX_EV_EXIT, sizeof(struct mpx_exit), ts, cpu),
		.k = k,
		.tid = tid, .pid = pid,
		.exit_code = exit_code,
		.group_dead = tid == pid,
	};
}

static inline struct mpx_comm mk_comm(uint64_t ts, uint16_t cpu, uint32_t tid,
				      uint32_t pid, const char *comm)
{
	struct mpx_comm e = {
		.hdr = mk_hdr(MPX_EV_COMM, sizeof(struct mpx_comm), ts, cpu),
		.tid = tid, .pid = pid,
	};

	mk_name(e.comm, sizeof(e.comm), comm);
	return e;
}

/* ---- scenarios -------------------------------------------------------- */

#define SCN_MAX_TASKS 32

struct scn {
	struct evbuf eb;	/* the records, in the order they were added */
	uint16_t cpu;		/* hdr.cpu of the records added next */
	struct { uint32_t tid, pid; } ids[SCN_MAX_TASKS];
	size_t nids;
};

static inline void scn__init(struct scn *s)
{
	memset(s, 0, sizeof(*s));
	evbuf__init(&s->eb);
}

static inline void scn__free(struct scn *s)
{
	evbuf__free(&s->eb);
}

/* The pid a tid was forked with (a tid never forked is its own leader). */
static inline uint32_t scn__pid(const struct scn *s, uint32_t tid)
{
	size_t i;

	for (i = s->nids; i-- > 0;)
		if (s->ids[i].tid == tid)
			return s->ids[i].pid;
	return tid;
}

static inline void scn__add(struct scn *s, const void *rec, size_t size)
{
	ASSERT_EQ(evbuf__add(&s->eb, rec, size), 0);
}

/* Append a record made by mk_*(). */
#define SCN_ADD(s, rec) ({						\
	__typeof__(rec) ___r = (rec);					\
									\
	scn__add((s), &___r, sizeof(___r));				\
})

/* flags: MPX_FORK_THREAD makes child a thread of parent's process. */
static inline void scn__fork(struct scn *s, uint64_t ts, uint32_t parent,
			     uint32_t child, uint32_t flags, const char *comm)
{
	uint32_t parent_pid = scn__pid(s, parent);
	uint32_t cpid = flags & MPX_FORK_THREAD ? parent_pid : child;

	if (ASSERT_TRUE(s->nids < SCN_MAX_TASKS))
		s->ids[s->nids++] = (__typeof__(s->ids[0])){ child, cpid };
	SCN_ADD(s, mk_fork(ts, s->cpu, parent, parent_pid, child, cpid, flags, comm));
}

static inline void scn__wakeup(struct scn *s, uint64_t ts, uint32_t tid)
{
	SCN_ADD(s, mk_wakeup(ts, s->cpu, tid, scn__pid(s, tid), 0, 0));
}

static inline void scn__wakeup_by(struct scn *s, uint64_t ts, uint32_t tid,
				  uint32_t waker)
{
	SCN_ADD(s, mk_wakeup(ts, s->cpu, tid, scn__pid(s, tid), waker, 0));
}

static inline void scn__wakeup_new(struct scn *s, uint64_t ts, uint32_t tid)
{
	SCN_ADD(s, mk_wakeup(ts, s->cpu, tid, scn__pid(s, tid), 0, MPX_WK_NEW));
}

/* A CPU switches from an untracked task to tid. */
static inline void scn__in(struct scn *s, uint64_t ts, uint32_t tid)
{
	SCN_ADD(s, mk_switch(ts, s->cpu, 0, 0, 0, kc(0, 0, 0), tid, scn__pid(s, tid)));
}

/* tid leaves its CPU (to an untracked task) in prev_state with counters k. */
static inline void scn__out(struct scn *s, uint64_t ts, uint32_t tid,
			    uint32_t prev_state, struct mpx_kcounters k)
{
	SCN_ADD(s, mk_switch(ts, s->cpu, tid, scn__pid(s, tid), prev_state, k, 0, 0));
}

/* prev leaves its CPU and next takes it, in one sched_switch. */
static inline void scn__switch(struct scn *s, uint64_t ts, uint32_t prev,
			       uint32_t prev_state, struct mpx_kcounters k,
			       uint32_t next)
{
	SCN_ADD(s, mk_switch(ts, s->cpu, prev, scn__pid(s, prev), prev_state, k,
			     next, scn__pid(s, next)));
}

static inline void scn__exit(struct scn *s, uint64_t ts, uint32_t tid,
			     struct mpx_kcounters k, int32_t exit_code)
{
	SCN_ADD(s, mk_exit(ts, s->cpu, tid, scn__pid(s, tid), k, exit_code));
}

/* old_tid != tid: a non-leader thread exec'd and becomes tid. */
static inline void scn__exec(struct scn *s, uint64_t ts, uint32_t tid,
			     uint32_t old_tid, const char *comm,
			     const char *filename)
{
	SCN_ADD(s, mk_exec(ts, s->cpu, tid, scn__pid(s, tid), old_tid, comm, filename));
}

static inline void scn__rename(struct scn *s, uint64_t ts, uint32_t tid,
			       const char *comm)
{
	SCN_ADD(s, mk_comm(ts, s->cpu, tid, scn__pid(s, tid), comm));
}

/* Sort the records by timestamp and feed them all to m. */
static inline void scn__apply(struct scn *s, struct mpx_model *m)
{
	size_t i;

	evbuf__sort(&s->eb);
	for (i = 0; i < s->eb.n; i++)
		model__apply(m, evbuf__get(&s->eb, i));
}

#endif /* MPX_EVENTS_BUILDER_H */

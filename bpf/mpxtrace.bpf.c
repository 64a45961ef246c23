// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * mpxtrace kernel side: follow one process tree through the scheduler.
 *
 * Tasks outside the tree cost one lookup per hook (task storage, else the
 * tracked hash) and emit nothing.
 * Every hook exists twice: a tp_btf program and a raw_tp twin (suffix _raw)
 * for kernels where tp_btf cannot attach; user space picks one set with
 * bpf_program__set_autoload().  Both share one handle_<hook>() body; its
 * btf argument (a constant) makes the hot reads direct loads in tp_btf
 * programs and BPF_CORE_READ in raw_tp ones (MPX_READ, core_fixes.bpf.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "core_fixes.bpf.h"
#include "shared_maps.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * Set from user space between open and load.  has_prev_state_arg: the
 * running kernel's sched_switch passes prev_state as its 4th argument
 * (v5.18, commit fa2c3254d7cf "sched/tracing: Don't re-read p->state when
 * emitting sched_switch event").  has_exit_group_dead: sched_process_exit
 * passes group_dead (v6.16, "exit: move and extend sched_process_exit()
 * tracepoint").  The verifier drops the branch not taken, so a program
 * never touches an argument the tracepoint does not have.
 */
const volatile bool has_prev_state_arg = true;
const volatile bool has_exit_group_dead = true;
/* Ask for a consumer wakeup only when this much data is waiting. */
const volatile __u64 wakeup_bytes = 256 * 1024;
/* Record the kernel stack of each blocking switch-out (wait reasons). */
const volatile bool want_stacks = true;
/* Emit a memory sample when a process's RSS moved by this many pages. */
const volatile __u64 rss_step_pages = 64;
/* sched_process_exit runs before exit_mm() (v6.16): task->mm is valid. */
const volatile bool exit_has_mm = true;
/* --summary: per-task totals in the kernel (summary.bpf.h), no events. */
const volatile bool summary_mode = false;
/*
 * tp_btf programs find a traced task's entry in task storage (v5.11,
 * BPF_MAP_TYPE_TASK_STORAGE) before the tracked hash: set when user
 * space's probe of the map type succeeded.
 */
const volatile bool use_task_storage = false;
/* Bytes of records gathered per CPU before one ring-buffer write. */
const volatile __u32 batch_bytes = MPX_BATCH_BYTES;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MPX_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

/* Block requests followed from submission to completion, by request. */
struct req_info {
	__u64 start_ns, issue_ns;
	__u32 tid, pid, credit_tid, credit_pid;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct req_info);
} reqs SEC(".maps");

/* Inodes whose pages a tracked task dirtied: writeback is credited back. */
struct dirtier {
	__u32 tid, pid;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct dirtier);
} dirtied SEC(".maps");

/* Exact RSS per process (kmem:rss_stat, --rss=exact), bytes. */
struct rss_exact {
	__u64 cur[4];		/* MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES */
	__u64 peak[4];		/* the split at the peak */
	__u64 peak_total;	/* file + anon + shmem */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct rss_exact);
} rss_exact SEC(".maps");

/* Last RSS (pages) sampled per process, to emit only changes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u64);
} rss_last SEC(".maps");

/*
 * The tracked entries again, kept with the task itself: created at fork
 * (and by user space, through a pidfd, for the workload's first task), so
 * the hot hooks find a task without hashing its tid.  The hash stays the
 * list of traced tasks (user space, Python probes, raw_tp programs) and
 * the fallback: while a task whose storage could not be made is counted
 * (hash_only_tasks), a lookup that comes back empty goes to the hash, so
 * no task is missed for want of it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mpx_track);
} track_ts SEC(".maps");

/*
 * Tracked tasks whose storage could not be made, counted where it failed
 * (handle_fork, and user space for the first task).  While there are none,
 * a storage miss is an untracked task: the hash is not searched, and a
 * task outside the tree costs one storage lookup per hook.
 */
__u32 hash_only_tasks;

/* A task's tracked entry; btf (a constant of the inlined caller): p is a
 * BTF pointer, which task storage wants. */
static __always_inline struct mpx_track *track_get(struct task_struct *p, __u32 tid, bool btf)
{
	struct mpx_track *t;

	if (btf && use_task_storage) {
		t = bpf_task_storage_get(&track_ts, p, 0, 0);
		if (t || !hash_only_tasks)
			return t;
	}
	return bpf_map_lookup_elem(&tracked, &tid);
}

static __always_inline void count_drop(__u32 what)
{
	__u64 *cnt = bpf_map_lookup_elem(&drops, &what);

	if (cnt)
		*cnt += 1;
}

/* prev->in_iowait, a bitfield: a direct load for BTF pointers. */
static __always_inline bool read_iowait(struct task_struct *t, bool btf)
{
	if (btf)
		return BPF_CORE_READ_BITFIELD(t, in_iowait);
	return BPF_CORE_READ_BITFIELD_PROBED(t, in_iowait);
}

/*
 * Walking a kernel stack costs ~1.5 us, at every blocking switch-out.  A
 * task that blocks again in the same system call on the same first
 * argument (fd, futex address) and sleep state blocks at the same place:
 * reuse its stack id (kept in its tracked entry, for its last two sites: a
 * Pool worker alternates between a futex and a pipe read), and walk again
 * after MPX_STACK_REWALK uses all the same; each walk that finds the same
 * site doubles that, up to MPX_STACK_REWALK_MAX.
 */
#define MPX_STACK_REWALK 64
#define MPX_STACK_REWALK_MAX 256

/*
 * A futex wait blocks in the same kernel code whatever its address, and
 * CPython's threading.Condition waits on a lock of its own each time (a
 * queue.Queue's get in a Pool's handler threads): the site of a futex is
 * its operation, not its address (which would be a new site, and a walk,
 * at every such wait).
 */
#if defined(__TARGET_ARCH_arm64)
#define MPX_NR_FUTEX 98
#define MPX_NR_WAIT4 260
#define MPX_NR_WAITID 95
#else
#define MPX_NR_FUTEX 202
#define MPX_NR_WAIT4 61
#define MPX_NR_WAITID 247
#endif
#define MPX_FUTEX_CMD_MASK 0x7f		/* less FUTEX_PRIVATE_FLAG, CLOCK_REALTIME */

/*
 * The first argument stands for the site, but for a futex (its operation,
 * above) and a wait for a child: wait4's and waitid's first argument is
 * the child waited for, a new one at every fork (a shell or a fork loop
 * walked its stack at every wait: the switch program 2.2 us a run).
 */
static __always_inline __u64 site_arg(__u64 nr, __u64 a0, __u64 a1)
{
	if (nr == MPX_NR_FUTEX)
		return 0x1000 | (a1 & MPX_FUTEX_CMD_MASK);
	if (nr == MPX_NR_WAIT4 || nr == MPX_NR_WAITID)
		return 0x2000;
	return a0;
}

/*
 * Threads with more sites than two (a Pool's handler threads) find them
 * here, by process, system call, first argument and sleep state, looked at
 * again after MPX_STACK_REWALK uses by any of its threads.
 */
struct stack_memo_key {
	__u64 key;
	__u32 pid;
	__u32 pad;
};

struct stack_memo_val {
	__s32 id;
	__u32 uses;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct stack_memo_key);
	__type(value, struct stack_memo_val);
} stack_memo SEC(".maps");


/*
 * A thread's RSS is checked at a switch-out when it faulted since its last
 * check (pages come in through faults), else at most every
 * MPX_RSS_RECHECK_NS (pages going away: munmap, other threads' exits).
 */
#define MPX_RSS_RECHECK_NS (10 * 1000 * 1000ULL)

/* Events lost per task, so the report can say whose figures miss time. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

static __always_inline void charge_loss(__u32 tid)
{
	__u64 one = 1, *n;

	if (!tid)
		return;
	n = bpf_map_lookup_elem(&lost, &tid);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&lost, &tid, &one, BPF_NOEXIST);
}

/* Reserve a record for tasks a and b (0: none); count a failure on both. */
static __always_inline void *reserve2(__u32 size, __u16 type, __u64 ts, __u32 a, __u32 b)
{
	struct mpx_hdr *h = bpf_ringbuf_reserve(&events, size, 0);

	if (!h) {
		count_drop(MPX_DROP_RINGBUF);
		charge_loss(a);
		charge_loss(b);
		return NULL;
	}
	h->ts = ts;
	h->type = type;
	h->cpu = bpf_get_smp_processor_id();
	h->size = size;
	return h;
}

#define reserve(size, type, ts, tid) reserve2(size, type, ts, tid, 0)

/*
 * No wakeup per record: an idle-priority reader empties the buffer every
 * 100 ms, and mpxtrace's main thread is woken only when a quarter of it is
 * waiting (that reader got no CPU time).  A wakeup per record doubles the
 * cost of a context switch (shared/notes/kernel.md section 7.1).
 */
static __always_inline __u64 wakeup_flag(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
		BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void submit(void *rec)
{
	bpf_ringbuf_submit(rec, wakeup_flag());
}

/*
 * The scheduler hooks' records (switch, wakeup, migrate, the RSS samples
 * taken at a switch) are built on the stack and gathered per CPU, then
 * written to the ring buffer as one MPX_EV_BATCH record when the next
 * would not fit or the oldest is MPX_BATCH_AGE_NS old: one reserve and
 * commit on the shared ring per batch, not per record.  User space splits
 * batches back into records and empties what is left in them at the end
 * of a run (collector__drain).  A program that finds its CPU's batch busy
 * (it interrupted another) or cannot make room in it writes its record to
 * the ring buffer directly; a record neither takes is counted and charged
 * to its tasks.
 */
#define MPX_BATCH_AGE_NS (20 * 1000 * 1000ULL)

struct mpx_batch_buf {
	__u32 len;		/* bytes of records in data */
	__u32 busy;		/* a program of this CPU is adding a record */
	__u64 first_ts;		/* time of the oldest record */
	struct mpx_hdr hdr;	/* the MPX_EV_BATCH record: hdr + data[0, len) */
	__u8 data[MPX_BATCH_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mpx_batch_buf);
} batch SEC(".maps");

/* This CPU's struct rq, as an address (get_rq_clocks). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} rq_cache SEC(".maps");

static __always_inline bool batch_flush(struct mpx_batch_buf *b)
{
	__u32 len = b->len;

	if (!len)
		return true;
	/* A power of two: the mask bounds the size for the verifier; put()
	 * keeps len below it. */
	len &= MPX_BATCH_BYTES - 1;
	b->hdr.ts = b->first_ts;
	b->hdr.type = MPX_EV_BATCH;
	b->hdr.cpu = bpf_get_smp_processor_id();
	b->hdr.size = sizeof(b->hdr) + len;
	if (bpf_ringbuf_output(&events, &b->hdr, sizeof(b->hdr) + len, wakeup_flag()))
		return false;
	b->len = 0;
	return true;
}

static __always_inline void hdr_init(struct mpx_hdr *h, __u32 size, __u16 type, __u64 ts)
{
	h->ts = ts;
	h->type = type;
	h->cpu = bpf_get_smp_processor_id();
	h->size = size;
}

/*
 * Hand on a finished record of tasks a and b (0: none), built on the stack
 * with hdr_init(); size is a constant multiple of 8.
 */
static __always_inline void put(void *rec, __u32 size, __u64 ts, __u32 a, __u32 b)
{
	struct mpx_batch_buf *bb;
	__u32 zero = 0, off, i;
	__u64 *dst, *src = rec;

	bb = bpf_map_lookup_elem(&batch, &zero);
	if (bb && !bb->busy) {
		bb->busy = 1;
		asm volatile("" ::: "memory");
		off = bb->len;
		if (off >= batch_bytes - size || off >= MPX_BATCH_BYTES - size)
			off = batch_flush(bb) ? 0 : MPX_BATCH_BYTES;
		if (off < MPX_BATCH_BYTES - size) {
			if (!off)
				bb->first_ts = ts;
			dst = (void *)bb->data + off;
#pragma unroll
			for (i = 0; i < size / 8; i++)
				dst[i] = src[i];
			bb->len = off + size;
			if (ts - bb->first_ts >= MPX_BATCH_AGE_NS)
				batch_flush(bb);
			asm volatile("" ::: "memory");
			bb->busy = 0;
			return;
		}
		asm volatile("" ::: "memory");
		bb->busy = 0;
	}
	if (bpf_ringbuf_output(&events, rec, size, wakeup_flag())) {
		count_drop(MPX_DROP_RINGBUF);
		charge_loss(a);
		charge_loss(b);
	}
}

/* blkio: also delay accounting's figure (three pointer-chasing reads). */
static __always_inline void read_kcounters(struct task_struct *t,
					   struct mpx_kcounters *k, bool btf, bool blkio)
{
	__u64 cnt;

	k->sum_exec_runtime = MPX_READ(btf, t, se.sum_exec_runtime);
	k->run_delay = MPX_READ(btf, t, sched_info.run_delay);
	k->pcount = MPX_READ(btf, t, sched_info.pcount);
	k->blkio_delay = 0;
	if (blkio)
		get_task_blkio(t, &k->blkio_delay, &cnt);
}

/*
 * mm->rss_stat[].count: the folded part of each per-CPU counter, exact to
 * within a batch per CPU (v6.2 made them percpu_counters, f1a7941243c1).
 */
static __always_inline bool read_mem(struct task_struct *t, struct mpx_mem *m, bool btf)
{
	struct mm_struct *mm = BPF_CORE_READ(t, mm);

	m->min_flt = MPX_READ(btf, t, min_flt);
	m->maj_flt = MPX_READ(btf, t, maj_flt);
	if (!mm) {
		m->file = m->anon = m->swap = m->shmem = m->hiwater = 0;
		return false;
	}
	m->file = read_rss_member(mm, 0);
	m->anon = read_rss_member(mm, 1);
	m->swap = read_rss_member(mm, 2);
	m->shmem = read_rss_member(mm, 3);
	m->hiwater = BPF_CORE_READ(mm, hiwater_rss);
	return true;
}

/* A memory sample for prev's process when its RSS moved enough. */
/* Is prev's RSS worth a look at this switch-out (see MPX_RSS_RECHECK_NS)? */
static __always_inline bool rss_due(struct task_struct *prev, struct mpx_track *pt,
				    __u64 ts, bool btf)
{
	__u64 flt = MPX_READ(btf, prev, min_flt) + MPX_READ(btf, prev, maj_flt);

	if (flt == pt->rss_flt && ts - pt->rss_ts < MPX_RSS_RECHECK_NS)
		return false;
	pt->rss_flt = flt;
	pt->rss_ts = ts;
	return true;
}

static __always_inline void sample_rss(struct task_struct *prev, __u32 tid, __u32 pid,
				       __u64 ts, bool btf)
{
	__u64 total, *last, d;
	struct mpx_rss e;

	if (!read_mem(prev, &e.mem, btf))
		return;
	total = e.mem.file + e.mem.anon + e.mem.shmem;
	last = bpf_map_lookup_elem(&rss_last, &pid);
	if (last) {
		d = total > *last ? total - *last : *last - total;
		if (d < rss_step_pages)
			return;
		*last = total;
	} else {
		bpf_map_update_elem(&rss_last, &pid, &total, BPF_ANY);
	}
	hdr_init(&e.hdr, sizeof(e), MPX_EV_RSS, ts);
	e.tid = tid;
	e.pid = pid;
	put(&e, sizeof(e), ts, tid, 0);
}

/* Site id for key becomes the thread's first; the first moves to second
 * place unless it is key's own. */
static __always_inline void stack_memo_put(struct mpx_track *pt, __u64 key, __s32 id,
					   __u32 every)
{
	if (pt->stack_key != key) {
		pt->stack_key2 = pt->stack_key;
		pt->stack_id2 = pt->stack_id;
		pt->stack_uses2 = (__u16)pt->stack_uses;
		pt->stack_every2 = (__u16)pt->stack_every;
	}
	pt->stack_key = key;
	pt->stack_id = id;
	pt->stack_uses = 0;
	pt->stack_every = every;
}

/*
 * The blocking site of prev (current): its stack id, walked or remembered.
 * btf: prev is a trusted BTF pointer (tp_btf), so bpf_task_pt_regs() may
 * read its syscall; raw_tp programs always walk.
 */
static __always_inline __s32 wait_stack(void *ctx, struct task_struct *prev,
					struct mpx_track *pt, __u32 state, bool btf)
{
	struct stack_memo_key mk = {};
	struct stack_memo_val *m;
	__u64 key = 0;
	__u32 every;
	__s32 id;

	if (btf) {
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(prev);

#if defined(__TARGET_ARCH_x86)
		key = ((__u64)regs->orig_ax << 48) ^ site_arg(regs->orig_ax, regs->di, regs->si);
#elif defined(__TARGET_ARCH_arm64)
		key = ((__u64)regs->syscallno << 48) ^
		      site_arg(regs->syscallno, regs->regs[0], regs->regs[1]);
#endif
	}
	if (!key) {
		count_drop(MPX_CNT_STACK_WALK);
		id = bpf_get_stackid(ctx, &stacks, 0);
		if (id < 0)
			count_drop(MPX_DROP_STACK);
		return id;
	}
	/* An fd number is reused by other files: a read that waited for a
	 * page (D) and one that waits on a pipe (S) must not share a site. */
	key ^= (__u64)(state & 3) << 62;
	if (pt->stack_key == key && pt->stack_id >= 0 &&
	    ++pt->stack_uses < (pt->stack_every ?: MPX_STACK_REWALK))
		return pt->stack_id;
	if (pt->stack_key2 == key && pt->stack_id2 >= 0 &&
	    ++pt->stack_uses2 < (pt->stack_every2 ?: MPX_STACK_REWALK)) {
		/* The other site: it becomes the first. */
		__u64 k = pt->stack_key;
		__s32 i = pt->stack_id;
		__u32 u = pt->stack_uses, e = pt->stack_every;

		pt->stack_key = pt->stack_key2;
		pt->stack_id = pt->stack_id2;
		pt->stack_uses = pt->stack_uses2;
		pt->stack_every = pt->stack_every2;
		pt->stack_key2 = k;
		pt->stack_id2 = i;
		pt->stack_uses2 = (__u16)u;
		pt->stack_every2 = (__u16)e;
		return pt->stack_id;
	}
	mk.key = key;
	mk.pid = pt->pid;
	m = bpf_map_lookup_elem(&stack_memo, &mk);
	if (m && m->id >= 0 && ++m->uses < MPX_STACK_REWALK) {
		stack_memo_put(pt, key, m->id, MPX_STACK_REWALK);
		return m->id;
	}
	count_drop(MPX_CNT_STACK_WALK);
	id = bpf_get_stackid(ctx, &stacks, 0);
	if (id < 0)
		count_drop(MPX_DROP_STACK);
	if (m) {
		m->id = id;
		m->uses = 0;
	} else {
		struct stack_memo_val v = { .id = id };

		bpf_map_update_elem(&stack_memo, &mk, &v, BPF_ANY);
	}
	/* The same site again: look again half as often. */
	every = MPX_STACK_REWALK;
	if (pt->stack_key == key && pt->stack_id == id && id >= 0 && pt->stack_every)
		every = pt->stack_every * 2;
	else if (pt->stack_key2 == key && pt->stack_id2 == id && id >= 0 && pt->stack_every2)
		every = pt->stack_every2 * 2;
	stack_memo_put(pt, key, id, every < MPX_STACK_REWALK_MAX ? every : MPX_STACK_REWALK_MAX);
	return id;
}

#include "summary.bpf.h"

/* ---- sched_switch ----------------------------------------------------- */

static __always_inline int handle_switch(__u64 *ctx, bool preempt,
					 struct task_struct *prev,
					 struct task_struct *next, bool btf)
{
	__u32 prev_tid = MPX_READ(btf, prev, pid);
	__u32 next_tid = MPX_READ(btf, next, pid);
	__u32 prev_pid = 0, next_pid = 0, state;
	struct mpx_track *t, *pt = NULL;
	bool ptr = false, ntr = false, rss = false;
	__u64 queued = 0, queued_rd = 0, wk_ts = 0, pw_ts = 0;
	__s32 stack_id = -1;
	__u64 ts, *rqc, steal = 0, rq_clock = 0;
	__u32 wk_tid = 0, pw_tid = 0;
	struct mpx_switch e;
	__u32 zero = 0;

	if (summary_mode)
		return summ_switch(prev, next, prev_tid, next_tid, ctx, btf);
	/* prev is current: its run queue is this CPU's.  Read before any
	 * branch, so that one verifier state walks the pointers. */
	if (btf) {
		get_rq_clocks_btf(prev, &steal, &rq_clock);
		asm volatile("" : "+r"(steal), "+r"(rq_clock));
	}
	ts = bpf_ktime_get_ns();
	if (has_prev_state_arg)
		state = (__u32)ctx[3];
	else
		state = get_task_state(prev, btf) | MPX_STATE_REREAD;
	/* Everything that needs prev's entry first: past this point only
	 * scalars are left, whichever map the entry came from. */
	if (prev_tid && (pt = track_get(prev, prev_tid, btf))) {
		prev_pid = pt->pid;
		ptr = true;
		/* prev is still current here: its stack says what it
		 * blocks in (futex, pipe_read, do_wait, ...). */
		if (want_stacks && (state & 0xff) && !(state & MPX_TASK_DEAD))
			stack_id = wait_stack(ctx, prev, pt, state, btf);
		if (!(state & MPX_TASK_DEAD))
			rss = rss_due(prev, pt, ts, btf);
		/* In case its last switch-in was lost (see MPX_SW_PREV_WAKER). */
		pw_ts = pt->waking_ts;
		pw_tid = pt->waker_tid;
	}
	if (next_tid && (t = track_get(next, next_tid, btf))) {
		next_pid = t->pid;
		ntr = true;
		/* Who woke next last (sched_waking: user space keeps it
		 * only when it came after next's switch-in before its sleep,
		 * so it is not cleared), and since when next waits on this
		 * run queue: the kernel's own enqueue time. */
		wk_ts = t->waking_ts;
		wk_tid = t->waker_tid;
		queued = MPX_READ(btf, next, sched_info.last_queued);
		queued_rd = MPX_READ(btf, next, sched_info.run_delay);
	}
	if (!ptr && !ntr)
		return 0;

	/* Every field is set, no memset: the record has no holes. */
	hdr_init(&e.hdr, sizeof(e), MPX_EV_SWITCH, ts);
	e.prev_tid = ptr ? prev_tid : 0;
	e.prev_pid = prev_pid;
	e.next_tid = ntr ? next_tid : 0;
	e.next_pid = next_pid;
	e.prev_state = state;
	e.flags = preempt ? MPX_SW_PREEMPT : 0;
	e.stack_id = stack_id;
	if (ntr) {
		e.flags |= MPX_SW_QUEUED;
	} else {
		e.flags |= MPX_SW_PREV_WAKER;
		wk_ts = pw_ts;
		wk_tid = pw_tid;
	}
	e.next_waker_tid = wk_ts ? wk_tid : 0;
	e.next_queued = queued;
	e.next_run_delay = queued_rd;
	e.next_waking_ts = wk_ts;
	/* One CPU: prev's run ends and next's begins on the same rq. */
	e.steal = steal;
	e.rq_clock = rq_clock;
	if (!btf && (rqc = bpf_map_lookup_elem(&rq_cache, &zero)))
		get_rq_clocks(ptr ? (void *)prev : (void *)next, &e.steal, &e.rq_clock, rqc);
	if (ptr) {
		/* Only the final switch's blkio figure is used (the
		 * self-check's end point): not read at the others. */
		read_kcounters(prev, &e.prev_k, btf, state & MPX_TASK_DEAD);
		if (read_iowait(prev, btf))
			e.flags |= MPX_SW_IOWAIT;
		if ((state & 0xff) && get_sched_delayed(prev, btf))
			e.flags |= MPX_SW_DELAYED;
	} else {
		e.prev_k.sum_exec_runtime = e.prev_k.run_delay = 0;
		e.prev_k.pcount = e.prev_k.blkio_delay = 0;
	}
	put(&e, sizeof(e), ts, ptr ? prev_tid : 0, ntr ? next_tid : 0);
	if (rss)
		sample_rss(prev, prev_tid, prev_pid, ts, btf);
	/* The final switch of a dead task: it will never run again. */
	if (ptr && (state & MPX_TASK_DEAD) && !(state & MPX_TASK_WAKING))
		bpf_map_delete_elem(&tracked, &prev_tid);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	return handle_switch(ctx, preempt, prev, next, true);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	return handle_switch(ctx, preempt, prev, next, false);
}

/* ---- wakeups ---------------------------------------------------------- */

/* sched_waking runs in the waker's context: remember who woke whom. */
static __always_inline int handle_waking(struct task_struct *p, bool btf)
{
	__u32 tid = MPX_READ(btf, p, pid);
	struct mpx_track *t;
	__u64 id;

	t = track_get(p, tid, btf);
	if (!t)
		return 0;
	id = bpf_get_current_pid_tgid();
	t->waking_ts = bpf_ktime_get_ns();
	t->waker_tid = (__u32)id;
	t->waker_pid = id >> 32;
	return 0;
}

SEC("tp_btf/sched_waking")
int BPF_PROG(sched_waking, struct task_struct *p)
{
	return handle_waking(p, true);
}

SEC("raw_tp/sched_waking")
int BPF_PROG(sched_waking_raw, struct task_struct *p)
{
	return handle_waking(p, false);
}

/*
 * sched_wakeup(_new) fires after the task is on a run queue.  The event mode
 * loads sched_wakeup_new only (a fork's first run-queue wait), unless
 * --wakeup-events asks for sched_wakeup too: a woken task's switch-in says
 * when it was queued (next_queued) and sched_waking names its waker.
 */
static __always_inline int handle_wakeup(struct task_struct *p, __u32 flags, bool btf)
{
	__u32 tid = MPX_READ(btf, p, pid);
	struct mpx_wakeup e;
	struct mpx_track *t;
	__u64 ts;

	if (summary_mode)
		return summ_wakeup(p, tid);
	t = track_get(p, tid, btf);
	if (!t)
		return 0;
	ts = bpf_ktime_get_ns();
	hdr_init(&e.hdr, sizeof(e), MPX_EV_WAKEUP, ts);
	e.tid = tid;
	e.pid = t->pid;
	e.target_cpu = MPX_READ(btf, p, wake_cpu);
	e.flags = flags;
	e.waking_ts = 0;
	e.waker_tid = 0;
	e.waker_pid = 0;
	if (t->waking_ts) {
		e.waking_ts = t->waking_ts;
		e.waker_tid = t->waker_tid;
		e.waker_pid = t->waker_pid;
		e.flags |= MPX_WK_WAKER_KNOWN;
		t->waking_ts = 0;
	}
	put(&e, sizeof(e), ts, tid, 0);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup, struct task_struct *p)
{
	return handle_wakeup(p, 0, true);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(sched_wakeup_raw, struct task_struct *p)
{
	return handle_wakeup(p, 0, false);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new, struct task_struct *p)
{
	return handle_wakeup(p, MPX_WK_NEW, true);
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_raw, struct task_struct *p)
{
	return handle_wakeup(p, MPX_WK_NEW, false);
}

/* ---- migration of a sleeping task ------------------------------------ */

static __always_inline int handle_migrate(struct task_struct *p, int dest_cpu, bool btf)
{
	__u32 tid = MPX_READ(btf, p, pid);
	struct mpx_migrate e;
	struct mpx_track *t;
	__u64 ts;

	t = track_get(p, tid, btf);
	/* Running tasks move all the time; only a sleeper's move matters. */
	if (!t || !(get_task_state(p, btf) & 0xff))
		return 0;
	if (summary_mode) {
		summ_migrate(tid);
		return 0;
	}
	ts = bpf_ktime_get_ns();
	hdr_init(&e.hdr, sizeof(e), MPX_EV_MIGRATE, ts);
	e.tid = tid;
	e.pid = t->pid;
	e.dest_cpu = dest_cpu;
	e.pad = 0;
	put(&e, sizeof(e), ts, tid, 0);
	return 0;
}

SEC("tp_btf/sched_migrate_task")
int BPF_PROG(sched_migrate_task, struct task_struct *p, int dest_cpu)
{
	return handle_migrate(p, dest_cpu, true);
}

SEC("raw_tp/sched_migrate_task")
int BPF_PROG(sched_migrate_task_raw, struct task_struct *p, int dest_cpu)
{
	return handle_migrate(p, dest_cpu, false);
}

/* ---- fork / exec / exit / free / rename -------------------------------- */

/* Fires in copy_process() before wake_up_new_task(): the child joins the
 * tracked set before it can run. */
static __always_inline int handle_fork(struct task_struct *parent,
				       struct task_struct *child, bool btf)
{
	__u32 ptid = BPF_CORE_READ(parent, pid);
	struct mpx_track *pt, nt = { .stack_id = -1, .stack_id2 = -1 };
	struct mpx_fork *e;
	__u32 ctid;

	pt = bpf_map_lookup_elem(&tracked, &ptid);
	if (!pt)
		return 0;
	ctid = BPF_CORE_READ(child, pid);
	nt.pid = BPF_CORE_READ(child, tgid);
	nt.start_time = BPF_CORE_READ(child, start_time);
	if (bpf_map_update_elem(&tracked, &ctid, &nt, BPF_ANY)) {
		count_drop(MPX_DROP_TRACK_FULL);
		return 0;
	}
	/* No storage (out of memory): the hash entry serves, and the hooks
	 * look there after a storage miss from now on. */
	if (btf && use_task_storage &&
	    !bpf_task_storage_get(&track_ts, child, &nt, BPF_LOCAL_STORAGE_GET_F_CREATE))
		__sync_fetch_and_add(&hash_only_tasks, 1);
	if (summary_mode) {
		summ_fork(parent, child, ptid, pt->pid, ctid, nt.pid);
		return 0;
	}
	e = reserve2(sizeof(*e), MPX_EV_FORK, bpf_ktime_get_ns(), ptid, ctid);
	if (!e)
		return 0;
	e->parent_tid = ptid;
	e->parent_pid = pt->pid;
	e->child_tid = ctid;
	e->child_pid = nt.pid;
	e->flags = nt.pid == pt->pid ? MPX_FORK_THREAD : 0;
	e->pad = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, child, comm);
	submit(e);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent,
	     struct task_struct *child)
{
	return handle_fork(parent, child, true);
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(sched_process_fork_raw, struct task_struct *parent,
	     struct task_struct *child)
{
	return handle_fork(parent, child, false);
}

static __always_inline int handle_exec(struct task_struct *p, __u32 old_tid,
				       struct linux_binprm *bprm)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	unsigned long arg_start, len;
	struct mpx_track *t;
	struct mpx_exec *e;

	t = bpf_map_lookup_elem(&tracked, &tid);
	if (!t && old_tid != tid) {
		/* A non-leader thread exec'd and took over the leader's pid. */
		t = bpf_map_lookup_elem(&tracked, &old_tid);
		if (t) {
			struct mpx_track nt = *t;

			bpf_map_delete_elem(&tracked, &old_tid);
			if (bpf_map_update_elem(&tracked, &tid, &nt, BPF_ANY))
				count_drop(MPX_DROP_TRACK_FULL);
		}
	}
	if (!t)
		return 0;
	if (summary_mode) {
		summ_exec(p, tid, old_tid, bprm);
		return 0;
	}
	e = reserve(sizeof(*e), MPX_EV_EXEC, bpf_ktime_get_ns(), tid);
	if (!e)
		return 0;
	e->tid = tid;
	e->pid = BPF_CORE_READ(p, tgid);
	e->old_tid = old_tid;
	/* A new image, a new mm: its memory starts from here. */
	bpf_map_delete_elem(&rss_exact, &e->pid);
	bpf_map_delete_elem(&rss_last, &e->pid);
	BPF_CORE_READ_STR_INTO(&e->comm, p, comm);
	bpf_probe_read_kernel_str(&e->filename, sizeof(e->filename),
				  BPF_CORE_READ(bprm, filename));
	/* The new image's argv is on its stack already: p is current. */
	arg_start = BPF_CORE_READ(p, mm, arg_start);
	len = BPF_CORE_READ(p, mm, arg_end) - arg_start;
	if (len > sizeof(e->args))
		len = sizeof(e->args);
	e->args_len = 0;
	if (len && !bpf_probe_read_user(&e->args, len & (sizeof(e->args) - 1) ?: sizeof(e->args),
					(void *)arg_start))
		e->args_len = len;
	/* An exec may start an interpreter to probe: wake the consumer now. */
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	return handle_exec(p, old_pid, bprm);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(sched_process_exec_raw, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	return handle_exec(p, old_pid, bprm);
}

static __always_inline int handle_exit(__u64 *ctx, struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	struct mpx_exit *e;
	struct mpx_track *t;

	t = bpf_map_lookup_elem(&tracked, &tid);
	if (!t)
		return 0;
	if (summary_mode) {
		summ_exit(p, tid, has_exit_group_dead ? (__u32)ctx[1] & 1 :
			  BPF_CORE_READ(p, signal, live.counter) == 0);
		return 0;
	}
	e = reserve(sizeof(*e), MPX_EV_EXIT, bpf_ktime_get_ns(), tid);
	if (!e)
		return 0;
	read_kcounters(p, &e->k, false, true);
	get_task_blkio(p, &e->k.blkio_delay, &e->blkio_count);
	e->has_mm = exit_has_mm && read_mem(p, &e->mem, false);
	if (!e->has_mm) {
		e->mem.min_flt = BPF_CORE_READ(p, min_flt);
		e->mem.maj_flt = BPF_CORE_READ(p, maj_flt);
	}
	e->maxrss = BPF_CORE_READ(p, signal, maxrss);
	e->pad = 0;
	e->nvcsw = BPF_CORE_READ(p, nvcsw);
	e->nivcsw = BPF_CORE_READ(p, nivcsw);
	e->tid = tid;
	e->pid = t->pid;
	e->exit_code = BPF_CORE_READ(p, exit_code);
	if (has_exit_group_dead)
		e->group_dead = (__u32)ctx[1] & 1;
	else
		e->group_dead = BPF_CORE_READ(p, signal, live.counter) == 0;
	if (e->group_dead)
		bpf_map_delete_elem(&rss_last, &e->pid);
	submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *p)
{
	return handle_exit(ctx, p);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(sched_process_exit_raw, struct task_struct *p)
{
	return handle_exit(ctx, p);
}

/*
 * Last look at a task: drop it if its final switch was never seen.  This runs
 * from an RCU callback after the pid was released, so the tid may already
 * belong to a new tracked task: compare start times before deleting.
 */
static __always_inline int handle_free(struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	struct mpx_track *t;

	if (summary_mode)
		summ_free(p, tid);
	t = bpf_map_lookup_elem(&tracked, &tid);
	if (t && (!t->start_time ||
		  t->start_time == BPF_CORE_READ(p, start_time)))
		bpf_map_delete_elem(&tracked, &tid);
	return 0;
}

SEC("tp_btf/sched_process_free")
int BPF_PROG(sched_process_free, struct task_struct *p)
{
	return handle_free(p);
}

SEC("raw_tp/sched_process_free")
int BPF_PROG(sched_process_free_raw, struct task_struct *p)
{
	return handle_free(p);
}

static __always_inline int handle_rename(struct task_struct *task,
					 const char *comm)
{
	__u32 tid = BPF_CORE_READ(task, pid);
	struct mpx_comm *e;
	struct mpx_track *t;

	t = bpf_map_lookup_elem(&tracked, &tid);
	if (!t)
		return 0;
	if (summary_mode) {
		summ_rename(tid, comm);
		return 0;
	}
	e = reserve(sizeof(*e), MPX_EV_COMM, bpf_ktime_get_ns(), tid);
	if (!e)
		return 0;
	e->tid = tid;
	e->pid = t->pid;
	bpf_probe_read_kernel_str(&e->comm, sizeof(e->comm), comm);
	submit(e);
	return 0;
}

SEC("tp_btf/task_rename")
int BPF_PROG(task_rename, struct task_struct *task, const char *comm)
{
	return handle_rename(task, comm);
}

SEC("raw_tp/task_rename")
int BPF_PROG(task_rename_raw, struct task_struct *task, const char *comm)
{
	return handle_rename(task, comm);
}

/* ---- block IO ------------------------------------------------------- */

/* The inode of the first page a request writes, 0 if not a file page. */
static __always_inline __u64 rq_inode(struct request *rq)
{
	struct page *pg = BPF_CORE_READ(rq, bio, bi_io_vec, bv_page);
	unsigned long mapping;

	if (!pg)
		return 0;
	mapping = (unsigned long)BPF_CORE_READ(pg, mapping);
	if (!mapping || (mapping & 1))	/* anonymous or movable: no inode */
		return 0;
	return (__u64)BPF_CORE_READ((struct address_space *)mapping, host);
}

/*
 * A request starts: at block_io_start (v6.5, 5a80bd075f3b) or, before
 * that, block_rq_insert; both run in the submitter's context.  Follow it
 * if the submitter is tracked, or if it writes back pages of an inode a
 * tracked task dirtied (the flusher's writeback of the task's writes).
 */
static __always_inline int handle_rq_start(struct request *rq)
{
	__u64 id = bpf_get_current_pid_tgid(), key = (__u64)rq, ino;
	__u32 tid = (__u32)id;
	struct req_info ri = {};
	struct mpx_track *t;
	struct dirtier *d;

	t = bpf_map_lookup_elem(&tracked, &tid);
	if (t) {
		ri.tid = tid;
		ri.pid = t->pid;
	}
	/* Pages a tracked task dirtied, written back by someone else (the
	 * flusher, or a task calling sync): credit them to the dirtier. */
	ino = rq_inode(rq);
	d = ino ? bpf_map_lookup_elem(&dirtied, &ino) : NULL;
	if (d && d->tid != tid) {
		ri.credit_tid = d->tid;
		ri.credit_pid = d->pid;
	}
	if (!ri.tid && !ri.credit_tid)
		return 0;
	ri.start_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&reqs, &key, &ri, BPF_ANY))
		count_drop(MPX_DROP_REQ_FULL);
	return 0;
}

SEC("tp_btf/block_io_start")
int BPF_PROG(block_io_start, struct request *rq)
{
	return handle_rq_start(rq);
}

SEC("raw_tp/block_io_start")
int BPF_PROG(block_io_start_raw, struct request *rq)
{
	return handle_rq_start(rq);
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(block_rq_insert, struct request *rq)
{
	return handle_rq_start(rq);
}

SEC("raw_tp/block_rq_insert")
int BPF_PROG(block_rq_insert_raw, struct request *rq)
{
	return handle_rq_start(rq);
}

static __always_inline int handle_rq_issue(struct request *rq)
{
	__u64 key = (__u64)rq;
	struct req_info *ri = bpf_map_lookup_elem(&reqs, &key);

	if (ri && !ri->issue_ns)
		ri->issue_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq)
{
	return handle_rq_issue(rq);
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(block_rq_issue_raw, struct request *rq)
{
	return handle_rq_issue(rq);
}

/* Completion, in interrupt context: report the request and forget it. */
static __always_inline int handle_rq_complete(struct request *rq, int error,
					      unsigned int nr_bytes)
{
	__u64 key = (__u64)rq;
	struct req_info *ri = bpf_map_lookup_elem(&reqs, &key);
	struct mpx_block *e;

	if (!ri)
		return 0;
	if (summary_mode) {
		summ_block(ri, rq, nr_bytes);
		bpf_map_delete_elem(&reqs, &key);
		return 0;
	}
	e = reserve2(sizeof(*e), MPX_EV_BLOCK, bpf_ktime_get_ns(), ri->tid,
		     ri->credit_tid);
	if (e) {
		e->start_ns = ri->start_ns;
		e->issue_ns = ri->issue_ns;
		e->sector = BPF_CORE_READ(rq, __sector);
		e->bytes = nr_bytes;
		e->dev = 0;
		if (bpf_core_field_exists(rq->part) && BPF_CORE_READ(rq, part))
			e->dev = BPF_CORE_READ(rq, part, bd_dev);
		e->tid = ri->tid;
		e->pid = ri->pid;
		e->credit_tid = ri->credit_tid;
		e->credit_pid = ri->credit_pid;
		e->op = BPF_CORE_READ(rq, cmd_flags);
		e->error = error;
		e->flags = (ri->credit_tid ? MPX_BLK_DEFERRED : 0) |
			   (ri->issue_ns ? MPX_BLK_ISSUED : 0);
		e->pad = 0;
		submit(e);
	}
	bpf_map_delete_elem(&reqs, &key);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
	return handle_rq_complete(rq, error, nr_bytes);
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(block_rq_complete_raw, struct request *rq, int error, unsigned int nr_bytes)
{
	return handle_rq_complete(rq, error, nr_bytes);
}

/* A tracked task dirtied a page cache folio of an inode (its context). */
static __always_inline int handle_dirty(struct address_space *mapping)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mpx_track *t = bpf_map_lookup_elem(&tracked, &tid);
	struct dirtier d;
	__u64 ino;

	if (!t || !mapping)
		return 0;
	ino = (__u64)BPF_CORE_READ(mapping, host);
	if (!ino)
		return 0;
	d.tid = tid;
	d.pid = t->pid;
	bpf_map_update_elem(&dirtied, &ino, &d, BPF_ANY);
	return 0;
}

SEC("tp_btf/writeback_dirty_folio")
int BPF_PROG(writeback_dirty_folio, struct folio *folio, struct address_space *mapping)
{
	return handle_dirty(mapping);
}

SEC("raw_tp/writeback_dirty_folio")
int BPF_PROG(writeback_dirty_folio_raw, struct folio *folio,
	     struct address_space *mapping)
{
	return handle_dirty(mapping);
}

/* ---- exact RSS (optional) ----------------------------------------------- */

/*
 * kmem:rss_stat computes size = percpu_counter_sum_positive(...) <<
 * PAGE_SHIFT in its TP_fast_assign (include/trace/events/kmem.h, v6.2+):
 * the exact value, where mm->rss_stat[].count is off by a per-CPU batch.
 * Only the classic tracepoint has that computed field, so this one program
 * attaches through tracefs.  Per process: current and peak, in bytes.
 */


SEC("tracepoint/kmem/rss_stat")
int rss_stat_exact(struct trace_event_raw_rss_stat *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), total;
	__u32 tid = (__u32)id, tgid = id >> 32;
	struct rss_exact *v, zero = {};
	int m = ctx->member;

	/* curr: the mm is current's.  Otherwise (fork copying a child's mm,
	 * exit_mmap after exit_mm, remote access) it is not this task's. */
	if (!ctx->curr || m < 0 || m > 3 || !bpf_map_lookup_elem(&tracked, &tid))
		return 0;
	v = bpf_map_lookup_elem(&rss_exact, &tgid);
	if (!v) {
		bpf_map_update_elem(&rss_exact, &tgid, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&rss_exact, &tgid);
		if (!v)
			return 0;
	}
	v->cur[m & 3] = ctx->size > 0 ? (__u64)ctx->size : 0;
	total = v->cur[0] + v->cur[1] + v->cur[3];
	if (total > v->peak_total) {
		v->peak_total = total;
		v->peak[0] = v->cur[0];
		v->peak[1] = v->cur[1];
		v->peak[2] = v->cur[2];
		v->peak[3] = v->cur[3];
	}
	return 0;
}

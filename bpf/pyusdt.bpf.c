// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * mpxtrace Python side: CPython's USDT probes (imports, GC, audit events,
 * optionally function entry/return) and uprobes on the GIL's take path.
 *
 * A separate object from mpxtrace.bpf.c, loaded after it: user space points
 * tracked, events and drops at the main object's maps (bpf_map__reuse_fd)
 * before load, so a probe costs one lookup for a task outside the traced
 * tree and its records join the same ring buffer.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "events.h"
#include "shared_maps.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Ask for a consumer wakeup only when this much data is waiting (a quarter
 * of the shared buffer: set by user space). */
const volatile __u64 wakeup_bytes = 256 * 1024;
/* GIL waits shorter than this are not worth a record (the uncontended take). */
const volatile __u64 gil_min_ns = 2000;
/* --py-functions: the glob, '\0'-padded; empty: every function. */
const volatile char func_glob[MPX_PYNAME_LEN] = {};
/* One probe per pass of take_gil's wait (PYM_GIL_PASS): the offsets in
 * struct pt_regs of the callee-saved registers that held the wait's mutex
 * and deadline arguments (user space found them before the call). */
const volatile __u32 gil_mutex_reg_off = 0;
const volatile __u32 gil_deadline_reg_off = 0;

/* A GIL wait in progress. */
struct gil_wait {
	__u64 ts;		/* since */
	__u64 cond;		/* the GIL's condition variable, or 0 */
};

/* A GIL take in progress, per thread. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct gil_wait);
} gil_start SEC(".maps");

/* Entries and matching entries, returns and matching returns seen by the
 * function probes (overhead accounting, and entries that never come). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} func_stats SEC(".maps");

static __always_inline void count_drop(__u32 what)
{
	__u64 *cnt = bpf_map_lookup_elem(&drops, &what);

	if (cnt)
		*cnt += 1;
}

static __always_inline void submit(void *rec)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(rec, avail >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP :
						      BPF_RB_NO_WAKEUP);
}

/* The current task, when it belongs to the traced tree. */
static __always_inline bool current_tracked(__u32 *tid, __u32 *pid)
{
	__u64 id = bpf_get_current_pid_tgid();

	*tid = (__u32)id;
	*pid = id >> 32;
	return bpf_map_lookup_elem(&tracked, tid) != NULL;
}

static __always_inline struct mpx_py *py_reserve(__u32 kind, __u32 tid, __u32 pid)
{
	struct mpx_py *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count_drop(MPX_DROP_RINGBUF);
		return NULL;
	}
	e->hdr.ts = bpf_ktime_get_ns();
	e->hdr.type = MPX_EV_PY;
	e->hdr.cpu = bpf_get_smp_processor_id();
	e->hdr.size = sizeof(*e);
	e->arg = 0;
	e->tid = tid;
	e->pid = pid;
	e->kind = kind;
	e->val = 0;
	e->name[0] = '\0';
	return e;
}

static __always_inline int py_event(__u32 kind, const char *name, __s32 val, __u64 arg)
{
	struct mpx_py *e;
	__u32 tid, pid;

	if (!current_tracked(&tid, &pid))
		return 0;
	e = py_reserve(kind, tid, pid);
	if (!e)
		return 0;
	e->val = val;
	e->arg = arg;
	if (name && bpf_probe_read_user_str(e->name, sizeof(e->name), name) < 0)
		e->name[0] = '\0';
	submit(e);
	return 0;
}

SEC("usdt")
int BPF_USDT(import_start, const char *module)
{
	return py_event(MPX_PY_IMPORT_START, module, 0, 0);
}

SEC("usdt")
int BPF_USDT(import_done, const char *module, int found)
{
	return py_event(MPX_PY_IMPORT_DONE, module, found, 0);
}

SEC("usdt")
int BPF_USDT(gc_start, int generation)
{
	return py_event(MPX_PY_GC_START, NULL, generation, 0);
}

SEC("usdt")
int BPF_USDT(gc_done, long collected)
{
	return py_event(MPX_PY_GC_DONE, NULL, 0, (__u64)collected);
}

SEC("usdt")
int BPF_USDT(audit, const char *event, void *args)
{
	return py_event(MPX_PY_AUDIT, event, 0, 0);
}

/*
 * Glob match of name against func_glob: '*' any run, '?' one character,
 * everything else itself.  Greedy with one backtrack point, bounded.
 */
#define GLOB_MASK (MPX_PYNAME_LEN - 1)

static __always_inline bool glob_match(const char *name)
{
	int p = 0, n = 0, sp = -1, sn = 0, i;

	for (i = 0; i < 1024; i++) {
		char pc = p < MPX_PYNAME_LEN ? func_glob[p & GLOB_MASK] : 0;
		char nc = n < MPX_PYNAME_LEN ? name[n & GLOB_MASK] : 0;

		if (pc == '*') {
			sp = p++;
			sn = n;
			continue;
		}
		if (nc && (pc == '?' || pc == nc)) {
			p++;
			n++;
			continue;
		}
		if (!nc && !pc)
			return true;
		if (sp < 0 || sn >= MPX_PYNAME_LEN || !name[sn & GLOB_MASK])
			return false;
		p = sp + 1;
		n = ++sn;
	}
	return false;
}

static __always_inline void func_count(__u32 k)
{
	__u64 *c = bpf_map_lookup_elem(&func_stats, &k);

	if (c)
		*c += 1;
}

/*
 * A call or return of a function whose name matches the glob.  Entries and
 * returns are not paired here: CPython 3.11 reports every return but an
 * entry only while a profile or trace function is set (and at
 * generator.throw), so user space pairs them by name.
 */
static __always_inline int func_event(__u32 kind, const char *func, int line)
{
	char name[MPX_PYNAME_LEN] = {};
	__u32 tid, pid;
	struct mpx_py *e;

	if (!current_tracked(&tid, &pid))
		return 0;
	func_count(kind == MPX_PY_FUNC_ENTRY ? 0 : 2);
	if (bpf_probe_read_user_str(name, sizeof(name), func) < 0)
		return 0;
	if (func_glob[0] && !glob_match(name))
		return 0;
	func_count(kind == MPX_PY_FUNC_ENTRY ? 1 : 3);
	e = py_reserve(kind, tid, pid);
	if (!e)
		return 0;
	e->val = line;
	__builtin_memcpy(e->name, name, sizeof(name));
	submit(e);
	return 0;
}

SEC("usdt")
int BPF_USDT(func_entry, const char *file, const char *func, int line)
{
	return func_event(MPX_PY_FUNC_ENTRY, func, line);
}

SEC("usdt")
int BPF_USDT(func_return, const char *file, const char *func, int line)
{
	return func_event(MPX_PY_FUNC_RETURN, func, line);
}

static __always_inline int gil_enter_(void)
{
	struct gil_wait w = {};
	__u32 tid, pid;

	if (!current_tracked(&tid, &pid))
		return 0;
	w.ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&gil_start, &tid, &w, BPF_ANY);
	return 0;
}

/* struct _gil_runtime_state (CPython 3.8-3.14): interval, last_holder,
 * locked, switch_number, cond, mutex: locked is 16 bytes before cond, and
 * the mutex follows the cond. */
#define GIL_LOCKED_BEFORE_COND 16
#define GIL_INTERVAL_BEFORE_COND 32
#define PTHREAD_COND_SIZE 48
#define GIL_WAIT_MAX_NS 60000000000ULL

/*
 * take_gil's call to pthread_cond_timedwait(&gil->cond, &gil->mutex, ..):
 * the GIL is held by another thread.  A wait starts at the first such call
 * (the uncontended take never gets here, so it costs nothing).
 */
static __always_inline int gil_wait_(struct pt_regs *ctx)
{
	__u64 cond = PT_REGS_PARM1(ctx), mutex = PT_REGS_PARM2(ctx);
	struct gil_wait w;
	__u32 tid, pid;

	if (mutex != cond + PTHREAD_COND_SIZE || !current_tracked(&tid, &pid))
		return 0;
	if (bpf_map_lookup_elem(&gil_start, &tid))
		return 0;	/* waits again: the wait goes on */
	w.ts = bpf_ktime_get_ns();
	w.cond = cond;
	bpf_map_update_elem(&gil_start, &tid, &w, BPF_NOEXIST);
	return 0;
}

static __always_inline int gil_end(__u32 tid, __u64 t0, __u64 min_ns);

/* Back from that call, holding gil->mutex: the wait ends when the GIL is
 * free (the loop then takes it); else the thread waits again. */
static __always_inline int gil_woken_(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct gil_wait *w = bpf_map_lookup_elem(&gil_start, &tid);
	int locked = 0;

	if (!w)
		return 0;
	if (w->cond && !bpf_probe_read_user(&locked, sizeof(locked),
					    (void *)(w->cond - GIL_LOCKED_BEFORE_COND)) && locked)
		return 0;
	return gil_end(tid, w->ts, 0);
}

/*
 * Back from take_gil's pthread_cond_timedwait(&gil->cond, &gil->mutex,
 * &deadline), the one probe of a pass: the wait began before the first
 * pass, when take_gil computed that pass's deadline, gil->interval (us)
 * ahead on CLOCK_MONOTONIC (bpf_ktime_get_ns's clock).  The registers that
 * held the mutex and the deadline's address keep them across the call.
 * Half the traps of a probe on the call and one on its return.
 */
static __always_inline int gil_pass_(struct pt_regs *ctx)
{
	struct { __s64 sec, nsec; } dl;
	__u64 mutex = 0, dlp = 0, interval = 0, cond, start, now;
	struct gil_wait *w, nw;
	__u32 tid, pid;
	int locked = 0;

	if (!current_tracked(&tid, &pid))
		return 0;
	if (bpf_probe_read_kernel(&mutex, sizeof(mutex), (void *)ctx + (gil_mutex_reg_off & 0xff)) ||
	    bpf_probe_read_kernel(&dlp, sizeof(dlp), (void *)ctx + (gil_deadline_reg_off & 0xff)))
		return 0;
	cond = mutex - PTHREAD_COND_SIZE;
	if (bpf_probe_read_user(&locked, sizeof(locked), (void *)(cond - GIL_LOCKED_BEFORE_COND)) ||
	    (locked != 0 && locked != 1))
		return 0;	/* not a GIL's state: not the register user space named */
	now = bpf_ktime_get_ns();
	w = bpf_map_lookup_elem(&gil_start, &tid);
	/* Left by a wait whose end was not seen (the thread exited in it). */
	if (w && (w->cond != cond || now - w->ts > GIL_WAIT_MAX_NS)) {
		bpf_map_delete_elem(&gil_start, &tid);
		w = NULL;
	}
	if (w)
		start = w->ts;
	else if (bpf_probe_read_user(&dl, sizeof(dl), (void *)dlp) ||
		 bpf_probe_read_user(&interval, sizeof(interval),
				     (void *)(cond - GIL_INTERVAL_BEFORE_COND)))
		return 0;
	else if (interval > 10000000 || dl.nsec < 0 || dl.nsec >= 1000000000)
		return 0;	/* gil->interval is in us, 5000 by default */
	else
		start = (__u64)dl.sec * 1000000000ULL + (__u64)dl.nsec -
			(interval ? interval : 1) * 1000;
	/* Not this clock, or not this struct: nothing rather than nonsense. */
	if (start > now || now - start > GIL_WAIT_MAX_NS)
		return 0;
	if (locked) {
		/* Held by another thread again: the wait goes on. */
		if (!w) {
			nw.ts = start;
			nw.cond = cond;
			bpf_map_update_elem(&gil_start, &tid, &nw, BPF_ANY);
		}
		return 0;
	}
	return gil_end(tid, start, 0);
}

SEC("uprobe")
int gil_pass(struct pt_regs *ctx)
{
	return gil_pass_(ctx);
}

SEC("uprobe")
int gil_wait(struct pt_regs *ctx)
{
	return gil_wait_(ctx);
}

SEC("uprobe")
int gil_woken(struct pt_regs *ctx)
{
	return gil_woken_();
}

/* take_gil() or PyEval_RestoreThread() entry: the thread starts to wait. */
SEC("uprobe")
int gil_enter(struct pt_regs *ctx)
{
	return gil_enter_();
}

static __always_inline int gil_exit_(void);

/* ... and its return: the thread holds the GIL. */
SEC("uretprobe")
int gil_exit(struct pt_regs *ctx)
{
	return gil_exit_();
}

/*
 * Every probe through one program, for a uprobe_multi link (v6.6): its
 * release waits for one RCU grace period, not one per probe.  User space
 * fills the USDT specs (argument locations) itself; the spec's cookie says
 * which probe fired (MPX_PY_* kind, or PYM_GIL_*: events.h).
 */

SEC("uprobe")
int py_multi(struct pt_regs *ctx)
{
	long kind = bpf_usdt_cookie(ctx), a0 = 0, a1 = 0, a2 = 0;

	if (kind == PYM_GIL_ENTER)
		return gil_enter_();
	if (kind == PYM_GIL_WAIT)
		return gil_wait_(ctx);
	if (kind == PYM_GIL_WOKEN)
		return gil_woken_();
	if (kind == PYM_GIL_PASS)
		return gil_pass_(ctx);
	bpf_usdt_arg(ctx, 0, &a0);
	switch (kind) {
	case MPX_PY_IMPORT_START:
		return py_event(MPX_PY_IMPORT_START, (const char *)a0, 0, 0);
	case MPX_PY_IMPORT_DONE:
		bpf_usdt_arg(ctx, 1, &a1);
		return py_event(MPX_PY_IMPORT_DONE, (const char *)a0, (__s32)a1, 0);
	case MPX_PY_GC_START:
		return py_event(MPX_PY_GC_START, NULL, (__s32)a0, 0);
	case MPX_PY_GC_DONE:
		return py_event(MPX_PY_GC_DONE, NULL, 0, (__u64)a0);
	case MPX_PY_AUDIT:
		return py_event(MPX_PY_AUDIT, (const char *)a0, 0, 0);
	case MPX_PY_FUNC_ENTRY:
	case MPX_PY_FUNC_RETURN:
		bpf_usdt_arg(ctx, 1, &a1);
		bpf_usdt_arg(ctx, 2, &a2);
		return func_event(kind, (const char *)a1, (int)a2);
	}
	return 0;
}

SEC("uretprobe")
int gil_exit_multi(struct pt_regs *ctx)
{
	return gil_exit_();
}

static __always_inline int gil_exit_(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct gil_wait *w = bpf_map_lookup_elem(&gil_start, &tid);

	return w ? gil_end(tid, w->ts, gil_min_ns) : 0;
}

/* The thread holds the GIL: a record of its wait since t0, if that is at
 * least min_ns. */
static __always_inline int gil_end(__u32 tid, __u64 t0, __u64 min_ns)
{
	struct mpx_gil *e;
	__u64 now;

	bpf_map_delete_elem(&gil_start, &tid);
	now = bpf_ktime_get_ns();
	if (now - t0 < min_ns)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(MPX_DROP_RINGBUF);
		return 0;
	}
	e->hdr.ts = now;
	e->hdr.type = MPX_EV_GIL;
	e->hdr.cpu = bpf_get_smp_processor_id();
	e->hdr.size = sizeof(*e);
	e->start_ns = t0;
	e->tid = tid;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	submit(e);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/capability.h>

#include "collect.h"
#include "pyprobe.h"
#include "summset.h"
#include "waits.h"
#include "run.h"
#include "runner.h"
#include "trace.h"
#include "util.h"

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* /proc/PID/task/TID/schedstat: exec ns, run_delay ns, pcount. */
static int read_schedstat(pid_t tid, struct mpx_kcounters *k)
{
	char path[64];
	unsigned long long a, b, c;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", tid, tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fscanf(f, "%llu %llu %llu", &a, &b, &c);
	fclose(f);
	if (n != 3)
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	k->sum_exec_runtime = a;
	k->run_delay = b;
	k->pcount = c;
	return 0;
}

static void fill_static(char *const argv[], struct mpx_run_info *run)
{
	struct utsname u;
	size_t len = 0;
	int i;

	run->command[0] = '\0';
	for (i = 0; argv[i] && len + 1 < sizeof(run->command); i++)
		len += snprintf(run->command + len, sizeof(run->command) - len, "%s%s",
				i ? " " : "", argv[i]);
	if (!uname(&u))
		snprintf(run->kernel, sizeof(run->kernel), "%s", u.release);
	run->ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
}

/*
 * Escalate on signals: SIGTERM to the whole traced tree (at once, or after
 * 0.5 s for SIGINT, which a terminal has delivered to the workload already),
 * then SIGKILL to what is left after 2 s.
 */
static void handle_stop(struct collector *c, struct runner *r, uint64_t *since, int *stage)
{
	uint64_t now = mpx_now_ns();

	if (!*since)
		*since = now;
	if (*stage < 1 && (stop_sig != SIGINT || now - *since > 500000000ull)) {
		*stage = 1;
		/* The root first: killed before its children, it reports the
		 * signal rather than exiting because they did. */
		if (r->pid > 0 && !r->root_done)
			kill(r->pid, SIGTERM);
		collector__signal_tracked(c, SIGTERM);
	}
	if (*stage < 2 && now - *since > 2000000000ull) {
		*stage = 2;
		collector__signal_tracked(c, SIGKILL);
		if (r->pid > 0 && !r->root_done)
			kill(r->pid, SIGKILL);
	}
}

struct trace_session {
	struct collector *c;
	bool summary;		/* --summary: records drained into ss */
	struct mpx_summset ss;
	int delayacct_was;	/* kernel.task_delayacct before us, -1: unknown */
	int sigfd;		/* SIGCHLD, blocked and read here */
	int epfd;		/* sigfd + the ring buffer */
	sigset_t oldmask;
	trace_exec_fn on_exec;	/* each exec record, as it arrives */
	void *exec_ctx;
	trace_start_fn on_start;	/* the root, forked and held */
	void *start_ctx;
};

void trace__on_start(struct trace_session *s, trace_start_fn fn, void *ctx)
{
	s->on_start = fn;
	s->start_ctx = ctx;
}

void trace__on_exec(struct trace_session *s, trace_exec_fn fn, void *ctx)
{
	s->on_exec = fn;
	s->exec_ctx = ctx;
}

/* Hand the exec records that arrived since *seen to the session's hook. */
static void new_execs(struct trace_session *s, struct evbuf *eb, size_t *seen)
{
	size_t n = eb->n;

	for (; s->on_exec && *seen < n; (*seen)++) {
		const struct mpx_hdr *h = evbuf__get(eb, *seen);

		if (h->type == MPX_EV_EXEC)
			s->on_exec(s->exec_ctx, (const struct mpx_exec *)h, eb);
	}
	*seen = n;
}

/*
 * Switch delay accounting (kernel.task_delayacct) to on; returns what it
 * was (0/1), or -1 when it cannot be read.  It is the self-check's oracle
 * for block IO wait; trace__close() puts it back as it was.
 */
static int sysctl_delayacct(int on)
{
	const char *path = "/proc/sys/kernel/task_delayacct";
	char c = 0;
	int fd = open(path, O_RDWR | O_CLOEXEC), was = -1;

	if (fd < 0)
		return -1;
	if (read(fd, &c, 1) == 1)
		was = c == '1';
	if (was >= 0 && was != on && pwrite(fd, on ? "1" : "0", 1, 0) != 1)
		was = -1;
	close(fd);
	return was;
}

/*
 * Several mpxtrace runs may overlap; the last one to finish puts
 * kernel.task_delayacct back.  /run/mpxtrace-delayacct holds, under flock,
 * the setting found by the first and the pids of the runs using it (dead
 * pids are pruned, so a crashed run does not pin it on forever).
 */
#define DELAYACCT_STATE "/run/mpxtrace-delayacct"

static int delayacct_users(int fd, int *orig, pid_t *pids, int max)
{
	char buf[4096], *p, *end;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	int np = 0;
	long v;

	*orig = -1;
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	v = strtol(buf, &end, 10);
	if (end == buf)
		return 0;
	*orig = (int)v;
	for (p = end; np < max; p = end) {
		v = strtol(p, &end, 10);
		if (end == p)
			break;
		if (v > 0 && (kill((pid_t)v, 0) == 0 || errno == EPERM))
			pids[np++] = (pid_t)v;
	}
	return np;
}

static void delayacct_store(int fd, int orig, const pid_t *pids, int np)
{
	char buf[4096];
	int len = snprintf(buf, sizeof(buf), "%d", orig), i;

	for (i = 0; i < np && len < (int)sizeof(buf) - 16; i++)
		len += snprintf(buf + len, sizeof(buf) - len, " %d", (int)pids[i]);
	len += snprintf(buf + len, sizeof(buf) - len, "\n");
	if (ftruncate(fd, 0) || pwrite(fd, buf, (size_t)len, 0) != len)
		mpx_info("cannot update %s\n", DELAYACCT_STATE);
}

/* join: switch delay accounting on for this run; else leave, restoring it
 * when no other run still uses it.  Returns what this run saw before. */
static int delayacct_share(bool join)
{
	int fd = open(DELAYACCT_STATE, O_RDWR | O_CREAT | O_CLOEXEC, 0600), orig, np, i, k;
	pid_t pids[256], me = getpid();

	if (fd < 0 || flock(fd, LOCK_EX)) {
		/* No shared state: do it alone. */
		if (fd >= 0)
			close(fd);
		return join ? sysctl_delayacct(1) : -1;
	}
	np = delayacct_users(fd, &orig, pids, 255);
	if (join) {
		if (!np)
			orig = sysctl_delayacct(1);
		pids[np++] = me;
	} else {
		for (i = k = 0; i < np; i++)
			if (pids[i] != me)
				pids[k++] = pids[i];
		np = k;
		if (!np && orig == 0)
			sysctl_delayacct(0);
	}
	if (np)
		delayacct_store(fd, orig, pids, np);
	else
		unlink(DELAYACCT_STATE);	/* the last one out leaves no trace */
	flock(fd, LOCK_UN);
	close(fd);
	return orig;
}

int trace__open(struct trace_session **out, const struct collect_opts *co)
{
	struct trace_session *s = calloc(1, sizeof(*s));
	struct epoll_event ev = { .events = EPOLLIN };
	/*
	 * The ring buffer by its wakeups only (edge-triggered): the programs
	 * ask for one at a quarter full and at exec.  Level-triggered, any record
	 * waiting made the loop run again at once, so under a steady trickle
	 * mpxtrace woke every few hundred microseconds and took CPU from the
	 * workload (Pool 10k: ~250 wakeups in 0.6 s).
	 */
	struct epoll_event rb_ev = { .events = EPOLLIN | EPOLLET, .data.u32 = 1 };
	sigset_t chld;
	int err;

	*out = NULL;
	if (!s)
		return MPX_EXIT_ERROR;
	s->sigfd = s->epfd = -1;
	s->summary = co->summary;
	s->delayacct_was = delayacct_share(true);
	err = collector__open(&s->c, co, NULL);
	if (err) {
		free(s);
		return MPX_EXIT_ERROR;
	}
	/*
	 * Wake up the moment a child exits, not at the next poll timeout:
	 * SIGCHLD through a signalfd in the same epoll as the ring buffer.
	 * The runner unblocks it in the workload before exec.
	 */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &s->oldmask);
	s->sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->sigfd < 0 || s->epfd < 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->sigfd, &ev) ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, collector__epoll_fd(s->c), &rb_ev)) {
		mpx_err("cannot set up event polling: %s", strerror(errno));
		trace__close(s);
		return MPX_EXIT_ERROR;
	}
	install_signals();
	*out = s;
	return 0;
}

void trace__close(struct trace_session *s)
{
	if (!s)
		return;
	collector__destroy(s->c);
	summset__free(&s->ss);
	delayacct_share(false);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->sigfd >= 0) {
		close(s->sigfd);
		sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
	}
	free(s);
}

struct pyprobe *trace__python(struct trace_session *s, const struct pyprobe_opts *o,
			      char *const argv[], const char *bin, uint32_t pid)
{
	struct pyprobe_maps maps = {
		.tracked_fd = collector__map_fd(s->c, "tracked"),
		.events_fd = collector__map_fd(s->c, "events"),
		.drops_fd = collector__map_fd(s->c, "drops"),
	};

	return bin ? pyprobe__open_bin(o, bin, pid, &maps) : pyprobe__open(o, argv, &maps);
}

/*
 * Sleep until a child changes state, the programs wake us (a quarter full,
 * an exec), a signal, or timeout.  True when the programs did.
 */
static bool wait_events(struct trace_session *s, int timeout_ms)
{
	struct signalfd_siginfo si;
	struct epoll_event ev[2];
	bool ring = false;
	int i, n;

	n = epoll_wait(s->epfd, ev, 2, timeout_ms);
	if (n < 0 && errno != EINTR)
		usleep((useconds_t)timeout_ms * 1000);
	for (i = 0; i < n; i++)
		ring = ring || ev[i].data.u32 == 1;
	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si))
		;
	return ring;
}

/*
 * The ring buffer's reader.  A thread of SCHED_IDLE policy empties it every
 * READER_PERIOD_MS, so the copying runs on CPU time the workload leaves
 * idle and none of the workload's wakeups waits for it: the kernel places
 * a woken task on a CPU that runs only idle-policy tasks as on an idle one,
 * and lets it preempt at once.  A reader at normal priority put ~1% on a
 * ping-pong of two processes on two CPUs (its bursts took the CPU a wakee
 * was headed for).  When the workload keeps every CPU busy, the thread may
 * get no time at all: then the programs' wakeup at a quarter full reaches
 * the main thread, which empties the ring at normal priority, as it does
 * after an exec record (also a forced wakeup).  One lock keeps the two
 * apart; the main thread lends the reader normal priority while it waits
 * for that lock, so a reader stopped mid-pass holds nobody up for long.
 * Every 40 ms instead of 100, a Pool of 10,000 tiny tasks ran slower
 * (traced / untraced 1.24-1.40 against 1.15-1.17, same rounds): not
 * understood.
 */
#define READER_PERIOD_MS 100

struct reader {
	struct collector *c;
	pthread_t th;
	pthread_mutex_t lock;	/* the ring buffer and the sink */
	int stop_fd;		/* eventfd: time to stop */
	pid_t tid;		/* the thread's (atomic), 0 until it runs */
	bool idle;		/* it went SCHED_IDLE (atomic) */
	int err;		/* its first poll error (atomic) */
	unsigned int passes;	/* emptied by the thread (atomic) */
	unsigned int takeovers;	/* emptied by the main thread */
	bool stop;		/* atomic */
	bool started;
};

static void reader_policy(struct reader *rd, int policy)
{
	struct sched_param sp = { 0 };
	pid_t tid = __atomic_load_n(&rd->tid, __ATOMIC_ACQUIRE);

	/* A reader at normal priority stays there. */
	if (tid > 0 && __atomic_load_n(&rd->idle, __ATOMIC_ACQUIRE))
		sched_setscheduler(tid, policy, &sp);
}

/* Lending the reader normal priority again takes CAP_SYS_NICE. */
static bool can_raise_policy(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return false;
	return d[CAP_SYS_NICE / 32].effective & (1u << (CAP_SYS_NICE % 32));
}

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	struct pollfd pfd = { .fd = rd->stop_fd, .events = POLLIN };
	struct sched_param sp = { 0 };
	int err;

	__atomic_store_n(&rd->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	if (!can_raise_policy())
		mpx_info("ring-buffer reader at normal priority: no CAP_SYS_NICE\n");
	else if (sched_setscheduler(0, SCHED_IDLE, &sp))
		mpx_info("ring-buffer reader at normal priority: %s\n", strerror(errno));
	else
		__atomic_store_n(&rd->idle, true, __ATOMIC_RELEASE);
	for (;;) {
		int n = poll(&pfd, 1, READER_PERIOD_MS);

		if (n > 0 || (n < 0 && errno != EINTR) || __atomic_load_n(&rd->stop, __ATOMIC_ACQUIRE))
			break;	/* told to stop; or the main thread reads alone */
		pthread_mutex_lock(&rd->lock);
		err = collector__poll(rd->c, 0);
		pthread_mutex_unlock(&rd->lock);
		__atomic_add_fetch(&rd->passes, 1, __ATOMIC_RELAXED);
		if (err) {
			__atomic_store_n(&rd->err, err, __ATOMIC_RELEASE);
			break;
		}
	}
	return NULL;
}

/* Without a thread (none could be made) the main thread reads, as before. */
static void reader_start(struct reader *rd, struct collector *c)
{
	sigset_t all, old;

	memset(rd, 0, sizeof(*rd));
	rd->c = c;
	pthread_mutex_init(&rd->lock, NULL);
	rd->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (rd->stop_fd < 0)
		return;
	/* Signals are the main thread's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rd->started = !pthread_create(&rd->th, NULL, reader_main, rd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* The main thread's turn: the lock, at once or after the reader's pass. */
static void reader_lock(struct reader *rd)
{
	if (!rd->started || !pthread_mutex_trylock(&rd->lock))
		return;
	reader_policy(rd, SCHED_OTHER);
	pthread_mutex_lock(&rd->lock);
	reader_policy(rd, SCHED_IDLE);
}

static void reader_unlock(struct reader *rd)
{
	if (rd->started)
		pthread_mutex_unlock(&rd->lock);
}

static int reader_stop(struct reader *rd)
{
	uint64_t one = 1;

	if (rd->started) {
		/* What is left of the tree may keep every CPU busy. */
		reader_policy(rd, SCHED_OTHER);
		/* The eventfd wakes it now; the flag stops it within a period
		 * even if the write failed. */
		__atomic_store_n(&rd->stop, true, __ATOMIC_RELEASE);
		if (write(rd->stop_fd, &one, sizeof(one)) != sizeof(one))
			mpx_info("ring-buffer reader stops within %d ms\n", READER_PERIOD_MS);
		pthread_join(rd->th, NULL);
		mpx_info("ring buffer emptied %u times by the reader thread (%s priority), "
			 "%u by the main thread\n", rd->passes,
			 __atomic_load_n(&rd->idle, __ATOMIC_ACQUIRE) ? "idle" : "normal",
			 rd->takeovers);
	}
	if (rd->stop_fd >= 0)
		close(rd->stop_fd);
	pthread_mutex_destroy(&rd->lock);
	return __atomic_load_n(&rd->err, __ATOMIC_ACQUIRE);
}

bool trace__stopped(void)
{
	return stop_sig != 0;
}

void trace__workload_ids(bool as_root, long *uid, long *gid)
{
	struct runner r;

	*uid = *gid = -1;
	if (as_root)
		return;
	if (runner__sudo_ids(&r)) {
		*uid = r.uid;
		*gid = r.gid;
	}
}

static int keep_summ(void *ctx, const struct mpx_summ *s)
{
	return summset__add(ctx, s);
}

/* --summary: the root's record, asleep at the start barrier from t0 on. */
static int seed_summary(struct trace_session *s, const struct runner *r, uint64_t t0,
			const struct mpx_kcounters *k)
{
	struct mpx_summ v;

	memset(&v, 0, sizeof(v));
	v.tid = v.pid = (uint32_t)r->pid;
	v.ppid = (uint32_t)getpid();
	v.flags = MPX_SU_ROOT;
	if (k) {
		v.k_last = *k;
		v.flags |= MPX_SU_LAST;
	}
	v.state = MPX_SS_SLEEP;
	v.start_ns = v.state_ns = t0;
	snprintf(v.comm, sizeof(v.comm), "mpxtrace");
	return collector__summary_seed(s->c, &v);
}

/* --summary: take the records of finished tasks (all: every record). */
static int drain_summary(struct trace_session *s, bool all)
{
	int n = collector__summary_drain(s->c, all, keep_summ, &s->ss);

	return n < 0 ? n : 0;
}

#define KSYMS_CACHE "/run/mpxtrace-ksyms"

/*
 * The kernel's symbols stay put for a boot unless modules come or go, so
 * the parsed table is kept in /run (root only: addresses) under a key of
 * the boot and the module list; /proc/kallsyms takes the kernel ~70 ms to
 * print, at the end of every run that has waits to name.
 */
static void ksyms_cache_key(char *key, size_t sz)
{
	char boot[64] = "", buf[4096];
	uint64_t h = 1469598103934665603ull;
	struct utsname u;
	size_t n, i;
	FILE *f;

	key[0] = '\0';
	f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (!f || !fgets(boot, sizeof(boot), f) || uname(&u)) {
		if (f)
			fclose(f);
		return;
	}
	fclose(f);
	boot[strcspn(boot, "\n")] = '\0';
	f = fopen("/proc/modules", "re");
	if (f) {
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			for (i = 0; i < n; i++)
				h = (h ^ (unsigned char)buf[i]) * 1099511628211ull;
		fclose(f);
	}
	snprintf(key, sz, "%s|%s|%s|%016llx", u.release, u.version, boot,
		 (unsigned long long)h);
}

static struct ksyms *ksyms_open(void)
{
	char key[512], tmp[] = KSYMS_CACHE ".XXXXXX";
	struct ksyms *ks = NULL;
	FILE *f;
	int fd;

	ksyms_cache_key(key, sizeof(key));
	if (key[0] && (f = fopen(KSYMS_CACHE, "re"))) {
		setvbuf(f, NULL, _IOFBF, 1 << 20);
		ks = ksyms__load_saved(f, key);
		fclose(f);
		if (ks)
			return ks;
	}
	f = fopen("/proc/kallsyms", "re");
	if (!f) {
		mpx_warn("cannot read /proc/kallsyms: wait reasons unnamed");
		return NULL;
	}
	/* /proc files say 1 KiB blocks: 120k lines would be 5000 reads. */
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	ks = ksyms__load(f);
	fclose(f);
	if (!ks || !key[0] || getuid() != 0 || (fd = mkstemp(tmp)) < 0)
		return ks;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return ks;
	}
	if (ksyms__save(ks, f, key) | fclose(f) || rename(tmp, KSYMS_CACHE))
		unlink(tmp);
	return ks;
}

/* Name the wait reason of every stack id the run's events refer to. */
static void resolve_reasons(struct collector *c, const struct evbuf *eb,
			    struct mpx_reasons *out)
{
	const char *names[MPX_STACK_DEPTH];
	uint64_t ips[MPX_STACK_DEPTH];
	char reason[MPX_REASON_LEN];
	struct ksyms *ks;
	bool core;
	size_t i;
	int j;

	/* The kernel's symbols take ~100 ms to read: only when a wait needs them
	 * (never in summary mode). */
	for (i = 0; i < eb->n; i++) {
		const struct mpx_switch *e = (const void *)evbuf__get(eb, i);

		if (e->hdr.type == MPX_EV_SWITCH && e->stack_id >= 0)
			break;
	}
	if (i == eb->n)
		return;
	ks = ksyms_open();
	if (!ks)
		return;
	for (i = 0; i < eb->n; i++) {
		const struct mpx_hdr *h = evbuf__get(eb, i);
		const struct mpx_switch *e = (const void *)h;

		if (h->type != MPX_EV_SWITCH || e->stack_id < 0 ||
		    reasons__get(out, e->stack_id))
			continue;
		if (collector__stack(c, e->stack_id, ips))
			continue;
		/* The innermost frames are our BPF program's, which kallsyms
		 * may not list (then the nearest symbol below would name them
		 * wrongly): nothing before the first frame in the core
		 * kernel's text is named. */
		for (j = 0, core = false; j < MPX_STACK_DEPTH; j++) {
			core = core || (ips[j] && ksyms__in_core_text(ks, ips[j]));
			names[j] = ips[j] && core ? ksyms__find(ks, ips[j]) : NULL;
		}
		waits__reason(names, MPX_STACK_DEPTH, reason, sizeof(reason));
		reasons__add(out, e->stack_id, reason);
	}
	ksyms__free(ks);
}

int trace__run(struct trace_session *s, char *const argv[], bool as_root,
	       int stdout_to, struct evbuf *eb, struct mpx_model *m,
	       struct mpx_run_info *run, int *exit_code)
{
	struct collector *c = s->c;
	struct mpx_kcounters k;
	uint64_t drops0[MPX_DROP_MAX], drops[MPX_DROP_MAX], stop_since = 0, t0;
	uint64_t st0[2] = { 0, 0 }, st[2];
	bool stats = bpf_stats_on();
	int stage = 0;
	struct reader rd;
	struct runner r;
	bool have_k;
	size_t seen = eb->n;
	int err, i;

	*exit_code = MPX_EXIT_ERROR;
	fill_static(argv, run);
	run->attach = collector__attach_name(c);
	collector__set_sink(c, eb);
	/* Drop counters are per session: report this run's share. */
	collector__drops(c, drops0);
	if (stats)
		collector__prog_stats(c, st0);
	err = runner__start(&r, argv, as_root, stdout_to);
	if (err)
		return err;
	err = collector__track(c, (uint32_t)r.pid, (uint32_t)r.pid);
	if (err) {
		mpx_err("cannot track the workload: %s", strerror(-err));
		runner__abort(&r);
		return MPX_EXIT_ERROR;
	}
	if (runner__wait_held(&r, 1000))
		mpx_warn("the workload did not reach its start barrier in 1 s: its "
			 "first moments may be misattributed");
	if (s->on_start)
		s->on_start(s->start_ctx, (uint32_t)r.pid);
	t0 = mpx_now_ns();
	have_k = !read_schedstat(r.pid, &k);
	model__seed_root(m, (uint32_t)r.pid, (uint32_t)r.pid, (uint32_t)getpid(),
			 "mpxtrace", t0, have_k ? &k : NULL);
	s->ss.n = 0;
	if (s->summary && (err = seed_summary(s, &r, t0, have_k ? &k : NULL))) {
		mpx_err("cannot start the workload's summary record: %s", strerror(-err));
		runner__abort(&r);
		return MPX_EXIT_ERROR;
	}
	run->startup_ns = mpx_now_ns() - mpx_start_ns();
	mpx_info("workload released %.1f ms after mpxtrace started\n",
		 (double)run->startup_ns / 1e6);
	err = runner__release(&r);
	if (err) {
		/* The child exits by itself: reap it, report nothing. */
		runner__reap(&r, true);
		return err;
	}

	reader_start(&rd, c);
	while (runner__reap(&r, false) > 0) {
		err = 0;
		if (wait_events(s, 100) || !rd.started) {
			reader_lock(&rd);
			err = collector__poll(c, 0);
			rd.takeovers++;
			new_execs(s, eb, &seen);
			reader_unlock(&rd);
		} else if (!pthread_mutex_trylock(&rd.lock)) {
			new_execs(s, eb, &seen);
			pthread_mutex_unlock(&rd.lock);
		}
		if (!err)
			err = __atomic_load_n(&rd.err, __ATOMIC_ACQUIRE);
		if (!err && s->summary)
			err = drain_summary(s, false);
		if (err) {
			mpx_err("reading events failed: %s", strerror(-err));
			stop_sig = SIGTERM;
		}
		if (stop_sig)
			handle_stop(c, &r, &stop_since, &stage);
	}
	err = reader_stop(&rd);
	/* A reaped task's final switch may still be on its way: wait (20 ms
	 * at most) until the kernel side has let go of every task. */
	for (i = 0; i < 20 && collector__ntracked(c) > 0; i++)
		usleep(1000);
	if (!err)
		err = collector__poll(c, 0);
	if (!err)
		err = collector__drain(c);
	if (err)
		mpx_err("reading events failed: %s", strerror(-err));
	if (s->summary) {
		err = drain_summary(s, true);
		if (!err)
			err = summary__apply(m, &s->ss, mpx_now_ns());
		if (err)
			mpx_err("reading the summary records failed: %s", strerror(-err));
		s->ss.n = 0;
	}
	resolve_reasons(c, eb, &m->reasons);
	collector__take_lost(c, m);
	collector__take_rss(c, m);
	collector__drops(c, drops);
	for (i = 0; i < MPX_DROP_MAX; i++)
		drops[i] -= drops0[i];
	run->lost_events = drops[MPX_DROP_RINGBUF] + drops[MPX_DROP_SUMM_LOST];
	/* What the programs cost, as the kernel counts it (when asked to). */
	if (stats)
		collector__prog_stats(c, st);
	if (stats && st[0] > st0[0])
		mpx_info("BPF programs ran %llu times, %.2f ms, %.0f ns each "
			 "(kernel.bpf_stats_enabled)\n", (unsigned long long)(st[0] - st0[0]),
			 (double)(st[1] - st0[1]) / 1e6,
			 (double)(st[1] - st0[1]) / (double)(st[0] - st0[0]));
	if (!s->summary)
		mpx_info("kernel stacks walked at blocking switch-outs: %llu (the others' "
			 "sites remembered)\n", (unsigned long long)drops[MPX_CNT_STACK_WALK]);
	if (drops[MPX_DROP_SUMM_LOST])
		mpx_warn("--summary: %llu task records did not fit the kernel's maps and are "
			 "missing from the report: rerun with a larger --max-tasks",
			 (unsigned long long)drops[MPX_DROP_SUMM_LOST]);
	run->untracked_tasks = drops[MPX_DROP_TRACK_FULL];
	if (run->untracked_tasks)
		mpx_warn("%llu tasks of the tree were not traced: more were alive at once than "
			 "the task map holds; rerun with a larger --max-tasks",
			 (unsigned long long)run->untracked_tasks);
	run->lost_stacks = drops[MPX_DROP_STACK];
	run->interrupted = stop_sig != 0;
	run->exited = r.root_done;
	run->exit_status = r.root_status;
	*exit_code = runner__exit_code(&r);
	collector__set_sink(c, NULL);
	return 0;
}

/* The pure part lives in run.c: a trace file is replayed the same way. */
void trace__analyze(struct evbuf *eb, struct mpx_model *m, uint64_t end_ns)
{
	run__replay(eb, m, end_ns);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The native workload: what Process and Pool do, in C, without Python.
 *
 *   process: fork one child per task; the child runs it and _exit()s; then
 *            waitpid() every child in creation order.
 *   pool:    fork W workers (default: online CPUs, as Pool()).  They read
 *            fixed-size task records from one shared pipe (a read of at
 *            most PIPE_BUF bytes is atomic, so a record goes to exactly one
 *            worker), run the task and write a result record to a result
 *            pipe.  Main writes every task, then reads every result; then it
 *            closes the task pipe, the workers see EOF and exit, and main
 *            reaps them.
 *
 * Phase markers for the tracer are renames of the main thread, exactly as
 * in the Python workload: mpx@begin, then mpx@started (process) or mpx@pool
 * and mpx@submitted (pool), then mpx@end.  wall_ms is begin..end.
 *
 * mpxtrace re-executes itself as `mpxtrace __workload --mode ... --dir DIR`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json_writer.h"
#include "native.h"
#include "util.h"

#define CHUNK	(1u << 20)	/* IO size of direct, read-cold, preparation */
#define PAGE	4096u		/* O_DIRECT alignment; the stride of mem */
#define MAX_TASKS	1000000u
#define MAX_WORKERS	4096u

struct kind;

struct wopts {
	const char *mode, *kind, *start_method, *dir;
	uint64_t tasks, workers, bytes, ms;
	const struct kind *k;	/* kinds[] entry named kind */
};

/* What a mode run measured. */
struct wresult {
	uint64_t begin_ns, end_ns;
	uint64_t workers;		/* processes that ran tasks */
	uint64_t failed;		/* tasks that failed */
};

/* ---- helpers ------------------------------------------------------------ */

static char own_name[16];	/* the main thread's name, restored after marks */

/* Rename the main thread mpx@what and back: one marker for the tracer.
 * Returns the time of the rename the tracer sees. */
static uint64_t mark(const char *what)
{
	char name[16];
	uint64_t t;

	snprintf(name, sizeof(name), "mpx@%s", what);
	prctl(PR_SET_NAME, name, 0, 0, 0);
	t = mpx_now_ns();
	prctl(PR_SET_NAME, own_name, 0, 0, 0);
	return t;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Write total bytes to fd, CHUNK at a time, from buf (CHUNK long). */
static int write_fill(int fd, const void *buf, uint64_t total)
{
	size_t n;
	int err;

	for (; total; total -= n) {
		n = total < CHUNK ? (size_t)total : CHUNK;
		err = write_all(fd, buf, n);
		if (err)
			return err;
	}
	return 0;
}

static void task_path(const struct wopts *o, uint64_t i, char *buf, size_t sz)
{
	/* Per mode, so that a --mode=both run never reuses the other's files. */
	snprintf(buf, sz, "%s/%s-task-%llu", o->dir, o->mode, (unsigned long long)i);
}

/* ---- tasks: each returns 0 or -errno ----------------------------------- */

/* The post's IO_Task: five small writes through a buffer (one write(2) at
 * close); with sync, forced to disk before close. */
static int small_writes(const char *path, bool sync)
{
	FILE *f = fopen(path, "we");
	int i, err = 0;

	if (!f)
		return -errno;
	for (i = 0; i < 5; i++)
		fputs("hello world", f);
	if (sync && (fflush(f) || fsync(fileno(f))))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

static int task_write(const struct wopts *o, const char *path)
{
	(void)o;
	return small_writes(path, false);
}

static int task_fsync(const struct wopts *o, const char *path)
{
	(void)o;
	return small_writes(path, true);
}

/* bytes (rounded up to a page) written with O_DIRECT, 1 MiB at a time. */
static int task_direct(const struct wopts *o, const char *path)
{
	void *buf = NULL;
	int fd, err;

	err = -posix_memalign(&buf, PAGE, CHUNK);
	if (err)
		return err;
	memset(buf, 0xa5, CHUNK);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = write_fill(fd, buf, (o->bytes + PAGE - 1) / PAGE * PAGE);
	if (close(fd) && !err)
		err = -errno;
out:
	free(buf);
	return err;
}

/* Read a file that prepare_cold() pushed out of the page cache. */
static int task_read_cold(const struct wopts *o, const char *path)
{
	char *buf = malloc(CHUNK);
	int fd, err = 0;
	ssize_t n;

	(void)o;
	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	while ((n = read(fd, buf, CHUNK)) > 0 || (n < 0 && errno == EINTR))
		;
	if (n < 0)
		err = -errno;
	close(fd);
out:
	free(buf);
	return err;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Spin until this thread has run for ms milliseconds. */
static int task_cpu(const struct wopts *o, const char *path)
{
	uint64_t end = thread_cpu_ns() + o->ms * 1000000ull;
	volatile uint64_t x = 0;
	uint64_t i;

	(void)path;
	while (thread_cpu_ns() < end)
		for (i = 0; i < 10000; i++)
			x += i * i;
	return 0;
}

/* Allocate bytes and write one byte in every page. */
static int task_mem(const struct wopts *o, const char *path)
{
	volatile char *p = malloc(o->bytes);
	uint64_t i;

	(void)path;
	if (!p)
		return -ENOMEM;
	for (i = 0; i < o->bytes; i += PAGE)
		p[i] = 1;
	free((void *)p);
	return 0;
}

static int task_sleep(const struct wopts *o, const char *path)
{
	struct timespec ts = {
		.tv_sec = (time_t)(o->ms / 1000),
		.tv_nsec = (long)(o->ms % 1000) * 1000000L,
	};

	(void)path;
	while (nanosleep(&ts, &ts))
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* read-cold: every file written, on disk and out of the page cache. */
static int prepare_cold(const struct wopts *o)
{
	char path[4096], *buf = malloc(CHUNK);
	uint64_t i;
	int fd, err = 0;

	if (!buf)
		return -ENOMEM;
	memset(buf, 0x5a, CHUNK);
	for (i = 0; i < o->tasks && !err; i++) {
		task_path(o, i, path, sizeof(path));
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			err = -errno;
			break;
		}
		err = write_fill(fd, buf, o->bytes);
		if (!err && fsync(fd))
			err = -errno;
		if (!err)
			err = -posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
	free(buf);
	return err;
}

static const struct kind {
	const char *name;
	int (*run)(const struct wopts *o, const char *path);
	int (*prepare)(const struct wopts *o);	/* before mpx@begin, or NULL */
} kinds[] = {
	{ "write",	task_write,	NULL },
	{ "fsync",	task_fsync,	NULL },
	{ "direct",	task_direct,	NULL },
	{ "read-cold",	task_read_cold,	prepare_cold },
	{ "cpu",	task_cpu,	NULL },
	{ "mem",	task_mem,	NULL },
	{ "sleep",	task_sleep,	NULL },
};

static int run_task(const struct wopts *o, uint64_t i)
{
	char path[4096];

	task_path(o, i, path, sizeof(path));
	return o->k->run(o, path);
}

/* ---- modes -------------------------------------------------------------- */

/* Reap pid; a child that did not exit 0 counts as a failure. */
static int reap(pid_t pid, uint64_t *failed)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		(*failed)++;
	return 0;
}

static int mode_process(const struct wopts *o, struct wresult *r)
{
	pid_t *pids = calloc(o->tasks, sizeof(*pids));
	uint64_t i, n;
	int e, err = 0;

	if (!pids)
		return -ENOMEM;
	r->begin_ns = mark("begin");
	for (n = 0; n < o->tasks; n++) {
		pids[n] = fork();
		if (pids[n] < 0) {
			err = -errno;
			break;
		}
		if (!pids[n])
			_exit(run_task(o, n) ? 1 : 0);
	}
	if (!err)
		mark("started");
	for (i = 0; i < n; i++) {
		e = reap(pids[i], &r->failed);
		err = err ? err : e;
	}
	if (!err)
		r->end_ns = mark("end");
	r->workers = n;
	free(pids);
	return err;
}

struct task_rec {
	uint64_t task;
};

struct result_rec {
	uint64_t task;
	int64_t err;		/* 0 or -errno */
};

_Static_assert(sizeof(struct task_rec) <= PIPE_BUF, "task records must be atomic");
_Static_assert(sizeof(struct result_rec) <= PIPE_BUF, "results must be atomic");

struct pool {
	int task_rd, task_wr;	/* main writes tasks, workers read them */
	int res_rd, res_wr;	/* workers write results, main reads them */
	pid_t *pids;
	uint64_t nworkers;
	uint64_t pending;	/* tasks without a result yet */
};

static void __attribute__((noreturn))
worker_loop(const struct wopts *o, struct pool *p)
{
	struct task_rec t;
	struct result_rec res;

	close(p->task_wr);
	close(p->res_rd);
	while (read(p->task_rd, &t, sizeof(t)) == sizeof(t)) {
		res.task = t.task;
		res.err = run_task(o, t.task);
		if (write_all(p->res_wr, &res, sizeof(res)))
			_exit(1);
	}
	_exit(0);
}

/* One result; a record is never split (it is written atomically). */
static int pool_collect_one(struct pool *p, uint64_t *failed)
{
	struct result_rec res;
	ssize_t n;

	while ((n = read(p->res_rd, &res, sizeof(res))) < 0 && errno == EINTR)
		;
	if (n != sizeof(res))
		return n < 0 ? -errno : -EPIPE;	/* every worker gone */
	if (res.err)
		(*failed)++;
	p->pending--;
	return 0;
}

/*
 * Hand every task over.  The task pipe holds 64 KiB: while it is full,
 * take results, or workers stuck on a full result pipe would never read
 * another task (Python's Pool has its result-handler thread for this).
 */
static int pool_submit(const struct wopts *o, struct pool *p, uint64_t *failed)
{
	struct pollfd pfd[2] = {
		{ .fd = p->task_wr, .events = POLLOUT },
		{ .fd = p->res_rd, .events = POLLIN },
	};
	struct task_rec t = {};
	ssize_t n;
	int err;

	if (fcntl(p->task_wr, F_SETFL, O_NONBLOCK))
		return -errno;
	while (t.task < o->tasks) {
		n = write(p->task_wr, &t, sizeof(t));
		if (n == sizeof(t)) {
			t.task++;
			p->pending++;
			continue;
		}
		if (n >= 0 || (errno != EAGAIN && errno != EINTR))
			return n < 0 ? -errno : -EIO;
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			return -errno;
		if (pfd[1].revents && (err = pool_collect_one(p, failed)))
			return err;
	}
	return 0;
}

static int mode_pool(const struct wopts *o, struct wresult *r)
{
	struct pool p = { .task_rd = -1, .task_wr = -1, .res_rd = -1, .res_wr = -1 };
	int tp[2], rp[2], e, err = 0;
	pid_t pid;
	uint64_t w, n = o->workers;

	if (!n)
		n = (uint64_t)sysconf(_SC_NPROCESSORS_ONLN);
	p.pids = calloc(n, sizeof(*p.pids));
	if (!p.pids)
		return -ENOMEM;

	r->begin_ns = mark("begin");
	if (pipe2(tp, O_CLOEXEC)) {
		err = -errno;
		goto teardown;
	}
	p.task_rd = tp[0];
	p.task_wr = tp[1];
	if (pipe2(rp, O_CLOEXEC)) {
		err = -errno;
		goto teardown;
	}
	p.res_rd = rp[0];
	p.res_wr = rp[1];
	for (w = 0; w < n; w++) {
		pid = fork();
		if (pid < 0) {
			err = -errno;
			goto teardown;
		}
		if (!pid)
			worker_loop(o, &p);
		p.pids[p.nworkers++] = pid;
	}
	close_fd(&p.task_rd);
	close_fd(&p.res_wr);
	mark("pool");

	err = pool_submit(o, &p, &r->failed);
	if (err)
		goto teardown;
	mark("submitted");
	while (p.pending && !err)
		err = pool_collect_one(&p, &r->failed);
	if (!err)
		r->end_ns = mark("end");

teardown:
	/* No more tasks: the workers read EOF and exit. */
	close_fd(&p.task_wr);
	close_fd(&p.task_rd);
	close_fd(&p.res_wr);
	for (w = 0; w < p.nworkers; w++) {
		e = reap(p.pids[w], &r->failed);
		err = err ? err : e;
	}
	close_fd(&p.res_rd);
	r->workers = p.nworkers;
	free(p.pids);
	return err;
}

static const struct mode {
	const char *name;
	int (*run)(const struct wopts *o, struct wresult *r);
} modes[] = {
	{ "process",	mode_process },
	{ "pool",	mode_pool },
};

/* ---- command line ------------------------------------------------------- */

static const struct wopt {
	const char *name;
	size_t off;		/* in struct wopts */
	bool num;		/* uint64_t in [min, max], else a string */
	uint64_t min, max;
} wopts_desc[] = {
#define STR_OPT(n, f) { .name = n, .off = offsetof(struct wopts, f) }
#define NUM_OPT(n, f, lo, hi) \
	{ .name = n, .off = offsetof(struct wopts, f), .num = true, .min = lo, .max = hi }
	STR_OPT("--mode", mode),
	STR_OPT("--kind", kind),
	STR_OPT("--start-method", start_method),
	STR_OPT("--dir", dir),
	NUM_OPT("--tasks", tasks, 1, MAX_TASKS),
	NUM_OPT("--workers", workers, 0, MAX_WORKERS),
	NUM_OPT("--bytes", bytes, 1, 1ull << 40),
	NUM_OPT("--ms", ms, 0, 3600000),
#undef STR_OPT
#undef NUM_OPT
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const void *lookup(const void *table, size_t n, size_t size, const char *name)
{
	const char *p = table;

	for (; n; n--, p += size)
		if (!strcmp(*(const char *const *)p, name))
			return p;
	return NULL;
}

#define LOOKUP(table, name) lookup(table, ARRAY_LEN(table), sizeof(table[0]), name)

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage(const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	mpx_err("__workload: %s (usage: --mode process|pool --dir DIR [--tasks N] "
		"[--workers W] [--kind K] [--bytes B] [--ms M] [--start-method fork])",
		why);
	return MPX_EXIT_USAGE;
}

/* argv[0] is "__workload".  Returns 0 or MPX_EXIT_USAGE after one line. */
static int parse_args(int argc, char **argv, struct wopts *o,
		      const struct mode **mode)
{
	const struct wopt *d;
	int i;

	*o = (struct wopts){
		.kind = "write", .start_method = "fork",
		.tasks = 2, .bytes = 8u << 20, .ms = 50,
	};
	for (i = 1; i < argc; i += 2) {
		d = LOOKUP(wopts_desc, argv[i]);
		if (!d)
			return usage("unknown argument '%s'", argv[i]);
		if (i + 1 == argc)
			return usage("%s needs a value", argv[i]);
		if (!d->num)
			*(const char **)((char *)o + d->off) = argv[i + 1];
		else if (mpx_parse_u64(argv[i + 1], d->min, d->max,
				       (uint64_t *)((char *)o + d->off)))
			return usage("%s: '%s' is out of range or not a number",
				     argv[i], argv[i + 1]);
	}
	if (!o->mode || !o->dir)
		return usage("--mode and --dir are required");
	*mode = LOOKUP(modes, o->mode);
	if (!*mode)
		return usage("--mode: '%s' is not process or pool", o->mode);
	o->k = LOOKUP(kinds, o->kind);
	if (!o->k)
		return usage("--kind: unknown task kind '%s'", o->kind);
	if (strcmp(o->start_method, "fork"))
		return usage("--start-method: '%s': the native workload only forks",
			     o->start_method);
	return 0;
}

static void print_result(const struct wopts *o, const struct wresult *r)
{
	struct json_writer *jw = jw_new(stdout, false);

	if (!jw)
		return;
	jw_start_object(jw);
	jw_kv_string(jw, "runtime", "native");
	jw_kv_string(jw, "mode", o->mode);
	jw_kv_fixed(jw, "wall_ms", (int64_t)((r->end_ns - r->begin_ns) / 1000), 3);
	jw_kv_u64(jw, "tasks", o->tasks);
	jw_kv_u64(jw, "workers", r->workers);
	jw_kv_string(jw, "kind", o->kind);
	jw_kv_string(jw, "start_method", o->start_method);
	jw_end_object(jw);
	jw_free(jw);
	putchar('\n');
	fflush(stdout);
}

int native__main(int argc, char **argv)
{
	const struct mode *mode = NULL;
	struct wresult r = {};
	struct wopts o;
	int err;

	err = parse_args(argc, argv, &o, &mode);
	if (err)
		return err;
	/* A worker that died must be an error, not a SIGPIPE that kills us. */
	signal(SIGPIPE, SIG_IGN);
	if (mkdir(o.dir, 0700) && errno != EEXIST) {
		mpx_err("__workload: cannot create %s: %s", o.dir, strerror(errno));
		return MPX_EXIT_ERROR;
	}
	if (o.k->prepare && (err = o.k->prepare(&o))) {
		mpx_err("__workload: cannot prepare the %s files in %s: %s", o.kind,
			o.dir, strerror(-err));
		return MPX_EXIT_ERROR;
	}
	prctl(PR_GET_NAME, own_name, 0, 0, 0);
	fflush(NULL);		/* children must not inherit unwritten output */

	err = mode->run(&o, &r);
	if (err) {
		mpx_err("__workload: %s mode: %s", o.mode, strerror(-err));
		return MPX_EXIT_ERROR;
	}
	print_result(&o, &r);
	if (r.failed) {
		mpx_err("__workload: %llu of %llu %s tasks (or workers) failed",
			(unsigned long long)r.failed, (unsigned long long)o.tasks,
			o.kind);
		return MPX_EXIT_ERROR;
	}
	return 0;
}

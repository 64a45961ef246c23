// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The native workload: what Process and Pool do, in C.
 *
 *   process: fork one child per task; the child runs it and exits; then
 *            waitpid() each child in creation order.
 *   pool:    fork W workers that read fixed-size task records from one
 *            shared pipe (reads of at most PIPE_BUF bytes are atomic, so a
 *            record goes to exactly one worker), run the task and write a
 *            result record to a result pipe; main writes every task, then
 *            reads every result; closing the task pipe ends the workers.
 *
 * Phase markers for the tracer are thread renames, as in the Python
 * workload: mpx@begin, mpx@started | mpx@pool + mpx@submitted, mpx@end.
 * mpxtrace runs this as `mpxtrace __workload --mode ... --dir DIR`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "native.h"
#include "util.h"

#define CHUNK (1u << 20)

struct wopts {
	const char *mode, *kind, *dir;
	uint64_t tasks, workers, bytes, ms;
};

typedef int (*task_fn)(const struct wopts *o, const char *path);

static char own_name[16];

static void mark(const char *what)
{
	char name[16];

	snprintf(name, sizeof(name), "mpx@%s", what);
	prctl(PR_SET_NAME, name, 0, 0, 0);
	prctl(PR_SET_NAME, own_name, 0, 0, 0);
}

static double now_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- tasks ------------------------------------------------------------ */

/* The post's IO_Task: five small writes through a buffer, then close. */
static int small_writes(const char *path, bool sync)
{
	FILE *f = fopen(path, "w");
	int i, err = 0;

	if (!f)
		return -1;
	for (i = 0; i < 5; i++)
		fputs("hello world", f);
	if (sync && (fflush(f) || fsync(fileno(f))))
		err = -1;
	return fclose(f) || err ? -1 : 0;
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

static int task_direct(const struct wopts *o, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0644);
	uint64_t left = o->bytes;
	void *buf = NULL;
	int err = 0;

	if (fd < 0 || posix_memalign(&buf, 4096, CHUNK)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memset(buf, 0xa5, CHUNK);
	while (left && !err) {
		size_t n = left < CHUNK ? (size_t)((left + 4095) & ~4095ull) : CHUNK;

		err = write_all(fd, buf, n);
		left = left > n ? left - n : 0;
	}
	free(buf);
	return close(fd) || err ? -1 : 0;
}

static int task_read_cold(const struct wopts *o, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = malloc(CHUNK);
	ssize_t n;

	(void)o;
	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((n = read(fd, buf, CHUNK)) > 0)
		;
	free(buf);
	close(fd);
	return n < 0 ? -1 : 0;
}

static int task_cpu(const struct wopts *o, const char *path)
{
	double end = now_ms(CLOCK_THREAD_CPUTIME_ID) + (double)o->ms;
	volatile uint64_t x = 0;
	int i;

	(void)path;
	while (now_ms(CLOCK_THREAD_CPUTIME_ID) < end)
		for (i = 0; i < 10000; i++)
			x += (uint64_t)i * (uint64_t)i;
	return 0;
}

static int task_mem(const struct wopts *o, const char *path)
{
	char *p = malloc(o->bytes);
	uint64_t i;

	(void)path;
	if (!p)
		return -1;
	for (i = 0; i < o->bytes; i += 4096)
		((volatile char *)p)[i] = 1;
	free(p);
	return 0;
}

static int task_sleep(const struct wopts *o, const char *path)
{
	struct timespec ts = { (time_t)(o->ms / 1000), (long)(o->ms % 1000) * 1000000L };

	(void)path;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	return 0;
}

static const struct {
	const char *name;
	task_fn fn;
} kinds[] = {
	{ "write", task_write },	{ "fsync", task_fsync },
	{ "direct", task_direct },	{ "read-cold", task_read_cold },
	{ "cpu", task_cpu },		{ "mem", task_mem },
	{ "sleep", task_sleep },
};

static void task_path(const struct wopts *o, uint64_t i, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s/%s-task-%llu", o->dir, o->mode, (unsigned long long)i);
}

/* read-cold: the files exist on disk and are out of the page cache. */
static int prepare_cold(const struct wopts *o)
{
	char path[4096], *buf = malloc(CHUNK);
	uint64_t i, left;
	int fd, err = 0;

	if (!buf)
		return -1;
	memset(buf, 0x5a, CHUNK);
	for (i = 0; i < o->tasks && !err; i++) {
		task_path(o, i, path, sizeof(path));
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			err = -1;
			break;
		}
		for (left = o->bytes; left && !err; left -= left < CHUNK ? left : CHUNK)
			err = write_all(fd, buf, left < CHUNK ? (size_t)left : CHUNK);
		if (!err && (fsync(fd) || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)))
			err = -1;
		close(fd);
	}
	free(buf);
	return err;
}

/* ---- modes ------------------------------------------------------------ */

static int run_task(const struct wopts *o, task_fn fn, uint64_t i)
{
	char path[4096];

	task_path(o, i, path, sizeof(path));
	return fn(o, path);
}

static int mode_process(const struct wopts *o, task_fn fn)
{
	pid_t *pids = calloc(o->tasks, sizeof(*pids));
	uint64_t i;
	int st, err = 0;

	if (!pids)
		return -1;
	mark("begin");
	for (i = 0; i < o->tasks; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(run_task(o, fn, i) ? 1 : 0);
		if (pids[i] < 0)
			err = -1;
	}
	mark("started");
	for (i = 0; i < o->tasks; i++)
		if (pids[i] > 0 && (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) ||
				    WEXITSTATUS(st)))
			err = -1;
	mark("end");
	free(pids);
	return err;
}

struct rec {
	uint64_t task;
	int64_t status;
};

static void worker_loop(const struct wopts *o, task_fn fn, int tasks_rd, int results_wr)
{
	struct rec r;

	while (read(tasks_rd, &r, sizeof(r)) == sizeof(r)) {
		r.status = run_task(o, fn, r.task);
		if (write_all(results_wr, &r, sizeof(r)))
			_exit(1);
	}
	_exit(0);
}

static int mode_pool(const struct wopts *o, task_fn fn)
{
	int tp[2], rp[2], st, err = 0;
	uint64_t i, w, nw = o->workers;
	pid_t *pids;
	struct rec r;

	if (!nw)
		nw = (uint64_t)sysconf(_SC_NPROCESSORS_ONLN);
	pids = calloc(nw, sizeof(*pids));
	if (!pids || pipe2(tp, O_CLOEXEC) || pipe2(rp, O_CLOEXEC)) {
		free(pids);
		return -1;
	}
	mark("begin");
	for (w = 0; w < nw; w++) {
		pids[w] = fork();
		if (pids[w] == 0) {
			close(tp[1]);
			close(rp[0]);
			worker_loop(o, fn, tp[0], rp[1]);
		}
	}
	close(tp[0]);
	close(rp[1]);
	mark("pool");
	for (i = 0; i < o->tasks && !err; i++) {
		r.task = i;
		r.status = 0;
		err = write_all(tp[1], &r, sizeof(r));
	}
	mark("submitted");
	for (i = 0; i < o->tasks && !err; i++) {
		if (read(rp[0], &r, sizeof(r)) != sizeof(r))
			err = -1;
		else if (r.status)
			err = -1;
	}
	mark("end");
	/* Teardown: no more tasks; workers see EOF and exit. */
	close(tp[1]);
	close(rp[0]);
	for (w = 0; w < nw; w++)
		if (pids[w] > 0)
			waitpid(pids[w], &st, 0);
	free(pids);
	return err;
}

static int parse_args(int argc, char **argv, struct wopts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->mode = "process";
	o->kind = "write";
	o->tasks = 2;
	o->bytes = 8u << 20;
	o->ms = 50;
	for (i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		int bad = 0;

		if (!strcmp(k, "--mode"))
			o->mode = v;
		else if (!strcmp(k, "--kind"))
			o->kind = v;
		else if (!strcmp(k, "--dir"))
			o->dir = v;
		else if (!strcmp(k, "--tasks"))
			bad = mpx_parse_u64(v, 1, 1000000, &o->tasks);
		else if (!strcmp(k, "--workers"))
			bad = mpx_parse_u64(v, 0, 4096, &o->workers);
		else if (!strcmp(k, "--bytes"))
			bad = mpx_parse_u64(v, 1, 1ull << 40, &o->bytes);
		else if (!strcmp(k, "--ms"))
			bad = mpx_parse_u64(v, 0, 3600000, &o->ms);
		else
			bad = 1;
		if (bad) {
			fprintf(stderr, "mpxtrace __workload: bad argument %s %s\n", k, v);
			return -1;
		}
	}
	if (i != argc || !o->dir || (strcmp(o->mode, "process") && strcmp(o->mode, "pool"))) {
		fprintf(stderr, "mpxtrace __workload: usage: --mode process|pool --dir DIR "
			"[--tasks N --workers W --kind K --bytes B --ms M]\n");
		return -1;
	}
	return 0;
}

int native__main(int argc, char **argv)
{
	task_fn fn = NULL;
	struct wopts o;
	double t;
	size_t i;
	int err;

	if (parse_args(argc, argv, &o))
		return MPX_EXIT_USAGE;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].name, o.kind))
			fn = kinds[i].fn;
	if (!fn) {
		fprintf(stderr, "mpxtrace __workload: unknown task kind %s\n", o.kind);
		return MPX_EXIT_USAGE;
	}
	prctl(PR_GET_NAME, own_name, 0, 0, 0);
	if (!strcmp(o.kind, "read-cold") && prepare_cold(&o)) {
		fprintf(stderr, "mpxtrace __workload: cannot prepare files: %s\n",
			strerror(errno));
		return MPX_EXIT_ERROR;
	}
	t = now_ms(CLOCK_MONOTONIC);
	err = !strcmp(o.mode, "pool") ? mode_pool(&o, fn) : mode_process(&o, fn);
	printf("{\"runtime\": \"native\", \"mode\": \"%s\", \"wall_ms\": %.3f, "
	       "\"tasks\": %llu, \"kind\": \"%s\"}\n", o.mode, now_ms(CLOCK_MONOTONIC) - t,
	       (unsigned long long)o.tasks, o.kind);
	fflush(stdout);
	if (err)
		fprintf(stderr, "mpxtrace __workload: a task failed\n");
	return err ? MPX_EXIT_ERROR : 0;
}

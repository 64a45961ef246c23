// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * mpx-work: workloads whose right answer is known by construction, for the
 * integration tests (tests/integration/test_trace.py).
 *
 * CPU time is burnt against CLOCK_THREAD_CPUTIME_ID, the calling thread's
 * own se.sum_exec_runtime, so "burn 200" runs 200 ms on a CPU however long
 * it waits on the run queue.  Exit status: 0 on success, 1 when a child
 * or a system call failed, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS	3
#define CHILD_BURN_MS	1	/* what each tree child and thread burns */

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Spin until this thread has run ms milliseconds on a CPU. */
static void burn_ms(unsigned int ms)
{
	uint64_t end = thread_cpu_ns() + (uint64_t)ms * 1000000ull;

	while (thread_cpu_ns() < end)
		;
}

static void *burn_thread(void *arg)
{
	(void)arg;
	burn_ms(CHILD_BURN_MS);
	return NULL;
}

/* Fork a child that runs fn(arg) and exits with its result. */
static pid_t spawn(int (*fn)(unsigned int), unsigned int arg)
{
	pid_t pid = fork();

	if (pid < 0)
		perror("mpx-work: fork");
	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

/* Reap every child; 0 when all of them exited 0. */
static int reap_all(void)
{
	int st, err = 0;

	for (;;) {
		pid_t p = wait(&st);

		if (p < 0)
			return errno == ECHILD ? err : 1;
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			err = 1;
	}
}

static int child_burn(unsigned int ms)
{
	burn_ms(ms);
	return 0;
}

/* ---- subcommands: a[] holds the parsed numeric arguments ---- */

static int cmd_burn(const unsigned int *a)
{
	burn_ms(a[0]);
	return 0;
}

static int cmd_sleep(const unsigned int *a)
{
	struct timespec ts = { a[0] / 1000, (long)(a[0] % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	return 0;
}

/* 1 + nfork + nthread tasks: processes first, so no fork from a threaded process. */
static int cmd_tree(const unsigned int *a)
{
	pthread_t th[64];
	unsigned int i;
	int err = 0;

	if (a[1] > sizeof(th) / sizeof(th[0])) {
		fprintf(stderr, "mpx-work: tree: at most %zu threads\n",
			sizeof(th) / sizeof(th[0]));
		return 2;
	}
	for (i = 0; i < a[0]; i++)
		if (spawn(child_burn, CHILD_BURN_MS) < 0)
			err = 1;
	for (i = 0; i < a[1]; i++) {
		int e = pthread_create(&th[i], NULL, burn_thread, NULL);

		if (e) {
			fprintf(stderr, "mpx-work: pthread_create: %s\n", strerror(e));
			return 1;
		}
	}
	for (i = 0; i < a[1]; i++)
		pthread_join(th[i], NULL);
	return reap_all() || err;
}

static unsigned int pinned_ms;

static int child_pinned(unsigned int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("mpx-work: sched_setaffinity");
		return 1;
	}
	burn_ms(pinned_ms);
	return 0;
}

/* nproc children share one CPU: each waits for it about (nproc-1)/nproc of its life. */
static int cmd_pinned(const unsigned int *a)
{
	unsigned int i;
	int err = 0;

	pinned_ms = a[2];
	for (i = 0; i < a[0]; i++)
		if (spawn(child_pinned, a[1]) < 0)
			err = 1;
	return reap_all() || err;
}

static int cmd_exit(const unsigned int *a)
{
	return (int)a[0];
}

static int cmd_segv(const unsigned int *a)
{
	struct rlimit no_core = { 0, 0 };

	(void)a;
	/* A core file would land in the test's working directory. */
	setrlimit(RLIMIT_CORE, &no_core);
	raise(SIGSEGV);
	return 1;
}

/* Spin us microseconds of wall time (a paced ping-pong's work per message). */
static void spin_us(unsigned int us)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((uint64_t)(t.tv_sec - t0.tv_sec) * 1000000000ull + (uint64_t)t.tv_nsec -
		       (uint64_t)t0.tv_nsec < (uint64_t)us * 1000ull);
}

/* Answer each byte on rd with one on wr after us of work, n times. */
static int echo(int rd, int wr, unsigned int n, unsigned int us)
{
	char c = 0;

	while (n--) {
		if (read(rd, &c, 1) != 1)
			return 1;
		spin_us(us);
		if (write(wr, &c, 1) != 1)
			return 1;
	}
	return 0;
}

/*
 * Two processes pass a byte back and forth ROUNDS times over two pipes,
 * each doing WORK_US of work per message (0: a bare ping-pong), so the
 * switch rate is known by construction: 4 switches a round.  Prints the
 * elapsed time ("ms N") and the messages per second.
 */
static int cmd_pingpong(const unsigned int *a)
{
	int down[2], up[2], err;
	struct timespec t0, t1;
	double ms;
	pid_t pid;
	char c = 0;
	unsigned int i;

	if (pipe(down) || pipe(up)) {
		perror("mpx-work: pipe");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("mpx-work: fork");
		return 1;
	}
	if (!pid)
		_exit(echo(down[0], up[1], a[0], a[1]));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0, err = 0; i < a[0] && !err; i++) {
		spin_us(a[1]);
		err = write(down[1], &c, 1) != 1 || read(up[0], &c, 1) != 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(down[1]);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("ms %.3f\nmessages/s %.0f\n", ms, ms > 0 ? 2.0 * a[0] * 1e3 / ms : 0);
	return reap_all() || err;
}

/* Fork children one by one, each waited for by its pid (a shell, a test
 * runner, make): each exits at once. */
static int cmd_forks(const unsigned int *a)
{
	struct timespec t0, t1;
	unsigned int i;
	double ms;
	pid_t pid;
	int st;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < a[0]; i++) {
		pid = fork();
		if (pid < 0) {
			perror("mpx-work: fork");
			return 1;
		}
		if (!pid)
			_exit(0);
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "mpx-work: forks: child %d failed\n", (int)pid);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("ms %.3f\nforks/s %.0f\n", ms, ms > 0 ? a[0] * 1e3 / ms : 0);
	return 0;
}

static const struct cmd {
	const char *name;
	const char *args;
	int nargs;
	unsigned int max;	/* largest value of any argument */
	int (*fn)(const unsigned int *a);
} cmds[] = {
	{ "burn", "MS", 1, 600000, cmd_burn },
	{ "sleep", "MS", 1, 600000, cmd_sleep },
	{ "tree", "NFORK NTHREAD", 2, 64, cmd_tree },
	{ "pinned", "NPROC CPU MS", 3, 600000, cmd_pinned },
	{ "exit", "CODE", 1, 255, cmd_exit },
	{ "segv", "", 0, 0, cmd_segv },
	{ "pingpong", "ROUNDS WORK_US", 2, 1000000, cmd_pingpong },
	{ "forks", "N", 1, 1000000, cmd_forks },
};

static int usage(void)
{
	size_t i;

	fputs("usage: mpx-work COMMAND [ARGS]\n", stderr);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(stderr, "    mpx-work %s%s%s\n", cmds[i].name,
			*cmds[i].args ? " " : "", cmds[i].args);
	return 2;
}

static int parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -ERANGE;
	*out = (unsigned int)v;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int a[MAX_ARGS] = { 0 };
	size_t i;
	int j;

	if (argc < 2)
		return usage();
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const struct cmd *c = &cmds[i];

		if (strcmp(argv[1], c->name))
			continue;
		if (argc - 2 != c->nargs)
			return usage();
		for (j = 0; j < c->nargs; j++) {
			if (parse_uint(argv[j + 2], c->max, &a[j])) {
				fprintf(stderr, "mpx-work: %s: '%s' is not a number "
					"from 0 to %u\n", c->name, argv[j + 2], c->max);
				return 2;
			}
		}
		return c->fn(a);
	}
	return usage();
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "collect.h"
#include "waits.h"
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

static void fill_static(const struct mpx_opts *o, struct mpx_run_info *run)
{
	struct utsname u;
	size_t len = 0;
	int i;

	run->command[0] = '\0';
	for (i = 0; i < o->argc && len + 1 < sizeof(run->command); i++)
		len += snprintf(run->command + len, sizeof(run->command) - len, "%s%s",
				i ? " " : "", o->argv[i]);
	if (!uname(&u))
		snprintf(run->kernel, sizeof(run->kernel), "%s", u.release);
	run->ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
}

/* Escalate on signals: forward to the workload, then kill what is left. */
static void handle_stop(struct collector *c, struct runner *r, uint64_t *since)
{
	uint64_t now = mpx_now_ns();

	if (!*since) {
		*since = now;
		/* From a terminal, Ctrl-C reached the workload already. */
		if (stop_sig != SIGINT && r->pid > 0 && !r->root_done)
			kill(r->pid, SIGTERM);
		return;
	}
	if (now - *since > 2000000000ull) {
		collector__signal_tracked(c, SIGKILL);
		if (r->pid > 0 && !r->root_done)
			kill(r->pid, SIGKILL);
	} else if (now - *since > 500000000ull && r->pid > 0 && !r->root_done) {
		kill(r->pid, SIGTERM);
	}
}

/* Name the wait reason of every stack id the run's events refer to. */
static void resolve_reasons(struct collector *c, const struct evbuf *eb,
			    struct mpx_reasons *out)
{
	const char *names[MPX_STACK_DEPTH];
	uint64_t ips[MPX_STACK_DEPTH];
	struct ksyms *ks;
	char reason[MPX_REASON_LEN];
	FILE *f;
	size_t i;
	int j;

	f = fopen("/proc/kallsyms", "re");
	if (!f) {
		mpx_warn("cannot read /proc/kallsyms: wait reasons unnamed");
		return;
	}
	ks = ksyms__load(f);
	fclose(f);
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
		for (j = 0; j < MPX_STACK_DEPTH; j++)
			names[j] = ips[j] ? ksyms__find(ks, ips[j]) : NULL;
		waits__reason(names, MPX_STACK_DEPTH, reason, sizeof(reason));
		if (getenv("MPX_DUMP_STACKS")) {
			fprintf(stderr, "stack %d -> %s:", e->stack_id, reason);
			for (j = 0; j < MPX_STACK_DEPTH && names[j]; j++)
				fprintf(stderr, " %s", names[j]);
			fputc('\n', stderr);
		}
		reasons__add(out, e->stack_id, reason);
	}
	ksyms__free(ks);
}

int trace__run(const struct mpx_opts *o, struct evbuf *eb, struct mpx_model *m,
	       struct mpx_run_info *run, int *exit_code)
{
	struct collector *c = NULL;
	struct mpx_kcounters k;
	uint64_t drops[MPX_DROP_MAX], stop_since = 0, t0;
	struct runner r;
	int err;

	*exit_code = MPX_EXIT_ERROR;
	fill_static(o, run);
	err = runner__start(&r, o->argv, o->as_root, o->json && !o->output);
	if (err)
		return err;
	err = collector__open(&c, &o->collect, eb);
	if (err) {
		runner__abort(&r);
		return MPX_EXIT_ERROR;
	}
	run->attach = collector__attach_name(c);
	err = collector__track(c, (uint32_t)r.pid, (uint32_t)r.pid);
	if (err) {
		mpx_err("cannot track the workload: %s", strerror(-err));
		err = MPX_EXIT_ERROR;
		goto cleanup;
	}
	install_signals();
	t0 = mpx_now_ns();
	model__seed_root(m, (uint32_t)r.pid, (uint32_t)r.pid, (uint32_t)getpid(),
			 "mpxtrace", t0, read_schedstat(r.pid, &k) ? NULL : &k);
	err = runner__release(&r);
	if (err) {
		/* The child exits by itself: reap it, report nothing. */
		runner__reap(&r, true);
		goto cleanup;
	}

	while (runner__reap(&r, false) > 0) {
		err = collector__poll(c, 100);
		if (err) {
			mpx_err("reading events failed: %s", strerror(-err));
			stop_sig = SIGTERM;
		}
		if (stop_sig)
			handle_stop(c, &r, &stop_since);
	}
	/* The last tasks' final switches may still be on their way. */
	usleep(20000);
	err = collector__poll(c, 0);
	if (err)
		mpx_err("reading events failed: %s", strerror(-err));
	resolve_reasons(c, eb, &m->reasons);
	collector__drops(c, drops);
	run->lost_events = drops[MPX_DROP_RINGBUF];
	run->untracked_tasks = drops[MPX_DROP_TRACK_FULL];
	run->interrupted = stop_sig != 0;
	run->exited = r.root_done;
	run->exit_status = r.root_status;
	*exit_code = runner__exit_code(&r);
	err = 0;
cleanup:
	collector__destroy(c);
	return err;
}

void trace__analyze(struct evbuf *eb, struct mpx_model *m, uint64_t end_ns)
{
	size_t i;

	const char *dump = getenv("MPX_DUMP_EVENTS");

	evbuf__sort(eb);
	for (i = 0; i < eb->n; i++) {
		if (dump)
			mpx_event_print(stderr, evbuf__get(eb, i), m->t0);
		model__apply(m, evbuf__get(eb, i));
	}
	model__finish(m, end_ns);
}

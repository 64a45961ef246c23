// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <string.h>

#include "output.h"
#include "report.h"

static const char *const short_names[MPX_B_MAX] = {
	"ON-CPU", "RQ-WAKE", "RQ-PREE", "SLEEP", "D-OTHER", "BLKIO", "UNACC",
};

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static double sms(int64_t ns)
{
	return (double)ns / 1e6;
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

struct namer {
	const char *(*role)(const void *ctx, size_t task_idx);
	const void *ctx;
};

/* "  python3" with indentation by tree depth, cut to width. */
static void name_cell(char *buf, size_t sz, const struct mpx_report *r,
		      const struct mpx_task_row *row, const struct namer *nm, int width)
{
	int ind = row->depth > 6 ? 6 : row->depth;
	const char *mark = row->t->is_thread ? "~" : "";
	const char *name = nm->role ? nm->role(nm->ctx, (size_t)(row->t - r->m->tasks)) :
				      row->t->comm;

	snprintf(buf, sz, "%*s%s%s", ind, "", mark, name);
	if ((int)strlen(buf) > width)
		buf[width] = '\0';
}

static void header(const struct mpx_report *r, FILE *f)
{
	const struct mpx_run_info *run = r->run;
	char st[64] = "still running", cmd[72], line[256];
	const char *c = run->command;
	size_t n = 0;

	if (run->exited)
		report__status_str(run->exit_status, st, sizeof(st));
	/* Control characters (an argument with a newline) as escapes. */
	for (; *c && n + 2 < sizeof(cmd); c++) {
		unsigned char ch = (unsigned char)*c;

		if (ch == '\n' || ch == '\t') {
			cmd[n++] = '\\';
			cmd[n++] = ch == '\n' ? 'n' : 't';
		} else {
			cmd[n++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
		}
	}
	cmd[n < 70 ? n : 70] = '\0';
	fprintf(f, "mpxtrace: %s\n", cmd);
	snprintf(line, sizeof(line), "%s%s, wall %.2f ms, %zu task%s (%u process%s, %u thread%s)",
		 st, run->interrupted ? " (interrupted: partial trace)" : "", ms(r->wall_ns),
		 r->m->ntasks, r->m->ntasks == 1 ? "" : "s", r->nprocs,
		 r->nprocs == 1 ? "" : "es", r->nthreads, r->nthreads == 1 ? "" : "s");
	output__wrap(f, "  ", 4, line);
	if (r->m->summary)
		fprintf(f, "  summary mode (totals kept in the kernel, no events: no wait "
			"reasons,\n  critical path or memory samples) via %s on %s, %d CPUs\n",
			run->attach ? run->attach : "?", run->kernel, run->ncpus);
	else
		fprintf(f, "  %llu events via %s on %s, %d CPUs\n",
			(unsigned long long)run->events, run->attach ? run->attach : "?",
			run->kernel, run->ncpus);
	if (run->lost_events || run->untracked_tasks || run->rejected_records) {
		char why[320];
		size_t w = 0, i, k = 0;

		/* Only what happened, each with the option that helps. */
		why[0] = '\0';
		if (run->lost_events)
			w += (size_t)snprintf(why + w, sizeof(why) - w, "%s%llu %s", w ? ", " : "",
					      (unsigned long long)run->lost_events, r->m->summary ?
					      "task records lost (task map full: --max-tasks)" :
					      "events lost (ring buffer full: --ringbuf)");
		if (run->untracked_tasks && w < sizeof(why))
			w += (size_t)snprintf(why + w, sizeof(why) - w, "%s%llu task%s untracked "
					      "(task map full: --max-tasks)", w ? ", " : "",
					      (unsigned long long)run->untracked_tasks,
					      run->untracked_tasks == 1 ? "" : "s");
		if (run->rejected_records && w < sizeof(why))
			snprintf(why + w, sizeof(why) - w, "%s%llu bad records", w ? ", " : "",
				 (unsigned long long)run->rejected_records);
		fputc('\n', f);
		output__wrap(f, "  !!! INCOMPLETE TRACE:", 6, why);
		fprintf(f, "  !!! Figures below miss that time; rerun with a larger value.\n");
		for (i = 0; i < r->nrows; i++)
			if (r->rows[i].t->lost_events && k++ < 12) {
				if (k == 1)
					fprintf(f, "  !!! tasks whose figures miss events (a lost switch "
						"counts for both its tasks):\n  !!!");
				fprintf(f, " %u(%llu)", r->rows[i].t->tid,
					(unsigned long long)r->rows[i].t->lost_events);
			}
		if (k)
			fprintf(f, "%s\n", k > 12 ? " ..." : "");
	} else {
		fprintf(f, "  lost events: 0\n");
	}
}

static void table(const struct mpx_report *r, FILE *f, bool wide, const struct namer *nm)
{
	char name[32];
	size_t i;
	int b;

	fprintf(f, "\n%6s %-14s %8s", "TID", nm->role ? "ROLE" : "COMM", "LIFE ms");
	for (b = 0; b < MPX_B_MAX; b++)
		fprintf(f, " %6.6s", short_names[b]);
	if (wide) {
		/* The same buckets again, as % of the task's lifetime. */
		for (b = 0; b < MPX_B_MAX; b++)
			fprintf(f, " %5.5s%%", short_names[b]);
		fputs("  END", f);
	}
	fputc('\n', f);
	for (i = 0; i < r->nrows; i++) {
		const struct mpx_task_row *row = &r->rows[i];
		const struct mpx_task *t = row->t;

		name_cell(name, sizeof(name), r, row, nm, 14);
		fprintf(f, "%6u %-14s %8.2f", t->tid, name, ms(row->life_ns));
		for (b = 0; b < MPX_B_MAX; b++)
			fprintf(f, " %6.2f", ms(t->bucket[b]));
		if (wide) {
			for (b = 0; b < MPX_B_MAX; b++)
				fprintf(f, " %5.1f%%", pct(t->bucket[b], row->life_ns));
			if (t->alive_at_end)
				fputs("  alive", f);
		}
		fputc('\n', f);
		if (!wide) {
			fprintf(f, "%6s %-14s %8s", "", "", "");
			for (b = 0; b < MPX_B_MAX; b++)
				fprintf(f, " %5.1f%%", pct(t->bucket[b], row->life_ns));
			fputc('\n', f);
		}
	}
	fprintf(f, "%6s %-14s %8s", "", "total", "");
	for (b = 0; b < MPX_B_MAX; b++)
		fprintf(f, " %6.2f", ms(r->total[b]));
	fputs("\n  (ms; % of each task's lifetime; ~ marks a thread)\n", f);
}

/* Where each task slept longest: its top two wait reasons. */
static void waits(const struct mpx_report *r, FILE *f)
{
	struct mpx_wait_total wt[2];
	bool any = false;
	size_t i, n, j;

	for (i = 0; i < r->nrows; i++) {
		const struct mpx_task *t = r->rows[i].t;

		n = report__task_waits(r->m, t, wt, 2);
		if (!n)
			continue;
		if (!any)
			fputs("\nwaits (longest first; time blocked, count):\n", f);
		any = true;
		fprintf(f, "%7u %-15.15s", t->tid, t->comm);
		for (j = 0; j < n; j++)
			fprintf(f, "%s %.40s %.2f ms x%u%s", j ? ";\n                        " : "",
				wt[j].reason ? wt[j].reason : "unknown", ms(wt[j].ns),
				wt[j].count, wt[j].iowait ? " (io)" : "");
		fputc('\n', f);
	}
}

static double mib(uint64_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

/* Requests each task issued, its IO wait joined to them, what it left to
 * writeback, and its process's memory. */
static void io_mem(const struct mpx_report *r, FILE *f)
{
	bool any = false;
	size_t i;

	for (i = 0; i < r->nrows; i++) {
		const struct mpx_task *t = r->rows[i].t;
		struct mpx_task_io io;
		uint64_t peak = t->rss_peak > t->hiwater ? t->rss_peak : t->hiwater;

		if (!t->io_requests && !t->deferred_requests && !t->bucket[MPX_B_BLKIO] &&
		    !t->have_mem && !t->have_exact)
			continue;
		if (!any)
			fprintf(f, "\nblock IO and memory:\n%6s %-14s %5s %7s %8s %7s %7s %7s "
				"%8s\n", "TID", "COMM", "REQS", "MiB", "BLKIO ms", "device",
				"queue", "defer", "RSS MiB");
		any = true;
		report__task_io(r->m, t, &io);
		if (r->m->summary)	/* no timelines to join waits to requests */
			fprintf(f, "%6u %-14.14s %5u %7.2f %8.2f %7s %7s %7.2f ", t->tid,
				t->comm, t->io_requests, mib(t->io_bytes), ms(io.blkio_ns), "-",
				"-", mib(t->deferred_bytes));
		else
			fprintf(f, "%6u %-14.14s %5u %7.2f %8.2f %7.2f %7.2f %7.2f ", t->tid,
				t->comm, t->io_requests, mib(t->io_bytes), ms(io.blkio_ns),
				ms(io.blkio_device_ns), ms(io.blkio_queue_ns),
				mib(t->deferred_bytes));
		if (t->have_exact)	/* --rss=exact: kmem:rss_stat's peak */
			fprintf(f, "%8.2f\n", mib(t->exact_peak));
		else if (t->have_mem)
			fprintf(f, "%8.2f\n", mib(peak * 4096));
		else
			fprintf(f, "%8s\n", "-");
	}
	if (any)
		fputs("  (device/queue: IO wait while its own requests were on the device /\n"
		      "  queued; defer: writeback of pages it dirtied, done by others; RSS: peak,\n"
		      "  exact with --rss=exact)\n", f);
}

static void dev_line(FILE *f, const char *what, int64_t dev, uint32_t tid, double pct)
{
	if (!dev)
		fprintf(f, "  %s exact for every task\n", what);
	else
		fprintf(f, "  %s worst %+.3f ms (tid %u), %.2f%% of bound base\n",
			what, sms(dev), tid, pct);
}

static void selfcheck(const struct mpx_report *r, FILE *f)
{
	const struct mpx_check *c = &r->check;

	fprintf(f, "\nself-check against the kernel's schedstat (%u tasks):\n", c->tasks_checked);
	if (!c->tasks_checked) {
		fputs("  no task had kernel counters to compare with\n", f);
		return;
	}
	dev_line(f, "on-CPU vs sum_exec_runtime:", c->max_oncpu_dev_ns, c->worst_oncpu_tid,
		 c->max_oncpu_dev_pct);
	dev_line(f, "run-queue vs run_delay:    ", c->max_runq_dev_ns, c->worst_runq_tid,
		 c->max_runq_dev_pct);
	fprintf(f, "  compared in the kernel's terms: %.3f ms of wake-to-switch latency\n"
		"  counted as on-CPU, %.3f ms on CPU but not executing (steal) left out;\n"
		"  in tracepoint time the worst deviations are %+.3f / %+.3f ms\n",
		ms(c->wake_charge_ns), ms(c->unexec_ns),
		sms(c->max_raw_oncpu_dev_ns), sms(c->max_raw_runq_dev_ns));
	if (r->m->xwake_n)
		fprintf(f, "  woken waits begin at sched_wakeup (--wakeup-events); the kernel's\n"
			"  enqueue time against it (%llu waits): %.1f%% at or before it (1 us\n"
			"  slack), mean %+.2f us, worst %+.2f us\n",
			(unsigned long long)r->m->xwake_n,
			100.0 * (double)r->m->xwake_before / (double)r->m->xwake_n,
			(double)r->m->xwake_sum_ns / (double)r->m->xwake_n / 1e3,
			(double)r->m->xwake_max_ns / 1e3);
	if (c->blkio_checked)
		fprintf(f, "  block IO wait vs delay accounting (%u task%s): worst %+.3f ms "
			"(%.2f%%),\n    bound max(5%%, 0.1 ms)\n", c->blkio_checked,
			c->blkio_checked == 1 ? "" : "s", sms(c->max_blkio_dev_ns),
			c->max_blkio_dev_pct);
	if (c->blkio_delayed)
		fprintf(f, "  block IO wait of %u task%s not compared: %s waits began on a "
			"delayed dequeue\n", c->blkio_delayed, c->blkio_delayed == 1 ? "" : "s",
			c->blkio_delayed == 1 ? "its" : "their");
	fprintf(f, "  %s: %u of %u tasks within max(1%%, 0.2 ms)\n",
		c->pass ? "PASS" : "FAIL", c->tasks_checked - c->tasks_out_of_bounds,
		c->tasks_checked);
	fprintf(f, "  reconciliation moved %.3f ms over %u missed switch%s; "
		"unaccounted %.3f ms\n", ms(c->reconciled_ns), c->missed_switches,
		c->missed_switches == 1 ? "" : "es", ms(c->unaccounted_ns));
}

void report__text(const struct mpx_report *r, FILE *f, bool wide,
		  const char *(*role)(const void *ctx, size_t task_idx), const void *ctx)
{
	struct namer nm = { role, ctx };

	header(r, f);
	table(r, f, wide, &nm);
	waits(r, f);
	io_mem(r, f);
	selfcheck(r, f);
}

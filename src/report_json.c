// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <sys/wait.h>
#include <unistd.h>

#include "json_writer.h"
#include "report.h"

/* blkio: the kernel's blkio figure means something (an IO wait begun on a
 * delayed dequeue can leave it at nonsense: hours for a millisecond). */
static void kcounters(struct json_writer *w, const char *key, const struct mpx_kcounters *k,
		      bool blkio)
{
	jw_key(w, key);
	jw_start_object(w);
	jw_kv_u64(w, "sum_exec_runtime_ns", k->sum_exec_runtime);
	jw_kv_u64(w, "run_delay_ns", k->run_delay);
	jw_kv_u64(w, "pcount", k->pcount);
	if (blkio)
		jw_kv_u64(w, "blkio_delay_ns", k->blkio_delay);
	jw_end_object(w);
}

static void waits(struct json_writer *w, const struct mpx_model *m,
		  const struct mpx_task *t)
{
	struct mpx_wait_total wt[8];
	size_t i, n = report__task_waits(m, t, wt, 8);

	jw_key(w, "waits");
	jw_start_array(w);
	for (i = 0; i < n; i++) {
		jw_start_object(w);
		jw_kv_string(w, "reason", wt[i].reason ? wt[i].reason : "?");
		jw_kv_u64(w, "ns", wt[i].ns);
		jw_kv_u64(w, "count", wt[i].count);
		jw_kv_bool(w, "iowait", wt[i].iowait);
		jw_end_object(w);
	}
	jw_end_array(w);
}

static void task(struct json_writer *w, const struct mpx_report *r,
		 const struct mpx_task_row *row, const char *role)
{
	const struct mpx_model *m = r->m;
	const struct mpx_task *t = row->t;
	int i;

	jw_start_object(w);
	jw_kv_u64(w, "tid", t->tid);
	if (role)
		jw_kv_string(w, "role", role);
	jw_kv_u64(w, "pid", t->pid);
	jw_kv_u64(w, "ppid", t->ppid);
	jw_kv_u64(w, "parent_tid", t->parent_tid);
	jw_kv_string(w, "comm", t->comm);
	jw_key(w, "comms");
	jw_start_array(w);
	for (i = 0; i < t->ncomms; i++)
		jw_string(w, t->comms[i]);
	jw_end_array(w);
	if (t->filename[0]) {
		jw_kv_string(w, "exec", t->filename);
		jw_kv_string(w, "cmdline", t->args);
	}
	jw_kv_bool(w, "thread", t->is_thread);
	jw_kv_u64(w, "depth", (uint64_t)row->depth);
	jw_kv_u64(w, "start_ns", t->start_ns);
	jw_kv_u64(w, "end_ns", t->end_ns);
	jw_kv_u64(w, "lifetime_ns", row->life_ns);
	jw_key(w, "exit_code");
	if (t->exited && !(t->exit_code & 0x7f))
		jw_s64(w, (t->exit_code >> 8) & 0xff);
	else
		jw_null(w);
	jw_key(w, "exit_signal");
	if (t->exited && (t->exit_code & 0x7f))
		jw_s64(w, t->exit_code & 0x7f);
	else
		jw_null(w);
	jw_kv_bool(w, "alive_at_end", t->alive_at_end);
	jw_kv_u64(w, "lost_events", t->lost_events);
	for (i = 0; i < MPX_B_MAX; i++) {
		char key[32];

		snprintf(key, sizeof(key), "%s_ns", mpx_bucket_name(i));
		jw_kv_u64(w, key, t->bucket[i]);
	}
	/* All uninterruptible sleep, IO wait or not. */
	jw_kv_u64(w, "dsleep_ns", t->bucket[MPX_B_DSLEEP] + t->bucket[MPX_B_BLKIO]);
	{
		struct mpx_task_io io;

		report__task_io(m, t, &io);
		jw_kv_u64(w, "io_requests", t->io_requests);
		jw_kv_u64(w, "io_bytes", t->io_bytes);
		jw_kv_u64(w, "io_queue_ns", t->io_queue_ns);
		jw_kv_u64(w, "io_device_ns", t->io_device_ns);
		/* Joining waits to requests needs both timelines: not in summary. */
		if (!m->summary) {
			jw_kv_u64(w, "blkio_on_queue_ns", io.blkio_queue_ns);
			jw_kv_u64(w, "blkio_on_device_ns", io.blkio_device_ns);
			jw_kv_u64(w, "io_requests_waited", io.requests_waited);
		}
		jw_kv_u64(w, "deferred_io_requests", t->deferred_requests);
		jw_kv_u64(w, "deferred_io_bytes", t->deferred_bytes);
	}
	if (t->have_mem) {
		long pg = 4096;

		jw_kv_u64(w, "rss_start_bytes", t->rss_first * pg);
		jw_kv_u64(w, "rss_peak_bytes", (t->rss_peak > t->hiwater ? t->rss_peak :
						 t->hiwater) * pg);
		jw_kv_u64(w, "rss_exit_bytes", t->rss_exit * pg);
		jw_kv_u64(w, "rss_peak_anon_bytes", t->peak_anon * pg);
		jw_kv_u64(w, "rss_peak_file_bytes", t->peak_file * pg);
		jw_kv_u64(w, "rss_peak_shmem_bytes", t->peak_shmem * pg);
	}
	if (t->have_exact) {
		/* kmem:rss_stat: exact, where the samples are off by a batch. */
		jw_kv_string(w, "rss_source", "exact");
		jw_kv_u64(w, "rss_peak_exact_bytes", t->exact_peak);
		jw_kv_u64(w, "rss_peak_exact_anon_bytes", t->exact_anon);
		jw_kv_u64(w, "rss_peak_exact_file_bytes", t->exact_file);
		jw_kv_u64(w, "rss_peak_exact_shmem_bytes", t->exact_shmem);
		jw_kv_u64(w, "rss_last_exact_bytes", t->exact_last);
	}
	jw_kv_u64(w, "minflt", t->min_flt);
	jw_kv_u64(w, "majflt", t->maj_flt);
	if (t->maxrss)
		jw_kv_u64(w, "maxrss_bytes", t->maxrss * 4096);
	jw_kv_u64(w, "switches_voluntary", t->nswitch_vol);
	jw_kv_u64(w, "switches_involuntary", t->nswitch_invol);
	jw_kv_u64(w, "wakeups", t->nwakeups);
	if (!m->summary)
		waits(w, m, t);
	jw_kv_u64(w, "reconciled_ns", t->reconciled_ns);
	jw_kv_u64(w, "missed_switch_in", t->missed_in);
	jw_kv_u64(w, "missed_switch_out", t->missed_out);
	jw_kv_u64(w, "kernel_wake_charge_ns", t->wake_charge_ns);
	jw_kv_u64(w, "kernel_unexec_ns", t->unexec_ns);
	jw_kv_u64(w, "kernel_sleep_as_run_delay_ns", t->sleep_as_rd_ns);
	jw_kv_u64(w, "delayed_dequeue_io_waits", t->delayed_io_blocks);

	jw_key(w, "kernel");
	jw_start_object(w);
	if (row->chk.valid) {
		jw_kv_u64(w, "sum_exec_runtime_ns", row->chk.kernel_exec_ns);
		jw_kv_u64(w, "run_delay_ns", row->chk.kernel_run_delay_ns);
		jw_kv_s64(w, "oncpu_dev_ns", row->chk.oncpu_dev_ns);
		jw_kv_s64(w, "runq_dev_ns", row->chk.runq_dev_ns);
		jw_kv_s64(w, "raw_oncpu_dev_ns", row->chk.raw_oncpu_dev_ns);
		jw_kv_s64(w, "raw_runq_dev_ns", row->chk.raw_runq_dev_ns);
		jw_kv_double(w, "oncpu_dev_pct", row->chk.oncpu_dev_pct);
		jw_kv_double(w, "runq_dev_pct", row->chk.runq_dev_pct);
		jw_kv_bool(w, "in_bounds", row->chk.in_bounds);
		if (row->chk.blkio_valid) {
			jw_kv_u64(w, "blkio_delay_ns", row->chk.kernel_blkio_ns);
			jw_kv_s64(w, "blkio_dev_ns", row->chk.blkio_dev_ns);
			jw_kv_bool(w, "blkio_in_bounds", row->chk.blkio_in_bounds);
		}
	}
	if (t->have_exit) {
		kcounters(w, "at_exit", &t->k_exit, !t->delayed_io_blocks);
		jw_kv_u64(w, "nvcsw", t->nvcsw);
		jw_kv_u64(w, "nivcsw", t->nivcsw);
		jw_kv_u64(w, "blkio_count", t->blkio_count);
	}
	if (t->have_final)
		kcounters(w, "at_final_switch", &t->k_final, !t->delayed_io_blocks);
	if (t->have_base)
		kcounters(w, "at_start", &t->k_base, true);
	jw_end_object(w);
	if (r->task_json)
		r->task_json(r->task_json_ctx, (size_t)(t - m->tasks), w);
	jw_end_object(w);
}

/* REQ_OP_* (low 8 bits of cmd_flags) and the flags that matter. */
static void req_op(uint32_t op, char *buf, size_t sz)
{
	static const char *const ops[] = {
		[0] = "read", [1] = "write", [2] = "flush", [3] = "discard",
		[5] = "secure-erase", [9] = "write-zeroes",
	};
	uint32_t o = op & 0xff;

	snprintf(buf, sz, "%s%s%s%s%s", o < sizeof(ops) / sizeof(ops[0]) && ops[o] ? ops[o] :
		 "other", op & (1u << 11) ? ",sync" : "", op & (1u << 12) ? ",meta" : "",
		 op & (1u << 17) ? ",fua" : "", op & (1u << 18) ? ",preflush" : "");
}

static void requests(struct json_writer *w, const struct mpx_model *m)
{
	size_t i;

	jw_key(w, "requests");
	jw_start_array(w);
	for (i = 0; i < m->nreqs; i++) {
		const struct mpx_req *r = &m->reqs[i];
		char op[48];

		req_op(r->op, op, sizeof(op));
		jw_start_object(w);
		jw_kv_u64(w, "dev_major", r->dev >> 20);
		jw_kv_u64(w, "dev_minor", r->dev & 0xfffff);
		jw_kv_u64(w, "sector", r->sector);
		jw_kv_u64(w, "bytes", r->bytes);
		jw_kv_string(w, "op", op);
		jw_kv_u64(w, "start_ns", r->start);
		if (r->issue) {
			jw_kv_u64(w, "queue_ns", r->issue - r->start);
			jw_kv_u64(w, "device_ns", r->complete - r->issue);
		}
		jw_kv_u64(w, "complete_ns", r->complete);
		if (r->task >= 0)
			jw_kv_u64(w, "submitter_tid", m->tasks[r->task].tid);
		if (r->credit >= 0)
			jw_kv_u64(w, "deferred_for_tid", m->tasks[r->credit].tid);
		if (r->error)
			jw_kv_s64(w, "error", r->error);
		jw_end_object(w);
	}
	jw_end_array(w);
}

void report__json_fields(const struct mpx_report *r, struct json_writer *w,
			 const char *(*role)(const void *ctx, size_t task_idx),
			 const void *ctx)
{
	const struct mpx_run_info *run = r->run;
	const struct mpx_check *c = &r->check;
	size_t i;
	int b;

	jw_kv_string(w, "command", run->command);
	jw_kv_string(w, "kernel", run->kernel);
	jw_kv_u64(w, "ncpus", (uint64_t)run->ncpus);
	jw_kv_string(w, "attach", run->attach ? run->attach : "");
	jw_key(w, "exit_status");
	if (run->exited && WIFEXITED(run->exit_status))
		jw_s64(w, WEXITSTATUS(run->exit_status));
	else
		jw_null(w);
	jw_key(w, "exit_signal");
	if (run->exited && WIFSIGNALED(run->exit_status))
		jw_s64(w, WTERMSIG(run->exit_status));
	else
		jw_null(w);
	jw_kv_bool(w, "interrupted", run->interrupted);
	jw_kv_bool(w, "complete", !run->lost_events && !run->untracked_tasks &&
				  !run->rejected_records && !run->interrupted);
	jw_kv_u64(w, "wall_ns", r->wall_ns);
	jw_kv_u64(w, "traced_ns", model__wall_ns(r->m));
	/* Summary mode: no event stream, so no events, stacks or requests. */
	jw_kv_bool(w, "summary", r->m->summary);
	if (!r->m->summary)
		jw_kv_u64(w, "events", run->events);
	jw_kv_u64(w, "startup_ns", run->startup_ns);
	jw_kv_u64(w, "lost_events", run->lost_events);
	jw_kv_u64(w, "untracked_tasks", run->untracked_tasks);
	if (!r->m->summary)
		jw_kv_u64(w, "lost_stacks", run->lost_stacks);
	jw_kv_u64(w, "rejected_records", run->rejected_records);
	jw_kv_u64(w, "processes", r->nprocs);
	jw_kv_u64(w, "threads", r->nthreads);

	jw_key(w, "totals");
	jw_start_object(w);
	for (b = 0; b < MPX_B_MAX; b++) {
		char key[32];

		snprintf(key, sizeof(key), "%s_ns", mpx_bucket_name(b));
		jw_kv_u64(w, key, r->total[b]);
	}
	jw_kv_u64(w, "dsleep_ns", r->total[MPX_B_DSLEEP] + r->total[MPX_B_BLKIO]);
	jw_end_object(w);

	jw_key(w, "check");
	jw_start_object(w);
	jw_kv_u64(w, "tasks_checked", c->tasks_checked);
	jw_kv_u64(w, "tasks_out_of_bounds", c->tasks_out_of_bounds);
	jw_kv_double(w, "max_oncpu_dev_pct", c->max_oncpu_dev_pct);
	jw_kv_double(w, "max_runq_dev_pct", c->max_runq_dev_pct);
	jw_kv_s64(w, "max_oncpu_dev_ns", c->max_oncpu_dev_ns);
	jw_kv_s64(w, "max_runq_dev_ns", c->max_runq_dev_ns);
	jw_kv_s64(w, "max_raw_oncpu_dev_ns", c->max_raw_oncpu_dev_ns);
	jw_kv_s64(w, "max_raw_runq_dev_ns", c->max_raw_runq_dev_ns);
	jw_kv_u64(w, "wake_charge_ns", c->wake_charge_ns);
	jw_kv_u64(w, "unexec_ns", c->unexec_ns);
	jw_kv_u64(w, "worst_oncpu_tid", c->worst_oncpu_tid);
	jw_kv_u64(w, "worst_runq_tid", c->worst_runq_tid);
	jw_kv_double(w, "bound_pct", MPX_CHECK_PCT);
	jw_kv_u64(w, "bound_floor_ns", MPX_CHECK_FLOOR_NS);
	jw_kv_u64(w, "reconciled_ns", c->reconciled_ns);
	jw_kv_u64(w, "missed_switches", c->missed_switches);
	jw_kv_u64(w, "unaccounted_ns", c->unaccounted_ns);
	jw_kv_u64(w, "blkio_checked", c->blkio_checked);
	jw_kv_u64(w, "blkio_not_compared_delayed_dequeue", c->blkio_delayed);
	jw_kv_u64(w, "blkio_out_of_bounds", c->blkio_out_of_bounds);
	jw_kv_s64(w, "max_blkio_dev_ns", c->max_blkio_dev_ns);
	jw_kv_double(w, "max_blkio_dev_pct", c->max_blkio_dev_pct);
	jw_kv_bool(w, "pass", c->pass);
	/* --wakeup-events: the enqueue time each woken wait's start comes
	 * from, against sched_wakeup (enqueue - wakeup). */
	if (r->m->xwake_n) {
		jw_kv_u64(w, "wakeups_compared", r->m->xwake_n);
		jw_kv_u64(w, "wakeups_enqueued_before", r->m->xwake_before);
		jw_kv_s64(w, "enqueue_vs_wakeup_mean_ns",
			  r->m->xwake_sum_ns / (int64_t)r->m->xwake_n);
		jw_kv_s64(w, "enqueue_vs_wakeup_worst_ns", r->m->xwake_max_ns);
	}
	jw_end_object(w);

	if (!r->m->summary)
		requests(w, r->m);
	jw_key(w, "tasks");
	jw_start_array(w);
	for (i = 0; i < r->nrows; i++)
		task(w, r, &r->rows[i],
		     role ? role(ctx, (size_t)(r->rows[i].t - r->m->tasks)) : NULL);
	jw_end_array(w);
}

void report__json(const struct mpx_report *r, FILE *f)
{
	struct json_writer *w = jw_new(f, isatty(fileno(f)));

	if (!w)
		return;
	jw_start_object(w);
	report__json_fields(r, w, NULL, NULL);
	jw_end_object(w);
	fputc('\n', f);
	jw_free(w);
}

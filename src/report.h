/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Reporters.  report__rows() fills one row per task, in process-tree
 * order; the text and JSON emitters print the same rows.
 */
#ifndef MPX_REPORT_H
#define MPX_REPORT_H

#ifdef __BPF__
#error "report.h is user-space only"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "model.h"

struct mpx_run_info {
	char command[1024];	/* argv joined by spaces */
	const char *attach;	/* "tp_btf" / "raw_tp" */
	char kernel[128];	/* uname -r */
	int ncpus;
	bool exited;		/* the workload's first process was reaped */
	int exit_status;	/* its wait status */
	bool interrupted;	/* mpxtrace was stopped by a signal */
	uint64_t lost_events;	/* ring buffer drops */
	uint64_t untracked_tasks;	/* tracked-task map full */
	uint64_t lost_stacks;		/* wait reasons lost (stack map) */
	uint64_t rejected_records;	/* malformed records */
	uint64_t events;
	uint64_t startup_ns;	/* mpxtrace start to the workload's release */
};

struct mpx_task_row {
	const struct mpx_task *t;
	struct mpx_task_check chk;
	uint64_t life_ns;
	int depth;		/* in the process tree (threads: leader + 1) */
};

/* Time a task spent blocked, per wait reason (sleep and dsleep). */
struct mpx_wait_total {
	const char *reason;	/* NULL: no stack ("?") */
	uint64_t ns;
	uint32_t count;
	bool iowait;
};

/* A task's block IO wait, joined to the requests it issued. */
struct mpx_task_io {
	uint64_t blkio_ns;		/* the bucket */
	uint64_t blkio_queue_ns;	/* ... while an own request was queued */
	uint64_t blkio_device_ns;	/* ... while an own request was on the device */
	uint32_t requests_waited;	/* own requests that completed in its IO waits */
};

void report__task_io(const struct mpx_model *m, const struct mpx_task *t,
		     struct mpx_task_io *io);

/* The task's top waits by time, at most max; returns how many. */
size_t report__task_waits(const struct mpx_model *m, const struct mpx_task *t,
			  struct mpx_wait_total *out, size_t max);

struct json_writer;

struct mpx_report {
	/* Extra keys for each task's JSON object (its Python spans), or NULL. */
	void (*task_json)(const void *ctx, size_t task_idx, struct json_writer *w);
	const void *task_json_ctx;
	const struct mpx_run_info *run;
	const struct mpx_model *m;
	struct mpx_check check;
	struct mpx_task_row *rows;
	size_t nrows;
	uint32_t nprocs, nthreads;
	uint64_t wall_ns;
	uint64_t total[MPX_B_MAX];
};

int report__build(struct mpx_report *r, const struct mpx_run_info *run,
		  const struct mpx_model *m);
void report__free(struct mpx_report *r);

/* Human report, 80 columns (wide: one line per task with percentages).
 * role(ctx, i), when given, names task i in place of its comm. */
void report__text(const struct mpx_report *r, FILE *f, bool wide,
		  const char *(*role)(const void *ctx, size_t task_idx), const void *ctx);
void report__json(const struct mpx_report *r, FILE *f);
struct json_writer;
/* The run's keys into an open JSON object; role(ctx, i) names task i. */
void report__json_fields(const struct mpx_report *r, struct json_writer *w,
			 const char *(*role)(const void *ctx, size_t task_idx),
			 const void *ctx);

/* "exit 3", "killed by SIGKILL", ... for a raw wait status. */
void report__status_str(int status, char *buf, size_t sz);

#endif /* MPX_REPORT_H */

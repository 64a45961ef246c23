// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * CSV tables of the analysed runs (see csv.h).  Numbers are the JSON
 * report's, under the same names; booleans are 0/1; a missing value (no
 * kernel counters, no reason) is an empty field.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv.h"
#include "util.h"

void csv__field(FILE *f, const char *s, bool first)
{
	if (!first)
		fputc(',', f);
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void u64_field(FILE *f, uint64_t v)
{
	fprintf(f, ",%" PRIu64, v);
}

static const char *role_name(const struct mpx_run_analysis *ra, size_t i)
{
	return ra->roles ? ra->roles[i].name : "";
}

static size_t task_idx(const struct mpx_run_analysis *ra, size_t row)
{
	return (size_t)(ra->rep.rows[row].t - ra->run->m.tasks);
}

static int tasks_csv(const struct mpx_analysis *an, FILE *f)
{
	size_t r, i;
	int b;

	fputs("run,mode,tid,pid,ppid,role,comm,start_ns,end_ns,lifetime_ns", f);
	for (b = 0; b < MPX_B_MAX; b++)
		fprintf(f, ",%s_ns", mpx_bucket_name(b));
	fputs(",dsleep_ns,switches_voluntary,switches_involuntary,wakeups,"
	      "kernel_sum_exec_runtime_ns,kernel_run_delay_ns\n", f);
	for (r = 0; r < an->n; r++) {
		const struct mpx_run_analysis *ra = &an->ra[r];

		for (i = 0; i < ra->rep.nrows; i++) {
			const struct mpx_task_row *row = &ra->rep.rows[i];
			const struct mpx_task *t = row->t;

			fprintf(f, "%zu,%s,%u,%u,%u", r, mpx_mode_name(ra->run->mode), t->tid,
				t->pid, t->ppid);
			csv__field(f, role_name(ra, task_idx(ra, i)), false);
			csv__field(f, t->comm, false);
			u64_field(f, t->start_ns);
			u64_field(f, t->end_ns);
			u64_field(f, row->life_ns);
			for (b = 0; b < MPX_B_MAX; b++)
				u64_field(f, t->bucket[b]);
			u64_field(f, t->bucket[MPX_B_DSLEEP] + t->bucket[MPX_B_BLKIO]);
			u64_field(f, t->nswitch_vol);
			u64_field(f, t->nswitch_invol);
			u64_field(f, t->nwakeups);
			if (row->chk.valid) {
				u64_field(f, row->chk.kernel_exec_ns);
				u64_field(f, row->chk.kernel_run_delay_ns);
			} else {
				fputs(",,", f);
			}
			fputc('\n', f);
		}
	}
	return 0;
}

static int waits_csv(const struct mpx_analysis *an, FILE *f)
{
	struct mpx_wait_total *wt = NULL;
	size_t cap = 0, r, i, k, n;

	fputs("run,tid,role,reason,ns,count,iowait\n", f);
	for (r = 0; r < an->n; r++) {
		const struct mpx_run_analysis *ra = &an->ra[r];

		for (i = 0; i < ra->rep.nrows; i++) {
			const struct mpx_task *t = ra->rep.rows[i].t;

			if (!t->niv)
				continue;
			if (mpx_grow((void **)&wt, &cap, t->niv, sizeof(*wt))) {
				free(wt);
				return -ENOMEM;
			}
			n = report__task_waits(&ra->run->m, t, wt, t->niv);
			for (k = 0; k < n; k++) {
				fprintf(f, "%zu,%u", r, t->tid);
				csv__field(f, role_name(ra, task_idx(ra, i)), false);
				csv__field(f, wt[k].reason ? wt[k].reason : "?", false);
				fprintf(f, ",%" PRIu64 ",%u,%d\n", wt[k].ns, wt[k].count,
					wt[k].iowait ? 1 : 0);
			}
		}
	}
	free(wt);
	return 0;
}

static int cp_csv(const struct mpx_analysis *an, FILE *f)
{
	size_t r, i;

	fputs("run,tid,role,kind,bucket,reason,start_ns,end_ns,duration_ns,via_tid\n", f);
	for (r = 0; r < an->n; r++) {
		const struct mpx_run_analysis *ra = &an->ra[r];
		const struct mpx_model *m = &ra->run->m;

		for (i = 0; i < ra->cp.n; i++) {
			const struct mpx_cp_seg *s = &ra->cp.seg[i];
			const char *reason = s->kind == MPX_CP_WAIT ?
					     reasons__get(&m->reasons, s->reason) : NULL;

			fprintf(f, "%zu,%u", r, m->tasks[s->task].tid);
			csv__field(f, role_name(ra, s->task), false);
			csv__field(f, critpath__kind_name(s->kind), false);
			csv__field(f, mpx_bucket_name(critpath__bucket(s)), false);
			csv__field(f, reason, false);
			u64_field(f, s->start);
			u64_field(f, s->end);
			u64_field(f, s->end - s->start);
			if (s->via_tid)
				fprintf(f, ",%u\n", s->via_tid);
			else
				fputs(",\n", f);
		}
	}
	return 0;
}

/* Whether this process made the directory (to remove it if it stays empty). */
static bool made_dir;

/* dir exists (made 0700 if it did not) and is a directory. */
static int make_dir(const char *dir)
{
	struct stat st;

	if (!mkdir(dir, 0700)) {
		made_dir = true;
		mpx_give_path_to_invoker(dir);
	} else if (errno != EEXIST)
		return -errno;
	if (stat(dir, &st))
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* dir/name written as dir/name.tmp: *path and *tmp for the caller to commit. */
static int write_file(const struct mpx_analysis *an, const char *dir, const char *name,
		      int (*fill)(const struct mpx_analysis *an, FILE *f), char **path,
		      char **tmp)
{
	FILE *f = NULL;
	int fd, err;

	*tmp = NULL;
	if (asprintf(path, "%s/%s", dir, name) < 0) {
		*path = NULL;
		return -ENOMEM;
	}
	fd = mpx_open_tmp(*path, tmp);
	if (fd < 0)
		return fd;
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		return err;
	}
	errno = 0;
	err = fill(an, f);
	if (!err && (ferror(f) || fflush(f)))
		err = errno ? -errno : -EIO;
	errno = 0;
	if (fclose(f) && !err)
		err = errno ? -errno : -EIO;
	return err;
}

/* All three files or none: each is renamed into place once all are written. */
int csv__write(const struct mpx_analysis *an, const char *dir)
{
	static const char *const names[] = { "tasks.csv", "waits.csv", "critical_path.csv" };
	int (*const fill[])(const struct mpx_analysis *an, FILE *f) = {
		tasks_csv, waits_csv, cp_csv
	};
	char *path[3] = {}, *tmp[3] = {};
	int i, err;

	err = make_dir(dir);
	for (i = 0; !err && i < 3; i++)
		err = write_file(an, dir, names[i], fill[i], &path[i], &tmp[i]);
	for (i = 0; !err && i < 3; i++)
		err = mpx_commit_out(path[i], tmp[i]);
	for (i = 0; i < 3; i++) {
		if (err)
			mpx_abort_out(tmp[i]);
		free(path[i]);
		free(tmp[i]);
	}
	if (err && made_dir)
		rmdir(dir);	/* only if empty */
	return err;
}

void csv__abandon(const char *dir)
{
	if (made_dir)
		rmdir(dir);	/* only if empty */
	made_dir = false;
}

int csv__check(const char *dir)
{
	char *path = NULL;
	int err;

	err = make_dir(dir);
	if (!err) {
		if (asprintf(&path, "%s/tasks.csv", dir) < 0)
			return -ENOMEM;
		err = mpx_check_out(path);
	}
	free(path);
	return err;
}

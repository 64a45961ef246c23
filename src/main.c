// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * mpxtrace: trace a workload's process tree and account every task's
 * lifetime; compare Process against Pool and explain.  main() only
 * sequences the steps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include "analysis.h"
#include "csv.h"
#include "live.h"
#include "native.h"
#include "opts.h"
#include "output.h"
#include "perfetto.h"
#include "report_html.h"
#include "run.h"
#include "tracefile.h"
#include "util.h"

int main(int argc, char **argv)
{
	struct mpx_runset rs = {};
	struct mpx_analysis an = {};
	struct mpx_opts o;
	FILE *out = stdout;
	char msg[512], *out_tmp = NULL;
	bool wrote = false;
	int err, code, fd;

	/* mpxtrace re-executes itself as the native workload. */
	if (argc > 1 && !strcmp(argv[1], "__workload"))
		return native__main(argc - 1, argv + 1);

	err = opts__parse(&o, argc, argv);
	if (err)
		return err;
	mpx_json_errors = o.json;
	/* report: the file first, so that a bad one leaves no empty output. */
	if (o.cmd == MPX_CMD_REPORT && tracefile__read(o.input, &rs, msg, sizeof(msg))) {
		mpx_err("%s", msg);
		return MPX_EXIT_ERROR;
	}
	/* Export paths fail now, not after the workload ran. */
	if (o.perfetto && (err = perfetto__check(o.perfetto))) {
		mpx_err("--perfetto: cannot write %s: %s", o.perfetto, strerror(-err));
		return MPX_EXIT_ERROR;
	}
	if (o.csv && (err = csv__check(o.csv))) {
		mpx_err("--csv: cannot write into %s: %s", o.csv, strerror(-err));
		return MPX_EXIT_ERROR;
	}
	if (o.html && (err = html__check(o.html))) {
		mpx_err("--html: cannot write %s: %s", o.html, strerror(-err));
		return MPX_EXIT_ERROR;
	}
	if (o.cmd != MPX_CMD_REPORT && o.save && (err = mpx_check_out(o.save))) {
		mpx_err("%s: cannot write %s: %s", o.cmd == MPX_CMD_RECORD ? "record -o" : "--save",
			o.save, strerror(-err));
		return MPX_EXIT_ERROR;
	}
	/* The report goes to output.tmp, renamed once complete. */
	if (o.output) {
		/* 0600, as the trace file: it holds command lines. */
		fd = mpx_open_out(o.output, 0600, &out_tmp);
		out = fd < 0 ? NULL : fdopen(fd, "w");
		if (!out) {
			err = fd < 0 ? -fd : errno;
			if (fd >= 0)
				close(fd);
			mpx_abort_out(out_tmp);
			free(out_tmp);
			mpx_err("cannot write %s: %s", o.output, strerror(err));
			return MPX_EXIT_ERROR;
		}
	}

	err = o.cmd == MPX_CMD_REPORT ? 0 : live__execute(&o, &rs);
	/* A command that could not be run (126, 127) leaves no report. */
	if (err && !runset__traced(&rs)) {
		if (o.csv)
			csv__abandon(o.csv);
		code = err;
		goto cleanup;
	}
	code = o.cmd == MPX_CMD_REPORT ? 0 : err ? err : runset__exit_code(&rs);
	if (o.save && tracefile__write(o.save, &rs, msg, sizeof(msg))) {
		mpx_err("%s", msg);
		code = MPX_EXIT_ERROR;
	} else if (o.cmd == MPX_CMD_RECORD) {
		fprintf(stderr, "recorded %llu events in %zu run%s to %s\n",
			(unsigned long long)tracefile__nevents(&rs), rs.n,
			rs.n == 1 ? "" : "s", o.save);
	}
	if (o.cmd == MPX_CMD_RECORD)
		goto cleanup;
	if (analysis__run(&an, &rs)) {
		mpx_err("out of memory analysing the trace");
		code = MPX_EXIT_ERROR;
		goto cleanup;
	}
	if (o.perfetto && (err = perfetto__write(&an, o.perfetto))) {
		mpx_err("--perfetto: cannot write %s: %s", o.perfetto, strerror(-err));
		code = MPX_EXIT_ERROR;
	}
	if (o.csv && (err = csv__write(&an, o.csv))) {
		mpx_err("--csv: cannot write into %s: %s", o.csv, strerror(-err));
		code = MPX_EXIT_ERROR;
	}
	if (o.html && (err = html__write(&an, o.html))) {
		mpx_err("--html: cannot write %s: %s", o.html, strerror(-err));
		code = MPX_EXIT_ERROR;
	}
	errno = 0;
	if (o.json)
		output__json(&an, out);
	else
		output__text(&an, out, o.wide);
	wrote = !ferror(out) && !fflush(out);
	if (wrote && out != stdout) {
		wrote = !fclose(out);
		out = NULL;
		if (wrote && (err = mpx_commit_out(o.output, out_tmp)))
			errno = -err;
		wrote = wrote && !err;
	}
	if (!wrote) {
		mpx_err("cannot write %s: %s", o.output ? o.output : "the report",
			strerror(errno ? errno : EIO));
		code = MPX_EXIT_ERROR;
	}
cleanup:
	analysis__free(&an);
	runset__free(&rs);
	if (out && out != stdout)
		fclose(out);
	/* Nothing half-written, nor an empty report of a run that failed. */
	if (o.output && !wrote)
		mpx_abort_out(out_tmp);
	free(out_tmp);
	if (mpx_verbose) {
		struct rusage ru;

		if (!getrusage(RUSAGE_SELF, &ru))
			mpx_info("mpxtrace peak RSS %.1f MiB, CPU %.1f ms user, %.1f ms "
				 "system\n", ru.ru_maxrss / 1024.0,
				 ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3,
				 ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3);
	}
	return code;
}

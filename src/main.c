// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * mpxtrace: trace a command's process tree and account every task's
 * lifetime.  main() only sequences the steps.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "evbuf.h"
#include "model.h"
#include "opts.h"
#include "report.h"
#include "trace.h"
#include "util.h"

int main(int argc, char **argv)
{
	struct mpx_run_info run = {};
	struct mpx_report rep = {};
	struct mpx_model m;
	struct mpx_opts o;
	struct evbuf eb;
	FILE *out = stdout;
	int err, code = MPX_EXIT_ERROR;

	err = opts__parse(&o, argc, argv);
	if (err)
		return err;
	mpx_json_errors = o.json;
	evbuf__init(&eb);
	model__init(&m);

	if (o.output) {
		out = fopen(o.output, "we");
		if (!out) {
			mpx_err("cannot write %s: %s", o.output, strerror(errno));
			return MPX_EXIT_ERROR;
		}
	}
	err = trace__run(&o, &eb, &m, &run, &code);
	if (err) {
		code = err;
		goto cleanup;
	}
	trace__analyze(&eb, &m, mpx_now_ns());
	run.events = eb.n;
	run.rejected_records = eb.rejected;
	if (report__build(&rep, &run, &m)) {
		mpx_err("out of memory building the report");
		code = MPX_EXIT_ERROR;
		goto cleanup;
	}
	if (o.json)
		report__json(&rep, out);
	else
		report__text(&rep, out, o.wide);
	if (fflush(out)) {
		mpx_err("cannot write the report: %s", strerror(errno));
		code = MPX_EXIT_ERROR;
	}
cleanup:
	report__free(&rep);
	model__free(&m);
	evbuf__free(&eb);
	if (out != stdout && fclose(out) && code == 0)
		code = MPX_EXIT_ERROR;
	return code;
}

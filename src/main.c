// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * mpxtrace: trace a workload's process tree and account every task's
 * lifetime; compare Process against Pool and explain.  main() only
 * sequences the steps.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "analysis.h"
#include "live.h"
#include "native.h"
#include "opts.h"
#include "output.h"
#include "run.h"
#include "util.h"

int main(int argc, char **argv)
{
	struct mpx_runset rs = {};
	struct mpx_analysis an = {};
	struct mpx_opts o;
	FILE *out = stdout;
	int err, code;

	/* mpxtrace re-executes itself as the native workload. */
	if (argc > 1 && !strcmp(argv[1], "__workload"))
		return native__main(argc - 1, argv + 1);

	err = opts__parse(&o, argc, argv);
	if (err)
		return err;
	mpx_json_errors = o.json;
	if (o.output) {
		out = fopen(o.output, "we");
		if (!out) {
			mpx_err("cannot write %s: %s", o.output, strerror(errno));
			return MPX_EXIT_ERROR;
		}
	}

	err = live__execute(&o, &rs);
	if (err && !rs.n) {
		code = err;
		goto cleanup;
	}
	code = err ? err : runset__exit_code(&rs);
	if (analysis__run(&an, &rs)) {
		mpx_err("out of memory analysing the trace");
		code = MPX_EXIT_ERROR;
		goto cleanup;
	}
	if (o.json)
		output__json(&an, out);
	else
		output__text(&an, out, o.wide);
	if (fflush(out)) {
		mpx_err("cannot write the report: %s", strerror(errno));
		code = MPX_EXIT_ERROR;
	}
cleanup:
	analysis__free(&an);
	runset__free(&rs);
	if (out != stdout && fclose(out) && !code)
		code = MPX_EXIT_ERROR;
	return code;
}

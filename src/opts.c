// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <argp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opts.h"
#include "util.h"

#ifndef MPX_VERSION
#define MPX_VERSION "0.1.0"
#endif

const char *argp_program_version = "mpxtrace " MPX_VERSION;
const char *argp_program_bug_address = NULL;

static const char doc[] =
"Trace a workload's whole process tree in the kernel and split every task's\n"
"lifetime into on-CPU, run-queue wait (after wakeup / after preemption),\n"
"sleep and uninterruptible sleep, checked against the kernel's own counters.\n"
"Built-in workloads compare multiprocessing.Process against Pool (or their\n"
"native C equivalents) and explain the difference.\n"
"\n"
"USAGE: mpxtrace [OPTIONS] --mode=process|pool|both [WORKLOAD OPTIONS]\n"
"       mpxtrace [OPTIONS] -- COMMAND [ARGS...]\n"
"       mpxtrace record -o FILE [OPTIONS] (--mode=MODE ... | -- COMMAND ...)\n"
"       mpxtrace report [-j] [-o OUT] [--wide] [--html=F] [--perfetto=F]\n"
"                       [--csv=DIR] FILE\n"
"\n"
"EXAMPLES:\n"
"    sudo mpxtrace --mode=both                    # the blog's case, explained\n"
"    sudo mpxtrace --mode=pool --tasks 64         # many small tasks\n"
"    sudo mpxtrace --mode=both --task=sleep --task-ms 50 --tasks 8\n"
"    sudo mpxtrace --mode=both --runtime=native --task=fsync\n"
"    sudo mpxtrace -- python3 experiment.py       # any command\n"
"    sudo mpxtrace -j -- make -j2 > trace.json     # one JSON document\n"
"    sudo mpxtrace record -o run.mpxt --mode=both # trace now, report later\n"
"    mpxtrace report -j run.mpxt                  # anywhere, without root\n"
"\n"
"Under sudo the workload runs as the invoking user (SUDO_UID/SUDO_GID);\n"
"--as-root keeps root.  With -j and no -o, the workload's stdout goes to\n"
"stderr so that stdout carries only the JSON.  mpxtrace exits with the\n"
"command's exit status (128+N when it was killed by signal N), 1 when\n"
"tracing failed, 2 on a usage error, 126/127 when the command cannot be run\n"
"or is not found.\n"
"\n"
"OPTIONS:";

enum {
	OPT_AS_ROOT = 0x100,
	OPT_ATTACH,
	OPT_RINGBUF,
	OPT_MAX_TASKS,
	OPT_WIDE,
	OPT_MODE,
	OPT_RUNTIME,
	OPT_TASKS,
	OPT_WORKERS,
	OPT_TASK,
	OPT_TASK_BYTES,
	OPT_TASK_MS,
	OPT_START_METHOD,
	OPT_REPEAT,
	OPT_PYTHON,
	OPT_PERFETTO,
	OPT_CSV,
	OPT_SAVE,
	OPT_RSS,
	OPT_HTML,
	OPT_PYTHON_PROBES,
	OPT_PY_FUNCTIONS,
	OPT_SUMMARY,
	OPT_WAKEUP_EVENTS,
};

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "Output:", 1 },
	{ "json", 'j', NULL, 0, "Print the report as one JSON document", 1 },
	{ "output", 'o', "FILE", 0, "Write the report to FILE instead of stdout", 1 },
	{ "perfetto", OPT_PERFETTO, "FILE", 0,
	  "Also write a timeline for ui.perfetto.dev to FILE (gzipped if FILE ends in .gz)", 1 },
	{ "csv", OPT_CSV, "DIR", 0,
	  "Also write tasks.csv, waits.csv and critical_path.csv into DIR", 1 },
	{ "html", OPT_HTML, "FILE", 0,
	  "Also write one self-contained HTML page (explanation, charts) to FILE", 1 },
	{ "save", OPT_SAVE, "FILE", 0,
	  "Also save the trace to FILE (0600), for mpxtrace report", 1 },
	{ "wide", OPT_WIDE, NULL, 0, "One line per task (wider than 80 columns)", 1 },
	{ "verbose", 'v', NULL, 0, "Say more, including libbpf's messages", 1 },
	{ NULL, 0, NULL, 0, "Built-in workloads:", 2 },
	{ "mode", OPT_MODE, "MODE", 0,
	  "process (a Process per task), pool (a Pool), or both, compared", 2 },
	{ "runtime", OPT_RUNTIME, "RT", 0,
	  "python (multiprocessing; default when python3 exists) or native (C)", 2 },
	{ "tasks", OPT_TASKS, "N", 0, "Number of tasks (default 2, as in the post)", 2 },
	{ "workers", OPT_WORKERS, "W", 0, "Pool workers (default: online CPUs, as Pool())", 2 },
	{ "task", OPT_TASK, "KIND", 0,
	  "write (the post's, default), fsync, direct, read-cold, cpu, mem, sleep", 2 },
	{ "task-bytes", OPT_TASK_BYTES, "SIZE", 0,
	  "Bytes for direct, read-cold and mem (K/M/G suffix; default 8M)", 2 },
	{ "task-ms", OPT_TASK_MS, "MS", 0, "Milliseconds for cpu and sleep (default 50)", 2 },
	{ "start-method", OPT_START_METHOD, "M", 0,
	  "fork (default), spawn or forkserver (python runtime)", 2 },
	{ "repeat", OPT_REPEAT, "R", 0,
	  "Runs per mode, alternating with --mode=both (default 1)", 2 },
	{ "python", OPT_PYTHON, "PATH", 0,
	  "Interpreter for the python runtime (default /usr/bin/python3)", 2 },
	{ NULL, 0, NULL, 0, "Tracing:", 3 },
	{ "as-root", OPT_AS_ROOT, NULL, 0, "Under sudo, run the workload as root too", 3 },
	{ "attach", OPT_ATTACH, "KIND", 0,
	  "auto (default), tp_btf or raw_tp: how programs attach", 3 },
	{ "ringbuf", OPT_RINGBUF, "SIZE", 0,
	  "Event ring buffer size: a power of two from 4K to 4G (default 16M)", 3 },
	{ "rss", OPT_RSS, "HOW", 0,
	  "sampled (default: mm counters at switch-out, off by a per-CPU batch) or "
	  "exact (kmem:rss_stat; mounts tracefs if needed)", 3 },
	{ "max-tasks", OPT_MAX_TASKS, "N", 0,
	  "Most tasks alive at once in the traced tree (default 65536)", 3 },
	{ "python-probes", OPT_PYTHON_PROBES, "HOW", 0,
	  "auto (default: CPython's USDT probes for imports, GC and audit events, "
	  "uprobes for GIL waits, where the interpreter has them) or off", 3 },
	{ "py-functions", OPT_PY_FUNCTIONS, "GLOB", 0,
	  "Also record calls of Python functions whose name matches GLOB "
	  "(function__entry/return: costs on every call)", 3 },
	{ "summary", OPT_SUMMARY, NULL, 0,
	  "Per-task totals kept in the kernel, no event stream: bounded overhead for "
	  "long runs; no wait reasons, critical path or memory samples (a command only)", 3 },
	{ "wakeup-events", OPT_WAKEUP_EVENTS, NULL, 0,
	  "Also record sched_wakeup: woken waits start at it, not at the kernel's "
	  "enqueue time, which the self-check then compares with it", 3 },
	{ NULL, 0, NULL, 0, "Help:", 4 },
	{ "help", 'h', NULL, 0, "Show this help and exit", 4 },
	{ "version", 'V', NULL, 0, "Show the version and exit", 4 },
	{},
};

static const char *const task_kinds[] = {
	"write", "fsync", "direct", "read-cold", "cpu", "mem", "sleep", NULL,
};
static const char *const start_methods[] = { "fork", "spawn", "forkserver", NULL };

static bool one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

/* One line and exit 2: the only way a usage error leaves mpxtrace. */
static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("mpxtrace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try --help)\n", stderr);
	exit(MPX_EXIT_USAGE);
}

static const struct argp_option *find_long(const char *name, size_t len)
{
	const struct argp_option *p;

	for (p = options; p->name || p->key || p->doc; p++)
		if (p->name && strlen(p->name) == len && !strncmp(p->name, name, len))
			return p;
	return NULL;
}

/* argp was told to stay quiet: say in one line what it choked on. */
static void explain_bad_option(int argc, char **argv)
{
	const struct argp_option *p;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--") || a[0] != '-' || !a[1])
			break;
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);

			p = find_long(a + 2, len);
			if (!p)
				usage_error("unrecognized option '%s'", a);
			if (p->arg && !eq && i + 1 >= argc)
				usage_error("option '%s' requires an argument", a);
			if (!p->arg && eq)
				usage_error("option '--%s' takes no argument", p->name);
			if (p->arg && !eq)
				i++;
			continue;
		}
		for (p = options; p->name || p->key || p->doc; p++)
			if (p->key == a[1])
				break;
		if (!p->name && !p->key)
			usage_error("invalid option -- '%c'", a[1]);
		if (p->arg && !a[2] && i + 1 >= argc)
			usage_error("option '-%c' requires an argument", a[1]);
		if (p->arg && !a[2])
			i++;
	}
	usage_error("invalid command line");
}

/* "8M", "64k", "1G", "4096": bytes. */
static int parse_size(const char *s, uint64_t *out)
{
	char num[32];
	size_t n = strlen(s);
	uint64_t mult = 1, v;

	if (!n || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 'k': case 'K': mult = 1ull << 10; break;
	case 'm': case 'M': mult = 1ull << 20; break;
	case 'g': case 'G': mult = 1ull << 30; break;
	default: mult = 1;
	}
	if (mult != 1)
		num[n - 1] = '\0';
	if (mpx_parse_u64(num, 1, (1ull << 40) / mult, &v))
		return -ERANGE;
	*out = v * mult;
	return 0;
}

static uint32_t num_arg(const char *opt, const char *arg, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (mpx_parse_u64(arg, min, max, &v))
		usage_error("%s: '%s' is not a number from %llu to %llu", opt, arg,
			    (unsigned long long)min, (unsigned long long)max);
	return (uint32_t)v;
}

/*
 * `report` reads a file: only output options apply.  `record` writes a
 * trace file, not a report: report-only options do not apply.
 */
static void check_subcommand_option(const struct mpx_opts *o, int key)
{
	const struct argp_option *p;
	bool out_opt = key == 'j' || key == 'o' || key == 'v' || key == 'h' ||
		       key == 'V' || key == OPT_WIDE || key == OPT_PERFETTO ||
		       key == OPT_CSV || key == OPT_HTML;

	/* The table ends with an all-zero entry (group titles have doc). */
	for (p = options; p->name || p->key || p->doc; p++)
		if (p->key == key && p->name)
			break;
	if (!p->name)
		return;		/* not an option: ARGP_KEY_* */
	if (o->cmd == MPX_CMD_REPORT && !out_opt)
		usage_error("report: --%s is for tracing, not for reading a trace file",
			    p->name);
	if (o->cmd == MPX_CMD_RECORD && out_opt && key != 'o' && key != 'v' &&
	    key != 'h' && key != 'V')
		usage_error("record writes a trace file, not a report: --%s belongs "
			    "to mpxtrace report", p->name);
	if (o->cmd == MPX_CMD_RECORD && key == OPT_SAVE)
		usage_error("record: give the trace file with -o, not --save");
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct mpx_opts *o = state->input;
	struct mpx_workload_opts *w = &o->work;
	uint64_t v;

	if (o->cmd != MPX_CMD_LIVE)
		check_subcommand_option(o, key);
	switch (key) {
	case 'j':
		o->json = true;
		break;
	case 'o':
		o->output = arg;
		break;
	case OPT_PERFETTO:
		o->perfetto = arg;
		break;
	case OPT_CSV:
		o->csv = arg;
		break;
	case OPT_HTML:
		o->html = arg;
		break;
	case OPT_SAVE:
		o->save = arg;
		break;
	case 'v':
		mpx_verbose = true;
		break;
	case 'h':
		argp_help(state->root_argp, stdout, ARGP_HELP_STD_HELP, "mpxtrace");
		exit(0);
	case 'V':
		printf("%s\n", argp_program_version);
		exit(0);
	case OPT_WIDE:
		o->wide = true;
		break;
	case OPT_AS_ROOT:
		o->as_root = true;
		break;
	case OPT_ATTACH:
		if (!strcmp(arg, "auto"))
			o->collect.attach = MPX_ATTACH_AUTO;
		else if (!strcmp(arg, "tp_btf"))
			o->collect.attach = MPX_ATTACH_TP_BTF;
		else if (!strcmp(arg, "raw_tp"))
			o->collect.attach = MPX_ATTACH_RAW_TP;
		else
			usage_error("--attach: '%s' is not auto, tp_btf or raw_tp", arg);
		break;
	case OPT_RINGBUF:
		if (parse_size(arg, &v) || v < 4096 || v > (4ull << 30) || (v & (v - 1)))
			usage_error("--ringbuf: '%s' is not a power of two from 4K to 4G", arg);
		o->collect.ringbuf_bytes = (size_t)v;
		break;
	case OPT_RSS:
		if (!strcmp(arg, "exact"))
			o->collect.rss_exact = true;
		else if (!strcmp(arg, "sampled"))
			o->collect.rss_exact = false;
		else
			usage_error("--rss: '%s' is not sampled or exact", arg);
		break;
	case OPT_PYTHON_PROBES:
		if (!strcmp(arg, "auto"))
			o->py.off = false;
		else if (!strcmp(arg, "off"))
			o->py.off = true;
		else
			usage_error("--python-probes: '%s' is not auto or off", arg);
		break;
	case OPT_PY_FUNCTIONS:
		if (!*arg || strlen(arg) >= MPX_PYNAME_LEN)
			usage_error("--py-functions: the pattern must have 1 to %d characters",
				    MPX_PYNAME_LEN - 1);
		o->py.functions = arg;
		break;
	case OPT_SUMMARY:
		o->collect.summary = true;
		break;
	case OPT_WAKEUP_EVENTS:
		o->collect.wakeup_events = true;
		break;
	case OPT_MAX_TASKS:
		o->collect.max_tasks = num_arg("--max-tasks", arg, 16, 4194304);
		break;
	case OPT_MODE:
		if (!strcmp(arg, "process"))
			w->mode = MPX_MODE_PROCESS;
		else if (!strcmp(arg, "pool"))
			w->mode = MPX_MODE_POOL;
		else if (!strcmp(arg, "both"))
			w->mode = MPX_MODE_BOTH;
		else
			usage_error("--mode: '%s' is not process, pool or both", arg);
		break;
	case OPT_RUNTIME:
		if (!strcmp(arg, "python"))
			w->runtime = MPX_RT_PYTHON;
		else if (!strcmp(arg, "native"))
			w->runtime = MPX_RT_NATIVE;
		else
			usage_error("--runtime: '%s' is not python or native", arg);
		break;
	case OPT_TASKS:
		w->tasks = num_arg("--tasks", arg, 1, 100000);
		break;
	case OPT_WORKERS:
		w->workers = num_arg("--workers", arg, 1, 4096);
		break;
	case OPT_TASK:
		if (!one_of(arg, task_kinds))
			usage_error("--task: '%s' is not one of write, fsync, direct, "
				    "read-cold, cpu, mem, sleep", arg);
		w->kind = arg;
		break;
	case OPT_TASK_BYTES:
		if (parse_size(arg, &v))
			usage_error("--task-bytes: '%s' is not a size from 1 to 1T "
				    "(K/M/G suffixes)", arg);
		w->bytes = v;
		break;
	case OPT_TASK_MS:
		w->ms = num_arg("--task-ms", arg, 1, 3600000);
		break;
	case OPT_START_METHOD:
		if (!one_of(arg, start_methods))
			usage_error("--start-method: '%s' is not fork, spawn or forkserver", arg);
		w->start_method = arg;
		break;
	case OPT_REPEAT:
		w->repeat = num_arg("--repeat", arg, 1, 1000);
		break;
	case OPT_PYTHON:
		w->python = arg;
		break;
	case ARGP_KEY_ARG:
		if (o->cmd == MPX_CMD_REPORT) {
			if (o->input)
				usage_error("report: one trace file, not '%s' too", arg);
			o->input = arg;
			break;
		}
		/* The command starts here: everything after it is its own. */
		o->argv = &state->argv[state->next - 1];
		o->argc = state->argc - state->next + 1;
		state->next = state->argc;
		break;
	case ARGP_KEY_END:
		if (o->cmd == MPX_CMD_REPORT) {
			if (!o->input)
				usage_error("report: no trace file given (mpxtrace report FILE)");
			break;
		}
		if (o->cmd == MPX_CMD_RECORD) {
			if (!o->output)
				usage_error("record: no trace file given (-o FILE)");
			o->save = o->output;
			o->output = NULL;
		}
		if (o->argv && w->mode)
			usage_error("give either --mode or a command after --, not both");
		if (!o->argv && !w->mode)
			usage_error("nothing to run: give --mode=process|pool|both or -- COMMAND");
		if (!w->mode && (w->runtime || w->tasks || w->workers || w->kind ||
				 w->bytes || w->ms || w->start_method || w->repeat))
			usage_error("workload options (--tasks, --task, ...) need --mode");
		if (o->collect.summary && (w->mode || o->cmd == MPX_CMD_RECORD || o->save ||
					   o->perfetto || o->csv || o->html || o->py.functions ||
					   o->collect.wakeup_events))
			usage_error("--summary keeps totals, not events: it traces a command "
				    "after --, without --mode, record, --save, --perfetto, --csv, "
				    "--html, --py-functions or --wakeup-events");
		if (w->start_method && w->runtime == MPX_RT_NATIVE)
			usage_error("--start-method applies to the python runtime only");
		if (o->py.functions && o->py.off)
			usage_error("--py-functions needs --python-probes=auto");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int opts__parse(struct mpx_opts *o, int argc, char **argv)
{
	static const struct argp argp = {
		.options = options,
		.parser = parse_arg,
		.doc = doc,
		.args_doc = "--mode=MODE [WORKLOAD OPTIONS]\n-- COMMAND [ARGS...]",
	};
	int err;

	memset(o, 0, sizeof(*o));
	o->collect.ringbuf_bytes = 16u << 20;
	o->collect.max_tasks = 65536;
	o->collect.attach = MPX_ATTACH_AUTO;
	/* A subcommand is argv[1] exactly; `-- record` still runs a command. */
	if (argc > 1 && !strcmp(argv[1], "record"))
		o->cmd = MPX_CMD_RECORD;
	else if (argc > 1 && !strcmp(argv[1], "report"))
		o->cmd = MPX_CMD_REPORT;
	if (o->cmd != MPX_CMD_LIVE) {
		argc--;
		argv++;
	}
	err = argp_parse(&argp, argc, argv, ARGP_IN_ORDER | ARGP_NO_ERRS | ARGP_NO_HELP, NULL, o);
	if (err)
		explain_bad_option(argc, argv);
	return 0;
}

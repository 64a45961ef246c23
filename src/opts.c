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
"Trace a command's whole process tree in the kernel and split every task's\n"
"lifetime into on-CPU, run-queue wait (after wakeup / after preemption),\n"
"sleep and uninterruptible sleep, checked against the kernel's own counters.\n"
"\n"
"USAGE: mpxtrace [OPTIONS] -- COMMAND [ARGS...]\n"
"\n"
"EXAMPLES:\n"
"    sudo mpxtrace -- python3 experiment.py       # per-task breakdown\n"
"    sudo mpxtrace -j -- make -j2 > trace.json     # one JSON document\n"
"    sudo mpxtrace --wide -- ./server --once       # one line per task\n"
"    sudo mpxtrace --ringbuf-mb 64 -- ./forkbomb   # bigger event buffer\n"
"\n"
"Under sudo the command runs as the invoking user (SUDO_UID/SUDO_GID);\n"
"--as-root keeps root.  With -j and no -o, the command's stdout goes to\n"
"stderr so that stdout carries only the JSON.  mpxtrace exits with the command's exit status\n"
"(128+N when it was killed by signal N), 1 when tracing failed, 2 on a\n"
"usage error, 126/127 when the command cannot be run or is not found.\n"
"\n"
"OPTIONS:";

enum {
	OPT_AS_ROOT = 0x100,
	OPT_ATTACH,
	OPT_RINGBUF_MB,
	OPT_MAX_TASKS,
	OPT_WIDE,
};

static const struct argp_option options[] = {
	{ "json", 'j', NULL, 0, "Print the report as one JSON document", 0 },
	{ "output", 'o', "FILE", 0, "Write the report to FILE instead of stdout", 0 },
	{ "wide", OPT_WIDE, NULL, 0, "One line per task (wider than 80 columns)", 0 },
	{ "verbose", 'v', NULL, 0, "Say more, including libbpf's messages", 0 },
	{ "as-root", OPT_AS_ROOT, NULL, 0, "Under sudo, run the command as root too", 0 },
	{ "attach", OPT_ATTACH, "KIND", 0,
	  "auto (default), tp_btf or raw_tp: how programs attach", 0 },
	{ "ringbuf-mb", OPT_RINGBUF_MB, "MB", 0,
	  "Event ring buffer size, a power of two (default 16)", 0 },
	{ "max-tasks", OPT_MAX_TASKS, "N", 0,
	  "Most tasks alive at once in the traced tree (default 65536)", 0 },
	{ "help", 'h', NULL, 0, "Show this help and exit", 0 },
	{ "version", 'V', NULL, 0, "Show the version and exit", 0 },
	{},
};

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

	for (p = options; p->name || p->key; p++)
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
		for (p = options; p->name || p->key; p++)
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

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct mpx_opts *o = state->input;
	uint64_t v;

	switch (key) {
	case 'j':
		o->json = true;
		break;
	case 'o':
		o->output = arg;
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
	case OPT_RINGBUF_MB:
		if (mpx_parse_u64(arg, 1, 4096, &v) || (v & (v - 1)))
			usage_error("--ringbuf-mb: '%s' is not a power of two "
				   "from 1 to 4096", arg);
		o->collect.ringbuf_bytes = (size_t)v << 20;
		break;
	case OPT_MAX_TASKS:
		if (mpx_parse_u64(arg, 16, 4194304, &v))
			usage_error("--max-tasks: '%s' is not a number from 16 "
				   "to 4194304", arg);
		o->collect.max_tasks = (uint32_t)v;
		break;
	case ARGP_KEY_ARG:
		/* The command starts here: everything after it is its own. */
		o->argv = &state->argv[state->next - 1];
		o->argc = state->argc - state->next + 1;
		state->next = state->argc;
		break;
	case ARGP_KEY_END:
		if (!o->argv)
			usage_error("no command given (mpxtrace [OPTIONS] -- COMMAND)");
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
		.args_doc = "-- COMMAND [ARGS...]",
	};
	int err;

	memset(o, 0, sizeof(*o));
	o->collect.ringbuf_bytes = 16u << 20;
	o->collect.max_tasks = 65536;
	o->collect.attach = MPX_ATTACH_AUTO;
	err = argp_parse(&argp, argc, argv, ARGP_IN_ORDER | ARGP_NO_ERRS | ARGP_NO_HELP, NULL, o);
	if (err)
		explain_bad_option(argc, argv);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * floor [--lookup] [-v] -- CMD [ARG...]
 *
 * Runs CMD with empty tp_btf programs (or, with --lookup, programs that only
 * look prev/next or the woken task up in a hash map holding CMD's pid) on
 * sched_switch, sched_waking, sched_wakeup and sched_wakeup_new, and exits
 * with CMD's status (128 + signal if a signal ended it).  The overhead bench
 * runs it beside mpxtrace: the cost of having programs on those hooks at all.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "floor.skel.h"

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: floor [--lookup] [-v] -- CMD [ARG...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct bpf_program *prog;
	struct floor_bpf *skel;
	bool lookup = false, verbose = false;
	int i, go[2], status, ret = 1;
	__u64 hits = 0;
	pid_t pid;
	__u32 key;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--lookup"))
			lookup = true;
		else if (!strcmp(argv[i], "-v"))
			verbose = true;
		else
			usage();
	}
	if (i + 1 >= argc)
		usage();
	argv += i + 1;

	libbpf_set_print(quiet_print);
	skel = floor_bpf__open();
	if (!skel) {
		fprintf(stderr, "floor: cannot open the BPF object: %s\n", strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, !!strstr(bpf_program__name(prog),
							 lookup ? "_lookup" : "_empty"));
	if (floor_bpf__load(skel) || floor_bpf__attach(skel)) {
		fprintf(stderr, "floor: cannot load or attach: %s\n", strerror(errno));
		goto out;
	}
	/* The child waits on a pipe until its pid is in the map. */
	if (pipe(go)) {
		fprintf(stderr, "floor: pipe: %s\n", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "floor: fork: %s\n", strerror(errno));
		goto out;
	}
	if (!pid) {
		char c;

		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		close(go[0]);
		execvp(argv[0], argv);
		fprintf(stderr, "floor: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(go[0]);
	key = pid;
	if (lookup && bpf_map__update_elem(skel->maps.pids, &key, sizeof(key), &hits,
					  sizeof(hits), BPF_ANY)) {
		fprintf(stderr, "floor: map update: %s\n", strerror(errno));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out;
	}
	signal(SIGINT, SIG_IGN);	/* the command decides */
	if (write(go[1], "g", 1) != 1) {
		fprintf(stderr, "floor: pipe write: %s\n", strerror(errno));
		kill(pid, SIGKILL);
	}
	close(go[1]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "floor: waitpid: %s\n", strerror(errno));
			goto out;
		}
	}
	ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (verbose && lookup &&
	    !bpf_map__lookup_elem(skel->maps.pids, &key, sizeof(key), &hits, sizeof(hits), 0))
		fprintf(stderr, "floor: %llu hook hits on task %u\n", (unsigned long long)hits,
			key);
	if (verbose) {
		/* The kernel's count (run time only with kernel.bpf_stats_enabled). */
		__u64 cnt = 0, ns = 0;

		bpf_object__for_each_program(prog, skel->obj) {
			struct bpf_prog_info info;
			__u32 len = sizeof(info);

			memset(&info, 0, sizeof(info));
			if (bpf_program__fd(prog) >= 0 &&
			    !bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len)) {
				cnt += info.run_cnt;
				ns += info.run_time_ns;
			}
		}
		fprintf(stderr, "floor: programs ran %llu times, %llu ns\n",
			(unsigned long long)cnt, (unsigned long long)ns);
	}
out:
	floor_bpf__destroy(skel);
	return ret;
}

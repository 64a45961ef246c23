// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "run.h"
#include "workload.h"
#include "mpx_workload_py.h"

static bool executable(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISREG(st.st_mode) && !access(p, X_OK);
}

/* The system python3: /usr/bin/python3, else the first on PATH. */
static bool find_python(char *out, size_t sz)
{
	const char *path = getenv("PATH"), *p, *e;

	if (executable("/usr/bin/python3")) {
		snprintf(out, sz, "/usr/bin/python3");
		return true;
	}
	for (p = path; p && *p; p = *e ? e + 1 : e) {
		e = strchrnul(p, ':');
		snprintf(out, sz, "%.*s/python3", (int)(e - p), p);
		if (executable(out))
			return true;
	}
	return false;
}

static int write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (len) {
		n = write(fd, data, len);
		if (n < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		data += n;
		len -= (size_t)n;
	}
	return close(fd) ? -errno : 0;
}

int workload__prepare(struct mpx_workload *w, const struct mpx_workload_opts *o,
		      long uid, long gid)
{
	int err;

	memset(w, 0, sizeof(*w));
	w->o = *o;
	if (!w->o.tasks)
		w->o.tasks = 2;
	if (!w->o.kind)
		w->o.kind = "write";
	if (!w->o.bytes)
		w->o.bytes = 8u << 20;
	if (!w->o.ms)
		w->o.ms = 50;
	if (!w->o.repeat)
		w->o.repeat = 1;
	if (!w->o.start_method)
		w->o.start_method = "fork";

	if (w->o.runtime != MPX_RT_NATIVE) {
		if (w->o.python) {
			if (!executable(w->o.python)) {
				mpx_err("--python %s: not an executable file", w->o.python);
				return MPX_EXIT_NOTFOUND;
			}
			snprintf(w->python, sizeof(w->python), "%s", w->o.python);
		} else if (!find_python(w->python, sizeof(w->python))) {
			if (w->o.runtime == MPX_RT_PYTHON) {
				mpx_err("--runtime=python: no python3 found (try --python PATH)");
				return MPX_EXIT_NOTFOUND;
			}
			w->note = "no python3 found: running the native C workload instead";
			w->o.runtime = MPX_RT_NATIVE;
		}
		if (w->o.runtime != MPX_RT_NATIVE)
			w->o.runtime = MPX_RT_PYTHON;
	}
	if (w->o.runtime == MPX_RT_NATIVE) {
		ssize_t n = readlink("/proc/self/exe", w->self, sizeof(w->self) - 1);

		if (n <= 0) {
			mpx_err("cannot find my own executable: %s", strerror(errno));
			return MPX_EXIT_ERROR;
		}
		w->self[n] = '\0';
	}

	/* mkdtemp: mode 0700, a fresh name nobody else can have prepared. */
	snprintf(w->dir, sizeof(w->dir), "/tmp/mpxtrace.XXXXXX");
	if (!mkdtemp(w->dir)) {
		mpx_err("cannot create a temporary directory: %s", strerror(errno));
		w->dir[0] = '\0';
		return MPX_EXIT_ERROR;
	}
	if (uid >= 0 && chown(w->dir, (uid_t)uid, (gid_t)gid)) {
		mpx_err("cannot hand %s to uid %ld: %s", w->dir, uid, strerror(errno));
		workload__cleanup(w);
		return MPX_EXIT_ERROR;
	}
	if (w->o.runtime == MPX_RT_PYTHON) {
		snprintf(w->script, sizeof(w->script), "%s/mpx_workload.py", w->dir);
		err = write_file(w->script, mpx_workload_py, sizeof(mpx_workload_py) - 1);
		if (err) {
			mpx_err("cannot write %s: %s", w->script, strerror(-err));
			workload__cleanup(w);
			return MPX_EXIT_ERROR;
		}
	}
	return 0;
}

static void add(struct mpx_workload *w, int *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add(struct mpx_workload *w, int *n, const char *fmt, ...)
{
	va_list ap;

	if (*n >= MPX_WORK_MAX_ARGS - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(w->argbuf[*n], sizeof(w->argbuf[*n]), fmt, ap);
	va_end(ap);
	w->argv[*n] = w->argbuf[*n];
	(*n)++;
}

char **workload__argv(struct mpx_workload *w, enum mpx_mode mode)
{
	int n = 0;

	if (w->o.runtime == MPX_RT_PYTHON) {
		w->argv[n++] = w->python;
		w->argv[n++] = w->script;
	} else {
		w->argv[n++] = w->self;
		add(w, &n, "__workload");
	}
	add(w, &n, "--mode");
	add(w, &n, "%s", mpx_mode_name(mode));
	add(w, &n, "--tasks");
	add(w, &n, "%u", w->o.tasks);
	add(w, &n, "--workers");
	add(w, &n, "%u", w->o.workers);
	add(w, &n, "--kind");
	add(w, &n, "%s", w->o.kind);
	add(w, &n, "--bytes");
	add(w, &n, "%llu", (unsigned long long)w->o.bytes);
	add(w, &n, "--ms");
	add(w, &n, "%u", w->o.ms);
	if (w->o.runtime == MPX_RT_PYTHON) {
		add(w, &n, "--start-method");
		add(w, &n, "%s", w->o.start_method);
	}
	add(w, &n, "--dir");
	add(w, &n, "%s", w->dir);
	w->argv[n] = NULL;
	return w->argv;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) ? 0 : 0;
}

void workload__cleanup(struct mpx_workload *w)
{
	if (!w->dir[0])
		return;
	nftw(w->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	w->dir[0] = '\0';
}

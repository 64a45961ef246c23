// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The unit-test runner: the one main() of .output/tests/unit_tests.
 * See testlib.h for how tests are written.
 */
#define _GNU_SOURCE
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

#define MAX_TESTS 256

struct testlib_test {
	const char *name;
	testlib_fn fn;
	const char *file;
	int line;
};

static struct testlib_test tests[MAX_TESTS];
static int ntests;
static bool registry_full;
static bool cur_failed;		/* in the child running a test */

void testlib__register(const char *name, testlib_fn fn, const char *file, int line)
{
	if (ntests == MAX_TESTS) {
		registry_full = true;
		return;
	}
	tests[ntests++] = (struct testlib_test){ name, fn, file, line };
}

static void fail_at(const char *file, int line, const char *expr)
{
	cur_failed = true;
	printf("  %s:%d: %s\n", file, line, expr);
}

static void put_int(const char *what, unsigned long long v, bool is_signed)
{
	if (is_signed)
		printf("    %s %lld\n", what, (long long)v);
	else
		printf("    %s %llu\n", what, v);
}

bool testlib__int(bool ok, const char *file, int line, const char *expr,
		  unsigned long long act, bool act_signed,
		  unsigned long long exp, bool exp_signed)
{
	if (ok)
		return true;
	fail_at(file, line, expr);
	put_int("actual:  ", act, act_signed);
	put_int("expected:", exp, exp_signed);
	return false;
}

bool testlib__str(const char *file, int line, const char *expr,
		  const char *act, const char *exp)
{
	if (act == exp || (act && exp && !strcmp(act, exp)))
		return true;
	fail_at(file, line, expr);
	printf("    actual:   %s%s%s\n", act ? "\"" : "", act ? act : "(null)", act ? "\"" : "");
	printf("    expected: %s%s%s\n", exp ? "\"" : "", exp ? exp : "(null)", exp ? "\"" : "");
	return false;
}

bool testlib__near(const char *file, int line, const char *expr,
		   double act, double exp, double tol)
{
	if (fabs(act - exp) <= tol)
		return true;
	fail_at(file, line, expr);
	printf("    actual:   %.17g\n    expected: %.17g (+/- %g)\n", act, exp, tol);
	return false;
}

bool testlib__true(bool ok, const char *file, int line, const char *expr)
{
	if (!ok)
		fail_at(file, line, expr);
	return ok;
}

/* Constructors run in no defined order across files: sort by place. */
static int cmp_test(const void *a, const void *b)
{
	const struct testlib_test *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	return c ? c : x->line - y->line;
}

static bool selected(const char *name, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return true;
	for (i = 1; i < argc; i++)
		if (strstr(name, argv[i]))
			return true;
	return false;
}

/* Run one test in a child so that a crash fails it alone.  Returns passed. */
static bool run_one(const struct testlib_test *t)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return false;
	}
	if (pid == 0) {
		cur_failed = false;
		t->fn();
		fflush(stdout);
		_exit(cur_failed ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("waitpid");
		return false;
	}
	if (WIFSIGNALED(status))
		printf("  %s: killed by SIG%s\n", t->name,
		       sigabbrev_np(WTERMSIG(status)) ?: "?");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv)
{
	int i, passed = 0, failed = 0;

	if (registry_full) {
		fprintf(stderr, "unit_tests: more than %d tests: raise MAX_TESTS\n",
			MAX_TESTS);
		return 1;
	}
	qsort(tests, ntests, sizeof(tests[0]), cmp_test);
	for (i = 0; i < ntests; i++) {
		const struct testlib_test *t = &tests[i];

		if (!selected(t->name, argc, argv))
			continue;
		if (run_one(t)) {
			passed++;
			printf("ok - %s\n", t->name);
		} else {
			failed++;
			printf("FAIL - %s\n", t->name);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

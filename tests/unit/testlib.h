/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A tiny unit-test harness in the spirit of the kernel's BPF selftests
 * (tools/testing/selftests/bpf/test_progs.h):
 *
 *	TEST(parse_rejects_junk)
 *	{
 *		uint64_t v = 7;
 *
 *		ASSERT_EQ(mpx_parse_u64("12x", 0, 100, &v), -EINVAL);
 *		ASSERT_EQ(v, 7);
 *	}
 *
 * A failed ASSERT_* prints file:line, the expression, actual vs expected,
 * marks the current test failed and evaluates to false; the test goes on,
 * so one run shows every wrong figure.  Guard what cannot go on:
 *
 *	if (!ASSERT_NOT_NULL(t))
 *		return;
 *
 * Each test runs in a child process (a crash fails that test only) and
 * prints "ok - name" or "FAIL - name".  The binary ends with the line
 * "N passed, M failed" and exits non-zero when M > 0.  Arguments select
 * tests by substring of their name.  main() is in test_main.c.
 */
#ifndef MPX_TESTLIB_H
#define MPX_TESTLIB_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*testlib_fn)(void);

/* Called by TEST() before main(); not for direct use. */
void testlib__register(const char *name, testlib_fn fn, const char *file, int line);

/* Each returns ok, after printing a diagnostic when !ok. */
bool testlib__int(bool ok, const char *file, int line, const char *expr,
		  unsigned long long act, bool act_signed,
		  unsigned long long exp, bool exp_signed);
bool testlib__str(const char *file, int line, const char *expr,
		  const char *act, const char *exp);
bool testlib__near(const char *file, int line, const char *expr,
		   double act, double exp, double tol);
bool testlib__true(bool ok, const char *file, int line, const char *expr);

/* Define and register a test: TEST(name) { body }. */
#define TEST(name)								\
	static void test_##name(void);						\
	__attribute__((constructor)) static void testlib_reg_##name(void)	\
	{									\
		testlib__register(#name, test_##name, __FILE__, __LINE__);	\
	}									\
	static void test_##name(void)

#define TESTLIB_SIGNED(x) _Generic((x),						\
	signed char: true, short: true, int: true, long: true,			\
	long long: true, default: false)

/*
 * Integers of any width and signedness (enums, bool too).  Both sides are
 * compared modulo 2^64 in their own types, so no sign-compare surprises;
 * each side is printed as signed or unsigned per its own type.
 */
#define ASSERT_EQ(actual, expected) ({						\
	__typeof__(actual) ___a = (actual);					\
	__typeof__(expected) ___e = (expected);					\
	testlib__int((unsigned long long)___a == (unsigned long long)___e,	\
		     __FILE__, __LINE__, #actual " == " #expected,		\
		     (unsigned long long)___a, TESTLIB_SIGNED(___a),		\
		     (unsigned long long)___e, TESTLIB_SIGNED(___e));		\
})

#define ASSERT_TRUE(cond)	testlib__true(!!(cond), __FILE__, __LINE__, #cond)
#define ASSERT_FALSE(cond)	testlib__true(!(cond), __FILE__, __LINE__, "!(" #cond ")")
#define ASSERT_NOT_NULL(ptr)	testlib__true((ptr) != NULL, __FILE__, __LINE__, \
					      #ptr " != NULL")

/* NUL-terminated strings; NULL is printed as (null) and equals only NULL. */
#define ASSERT_STREQ(actual, expected)						\
	testlib__str(__FILE__, __LINE__, #actual " == " #expected,		\
		     (actual), (expected))

/* |actual - expected| <= tol */
#define ASSERT_NEAR(actual, expected, tol)					\
	testlib__near(__FILE__, __LINE__, #actual " ~= " #expected,		\
		      (double)(actual), (double)(expected), (double)(tol))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* MPX_TESTLIB_H */

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The raw BTF scan: tracepoint argument counts and attach type ids. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "btfscan.h"
#include "testlib.h"

/* BTF kinds and the record layout (include/uapi/linux/btf.h). */
#define KIND(k, vlen)	(((uint32_t)(k) << 24) | (vlen))
enum { INT = 1, PTR = 2, TYPEDEF = 8, FUNC_PROTO = 13 };

static const char strs[] = "\0int\0btf_trace_foo\0btf_trace_bar\0btf_trace_gone\0x";
#define S_INT	1
#define S_FOO	5
#define S_BAR	19
#define S_GONE	33

/*
 * [1] int; [2] proto (void *__data, int, int); [3] ptr -> 2;
 * [4] typedef btf_trace_foo -> 3; [5] proto (void *__data);
 * [6] ptr -> 5; [7] typedef btf_trace_bar -> 6;
 * [8] typedef btf_trace_gone -> 1 (no function pointer: not a tracepoint).
 */
static const uint32_t types[] = {
	S_INT, KIND(INT, 0), 4, 32,
	0, KIND(FUNC_PROTO, 3), 0,	/* params: name, type */
		0, 0, 0, 1, 0, 1,
	0, KIND(PTR, 0), 2,
	S_FOO, KIND(TYPEDEF, 0), 3,
	0, KIND(FUNC_PROTO, 1), 0,
		0, 0,
	0, KIND(PTR, 0), 5,
	S_BAR, KIND(TYPEDEF, 0), 6,
	S_GONE, KIND(TYPEDEF, 0), 1,
};

static size_t make_btf(uint8_t *buf)
{
	uint32_t hdr[6] = { 0, 24, 0, sizeof(types), sizeof(types), sizeof(strs) };
	uint16_t magic = 0xeB9F;

	memcpy(buf, hdr, sizeof(hdr));
	memcpy(buf, &magic, 2);
	buf[2] = 1;	/* version */
	buf[3] = 0;
	memcpy(buf + 24, types, sizeof(types));
	memcpy(buf + 24 + sizeof(types), strs, sizeof(strs));
	return 24 + sizeof(types) + sizeof(strs);
}

TEST(btfscan_nargs_and_attach_ids)
{
	const char *const tps[] = { "bar", "missing", "foo", "gone" };
	uint8_t buf[512];
	size_t n = make_btf(buf);
	uint32_t ids[4];
	int nargs[4];

	ASSERT_EQ(btfscan__tp_nargs(buf, n, tps, nargs, ids, 4), 0);
	ASSERT_EQ(nargs[0], 0);
	ASSERT_EQ(ids[0], 7);
	ASSERT_EQ(nargs[1], -1);
	ASSERT_EQ(ids[1], 0);
	ASSERT_EQ(nargs[2], 2);
	ASSERT_EQ(ids[2], 4);
	ASSERT_EQ(nargs[3], -1);
	ASSERT_EQ(ids[3], 0);
	/* The ids are optional. */
	ASSERT_EQ(btfscan__tp_nargs(buf, n, tps, nargs, NULL, 4), 0);
	ASSERT_EQ(nargs[2], 2);
}

TEST(btfscan_rejects_junk)
{
	const char *const tps[] = { "foo" };
	uint8_t buf[512];
	size_t n = make_btf(buf);
	uint32_t ids[1] = { 99 };
	int nargs[1];

	buf[0] ^= 0xff;	/* the magic */
	ASSERT_EQ(btfscan__tp_nargs(buf, n, tps, nargs, ids, 1), -EINVAL);
	ASSERT_EQ(nargs[0], -1);
	ASSERT_EQ(ids[0], 0);
	buf[0] ^= 0xff;
	/* Shorter than its header says. */
	ASSERT_EQ(btfscan__tp_nargs(buf, n - 1, tps, nargs, ids, 1), -EINVAL);
}

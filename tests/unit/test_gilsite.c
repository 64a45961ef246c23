// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Finding take_gil's call to pthread_cond_timedwait in x86-64 code. */
#include <string.h>

#include "gilsite.h"
#include "testlib.h"

/* rel32 of an instruction of len bytes at va reaching to */
static void put_rel(uint8_t *p, uint64_t va, int len, uint64_t to)
{
	int32_t d = (int32_t)(to - (va + (uint64_t)len));

	memcpy(p, &d, 4);
}

TEST(gilsite_plt_stub_forms)
{
	/* .plt: push-style lazy stub; .plt.sec: endbr64 + bnd jmp */
	uint8_t plt[48] = { 0 }, sec[32] = { 0 };
	static const uint8_t ibt[5] = { 0xf3, 0x0f, 0x1e, 0xfa, 0xf2 };

	/* stub 0 jumps elsewhere, stub 1 (at 0x1010) through GOT 0x5018 */
	plt[0] = 0xff, plt[1] = 0x25;
	put_rel(plt + 2, 0x1000, 6, 0x5010);
	plt[16] = 0xff, plt[17] = 0x25;
	put_rel(plt + 18, 0x1010, 6, 0x5018);
	ASSERT_EQ(gilsite__plt_stub(plt, sizeof(plt), 0x1000, 0x5018), 0x1010);
	ASSERT_EQ(gilsite__plt_stub(plt, sizeof(plt), 0x1000, 0x5020), 0);
	memcpy(sec + 16, ibt, 5);
	sec[21] = 0xff, sec[22] = 0x25;
	put_rel(sec + 23, 0x2000 + 21, 6, 0x5018);
	ASSERT_EQ(gilsite__plt_stub(sec, sizeof(sec), 0x2000, 0x5018), 0x2010);
}

TEST(gilsite_woken_past_the_timeout_compare)
{
	/* call; cmp $0x6e,%eax; je; and a call followed by something else */
	uint8_t text[32] = { 0 };
	struct gilsite s[2];

	text[0] = 0xe8;
	put_rel(text + 1, 0x1000, 5, 0x3000);
	text[5] = 0x83, text[6] = 0xf8, text[7] = 0x6e, text[8] = 0x74, text[9] = 0x1c;
	text[16] = 0xe8;
	put_rel(text + 17, 0x1010, 5, 0x3000);
	text[21] = 0x83, text[22] = 0xf8, text[23] = 0x6e, text[24] = 0x89;	/* no jcc */
	ASSERT_EQ(gilsite__calls(text, sizeof(text), 0x1000, 0, UINT64_MAX, 0x3000, 0, s, 2), 2);
	ASSERT_EQ(s[0].woken_va, 0x1008);
	ASSERT_EQ(s[1].woken_va, 0x1015);
	/* jcc rel32 */
	text[8] = 0x0f, text[9] = 0x84;
	ASSERT_EQ(gilsite__calls(text, sizeof(text), 0x1000, 0, 0x1010, 0x3000, 0, s, 2), 1);
	ASSERT_EQ(s[0].woken_va, 0x1008);
}

TEST(gilsite_calls_in_range)
{
	uint8_t text[64];
	struct gilsite s[4];

	memset(text, 0x90, sizeof(text));
	/* 0x400010: call stub; 0x400020: call *got; 0x400030: call elsewhere */
	text[0x10] = 0xe8;
	put_rel(text + 0x11, 0x400010, 5, 0x1010);
	text[0x20] = 0xff, text[0x21] = 0x15;
	put_rel(text + 0x22, 0x400020, 6, 0x5018);
	text[0x30] = 0xe8;
	put_rel(text + 0x31, 0x400030, 5, 0x1020);

	ASSERT_EQ(gilsite__calls(text, sizeof(text), 0x400000, 0, UINT64_MAX, 0x1010, 0x5018,
				 s, 4), 2);
	ASSERT_EQ(s[0].va, 0x400010);
	ASSERT_EQ(s[0].len, 5);
	ASSERT_EQ(s[0].woken_va, 0x400015);
	ASSERT_EQ(s[1].va, 0x400020);
	ASSERT_EQ(s[1].len, 6);
	/* only the function's own range counts */
	ASSERT_EQ(gilsite__calls(text, sizeof(text), 0x400000, 0x400018, 0x400040, 0x1010,
				 0x5018, s, 4), 1);
	ASSERT_EQ(s[0].va, 0x400020);
	/* no stub known: the direct call is not one */
	ASSERT_EQ(gilsite__calls(text, sizeof(text), 0x400000, 0, UINT64_MAX, 0, 0x5018, s, 4), 1);
	/* counted beyond max, stored up to it */
	ASSERT_EQ(gilsite__calls(text, sizeof(text), 0x400000, 0, UINT64_MAX, 0x1010, 0x5018,
				 s, 1), 2);
	/* a range outside the section */
	ASSERT_EQ(gilsite__calls(text, sizeof(text), 0x400000, 0x500000, 0x500100, 0x1010,
				 0x5018, s, 4), 0);
	/* a call cut by the section's end is not read past it */
	text[60] = 0xe8;
	ASSERT_EQ(gilsite__calls(text, 62, 0x400000, 0x400038, UINT64_MAX, 0x1010, 0x5018, s,
				 4), 0);
}

TEST(gilsite_argument_registers)
{
	/* Debian's python3.11 take_gil: mov 0x18(%rsp),%rdi; ...; mov %r13,%rsi;
	 * mov %r15,%rdx; mov %rax,0x40(%rsp); call */
	static const uint8_t code[] = {
		0x48, 0x8b, 0x7c, 0x24, 0x18, 0x48, 0x89, 0x54, 0x24, 0x48,
		0x4c, 0x89, 0xee, 0x4c, 0x89, 0xfa, 0x48, 0x89, 0x44, 0x24, 0x40,
	};
	uint8_t text[64];
	struct gilsite s[1];
	size_t call = sizeof(code);

	memset(text, 0x90, sizeof(text));
	memcpy(text, code, sizeof(code));
	text[call] = 0xe8;
	put_rel(text + call + 1, 0x1000 + call, 5, 0x3000);
	ASSERT_EQ(gilsite__calls(text, sizeof(text), 0x1000, 0, UINT64_MAX, 0x3000, 0, s, 1), 1);
	ASSERT_EQ(s[0].arg_reg[0], 13);
	ASSERT_EQ(s[0].arg_reg[1], 15);
	/* The 8b form (mov %rbx,%rsi as 48 8b f3), and a caller-saved source
	 * (mov %rcx,%rdx: 48 89 ca) that the return does not keep. */
	text[10] = 0x48, text[11] = 0x8b, text[12] = 0xf3;
	text[13] = 0x48, text[14] = 0x89, text[15] = 0xca;
	ASSERT_EQ(gilsite__calls(text, sizeof(text), 0x1000, 0, UINT64_MAX, 0x3000, 0, s, 1), 1);
	ASSERT_EQ(s[0].arg_reg[0], 3);
	ASSERT_EQ(s[0].arg_reg[1], -1);
	/* Nothing that sets them: unknown. */
	memset(text, 0x90, call);
	ASSERT_EQ(gilsite__calls(text, sizeof(text), 0x1000, 0, UINT64_MAX, 0x3000, 0, s, 1), 1);
	ASSERT_EQ(s[0].arg_reg[0], -1);
	ASSERT_EQ(s[0].arg_reg[1], -1);
}

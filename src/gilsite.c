// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Calls to pthread_cond_timedwait in x86-64 code, for the GIL probes.
 *
 * No instruction decoder: a candidate is an opcode byte whose 32-bit
 * displacement lands exactly on the stub (or GOT slot) of the one function.
 * A stray match inside another instruction would need those four bytes by
 * chance; the caller also wants exactly one call within take_gil (or the
 * whole text) and the BPF side checks the arguments' shape at run time.
 */
#include <stdbool.h>
#include <string.h>

#include "gilsite.h"

static int32_t rel32(const uint8_t *p)
{
	int32_t v;

	memcpy(&v, p, sizeof(v));	/* little-endian, as the target */
	return v;
}

uint64_t gilsite__plt_stub(const uint8_t *plt, size_t n, uint64_t plt_va, uint64_t got_va)
{
	static const uint8_t endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	size_t i, s;

	for (i = 0; i + 6 <= n; i++) {
		if (plt[i] != 0xff || plt[i + 1] != 0x25 ||
		    plt_va + i + 6 + (uint64_t)(int64_t)rel32(plt + i + 2) != got_va)
			continue;
		s = i;
		if (s >= 1 && plt[s - 1] == 0xf2)		/* bnd jmp */
			s--;
		if (s >= 4 && !memcmp(plt + s - 4, endbr64, 4))
			s -= 4;
		return plt_va + s;
	}
	return 0;
}

/* The probe point for the return of the call ending at text[i]. */
static uint64_t woken_at(const uint8_t *text, size_t n, uint64_t text_va, size_t i)
{
	/* cmp $0x6e,%eax; then jcc rel8 or jcc rel32 */
	if (i + 4 <= n && text[i] == 0x83 && text[i + 1] == 0xf8 && text[i + 2] == 0x6e &&
	    ((text[i + 3] >= 0x70 && text[i + 3] <= 0x7f) ||
	     (i + 5 <= n && text[i + 3] == 0x0f && text[i + 4] >= 0x80 && text[i + 4] <= 0x8f)))
		return text_va + i + 3;
	return text_va + i;
}

static bool callee_saved(int r)
{
	return r == 3 || r == 5 || r >= 12;
}

/*
 * The source register of the last `mov %src,%dst` (64-bit, register to
 * register: REX.W 89 /r or REX.W 8b /r) in the 24 bytes before text[end],
 * when it is callee-saved; else -1.  dst is 2 (%rdx) or 6 (%rsi).
 */
static int arg_source(const uint8_t *text, size_t end, int dst)
{
	size_t i, lo = end > 24 ? end - 24 : 0;

	for (i = end >= 3 ? end - 3 : 0; i + 3 <= end && i >= lo; i--) {
		uint8_t rex = text[i], op = text[i + 1], m = text[i + 2];
		int reg, rm, src = -1;

		if ((rex & 0xf8) != 0x48 || (op != 0x89 && op != 0x8b) || (m & 0xc0) != 0xc0)
			goto next;
		reg = ((m >> 3) & 7) | (rex & 4 ? 8 : 0);
		rm = (m & 7) | (rex & 1 ? 8 : 0);
		if (op == 0x89 && rm == dst)
			src = reg;
		else if (op == 0x8b && reg == dst)
			src = rm;
		if (src >= 0)
			return callee_saved(src) ? src : -1;
next:
		if (!i)
			break;
	}
	return -1;
}

size_t gilsite__calls(const uint8_t *text, size_t n, uint64_t text_va, uint64_t lo, uint64_t hi,
		      uint64_t stub_va, uint64_t got_va, struct gilsite *out, size_t max)
{
	size_t i, first, last, got = 0;

	if (hi <= text_va || lo >= text_va + n || lo >= hi)
		return 0;
	first = lo > text_va ? (size_t)(lo - text_va) : 0;
	last = hi - text_va < n ? (size_t)(hi - text_va) : n;
	for (i = first; i < last; i++) {
		uint64_t va = text_va + i;
		uint8_t len = 0;

		if (text[i] == 0xe8 && stub_va && i + 5 <= n &&
		    va + 5 + (uint64_t)(int64_t)rel32(text + i + 1) == stub_va)
			len = 5;
		else if (text[i] == 0xff && got_va && i + 6 <= n && text[i + 1] == 0x15 &&
			 va + 6 + (uint64_t)(int64_t)rel32(text + i + 2) == got_va)
			len = 6;
		if (!len)
			continue;
		if (got < max)
			out[got] = (struct gilsite){ va, woken_at(text, n, text_va, i + len), len,
						     { (int8_t)arg_source(text, i, 6),
						       (int8_t)arg_source(text, i, 2) } };
		got++;
	}
	return got;
}

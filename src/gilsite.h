/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Where an interpreter's take_gil() waits on the GIL's condition variable:
 * x86-64 machine code scanned for calls to pthread_cond_timedwait, so that
 * only a contended take is trapped (no libbpf, no libelf: tested without
 * root on byte arrays).
 */
#ifndef MPX_GILSITE_H
#define MPX_GILSITE_H

#include <stddef.h>
#include <stdint.h>

/*
 * A call instruction: its address and length (5: call rel32, 6: call *GOT),
 * and where to probe its return: the instruction after it, or past a
 * `cmp $ETIMEDOUT,%eax` to the conditional jump that follows (a jump is
 * emulated by the kernel's uprobes, a compare is single-stepped out of line:
 * one trap instead of two, taken while the thread holds the GIL's mutex).
 */
struct gilsite {
	uint64_t va;
	uint64_t woken_va;
	uint8_t len;
	/* The callee-saved register (x86 number: 3 rbx, 5 rbp, 12-15 r12-r15)
	 * copied into the call's second (%rsi, the mutex) and third (%rdx, the
	 * deadline) argument by a `mov %reg,%rsi|%rdx` in the 24 bytes before
	 * it, or -1: at the return the register still holds it. */
	int8_t arg_reg[2];
};

/*
 * The PLT stub in plt (mapped at plt_va) that jumps through the GOT slot
 * got_va: `[endbr64] [bnd] jmp *got(%rip)`.  Returns its address, or 0.
 */
uint64_t gilsite__plt_stub(const uint8_t *plt, size_t n, uint64_t plt_va, uint64_t got_va);

/*
 * The calls in text (mapped at text_va) whose first byte lies in [lo, hi)
 * and that reach stub_va (`call rel32`) or go through the GOT slot got_va
 * (`call *got(%rip)`); either may be 0 for none.  Stores up to max of them
 * in out; returns how many there are (which may exceed max).
 */
size_t gilsite__calls(const uint8_t *text, size_t n, uint64_t text_va, uint64_t lo, uint64_t hi,
		      uint64_t stub_va, uint64_t got_va, struct gilsite *out, size_t max);

#endif

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Wait reasons: kallsyms parsing, symbol lookup, picking the reason. */
#include <stdio.h>
#include <string.h>

#include "testlib.h"
#include "waits.h"

static const char kallsyms[] =
	"ffffffff81000000 T _stext\n"
	"ffffffff81100000 t __schedule\n"
	"ffffffff81100800 T schedule\n"
	"ffffffff81200000 T anon_pipe_read\n"
	"ffffffff81300000 d some_data\n"
	"ffffffff81400000 T ksys_read\n"
	"ffffffff81500000 T do_syscall_64\n"
	"0000000000000000 T hidden_when_restricted extra-col\n";

/* A table from kallsyms-format text. */
static struct ksyms *load_text(const char *text, size_t len)
{
	FILE *f = fmemopen((void *)text, len, "r");
	struct ksyms *k;

	if (!ASSERT_NOT_NULL(f))
		return NULL;
	k = ksyms__load(f);
	fclose(f);
	ASSERT_NOT_NULL(k);
	return k;
}

TEST(ksyms_load_and_find)
{
	struct ksyms *k = load_text(kallsyms, sizeof(kallsyms) - 1);

	if (!k)
		return;
	ASSERT_STREQ(ksyms__find(k, 0xffffffff81200010ull), "anon_pipe_read");
	ASSERT_STREQ(ksyms__find(k, 0xffffffff81100800ull), "schedule");
	/* Data symbols are not functions: the address falls to the text before. */
	ASSERT_STREQ(ksyms__find(k, 0xffffffff81300010ull), "anon_pipe_read");
	ASSERT_STREQ(ksyms__find(k, 0xffffffff81500123ull), "do_syscall_64");
	ksyms__free(k);
}

TEST(ksyms_saved_form_round_trip_and_checks)
{
	static const char with_etext[] =
		"ffffffff81000000 T _stext\n"
		"ffffffff81200000 T anon_pipe_read\n"
		"ffffffff81500000 T do_syscall_64\n"
		"ffffffff81600000 T _etext\n";
	struct ksyms *k = load_text(with_etext, sizeof(with_etext) - 1), *k2;
	char buf[4096];
	size_t len;
	FILE *f;

	if (!k)
		return;
	/* The core kernel's text bounds the frames worth naming. */
	ASSERT_TRUE(ksyms__in_core_text(k, 0xffffffff81200010ull));
	ASSERT_FALSE(ksyms__in_core_text(k, 0xffffffffa0001000ull));
	ASSERT_FALSE(ksyms__in_core_text(k, 0xffffffff80000000ull));

	f = fmemopen(buf, sizeof(buf), "w");
	if (!ASSERT_NOT_NULL(f))
		goto out;
	ASSERT_EQ(ksyms__save(k, f, "boot-1"), 0);
	len = (size_t)ftell(f);
	fclose(f);

	/* Same key: the same answers. */
	f = fmemopen(buf, len, "r");
	k2 = ksyms__load_saved(f, "boot-1");
	fclose(f);
	if (ASSERT_NOT_NULL(k2)) {
		ASSERT_STREQ(ksyms__find(k2, 0xffffffff81200010ull), "anon_pipe_read");
		ASSERT_STREQ(ksyms__find(k2, 0xffffffff81500123ull), "do_syscall_64");
		ASSERT_FALSE(ksyms__in_core_text(k2, 0xffffffffa0001000ull));
		ksyms__free(k2);
	}
	/* Another boot's key, a truncated file, a trailing byte: refused. */
	f = fmemopen(buf, len, "r");
	ASSERT_TRUE(ksyms__load_saved(f, "boot-2") == NULL);
	fclose(f);
	f = fmemopen(buf, len - 3, "r");
	ASSERT_TRUE(ksyms__load_saved(f, "boot-1") == NULL);
	fclose(f);
	f = fmemopen(buf, len + 1, "r");
	ASSERT_TRUE(ksyms__load_saved(f, "boot-1") == NULL);
	fclose(f);
	/* A changed byte in a name: refused (the sum). */
	buf[len - 5] ^= 1;
	f = fmemopen(buf, len, "r");
	ASSERT_TRUE(ksyms__load_saved(f, "boot-1") == NULL);
	fclose(f);
	buf[len - 5] ^= 1;
	/* An unterminated last name: refused, not followed. */
	buf[len - 1] = 'x';
	f = fmemopen(buf, len, "r");
	ASSERT_TRUE(ksyms__load_saved(f, "boot-1") == NULL);
	fclose(f);
out:
	ksyms__free(k);
}

static void reason(const char *const *names, size_t n, const char *want)
{
	char out[MPX_REASON_LEN];

	waits__reason(names, n, out, sizeof(out));
	ASSERT_STREQ(out, want);
}

TEST(reason_skips_scheduler_and_names_syscall)
{
	static const char *const pipe[] = {
		"bpf_prog_x_sched_switch", "bpf_trace_run4", "__schedule", "schedule",
		"anon_pipe_read", "vfs_read", "ksys_read", "do_syscall_64",
		"entry_SYSCALL_64_after_hwframe",
	};
	static const char *const futex[] = {
		"bpf_trace_run4", "__schedule", "schedule", "futex_do_wait",
		"__futex_wait", "futex_wait", "do_futex", "__x64_sys_futex",
		"do_syscall_64",
	};
	static const char *const wait4[] = {
		"__schedule", "schedule", "do_wait", "kernel_wait4", "do_syscall_64",
	};
	static const char *const poll[] = {
		"__schedule", "schedule_hrtimeout_range_clock",
		"poll_schedule_timeout.constprop.0", "do_sys_poll", "__x64_sys_poll",
		"do_syscall_64",
	};

	reason(pipe, 9, "anon_pipe_read in read()");
	reason(futex, 9, "futex_do_wait in futex()");
	reason(wait4, 5, "do_wait in wait4()");
	reason(poll, 6, "do_sys_poll in poll()");
}

TEST(reason_page_fault_and_unknown)
{
	static const char *const fault[] = {
		"__schedule", "io_schedule", "folio_wait_bit_common", "filemap_fault",
		"__do_fault", "handle_mm_fault", "exc_page_fault", "asm_exc_page_fault",
	};
	static const char *const kthread[] = { "__schedule", "schedule", NULL };
	static const char *const suffix[] = { "__schedule", "ext4_sync_file.isra.0" };

	reason(fault, 8, "folio_wait_bit_common in page fault");
	reason(kthread, 3, "?");
	reason(suffix, 2, "ext4_sync_file");
}

TEST(reasons_table)
{
	struct mpx_reasons r = {};

	ASSERT_EQ(reasons__add(&r, 7, "do_wait in wait4()"), 0);
	ASSERT_EQ(reasons__add(&r, 7, "ignored: first name wins"), 0);
	ASSERT_EQ(reasons__add(&r, 9, "futex_do_wait in futex()"), 0);
	ASSERT_EQ(r.n, 2);
	ASSERT_STREQ(reasons__get(&r, 7), "do_wait in wait4()");
	ASSERT_STREQ(reasons__get(&r, 9), "futex_do_wait in futex()");
	ASSERT_TRUE(reasons__get(&r, 8) == NULL);
	ASSERT_TRUE(reasons__get(&r, -1) == NULL);
	ASSERT_STREQ(reasons__get(&r, MPX_REASON_BARRIER), "mpxtrace start barrier");
	reasons__free(&r);
}

/* As many reasons as a trace file may hold, ids colliding in the hash:
 * each found by its id, in the order added, the missing ones not found. */
TEST(reasons_table_many)
{
	struct mpx_reasons r = {};
	char want[32];
	int32_t i;

	for (i = 0; i < 65536; i++) {
		snprintf(want, sizeof(want), "reason %d", i * 64);
		if (!ASSERT_EQ(reasons__add(&r, i * 64, want), 0))
			break;
	}
	ASSERT_EQ(r.n, 65536);
	ASSERT_EQ(r.v[1000].id, 64000);
	for (i = 0; i < 65536; i++) {
		snprintf(want, sizeof(want), "reason %d", i * 64);
		if (!ASSERT_STREQ(reasons__get(&r, i * 64), want) ||
		    !ASSERT_TRUE(reasons__get(&r, i * 64 + 1) == NULL))
			break;
	}
	ASSERT_EQ(reasons__add(&r, 64, "ignored"), 0);
	ASSERT_EQ(r.n, 65536);
	ASSERT_STREQ(reasons__get(&r, 64), "reason 64");
	reasons__free(&r);
}

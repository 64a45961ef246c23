/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A quick look into raw BTF: the number of arguments of a tracepoint, read
 * from its btf_trace_<name> typedef, without parsing and indexing the whole
 * of vmlinux BTF (libbpf does that once more at load; once is enough).
 */
#ifndef MPX_BTFSCAN_H
#define MPX_BTFSCAN_H

#ifdef __BPF__
#error "btfscan.h is user-space only"
#endif

#include <stddef.h>

#include <stdint.h>

/*
 * For each name in tps[0..n), nargs[i] = arguments of that tracepoint
 * (not counting the hidden void *__data), or -1 when absent; ids (when not
 * NULL): ids[i] = the BTF type id of its btf_trace_<name> typedef, the
 * attach_btf_id of a tp_btf program, 0 when absent.
 * Returns 0, or -EINVAL for data that is not sane BTF.
 */
int btfscan__tp_nargs(const void *btf, size_t size, const char *const tps[],
		      int nargs[], uint32_t ids[], size_t n);

#endif /* MPX_BTFSCAN_H */

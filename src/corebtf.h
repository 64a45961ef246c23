/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* A small kernel BTF for libbpf's CO-RE relocations (corebtf.c). */
#ifndef MPX_COREBTF_H
#define MPX_COREBTF_H

#include <stddef.h>

/*
 * The path of the CO-RE BTF for the BPF object elf on this kernel
 * (kernel_key names the kernel), built and cached in /run on first use.
 * Returns 0, or -errno when there is none (then use the kernel's BTF).
 */
int corebtf__path(const void *elf, size_t elf_sz, const char *kernel_key, char *path,
		  size_t sz);
/* The same for another object, cached as /run/PREFIX-HASH.btf (each prefix
 * keeps its own newest file). */
int corebtf__path_named(const char *prefix, const void *elf, size_t elf_sz,
			const char *kernel_key, char *path, size_t sz);

#endif /* MPX_COREBTF_H */

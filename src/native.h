/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The native C workload (process and pool modes), entered as
 * `mpxtrace __workload --mode process|pool --dir DIR [...]`. */
#ifndef MPX_NATIVE_H
#define MPX_NATIVE_H

#ifdef __BPF__
#error "native.h is user-space only"
#endif

int native__main(int argc, char **argv);

#endif /* MPX_NATIVE_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef MPX_NATIVE_H
#define MPX_NATIVE_H
int native__main(int argc, char **argv);
#endif

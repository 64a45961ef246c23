// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer target for the trace-file reader (src/tracefile.c), built by
 * `make fuzz` with clang -fsanitize=fuzzer,address,undefined.
 *
 * An input that starts with "MPXTRACE" is a whole file, fed as it is: this
 * exercises the header and the zlib layer.  Any other input is taken as an
 * inflated payload (the sections) and wrapped in a valid header and zlib
 * stream first, so that mutations reach the section parser and the model
 * instead of dying at the Adler-32 check.  A file the reader accepts is
 * then analysed and reported, text and JSON, as `mpxtrace report` would.
 *
 * Seeds: tests/fuzz/corpus/ (recorded files, truncated files, payloads).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "analysis.h"
#include "output.h"
#include "run.h"
#include "tracefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

static void read_and_report(const void *buf, size_t len)
{
	struct mpx_runset rs = {};
	struct mpx_analysis an = {};
	char err[512];

	if (tracefile__read_mem(buf, len, &rs, err, sizeof(err))) {
		/* One line, always: the caller prints it as is. */
		if (!err[0] || strchr(err, '\n'))
			abort();
		return;
	}
	if (!analysis__run(&an, &rs)) {
		output__text(&an, devnull, false);
		output__text(&an, devnull, true);
		output__json(&an, devnull);
	}
	analysis__free(&an);
	runset__free(&rs);
}

/* The payload, compressed, behind a header that declares its length. */
static void wrap_payload(const uint8_t *data, size_t size)
{
	uLongf zlen = compressBound(size);
	uint8_t *file = malloc(MPX_TF_HDR_LEN + zlen);
	struct {
		char magic[8];
		uint32_t version, events_version, endian, flags;
		uint64_t payload_len;
	} h = { .version = MPX_TF_VERSION, .events_version = MPX_EVENTS_VERSION,
		.endian = MPX_TF_ENDIAN, .payload_len = size };

	if (!file)
		return;
	memcpy(h.magic, MPX_TF_MAGIC, sizeof(h.magic));
	memcpy(file, &h, sizeof(h));
	if (compress2(file + MPX_TF_HDR_LEN, &zlen, data, size, 1) == Z_OK)
		read_and_report(file, MPX_TF_HDR_LEN + zlen);
	free(file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	if (size >= 8 && !memcmp(data, MPX_TF_MAGIC, 8))
		read_and_report(data, size);
	else
		wrap_payload(data, size);
	return 0;
}

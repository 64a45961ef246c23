// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdio.h>
#include "native.h"
int native__main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "mpxtrace: native workload not built yet\n");
	return 2;
}

#!/bin/sh
# A short fuzzing run of the trace-file reader for `make check`: one test,
# "1 passed, 0 failed" when libFuzzer found nothing in FUZZ_SECONDS
# (default 20), else "0 passed, 1 failed" with the crashing input kept next
# to the binary.  Environment: FUZZ_BIN (make check sets it).
set -u
FUZZ_BIN=${FUZZ_BIN:-.output/fuzz/fuzz_tracefile}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
if [ ! -x "$FUZZ_BIN" ]; then
	echo "FAIL - fuzz_tracefile: $FUZZ_BIN not built (make $FUZZ_BIN)"
	echo "0 passed, 1 failed"
	exit 1
fi
work=$(mktemp -d)
log="$work/log"
"$FUZZ_BIN" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix="$(dirname "$FUZZ_BIN")/" "$work" tests/fuzz/corpus >"$log" 2>&1
rc=$?
runs=$(grep -E '^Done [0-9]+ runs' "$log" | sed -E 's/^Done ([0-9]+) runs.*/\1/')
if [ $rc -eq 0 ]; then
	echo "ok - fuzz_tracefile: ${runs:-?} inputs in ${FUZZ_SECONDS} s, no crash"
	echo "1 passed, 0 failed"
else
	grep -E 'ERROR|SUMMARY|artifact|Test unit written' "$log" | head -n 8
	echo "FAIL - fuzz_tracefile: libFuzzer exited $rc (log above)"
	echo "0 passed, 1 failed"
fi
rm -rf "$work"
[ $rc -eq 0 ]

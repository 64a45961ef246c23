#!/bin/sh
# Run every test suite and print one closing line: "N passed, M failed".
# Each suite prints its own "N passed, M failed" as its last line.
# Environment: MPXTRACE, MPX_WORK, UNIT_BIN, FUZZ_BIN, SAN_BIN, PYTHON (set by
# make check).
set -u
PYTHON=${PYTHON:-python3}
total_pass=0
total_fail=0
status=0

run_suite() {
	name=$1
	shift
	echo "== $name"
	out=$(mktemp)
	"$@" 2>&1 | tee "$out"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	rm -f "$out"
	if [ -z "$line" ]; then
		echo "suite $name printed no result line: counted as 1 failure"
		total_fail=$((total_fail + 1))
		status=1
		return
	fi
	p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	[ "$f" -eq 0 ] || status=1
}

run_suite unit "$UNIT_BIN"
run_suite unit-asan-ubsan "${SAN_UNIT_BIN:-.output/tests/unit_tests_san}"
run_suite valgrind sh tests/valgrind.sh
# The trace-file reader under libFuzzer, briefly (make fuzz runs longer).
run_suite fuzz env FUZZ_BIN="${FUZZ_BIN:-.output/fuzz/fuzz_tracefile}" \
	FUZZ_SECONDS="${FUZZ_CHECK_SECONDS:-20}" sh tests/fuzz/run.sh
# The overhead bench's statistics and pairing (pure, no root).
run_suite bench-stats "$PYTHON" tests/bench/test_overhead.py
for t in tests/integration/test_*.py; do
	run_suite "$(basename "$t" .py)" "$PYTHON" "$t"
done

# Again with mpxtrace under ASan+UBSan (make san), for the suites that reach
# most of its code: tracing, signals and error paths, trace files, exports,
# the Python probes (per-process audit probes, the GIL probe's setup).
# Any report, leaks included, from mpxtrace or its native workload fails the
# suite, whatever the test itself checked.  (test_modes and test_io are left
# out: a sanitized native workload is not the workload they measure, and
# LeakSanitizer adds a task to each exiting process.)
san_suite() {
	logs=$(mktemp -d)
	chmod 1777 "$logs"	# workloads may run as the sudo user
	run_suite "$(basename "$1" .py)-asan-ubsan" \
		env MPXTRACE="${SAN_BIN:-.output/san/mpxtrace}" \
		ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:exitcode=86:log_path=$logs/asan" \
		UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan" \
		"$PYTHON" "$1"
	if [ -n "$(ls -A "$logs")" ]; then
		echo "FAIL - sanitizer reports under $1:"
		cat "$logs"/*
		total_fail=$((total_fail + 1))
		status=1
	fi
	rm -rf "$logs"
}
for t in test_trace test_tracefile test_export test_robust test_python; do
	san_suite "tests/integration/$t.py"
done

echo
echo "$total_pass passed, $total_fail failed"
exit $status

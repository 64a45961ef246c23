#!/bin/sh
# `mpxtrace report` under valgrind: no invalid access, no definite leak.
# Reads a recorded trace of our own (a fresh one when root, else the fuzz
# seeds) through every reporter.  Prints "N passed, M failed".
set -u
M=${MPXTRACE:-./mpxtrace}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

if ! command -v valgrind >/dev/null; then
	echo "valgrind is not installed (make deps installs it)"
	echo "0 passed, 1 failed"
	exit 1
fi
files="tests/fuzz/corpus/python-both.mpxt tests/fuzz/corpus/pipe.mpxt"
if [ "$(id -u)" = 0 ] && "$M" record -o "$tmp/both.mpxt" --mode=both --tasks 2 \
	--task=fsync 2>/dev/null; then
	files="$tmp/both.mpxt $files"
fi
for f in $files; do
	for args in "-j" "--wide" "--perfetto $tmp/t.json --csv $tmp/csv --html $tmp/p.html"; do
		# shellcheck disable=SC2086
		if valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite "$M" report $args -o "$tmp/out" "$f" \
			>"$tmp/vg" 2>&1; then
			echo "ok - report $args $(basename "$f")"
			pass=$((pass + 1))
		else
			echo "FAIL - report $args $(basename "$f")"
			sed 's/^/    /' "$tmp/vg" | head -30
			fail=$((fail + 1))
		fi
	done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

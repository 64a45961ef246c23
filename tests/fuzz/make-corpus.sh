#!/bin/sh
# Regenerate the fuzzer's seed corpus (root): small recorded trace files,
# truncated copies of one, and inflated payloads (the fuzz target wraps an
# input that does not start with MPXTRACE in a header and a zlib stream).
# Usage: sh tests/fuzz/make-corpus.sh [MPXTRACE]
set -eu
M=${1:-./mpxtrace}
D=tests/fuzz/corpus
mkdir -p "$D"
rm -f "$D"/*
"$M" record -o "$D/true.mpxt" -- true
"$M" record -o "$D/pipe.mpxt" -- sh -c 'echo hi | cat >/dev/null; sleep 0.01'
"$M" record -o "$D/native-process.mpxt" --mode=process --runtime=native \
	--tasks 1 --task=sleep --task-ms 5
"$M" record -o "$D/python-both.mpxt" --mode=both --tasks 1 --task=sleep --task-ms 5
python3 - "$D" <<'PY'
import os, sys, zlib
d = sys.argv[1]
for name in sorted(os.listdir(d)):
    data = open(os.path.join(d, name), "rb").read()
    base = name[:-len(".mpxt")]
    open(os.path.join(d, base + ".payload"), "wb").write(zlib.decompress(data[32:]))
    if base == "pipe":
        for cut in (7, 31, 33, 64, len(data) // 2, len(data) - 1):
            open(os.path.join(d, "%s-cut%d.mpxt" % (base, cut)), "wb").write(data[:cut])
PY
chmod 0644 "$D"/*
ls -l "$D"

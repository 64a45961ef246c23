#!/bin/sh
# Regenerate the fuzzer's seed corpus (root): small recorded trace files,
# truncated copies of one, their inflated payloads and their events as "EV"
# inputs (see tests/fuzz/fuzz_tracefile.c for the three kinds of input).
# Rerun it whenever include/events.h or the trace-file format changes.
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
"$M" record -o "$D/python-usdt.mpxt" -- /usr/bin/python3 -c 'import json, gc; gc.collect()'
python3 - "$D" <<'PY'
import os, struct, sys, zlib
d = sys.argv[1]

# Offsets of tid/pid fields per record type (include/events.h).
TIDS = {1: (64, 68, 72, 76, 92), 2: (24, 28, 32, 36), 3: (16, 20, 24, 28),
        4: (16, 20, 24), 5: (136, 140), 6: (16, 20), 7: (48, 52, 56, 60),
        8: (72, 76), 9: (16, 20), 10: (24, 28), 11: (24, 28)}


def sections(payload):
    off = 0
    while off < len(payload):
        tag, _, ln = struct.unpack_from("<4sIQ", payload, off)
        yield tag, payload[off + 16:off + 16 + ln]
        off += 16 + ln


def ev_seed(payload):
    """The first run's records as an "EV" input of the fuzz target: one
    type byte, then the record; tids renamed so that the root folds onto
    the harness's root, times made relative to the run's t0."""
    root = t0 = None
    out = bytearray(b"EV\0")
    for tag, body in sections(payload):
        if tag == b"RUN " and root is None:
            # Skip the fixed fields and three strings to the seed.
            off = 13
            for _ in range(3):
                (ln,) = struct.unpack_from("<I", body, off)
                off += 4 + (0 if ln == 0xffffffff else ln)
            off += 4 + 1 + 4 + 1 + 6 * 8 + 1 + 8 + 1
            root = struct.unpack_from("<I", body, off)[0]
            (ln,) = struct.unpack_from("<I", body, off + 12)
            t0 = struct.unpack_from("<Q", body, off + 16 + (0 if ln == 0xffffffff else ln))[0]
        if tag == b"EVTS" and root is not None:
            names = {0: 0, root: 8}
            (n,) = struct.unpack_from("<Q", body, 0)
            off = 8
            for _ in range(n):
                ts, typ, cpu, size = struct.unpack_from("<QHHI", body, off)
                rec = bytearray(body[off:off + size])
                off += size
                for f in TIDS[typ]:
                    (tid,) = struct.unpack_from("<I", rec, f)
                    names.setdefault(tid, 8 + len(names) - 1)
                    struct.pack_into("<I", rec, f, names[tid])
                struct.pack_into("<Q", rec, 0, max(0, ts - t0 + 1000))
                if typ == 1:
                    (clk,) = struct.unpack_from("<Q", rec, 56)
                    q, _, w = struct.unpack_from("<QQQ", rec, 96)
                    struct.pack_into("<Q", rec, 96, clk - q if q and clk > q else 0)
                    struct.pack_into("<Q", rec, 112, ts - w if w else 0)
                if typ == 2:
                    (w,) = struct.unpack_from("<Q", rec, 16)
                    struct.pack_into("<Q", rec, 16, ts - w if w else 0)
                if typ == 11:
                    (s0,) = struct.unpack_from("<Q", rec, 16)
                    struct.pack_into("<Q", rec, 16, ts - s0)
                if typ == 7:
                    s0, s1 = struct.unpack_from("<QQ", rec, 16)
                    struct.pack_into("<QQ", rec, 16, ts - s0, ts - s1 if s1 else 0)
                out += bytes([typ - 1]) + rec
            return bytes(out)
    return None


for name in sorted(os.listdir(d)):
    data = open(os.path.join(d, name), "rb").read()
    base = name[:-len(".mpxt")]
    payload = zlib.decompress(data[32:])
    open(os.path.join(d, base + ".payload"), "wb").write(payload)
    ev = ev_seed(payload)
    if ev:
        open(os.path.join(d, base + ".ev"), "wb").write(ev)
    if base == "pipe":
        for cut in (7, 31, 33, 64, len(data) // 2, len(data) - 1):
            open(os.path.join(d, "%s-cut%d.mpxt" % (base, cut)), "wb").write(data[:cut])
PY
chmod 0644 "$D"/*
ls -l "$D"

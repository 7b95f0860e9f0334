#!/usr/bin/env python3
"""Edits a lazy-run session file and fixes its checksum, as a forged or
corrupted-then-rehashed file would look (lazy-run-session.test).

    edit_session.py IN OUT (count N | cached-flag V)

count N: the header's token count; cached-flag V: layer 0's first cached flag.
The layout is runtime/Session.cpp's.
"""
import struct
import sys

M64 = 0xFFFFFFFFFFFFFFFF
P1, P2, P3, P4, P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def _round(acc, word):
    return (_rotl((acc + word * P2) & M64, 31) * P1) & M64


def xxh64(data, seed=0):
    """xxHash's XXH64 (runtime/Session.cpp's Xxh64: a session's checksum)."""
    n, p = len(data), 0
    if n >= 32:
        v = [(seed + P1 + P2) & M64, (seed + P2) & M64, seed, (seed - P1) & M64]
        while p + 32 <= n:
            for i in range(4):
                v[i] = _round(v[i], int.from_bytes(data[p + 8 * i:p + 8 * i + 8], "little"))
            p += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & M64
        for lane in v:
            h = (((h ^ _round(0, lane)) * P1) + P4) & M64
    else:
        h = (seed + P5) & M64
    h = (h + n) & M64
    while p + 8 <= n:
        h = (_rotl(h ^ _round(0, int.from_bytes(data[p:p + 8], "little")), 27) * P1 + P4) & M64
        p += 8
    if p + 4 <= n:
        h = (_rotl(h ^ ((int.from_bytes(data[p:p + 4], "little") * P1) & M64), 23) * P2 + P3) & M64
        p += 4
    while p < n:
        h = (_rotl(h ^ ((data[p] * P5) & M64), 11) * P1) & M64
        p += 1
    h ^= h >> 33
    h = (h * P2) & M64
    h ^= h >> 29
    h = (h * P3) & M64
    return h ^ (h >> 32)


src, dst, what, value = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
data = bytearray(open(src, "rb").read()[:-8])  # without the checksum
assert data[:8] == b"LAZYCSS2", "not a session file"
n = struct.unpack_from("<q", data, 48)[0]
if what == "count":
    struct.pack_into("<q", data, 48, value)
elif what == "cached-flag":
    logits = struct.unpack_from("<q", data, 56 + 4 * n)[0]
    note = struct.unpack_from("<Q", data, 56 + 4 * n + 8 + 4 * logits)[0]
    data[56 + 4 * n + 8 + 4 * logits + 8 + note] = value
else:
    sys.exit(f"unknown edit {what}")
open(dst, "wb").write(bytes(data) + struct.pack("<Q", xxh64(bytes(data))))

#!/usr/bin/env python3
"""Edits a lazy-run session file and fixes its checksum, as a forged or
corrupted-then-rehashed file would look (lazy-run-session.test).

    edit_session.py IN OUT (count N | cached-flag V | sampler 0)

count N: the header's token count; cached-flag V: layer 0's first cached flag;
sampler: the conversation note's sampler state replaced by text that is none.
The layout is runtime/Session.cpp's.
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xxh64 import xxh64  # noqa: E402


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
elif what == "sampler":
    logits = struct.unpack_from("<q", data, 56 + 4 * n)[0]
    at = 56 + 4 * n + 8 + 4 * logits
    size = struct.unpack_from("<Q", data, at)[0]
    note = json.loads(data[at + 8:at + 8 + size])
    note["sampler"] = "not a random state"
    text = json.dumps(note).encode()
    data[at:at + 8 + size] = struct.pack("<Q", len(text)) + text
else:
    sys.exit(f"unknown edit {what}")
open(dst, "wb").write(bytes(data) + struct.pack("<Q", xxh64(bytes(data))))

#!/usr/bin/env python3
"""Writes the seed session files of the session fuzzer (test/fuzz/SessionFixture.h).

An independent writer of the format documented in runtime/Session.cpp: the
unit tests (test/unit/SessionTest.cpp) check that the C++ reader restores
every seed as its name says, so the two cannot drift apart unnoticed.

    python3 test/fuzz/seeds/session/make_seeds.py   (writes next to itself)
"""
import os
import struct
import sys

IDENTITY = 0x6C617A7973657373  # sessionFixtureModel().identity
LAYERS, KV_DIM, VOCAB, AUX_HIDDEN = 2, 4, 4, 3
PROMPT = [10, 11, 12, 13, 14]  # sessionFixturePrompt()
ELEMENT_BYTES = {0: 4, 1: 2, 2: 2}  # kv_type: f32, bf16, f16


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "tools", "Inputs"))
from xxh64 import xxh64  # noqa: E402 (test/tools/Inputs/xxh64.py)


def session(tokens, kv_type=0, logits=None, cached=None, aux=None, note=b""):
    """cached[l]: the positions layer l holds; aux[l]: the positions whose
    Aux Cache row layer l saved (None: no Aux Cache)."""
    n = len(tokens)
    row = KV_DIM * ELEMENT_BYTES[kv_type]
    out = bytearray(b"LAZYCSS2")
    out += struct.pack("<Q", IDENTITY)
    out += struct.pack("<5q", LAYERS, KV_DIM, kv_type, ELEMENT_BYTES[kv_type], n)
    out += struct.pack(f"<{n}i", *tokens)
    logits = logits or []
    out += struct.pack("<q", len(logits)) + struct.pack(f"<{len(logits)}f", *logits)
    out += struct.pack("<Q", len(note)) + note
    for l in range(LAYERS):
        held = cached[l] if cached else range(n)
        out += bytes(1 if p in held else 0 for p in range(n))
        for kv in (0, 1):  # K rows, then V rows
            for p in range(n):
                if p in held:
                    out += bytes((kv * 64 + l * 16 + p + i) % 256 for i in range(row))
        saved = aux[l] if aux else None
        if not saved:
            out += struct.pack("<q", 0)
            continue
        out += struct.pack("<q", AUX_HIDDEN)
        out += bytes(1 if p in saved else 0 for p in range(n))
        for p in range(n):
            if p in saved:
                out += struct.pack(f"<{AUX_HIDDEN}f", *(l + p / 10 + i for i in range(AUX_HIDDEN)))
    out += struct.pack("<Q", xxh64(bytes(out)))
    return bytes(out)


SEEDS = {
    # The prompt with its logits: restored whole (5 positions).
    "whole-5.ses": session(PROMPT, logits=[0.5, -1.0, 2.0, 0.0]),
    # A longer conversation sharing 4 tokens: the prefix short of the
    # prompt's last token (4), LazyLLM's state with it: layer 1 holds fewer
    # positions, the others wait in layer 0's Aux Cache.
    "prefix-4-pruned.ses": session(PROMPT[:4] + [20, 21], cached=[range(6), [0, 3, 5]],
                                   aux=[[1, 2, 4], None]),
    # bf16 and f16 caches.
    "prefix-2-bf16.ses": session(PROMPT[:2] + [30], kv_type=1),
    "prefix-3-f16.ses": session(PROMPT[:3], kv_type=2, aux=[[0], [2]]),
    # The writer's note (lazy-run: a conversation) comes back as written.
    "prefix-3-note.ses": session(PROMPT[:3], note=b"a conversation"),
    # Nothing in common: restored empty.
    "none-0.ses": session([7, 8]),
}

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    for name, data in SEEDS.items():
        with open(os.path.join(here, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")

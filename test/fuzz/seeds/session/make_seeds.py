#!/usr/bin/env python3
"""Writes the seed session files of the session fuzzer (test/fuzz/SessionFixture.h).

An independent writer of the format documented in runtime/Session.cpp: the
unit tests (test/unit/SessionTest.cpp) check that the C++ reader restores
every seed as its name says, so the two cannot drift apart unnoticed.

    python3 test/fuzz/seeds/session/make_seeds.py   (writes next to itself)
"""
import os
import struct

IDENTITY = 0x6C617A7973657373  # sessionFixtureModel().identity
LAYERS, KV_DIM, VOCAB, AUX_HIDDEN = 2, 4, 4, 3
PROMPT = [10, 11, 12, 13, 14]  # sessionFixturePrompt()
ELEMENT_BYTES = {0: 4, 1: 2, 2: 2}  # kv_type: f32, bf16, f16


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

#!/usr/bin/env python3
"""Writes a GGUF with only the first N transformer blocks of a Llama-family GGUF.

The real SmolLM2-135M-Instruct GGUF (98 MB) does not fit the GPU machine's
64 MiB carry; its embeddings, final norm, tokenizer and first N blocks do. The
tensors kept are byte-for-byte the original ones (real weights, same quantized
blocks), `<arch>.block_count` becomes N, and everything else is copied. Used by
bench/gpu/prepare.sh to check GPU against CPU logits on real weights; stdlib only.

    python3 gguf_truncate.py IN.gguf OUT.gguf --blocks 8
"""
import argparse
import struct
import sys

# GGUF value types: fixed sizes; 8 = string, 9 = array.
FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
# ggml tensor types used by llama.cpp's GGUFs: (block elements, block bytes).
BLOCKS = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24),
          8: (32, 34), 9: (32, 36), 10: (256, 84), 11: (256, 110), 12: (256, 144),
          13: (256, 176), 14: (256, 210), 15: (256, 292), 30: (1, 2)}


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, n):
        if self.at + n > len(self.data):
            sys.exit("gguf_truncate: the file ends inside its header")
        out = self.data[self.at:self.at + n]
        self.at += n
        return out

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def string(self):
        return self.take(self.u64()).decode("utf-8")

    def skip_value(self, vtype):
        if vtype in FIXED:
            self.take(FIXED[vtype])
        elif vtype == 8:
            self.take(self.u64())
        elif vtype == 9:
            etype, count = self.u32(), self.u64()
            for _ in range(count):
                self.skip_value(etype)
        else:
            sys.exit(f"gguf_truncate: unknown metadata value type {vtype}")


def pack_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--blocks", type=int, required=True, help="transformer blocks to keep")
    args = ap.parse_args()
    data = open(args.input, "rb").read()
    r = Reader(data)
    if r.take(4) != b"GGUF":
        sys.exit(f"gguf_truncate: {args.input} is not a GGUF file")
    version = r.u32()
    if version not in (2, 3):
        sys.exit(f"gguf_truncate: GGUF version {version} is not supported")
    n_tensors, n_kv = r.u64(), r.u64()

    kvs, arch, alignment, blocks_key = [], None, 32, None
    for _ in range(n_kv):
        start = r.at
        key = r.string()
        vtype = r.u32()
        value_at = r.at
        r.skip_value(vtype)
        raw = data[start:r.at]
        if key == "general.architecture":
            arch = Reader(data[value_at:r.at]).string()
        elif key == "general.alignment":
            alignment = struct.unpack("<I", data[value_at:value_at + 4])[0]
        kvs.append((key, vtype, raw))
    if arch is None:
        sys.exit("gguf_truncate: no general.architecture")
    blocks_key = f"{arch}.block_count"
    out_kvs, found = [], False
    for key, vtype, raw in kvs:
        if key == blocks_key:
            found = True
            if vtype != 4:
                sys.exit(f"gguf_truncate: {blocks_key} is not a uint32")
            total = struct.unpack("<I", raw[-4:])[0]
            if not 1 <= args.blocks <= total:
                sys.exit(f"gguf_truncate: --blocks must be in [1, {total}]")
            raw = raw[:-4] + struct.pack("<I", args.blocks)
        out_kvs.append(raw)
    if not found:
        sys.exit(f"gguf_truncate: no {blocks_key}")

    tensors = []
    for _ in range(n_tensors):
        name = r.string()
        dims = [r.u64() for _ in range(r.u32())]
        ttype, offset = r.u32(), r.u64()
        tensors.append((name, dims, ttype, offset))
    data_start = (r.at + alignment - 1) // alignment * alignment

    def nbytes(dims, ttype):
        if ttype not in BLOCKS:
            sys.exit(f"gguf_truncate: unknown tensor type {ttype}")
        count = 1
        for d in dims:
            count *= d
        elems, size = BLOCKS[ttype]
        return count // elems * size

    def keep(name):
        if not name.startswith("blk."):
            return True
        return int(name.split(".")[1]) < args.blocks

    kept = [t for t in tensors if keep(t[0])]
    infos, chunks, offset = b"", [], 0
    for name, dims, ttype, old in kept:
        size = nbytes(dims, ttype)
        if data_start + old + size > len(data):
            sys.exit(f"gguf_truncate: tensor {name} lies past the end of the file")
        infos += pack_string(name) + struct.pack("<I", len(dims))
        infos += b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", ttype, offset)
        pad = (-size) % alignment
        chunks.append(data[data_start + old:data_start + old + size] + b"\0" * pad)
        offset += size + pad
    header = b"GGUF" + struct.pack("<IQQ", version, len(kept), len(out_kvs))
    header += b"".join(out_kvs) + infos
    header += b"\0" * ((-len(header)) % alignment)
    with open(args.output, "wb") as f:
        f.write(header)
        for c in chunks:
            f.write(c)
    print(f"gguf_truncate: {args.output}: {len(kept)} of {len(tensors)} tensors "
          f"({args.blocks} blocks), {len(header) + offset} bytes")


if __name__ == "__main__":
    main()

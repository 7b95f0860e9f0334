#!/usr/bin/env python3
"""gpt-oss's layers, MXFP4 experts: lazyc vs llama.cpp, same GGUF, same machine, one run.

    python3 bench/gptoss_vs_llamacpp.py [--shape mini|20b] [--tokens 512 2048 4096]
                                        [--decode 32] [--threads 2] [--schedule default]

The model: a GGUF of arch gpt-oss with random weights in gpt-oss-mini's shape
(synthetic:gpt-oss-mini: 12 layers, hidden 768, 12/4 heads of 64, 16 experts
of 768 rows, 4 per token, attention sinks, biases, the window of 128 in every
other layer) written here with the gguf package: the experts' matrices as
MXFP4 blocks (gpt-oss's own format, random codes under the exponent 2^-8),
the rest bf16, tiny-llama-hf's 600-token vocabulary (the logits are not what
this measures). Token ids are random. --shape 20b: gpt-oss-20b's whole
shape (24 layers, hidden 2880, 64/8 heads, 32 experts, its 201,088-token
vocabulary: the tokenizer's 600 tokens, then unused ones), 13.8 GB written
tensor by tensor; bench/results/gptoss-20b.json.

lazyc: `lazy-compile --dtype bf16` (the MXFP4 experts kept as they are; the
bf16 KV cache), plus a LazyLLM variant with --schedule (default: `default`,
and --reuse-bias 4, which keeps decode free of revivals on a mixture of
experts: see the README), timed by `lazy-run --json` with 512-token prefill
batches (a pruned model prefills in one step). llama.cpp: llama-cpp-python
(bench/.venv, built from source for this CPU on first use:
prefill_vs_llamacpp.py's), `Llama.eval` of the same ids with n_batch 512, then
one-token evals, its default f16 KV cache. Both use 2 threads. Prints a table
and writes bench/results/gptoss.json.
"""
import argparse

from vs_llamacpp import VOCAB_CODE, compare

MAKE_GGUF = VOCAB_CODE + r"""
import json, sys
import numpy as np
from gguf import GGMLQuantizationType, GGUFWriter
path, tokenizer, shape = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
L, H, HEADS, KV, D, E, K, F, WINDOW, VOCAB = (shape[k] for k in (
    "layers", "hidden", "heads", "kv_heads", "head_dim", "experts", "top_k", "ffn", "window",
    "vocab"))
rng = np.random.default_rng(7)
bf16, mx = GGMLQuantizationType.BF16, GGMLQuantizationType.MXFP4
def matrix(*shape, scale=0.02):
    values = (rng.standard_normal(shape, dtype=np.float32) * np.float32(scale))
    return (values.view(np.uint32) >> 16).astype(np.uint16)  # bf16 bits (truncated)
def mxfp4(rows, cols):  # random codes under the exponent 2^-8 (E8M0 120)
    blocks = rng.integers(0, 256, (E, rows, cols // 32, 17), dtype=np.uint8)
    blocks[..., 0] = 120
    return blocks.reshape(E, rows, cols // 32 * 17)
tokens, types, merges = vocabulary(tokenizer, VOCAB)
w = GGUFWriter(path, "gpt-oss")
w.add_name("gpt-oss-random")
w.add_context_length(16384); w.add_embedding_length(H); w.add_block_count(L)
w.add_feed_forward_length(F); w.add_head_count(HEADS); w.add_head_count_kv(KV)
w.add_key_length(D); w.add_value_length(D); w.add_rope_freq_base(150000.0)
w.add_layer_norm_rms_eps(1e-5); w.add_sliding_window(WINDOW)
w.add_expert_count(E); w.add_expert_used_count(K); w.add_expert_feed_forward_length(F)
w.add_tokenizer_model("gpt2"); w.add_tokenizer_pre("smollm"); w.add_token_list(tokens)
w.add_token_types(types)
w.add_token_merges(merges)
w.add_bos_token_id(1); w.add_eos_token_id(2)
# The tensors, described first and generated one at a time as they are written
# (gpt-oss-20b's shape is 13.8 GB): (name, make, raw type).
def zeros(*shape):
    return lambda: np.zeros(shape, np.float32)
def ones(n):
    return lambda: np.ones(n, np.float32)
tensors = [("token_embd.weight", lambda: matrix(VOCAB, H), bf16),
           ("output_norm.weight", ones(H), None),
           ("output.weight", lambda: matrix(VOCAB, H), bf16)]
for l in range(L):
    p = f"blk.{l}."
    tensors += [(p + "attn_norm.weight", ones(H), None),
                (p + "post_attention_norm.weight", ones(H), None)]
    for name, rows in (("attn_q", HEADS * D), ("attn_k", KV * D), ("attn_v", KV * D)):
        tensors += [(p + name + ".weight", lambda rows=rows: matrix(rows, H), bf16),
                    (p + name + ".bias", zeros(rows), None)]
    tensors += [(p + "attn_output.weight", lambda: matrix(H, HEADS * D), bf16),
                (p + "attn_output.bias", zeros(H), None),
                (p + "attn_sinks.weight", zeros(HEADS), None),
                (p + "ffn_gate_inp.weight", lambda: matrix(E, H), bf16),
                (p + "ffn_gate_inp.bias", zeros(E), None)]
    for name, rows, cols in (("ffn_gate_exps", F, H), ("ffn_up_exps", F, H),
                             ("ffn_down_exps", H, F)):
        tensors += [(p + name + ".weight", lambda rows=rows, cols=cols: mxfp4(rows, cols), mx),
                    (p + name + ".bias", zeros(E, rows), None)]
for name, make, raw in tensors:
    if raw is None:  # small f32 vectors: made now
        t = make()
        w.add_tensor_info(name, t.shape, t.dtype, t.nbytes)
        continue
    if raw == mx:
        rows, cols = (H, F) if "down" in name else (F, H)
        shape_ = (E, rows, cols // 32 * 17)
        w.add_tensor_info(name, shape_, np.dtype(np.uint8), int(np.prod(shape_)), raw_dtype=mx)
        continue
    kind = name.split(".")[-2]
    rows = {"token_embd": VOCAB, "output": VOCAB, "attn_q": HEADS * D, "attn_k": KV * D,
            "attn_v": KV * D, "attn_output": H, "ffn_gate_inp": E}[kind]
    cols = HEADS * D if kind == "attn_output" else H
    w.add_tensor_info(name, (rows, cols), np.dtype(np.uint16), rows * cols * 2, raw_dtype=bf16)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_ti_data_to_file()
for name, make, raw in tensors:
    w.write_tensor_data(make())
w.close()
"""
SHAPES = {  # synthetic:gpt-oss-mini's and gpt-oss-20b's (the real model's vocabulary)
    "mini": dict(layers=12, hidden=768, heads=12, kv_heads=4, head_dim=64, experts=16, top_k=4,
                 ffn=768, window=128, vocab=600),
    "20b": dict(layers=24, hidden=2880, heads=64, kv_heads=8, head_dim=64, experts=32, top_k=4,
                ffn=2880, window=128, vocab=201088),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=SHAPES, default="mini",
                    help="gpt-oss-mini's layers, or gpt-oss-20b's whole shape (13.8 GB)")
    ap.add_argument("--tokens", type=int, nargs="+", default=None,
                    help="prompt lengths (default: 512 2048 4096; 20b: 512)")
    ap.add_argument("--decode", type=int, default=None, help="decode steps (32; 20b: 16)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--schedule", default="default",
                    help="the LazyLLM variant's schedule (with --reuse-bias 4)")
    args = ap.parse_args()
    big = args.shape == "20b"
    args.tokens = args.tokens or ([512] if big else [512, 2048, 4096])
    args.decode = args.decode or (16 if big else 32)
    compare(args, f"gpt-oss-{args.shape}", MAKE_GGUF, SHAPES[args.shape],
            f"gpt-oss-{args.shape}'s shape, random weights, MXFP4 experts, bf16 otherwise, "
            f"{args.threads} threads, prefill batch 512, decode {args.decode} tokens",
            "gptoss.json" if not big else "gptoss-20b.json")


if __name__ == "__main__":
    main()

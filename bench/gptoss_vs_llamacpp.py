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
import json
import os
import random
import subprocess
import sys
import tempfile

from prefill_vs_llamacpp import BUILD, LLAMA_SCRIPT, RESULTS, ROOT, ensure_llama_cpp

TOKENIZER = os.path.join(ROOT, "test", "fixtures", "tiny-llama-hf", "tokenizer.json")

MAKE_GGUF = r"""
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
tok = json.load(open(tokenizer))
vocab = tok["model"]["vocab"]
added = {a["id"]: a["content"] for a in tok["added_tokens"]}
n = max(list(vocab.values()) + list(added)) + 1
tokens, types = [""] * n, [1] * n
for text, i in vocab.items():
    tokens[i] = text
for i, text in added.items():
    tokens[i], types[i] = text, 3
# A vocabulary of the shape's size: the tokenizer's, then unused tokens.
tokens += [f"<unused{i}>" for i in range(n, VOCAB)]
types += [5] * (VOCAB - n)
w = GGUFWriter(path, "gpt-oss")
w.add_name("gpt-oss-random")
w.add_context_length(16384); w.add_embedding_length(H); w.add_block_count(L)
w.add_feed_forward_length(F); w.add_head_count(HEADS); w.add_head_count_kv(KV)
w.add_key_length(D); w.add_value_length(D); w.add_rope_freq_base(150000.0)
w.add_layer_norm_rms_eps(1e-5); w.add_sliding_window(WINDOW)
w.add_expert_count(E); w.add_expert_used_count(K); w.add_expert_feed_forward_length(F)
w.add_tokenizer_model("gpt2"); w.add_tokenizer_pre("smollm"); w.add_token_list(tokens)
w.add_token_types(types)
w.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]])
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
    python = ensure_llama_cpp()
    if subprocess.run([python, "-c", "import gguf"], stderr=subprocess.DEVNULL).returncode:
        subprocess.check_call([python, "-m", "pip", "install", "-q", "gguf"])
    ctx = max(args.tokens) + args.decode + 8
    os.makedirs(RESULTS, exist_ok=True)
    rng = random.Random(11)
    prompts = {str(n): [rng.randrange(3, 600) for _ in range(n)] for n in args.tokens}
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, f"gpt-oss-{args.shape}.gguf")
        print(f"writing the random gpt-oss-{args.shape} GGUF...", flush=True)
        subprocess.check_call([python, "-c", MAKE_GGUF, model, TOKENIZER,
                               json.dumps(SHAPES[args.shape])])
        variants = {"dense": [], "lazy": [f"--schedule={args.schedule}", "--reuse-bias=4"]}
        compiled = {}
        for name, flags in variants.items():
            compiled[name] = os.path.join(tmp, f"{name}.so")
            subprocess.check_call([os.path.join(BUILD, "bin", "lazy-compile"), model, "--ctx",
                                   str(ctx), "--dtype", "bf16", "-o", compiled[name]] + flags)
        lazyc = {name: {} for name in variants}
        for n, ids in prompts.items():
            ids_file = os.path.join(tmp, f"prompt-{n}.ids")
            open(ids_file, "w").write(" ".join(map(str, ids)))
            for name in variants:
                out = subprocess.check_output(
                    [os.path.join(BUILD, "bin", "lazy-run"), compiled[name], "-m", model, "--ids",
                     ids_file, "-n", str(args.decode + 1), "--json", "--ignore-eos"],
                    stderr=subprocess.DEVNULL)
                lazyc[name][n] = json.loads(out)
        proc = subprocess.run([python, "-c", LLAMA_SCRIPT, model, str(ctx), str(args.threads),
                               str(args.decode)], input=json.dumps(prompts),
                              capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit("llama.cpp run failed:\n" + proc.stderr[-3000:])
        llama = json.loads(proc.stdout)

    print(f"\ngpt-oss-{args.shape}'s shape, random weights, MXFP4 experts, bf16 otherwise, "
          f"{args.threads} threads, prefill batch 512, decode {args.decode} tokens")
    print(f"{'prompt':>7} | {'llama.cpp TTFT ms':>17} | {'decode tok/s':>12} | "
          f"{'lazyc TTFT ms':>13} | {'speedup':>7} | {'decode tok/s':>12} | "
          f"{'lazyc LazyLLM TTFT ms':>21} | {'speedup':>7} | {'decode tok/s':>12}")
    rows = []
    for n in prompts:
        b, d, z = llama[n], lazyc["dense"][n], lazyc["lazy"][n]
        rows.append({"prompt_tokens": int(n), "llamacpp_ttft_ms": b["ttft_ms"],
                     "llamacpp_decode_tokens_per_s": b["decode_tokens_per_s"],
                     "lazyc_ttft_ms": d["ttft_ms"],
                     "lazyc_decode_tokens_per_s": d["decode_tokens_per_s"],
                     "lazyllm_ttft_ms": z["ttft_ms"],
                     "lazyllm_decode_tokens_per_s": z["decode_tokens_per_s"],
                     "lazyllm_computed_share": z.get("computed_share")})
        print(f"{n:>7} | {b['ttft_ms']:>17.0f} | {b['decode_tokens_per_s']:>12.1f} | "
              f"{d['ttft_ms']:>13.0f} | {b['ttft_ms'] / d['ttft_ms']:>6.2f}x | "
              f"{d['decode_tokens_per_s']:>12.1f} | {z['ttft_ms']:>21.0f} | "
              f"{b['ttft_ms'] / z['ttft_ms']:>6.2f}x | {z['decode_tokens_per_s']:>12.1f}")
    print("speedup = llama.cpp TTFT / lazyc TTFT")
    result = {"machine": os.uname().nodename, "threads": args.threads, "shape": args.shape,
              "llama_cpp_python": llama.get("version"), "schedule": args.schedule, "rows": rows}
    path = os.path.join(RESULTS, "gptoss.json" if not big else "gptoss-20b.json")
    json.dump(result, open(path, "w"), indent=2)
    print("wrote", path)


if __name__ == "__main__":
    main()

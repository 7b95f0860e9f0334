#!/usr/bin/env python3
"""Prefill and decode throughput: lazyc vs llama.cpp, same GGUF, same machine, one run.

    python3 bench/prefill_vs_llamacpp.py [--tokens 512 2048 4096] [--decode 64] [--threads 2]
                                         [--dtypes f32 q8_0 q8_0+kv16]

lazyc: compiles the model with lazy-compile once per weight type (--dtype:
f32 = the GGUF's blocks widened; q8_0 = every matrix as Q8_0 blocks, read as
they are by the GEMMs; bf16; a "+kv16" / "+kvbf16" / "+kv32" suffix adds
--kv-cache=f16 / bf16 / f32: lazy-compile's default is bf16 with bf16 or q8_0 weights,
else f32), context 4096 +
decode, and times `lazy-run --json`
(TTFT = prefill of the prompt, in 512-token batches; decode tokens/s).
llama.cpp: llama-cpp-python (installed into bench/.venv by this script on
first use, built from source for this CPU), `Llama.eval` of the same token ids
with n_batch 512 for prefill, then one-token evals for decode. Both use 2
threads. Prints a table and writes bench/results/prefill.json.

The prompts are the GPL-3 text Debian ships, cut to the exact token counts.
Achieved GFLOP/s counts 2 * params * tokens for the GEMMs plus the causal
attention (2 * 2 * layers * hidden * tokens^2 / 2).
"""
import argparse
import json
import os
import subprocess
import sys
import time

KV_CACHES = {"kv16": "f16", "kvbf16": "bf16", "kv32": "f32"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
BUILD = os.path.join(ROOT, "build")
VENV = os.environ.get("LAZYC_BENCH_VENV", os.path.join(ROOT, "bench", ".venv"))
RESULTS = os.path.join(ROOT, "bench", "results")

# SmolLM2-135M: 30 layers, hidden 576, 9/3 heads of 64, FFN 1536, vocab 49152.
LAYERS, HIDDEN, KV, FFN = 30, 576, 192, 1536
LAYER_PARAMS = HIDDEN * HIDDEN * 2 + HIDDEN * KV * 2 + 3 * HIDDEN * FFN


def flops(tokens):
    gemm = 2 * LAYERS * LAYER_PARAMS * tokens + 2 * HIDDEN * 49152  # + last-row logits
    attention = 2 * 2 * LAYERS * HIDDEN * tokens * (tokens + 1) / 2
    return gemm + attention


def ensure_llama_cpp():
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    try:
        subprocess.check_call([python, "-c", "import llama_cpp"], stderr=subprocess.DEVNULL)
    except subprocess.CalledProcessError:
        print("installing llama-cpp-python into bench/.venv (builds llama.cpp; minutes)...",
              flush=True)
        env = dict(os.environ, CMAKE_ARGS="-DGGML_NATIVE=ON")
        subprocess.check_call([python, "-m", "pip", "install", "-q", "llama-cpp-python"], env=env)
    return python


LLAMA_SCRIPT = r"""
import json, sys, time
import numpy as np
from llama_cpp import Llama
model, n_ctx, threads, decode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
warmup = len(sys.argv) > 5 and sys.argv[5] == "warmup"  # an untimed eval of each prompt first
prompts = json.loads(sys.stdin.read())
llm = Llama(model_path=model, n_ctx=n_ctx, n_batch=512, n_ubatch=512, n_threads=threads,
            n_threads_batch=threads, verbose=False)
out = {"version": __import__("llama_cpp").__version__}
for label, ids in prompts.items():
    if warmup:
        llm.reset()
        llm.eval(ids)
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(ids)
    t1 = time.perf_counter()
    last = lambda: int(np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm._n_vocab,)).argmax())
    tok = last()
    t2 = time.perf_counter()
    for _ in range(decode):
        llm.eval([tok])
        tok = last()
    t3 = time.perf_counter()
    out[label] = {"ttft_ms": (t1 - t0) * 1000, "decode_tokens_per_s": decode / (t3 - t2)}
print(json.dumps(out))
"""


def tokenize_exact(n):
    """Token ids of the first n tokens of the GPL-3 text (our tokenizer matches
    Hugging Face's exactly; see the tokenizer fixtures)."""
    text = open("/usr/share/common-licenses/GPL-3", encoding="utf-8").read() * 3
    ids = subprocess.check_output([os.path.join(BUILD, "bin", "lazy-tokenize"), MODEL],
                                  input=text.encode()).split()
    return [int(i) for i in ids[:n]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, nargs="+", default=[512, 2048, 4096])
    ap.add_argument("--decode", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtypes", nargs="+", default=["f32", "q8_0", "q8_0+kv16"],
                    choices=[w + kv for w in ("f32", "bf16", "q8_0")
                             for kv in ("", "+kv16", "+kvbf16", "+kv32")],
                    help="lazyc weight types to time (+kv16 / +kvbf16 / +kv32: with an f16 / "
                         "bf16 / f32 KV cache; default: bf16 for bf16 and q8_0 weights, else f32)")
    args = ap.parse_args()
    ctx = max(args.tokens) + args.decode + 8
    os.makedirs(RESULTS, exist_ok=True)
    compiled = {}
    for dtype in args.dtypes:
        compiled[dtype] = os.path.join(BUILD, "bench", f"smollm2-{ctx}-{dtype}.so")
        os.makedirs(os.path.dirname(compiled[dtype]), exist_ok=True)
        weights, _, kv = dtype.partition("+")
        subprocess.check_call([os.path.join(BUILD, "bin", "lazy-compile"), MODEL, "--ctx",
                               str(ctx), "--dtype", weights, "-o", compiled[dtype]] +
                              ([f"--kv-cache={KV_CACHES[kv]}"] if kv else []))
    prompts = {str(n): tokenize_exact(n) for n in args.tokens}

    lazyc = {dtype: {} for dtype in args.dtypes}
    for n, ids in prompts.items():
        ids_file = os.path.join(RESULTS, f"prompt-{n}.ids")
        open(ids_file, "w").write(" ".join(map(str, ids)))
        for dtype in args.dtypes:
            out = subprocess.check_output(
                [os.path.join(BUILD, "bin", "lazy-run"), compiled[dtype], "-m", MODEL, "--ids",
                 ids_file, "-n", str(args.decode), "--json", "--ignore-eos"],
                stderr=subprocess.DEVNULL)
            lazyc[dtype][n] = json.loads(out)
    python = ensure_llama_cpp()
    proc = subprocess.run([python, "-c", LLAMA_SCRIPT, MODEL, str(ctx), str(args.threads),
                           str(args.decode)], input=json.dumps(prompts), capture_output=True,
                          text=True)
    if proc.returncode != 0:
        sys.exit("llama.cpp run failed:\n" + proc.stderr[-3000:])
    llama = json.loads(proc.stdout)

    print(f"\nSmolLM2-135M-Instruct Q4_1, {args.threads} threads, prefill batch 512, "
          f"decode {args.decode} tokens after the prompt")
    header = f"{'prompt':>7} | {'llama.cpp TTFT ms':>17} | {'decode tok/s':>12}"
    for dtype in args.dtypes:
        header += (f" | {'lazyc ' + dtype + ' TTFT ms':>19} | {'GFLOP/s':>7} | {'speedup':>7}"
                   f" | {'decode tok/s':>12}")
    print(header)
    rows = []
    for n in prompts:
        ntok, b = int(n), llama[n]
        row = {"prompt_tokens": ntok, "llamacpp_ttft_ms": b["ttft_ms"],
               "llamacpp_prefill_tokens_per_s": ntok / b["ttft_ms"] * 1000,
               "llamacpp_decode_tokens_per_s": b["decode_tokens_per_s"], "lazyc": {}}
        line = f"{ntok:>7} | {b['ttft_ms']:>17.0f} | {b['decode_tokens_per_s']:>12.1f}"
        for dtype in args.dtypes:
            a = lazyc[dtype][n]
            row["lazyc"][dtype] = {
                "ttft_ms": a["ttft_ms"], "prefill_tokens_per_s": ntok / a["ttft_ms"] * 1000,
                "gflops": flops(ntok) / (a["ttft_ms"] / 1000) / 1e9,
                "decode_tokens_per_s": a["decode_tokens_per_s"]}
            line += (f" | {a['ttft_ms']:>19.0f} | {row['lazyc'][dtype]['gflops']:>7.0f} | "
                     f"{b['ttft_ms'] / a['ttft_ms']:>6.2f}x | {a['decode_tokens_per_s']:>12.1f}")
        rows.append(row)
        print(line)
    print("speedup = llama.cpp TTFT / lazyc TTFT; decode = tokens/s of the decode steps "
          "after that prompt")
    result = {"machine": os.uname().nodename, "threads": args.threads,
              "llama_cpp_python": llama.get("version"), "dtypes": args.dtypes, "rows": rows}
    path = os.path.join(RESULTS, "prefill.json")
    json.dump(result, open(path, "w"), indent=2)
    print("wrote", path)


if __name__ == "__main__":
    main()

"""What the random-weights comparisons with llama.cpp share (gptoss_vs_llamacpp.py,
moe_vs_llamacpp.py, starcoder2_vs_llamacpp.py): the vocabulary their GGUFs carry,
timing lazyc's dense and LazyLLM variants and llama.cpp on the same ids, the table
and JSON of the result, and the command line of a model-shape comparison."""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

from prefill_vs_llamacpp import BUILD, LLAMA_SCRIPT, RESULTS, ROOT, ensure_llama_cpp

TOKENIZER = os.path.join(ROOT, "test", "fixtures", "tiny-llama-hf", "tokenizer.json")

# Python for the GGUF writers (run in bench/.venv): `tokens, types, merges` of
# tiny-llama-hf's tokenizer, padded with unused tokens to VOCAB.
VOCAB_CODE = r"""
def vocabulary(tokenizer, VOCAB):
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
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    return tokens, types, merges
"""

# ... and the model-shape GGUF writers' (moe_vs_llamacpp.py, starcoder2_vs_llamacpp.py):
# the tensors, described first and generated one at a time as they are written.
WRITER_CODE = VOCAB_CODE + r"""
import numpy as np
from gguf import GGMLQuantizationType
BF16 = GGMLQuantizationType.BF16
def write_tensors(w, tensors, f32_values):
    # tensors: (name, numpy shape, kind); kind BF16: random normal x 0.02 as bf16
    # bits (truncated), else f32_values(kind, shape, rng). Closes `w`.
    rng = np.random.default_rng(7)
    for name, shape, kind in tensors:
        count = int(np.prod(shape))
        if kind == BF16:
            w.add_tensor_info(name, shape, np.dtype(np.uint16), count * 2, raw_dtype=BF16)
        else:
            w.add_tensor_info(name, shape, np.dtype(np.float32), count * 4)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_ti_data_to_file()
    for name, shape, kind in tensors:
        if kind == BF16:
            values = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
            w.write_tensor_data((values.view(np.uint32) >> 16).astype(np.uint16))
        else:
            w.write_tensor_data(f32_values(kind, shape, rng))
    w.close()
"""


def llama_python():
    """bench/.venv's Python with llama-cpp-python and gguf."""
    python = ensure_llama_cpp()
    if subprocess.run([python, "-c", "import gguf"], stderr=subprocess.DEVNULL).returncode:
        subprocess.check_call([python, "-m", "pip", "install", "-q", "gguf"])
    return python


def time_both(python, model, tmp, ctx, prompts, variants, decode, threads, verbose=False,
              warmup=False):
    """Compiles `variants` ({name: lazy-compile flags}, bf16 weights) of `model`, runs
    each on every prompt ({label: ids}) and llama.cpp on the same ids: ({name:
    {label: lazy-run's JSON}}, llama.cpp's {label: times}). `warmup`: each side
    prefills each prompt once untimed first (first-touch costs out of the TTFT)."""
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
            if verbose:
                print(f"lazyc {name}, {n} tokens...", flush=True)
            out = subprocess.check_output(
                [os.path.join(BUILD, "bin", "lazy-run"), compiled[name], "-m", model, "--ids",
                 ids_file, "-n", str(decode + 1), "--json", "--ignore-eos"] +
                (["--warmup", "1"] if warmup else []),
                stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
            lazyc[name][n] = json.loads(out)
    if verbose:
        print("llama.cpp...", flush=True)
    proc = subprocess.run([python, "-c", LLAMA_SCRIPT, model, str(ctx), str(threads),
                           str(decode)] + (["warmup"] if warmup else []),
                          input=json.dumps(prompts), capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit("llama.cpp run failed:\n" + proc.stderr[-3000:])
    return lazyc, json.loads(proc.stdout)


def report(title, prompts, lazyc, llama, meta, filename):
    """Prints the table (llama.cpp, lazyc dense, lazyc LazyLLM) and writes
    bench/results/`filename` with `meta`."""
    print("\n" + title)
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
    os.makedirs(RESULTS, exist_ok=True)
    result = {"machine": os.uname().nodename, **meta,
              "llama_cpp_python": llama.get("version"), "rows": rows}
    path = os.path.join(RESULTS, filename)
    json.dump(result, open(path, "w"), indent=2)
    print("wrote", path)


def compare(args, name, make_gguf, shape, title, filename, warmup=False):
    """The whole comparison: random prompts of args.tokens ids, the GGUF that
    `make_gguf` (Python run in bench/.venv: argv model path, tokenizer, shape
    JSON) writes, lazyc dense and LazyLLM (args.schedule, --reuse-bias 4)
    against llama.cpp (time_both), the table and bench/results/`filename`."""
    python = llama_python()
    ctx = max(args.tokens) + args.decode + 8
    rng = random.Random(11)
    prompts = {str(n): [rng.randrange(3, 600) for _ in range(n)] for n in args.tokens}
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, f"{name}.gguf")
        print(f"writing the random {name} GGUF...", flush=True)
        subprocess.check_call([python, "-c", make_gguf, model, TOKENIZER, json.dumps(shape)])
        # (Its pages written back now, not during the first timed run: a 6 GB
        # file's writeback made starcoder2-3b's first lazyc run 13% slower to
        # prefill and its decode half as fast.)
        os.sync()
        variants = {"dense": [], "lazy": [f"--schedule={args.schedule}", "--reuse-bias=4"]}
        lazyc, llama = time_both(python, model, tmp, ctx, prompts, variants, args.decode,
                                 args.threads, verbose=warmup, warmup=warmup)
    report(title, prompts, lazyc, llama,
           {"threads": args.threads, "shape": args.shape, "schedule": args.schedule}, filename)


def shape_main(make_gguf, shapes, arch, filename, decode):
    """The command line of a comparison on a model's shape (moe_vs_llamacpp.py,
    starcoder2_vs_llamacpp.py): --shape (one of `shapes`, the first by default),
    --tokens, --decode (`decode` by default), --threads, --schedule; the GGUF of
    `arch` that `make_gguf` writes; the result in bench/results/`filename`
    (formatted with the shape's name)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=shapes, default=next(iter(shapes)))
    ap.add_argument("--tokens", type=int, nargs="+", default=[512, 2048])
    ap.add_argument("--decode", type=int, default=decode)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--schedule", default="default",
                    help="the LazyLLM variant's schedule (with --reuse-bias 4)")
    args = ap.parse_args()
    compare(args, args.shape, make_gguf, shapes[args.shape],
            f"{args.shape}'s shape ({arch}), random bf16 weights, {args.threads} threads, "
            f"prefill batch 512, decode {args.decode} tokens", filename.format(args.shape),
            warmup=True)

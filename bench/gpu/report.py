#!/usr/bin/env python3
"""The table of bench/gpu/run.sh: lazyc vs the PyTorch anchor, per prompt length.

Reads OUT/lazyc-{dense,lazy}-N.json (lazy-run --json) and OUT/anchor.json
(torch_prefill.py --out); writes OUT/gpu-bench.json and prints the table.
Standard library only."""
import json, os, sys

out, lengths = sys.argv[1], [int(x) for x in sys.argv[2].split(",")]
# Other attention kernels (LAZYC_CUDA_ATTENTION values) or compiled variants
# (prepare.sh's "bf16all") measured in the same call.
ATTENTION = {"auto", "flash", "cudnn", "simple", "wide"}
variants = sys.argv[3:]
anchor = {}
try:
    anchor = json.load(open(os.path.join(out, "anchor.json")))
except Exception as e:  # the anchor may have failed: report ours anyway
    print(f"(no anchor.json: {e})")
rows, result = [], {"lengths": lengths, "rows": []}
def ours(v, n, variant=""):
    try:
        suffix = f"-{variant}" if variant else ""
        return json.load(open(os.path.join(out, f"lazyc-{v}-{n}{suffix}.json")))
    except Exception:
        return None
print(f"{'tokens':>7} | {'torch dense':>11} {'lazyc dense':>11} {'ratio':>6} | "
      f"{'torch pruned':>12} {'lazyc pruned':>12} {'ratio':>6} | {'share':>6}")
for n in lengths:
    a = anchor.get("out", {}).get(str(n), {})
    d, l = ours("dense", n), ours("lazy", n)
    td, tl = a.get("dense_ms"), a.get("lazy_ms")
    ld = d["ttft_ms"] if d else None
    ll = l["ttft_ms"] if l else None
    f = lambda x: f"{x:.1f}" if isinstance(x, (int, float)) else "-"
    r = lambda x, y: f"{x / y:.2f}" if x and y else "-"
    print(f"{n:>7} | {f(td):>11} {f(ld):>11} {r(ld, td):>6} | {f(tl):>12} {f(ll):>12} "
          f"{r(ll, tl):>6} | {(l or {}).get('computed_share', 0):.3f}")
    result["rows"].append(dict(tokens=n, torch_dense_ms=td, lazyc_dense_ms=ld, torch_pruned_ms=tl,
                               lazyc_pruned_ms=ll, lazyc_share=(l or {}).get("computed_share"),
                               torch_share=a.get("frac_computed"),
                               lazyc_dense_runs=(d or {}).get("ttft_ms_runs"),
                               lazyc_pruned_runs=(l or {}).get("ttft_ms_runs")))
for variant in variants:
    kind = ("attention" if variant in ATTENTION else
            "gemm" if variant == "autotune" else "build")
    for n in lengths:
        a = anchor.get("out", {}).get(str(n), {})
        d, l = ours("dense", n, variant), ours("lazy", n, variant)
        td, tl = a.get("dense_ms"), a.get("lazy_ms")
        ld, ll = (d or {}).get("ttft_ms"), (l or {}).get("ttft_ms")
        f = lambda x: f"{x:.1f}" if isinstance(x, (int, float)) else "-"
        r = lambda x, y: f"{x / y:.2f}" if x and y else "-"
        print(f"{n:>7} | {f(td):>11} {f(ld):>11} {r(ld, td):>6} | {f(tl):>12} {f(ll):>12} "
              f"{r(ll, tl):>6} | {kind}={variant}")
        result["rows"].append({kind: variant, "tokens": n, "torch_dense_ms": td,
                               "lazyc_dense_ms": ld, "torch_pruned_ms": tl, "lazyc_pruned_ms": ll})
# Decode (run.sh's decode section, when it ran): median step after the first length's prompt.
def load(name):
    try:
        return json.load(open(os.path.join(out, name)))
    except Exception:
        return None
dec = {k: load(f) for k, f in (("torch_dense", "torch-decode.json"),
                               ("lazyc_dense", "decode-dense-auto.json"),
                               ("lazyc_pruned", "decode-lazy-auto.json"),
                               ("lazyc_dense_no_key_splits", "decode-dense-0.json"),
                               ("lazyc_pruned_no_key_splits", "decode-lazy-0.json"))}
if any(dec.values()):
    step = {k: (v or {}).get("decode_step_ms_median") for k, v in dec.items()}
    f = lambda x: f"{x:.2f}" if isinstance(x, (int, float)) else "-"
    print(f"decode, median step after {lengths[0]} tokens (ms): " +
          ", ".join(f"{k.replace('_', ' ')} {f(v)}" for k, v in step.items()))
    result["decode_step_ms_median"] = step
result["anchor_ceilings"] = anchor.get("res")
if d:
    result["device"] = d.get("device")
    result["attention"] = d.get("attention")  # e.g. "auto; cuDNN 9.19.0; attention calls: ..."
    print(f"device: {d.get('device')}; attention (last dense run): {d.get('attention')}")
print("ratio = lazyc / torch (done when: dense <= 1.00, pruned <= 0.80); times are TTFT medians in ms")
json.dump(result, open(os.path.join(out, "gpu-bench.json"), "w"), indent=1)

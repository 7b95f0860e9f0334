# Decode-step reference for bench/gpu/run.sh: the Llama-2-7B shape of
# ../shared/anchors/torch_prefill.py (random bf16 weights, plain PyTorch eager,
# SDPA) with a preallocated KV cache: prefill a random prompt, then greedy
# decode steps, each timed on the host around the step and the argmax (what
# lazy-run's decode_step_ms_median measures: a step's logits reach the host
# before the next token is chosen). A yardstick run on the GPU machine in the
# same call as lazyc, not part of the product.
#   python3 torch_decode.py [--prompt 4096] [--steps 32] [--out FILE.json]
import argparse, json, math, time
import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--prompt", type=int, default=4096)
ap.add_argument("--steps", type=int, default=32)
ap.add_argument("--out", default=None)
args = ap.parse_args()
torch.manual_seed(0)
dev, dt = "cuda", torch.bfloat16
H, L, NH, HD, FF, V = 4096, 32, 32, 128, 11008, 32000
CTX = args.prompt + args.steps + 1


def w(*s):
    return torch.randn(*s, device=dev, dtype=dt) * 0.02


layers = [dict(wqkv=w(3 * H, H), wo=w(H, H), wgu=w(2 * FF, H), wd=w(H, FF),
               n1=torch.ones(H, device=dev, dtype=dt), n2=torch.ones(H, device=dev, dtype=dt))
          for _ in range(L)]
emb, lm, nf = w(V, H), w(V, H), torch.ones(H, device=dev, dtype=dt)
kcache = torch.zeros(L, NH, CTX, HD, device=dev, dtype=dt)
vcache = torch.zeros_like(kcache)
inv = 1.0 / (10000 ** (torch.arange(0, HD, 2, device=dev).float() / HD))


def rms(x, g):
    return (x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + 1e-5)).to(dt) * g


def rope(x, pos):  # x: [n, nh, hd]
    f = pos.float()[:, None] * inv[None, :]
    c, s = f.cos()[:, None, :].to(dt), f.sin()[:, None, :].to(dt)
    x1, x2 = x[..., : HD // 2], x[..., HD // 2:]
    return torch.cat([x1 * c - x2 * s, x1 * s + x2 * c], -1)


def forward(ids, start):
    """Rows ids at positions start.. ; K/V into the cache; the last row's logits."""
    n = ids.numel()
    pos = torch.arange(start, start + n, device=dev)
    x = emb[ids]
    for li, p in enumerate(layers):
        q, k, v = (rms(x, p["n1"]) @ p["wqkv"].t()).view(n, 3, NH, HD).unbind(1)
        q, k = rope(q, pos), rope(k, pos)
        kcache[li, :, start:start + n] = k.transpose(0, 1)
        vcache[li, :, start:start + n] = v.transpose(0, 1)
        keys, values = kcache[li:li + 1, :, :start + n], vcache[li:li + 1, :, :start + n]
        qh = q.transpose(0, 1).unsqueeze(0)
        # A prefill from 0 is causal; one decode row sees every cached key.
        o = F.scaled_dot_product_attention(qh, keys, values, is_causal=n > 1)
        x = x + o[0].transpose(0, 1).reshape(n, H) @ p["wo"].t()
        g, u = (rms(x, p["n2"]) @ p["wgu"].t()).chunk(2, -1)
        x = x + (F.silu(g) * u) @ p["wd"].t()
    return rms(x[-1:], nf) @ lm.t()


with torch.inference_mode():
    ids = torch.randint(0, V, (args.prompt,), device=dev)
    forward(ids, 0)  # warm-up (kernels, allocator)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    logits = forward(ids, 0)
    nxt = int(logits.argmax())
    prefill_ms = (time.perf_counter() - t0) * 1000
    steps = []
    for i in range(args.steps):
        t = time.perf_counter()
        logits = forward(torch.tensor([nxt], device=dev), args.prompt + i)
        nxt = int(logits.argmax())  # waits for the step
        steps.append((time.perf_counter() - t) * 1000)
    med = sorted(steps)[len(steps) // 2]
    out = dict(prompt=args.prompt, steps=args.steps, prefill_ms=round(prefill_ms, 1),
               decode_step_ms_median=round(med, 3), decode_tokens_per_s=round(1000 / med, 1))
    print(json.dumps(out), flush=True)
    if args.out:
        json.dump(out, open(args.out, "w"), indent=1)

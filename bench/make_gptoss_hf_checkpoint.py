#!/usr/bin/env python3
"""Writes a gpt-oss Hugging Face checkpoint with random weights, laid out as
openai/gpt-oss-20b (or -120b) publishes it, for measuring lazyc's loader at
the real size (the weights are random: the logits are not what it is for).

    python3 bench/make_gptoss_hf_checkpoint.py DIR [--shape 20b|120b|mini] [--shard-gb 5]

DIR gets config.json in the published keys (quantization_config mxfp4,
rope_scaling yarn with truncate false, layer_types alternating), sharded
model-0000K-of-0000N.safetensors with model.safetensors.index.json: the
experts' gate_up_proj (gate and up rows interleaved) and down_proj as OCP
MXFP4 `_blocks` (random codes) and `_scales` (the exponent 120: values up to
6 * 2^-7), their biases f32 — as published — and the rest bf16 (norms 1).
No tokenizer: run it on token ids (`lazy-run --ids`).

The safetensors are written by hand (header, then each tensor streamed in
pieces) so that a 13 GB checkpoint needs no more memory than a piece. Only
numpy is needed.
"""
import argparse
import json
import os
import sys

import numpy as np

SHAPES = {  # hidden, layers, heads, kv heads, experts, per token, vocab
    "20b": (2880, 24, 64, 8, 32, 4, 201088),
    "120b": (2880, 36, 64, 8, 128, 4, 201088),
    "mini": (768, 12, 12, 4, 16, 4, 201088),  # synthetic:gpt-oss-mini's layers
}
PIECE = 1 << 26  # elements generated at a time


def tensors(hidden, layers, heads, kv_heads, experts, vocab):
    """(name, dtype, shape) of every tensor, in the published names."""
    head_dim, ffn = 64, hidden
    out = [("model.embed_tokens.weight", "BF16", (vocab, hidden)),
           ("model.norm.weight", "BF16", (hidden,)),
           ("lm_head.weight", "BF16", (vocab, hidden))]
    for l in range(layers):
        p = f"model.layers.{l}."
        out += [(p + "input_layernorm.weight", "BF16", (hidden,)),
                (p + "post_attention_layernorm.weight", "BF16", (hidden,))]
        for proj, rows in (("q", heads * head_dim), ("k", kv_heads * head_dim),
                           ("v", kv_heads * head_dim)):
            out += [(p + f"self_attn.{proj}_proj.weight", "BF16", (rows, hidden)),
                    (p + f"self_attn.{proj}_proj.bias", "BF16", (rows,))]
        out += [(p + "self_attn.o_proj.weight", "BF16", (hidden, heads * head_dim)),
                (p + "self_attn.o_proj.bias", "BF16", (hidden,)),
                (p + "self_attn.sinks", "BF16", (heads,)),
                (p + "mlp.router.weight", "BF16", (experts, hidden)),
                (p + "mlp.router.bias", "BF16", (experts,))]
        e = p + "mlp.experts."
        out += [(e + "gate_up_proj_blocks", "U8", (experts, 2 * ffn, hidden // 32, 16)),
                (e + "gate_up_proj_scales", "U8", (experts, 2 * ffn, hidden // 32)),
                (e + "gate_up_proj_bias", "F32", (experts, 2 * ffn)),
                (e + "down_proj_blocks", "U8", (experts, hidden, ffn // 32, 16)),
                (e + "down_proj_scales", "U8", (experts, hidden, ffn // 32)),
                (e + "down_proj_bias", "F32", (experts, hidden))]
    return out


SIZE = {"BF16": 2, "F32": 4, "U8": 1}


def write_values(f, name, dtype, count, rng):
    for begin in range(0, count, PIECE):
        n = min(PIECE, count - begin)
        if dtype == "U8" and name.endswith("_scales"):
            f.write(np.full(n, 120, np.uint8).tobytes())
        elif dtype == "U8":
            f.write(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
        else:
            one = name.endswith("norm.weight")
            v = np.ones(n, np.float32) if one else \
                rng.standard_normal(n, dtype=np.float32) * np.float32(0.02)
            if dtype == "BF16":
                v = (v.view(np.uint32) >> 16).astype(np.uint16)
            f.write(v.tobytes())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--shape", choices=SHAPES, default="20b")
    ap.add_argument("--shard-gb", type=float, default=5.0)
    args = ap.parse_args()
    hidden, layers, heads, kv_heads, experts, per_token, vocab = SHAPES[args.shape]
    os.makedirs(args.dir, exist_ok=True)
    all_tensors = tensors(hidden, layers, heads, kv_heads, experts, vocab)
    # Shards of about --shard-gb each, in order.
    shards, current, size = [], [], 0
    for t in all_tensors:
        n = SIZE[t[1]] * int(np.prod(t[2]))
        if current and size + n > args.shard_gb * 1e9:
            shards.append(current)
            current, size = [], 0
        current.append(t)
        size += n
    shards.append(current)
    rng = np.random.default_rng(2026)
    weight_map, total = {}, 0
    for k, shard in enumerate(shards):
        file = f"model-{k + 1:05d}-of-{len(shards):05d}.safetensors"
        header, offset = {}, 0
        for name, dtype, shape in shard:
            n = SIZE[dtype] * int(np.prod(shape))
            header[name] = {"dtype": dtype, "shape": list(shape),
                            "data_offsets": [offset, offset + n]}
            offset += n
            weight_map[name] = file
        text = json.dumps(header).encode()
        text += b" " * (-len(text) % 8)
        with open(os.path.join(args.dir, file), "wb") as f:
            f.write(len(text).to_bytes(8, "little"))
            f.write(text)
            for name, dtype, shape in shard:
                write_values(f, name, dtype, int(np.prod(shape)), rng)
        total += offset
        print(f"wrote {file}: {offset / 1e9:.2f} GB", file=sys.stderr)
    with open(os.path.join(args.dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=1)
    config = {
        "architectures": ["GptOssForCausalLM"], "model_type": "gpt_oss", "attention_bias": True,
        "attention_dropout": 0.0, "eos_token_id": 200002, "experts_per_token": per_token,
        "head_dim": 64, "hidden_act": "silu", "hidden_size": hidden,
        "initial_context_length": 4096, "initializer_range": 0.02, "intermediate_size": hidden,
        "layer_types": ["sliding_attention" if l % 2 == 0 else "full_attention"
                        for l in range(layers)],
        "max_position_embeddings": 131072, "num_attention_heads": heads,
        "num_experts_per_tok": per_token, "num_hidden_layers": layers,
        "num_key_value_heads": kv_heads, "num_local_experts": experts,
        "output_router_logits": False, "pad_token_id": 199999,
        "quantization_config": {
            "modules_to_not_convert": ["model.layers.*.self_attn", "model.layers.*.mlp.router",
                                       "model.embed_tokens", "lm_head"],
            "quant_method": "mxfp4"},
        "rms_norm_eps": 1e-05,
        "rope_scaling": {"beta_fast": 32.0, "beta_slow": 1.0, "factor": 32.0,
                         "original_max_position_embeddings": 4096, "rope_type": "yarn",
                         "truncate": False},
        "rope_theta": 150000, "router_aux_loss_coef": 0.9, "sliding_window": 128,
        "swiglu_limit": 7.0, "tie_word_embeddings": False, "use_cache": True,
        "vocab_size": vocab}
    with open(os.path.join(args.dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"wrote {args.dir}: {total / 1e9:.2f} GB in {len(shards)} shards", file=sys.stderr)


if __name__ == "__main__":
    main()

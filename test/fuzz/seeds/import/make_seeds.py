#!/usr/bin/env python3
"""Writes the seed models of the import fuzzer (test/fuzz/import_fuzzer.cpp).

Tiny GGUF v3 models (1-4 blocks, embedding 32, vocabulary 16; 12-80 KB)
of each architecture the importer knows, written with struct, no packages:
llama (f32 and f16 matrices, an output.weight), llama with Llama 3.1's
rope_freqs.weight, qwen2 (Q/K/V biases, tied embeddings), qwen3 (query/key
norms, attention.key_length), smollm3 (4 blocks with f16 matrices, tied
embeddings: block 3 has no RoPE), granite (its four multipliers), olmo2
(whole-projection query/key norms, norms on the sublayers' outputs), qwen2 with
YaRN RoPE scaling, llama with Q8_0 matrices and llama with a sliding window
in its second block (attention.sliding_window_pattern, a bool array), gemma3
(norms before and after both sublayers, query/key norms; its fixed pattern
of sliding layers), phi3 with LongRoPE, and phi3 rotating 6 of each head's 8
elements (Phi-4-mini's partial rotary embeddings, tied embeddings), glm4
(Q/K/V biases, fused gate and up, norms after both sublayers, RoPE on
interleaved pairs of half of each head), llama with Mixtral's experts in its
first block (ffn_gate_inp and [experts, rows, columns] ffn_*_exps tensors; the
second block dense) and qwen3moe with experts of their own width
(expert_feed_forward_length), ernie4_5-moe with a dense first block, the
score correction bias and shared experts, gpt-oss (attention sinks, biases on
every projection, the router and the experts, MXFP4 experts, alternating
sliding layers, YaRN), qwen2moe (Q/K/V biases, a shared expert gated by
ffn_gate_inp_shexp: a vector in block 0, as older converters squeezed it, a
one-row matrix in block 1), glm4moe (a dense first block, sigmoid gating,
the selection bias, a shared expert, the MLP's input norm as
post_attention_norm), granitemoe (Granite's multipliers, experts and a
shared MLP), command-r (LayerNorms, parallel blocks: no ffn_norm, logit_scale),
cohere2 (4 blocks, the last full and without RoPE), starcoder2 (LayerNorms
with biases, biased projections, a non-gated MLP), phi2 (those in parallel
blocks, partial RoPE, the logits' bias), phi2 with a fused attn_qkv (weight
and bias) gptneox (starcoder2's with one attn_qkv, parallel blocks with
both norms: use_parallel_residual, a bool) and falcon (one attn_qkv of a
key/value head, no biases, parallel blocks with attn_norm_2 for the attention
and attn_norm for the MLP) and olmo (no norm tensors, clamp_kqv).

    python3 test/fuzz/seeds/import/make_seeds.py   (writes next to itself)
"""
import os
import struct

F32, F16, Q8_0, MXFP4 = 0, 1, 8, 39
EMB, FFN, HEADS, KV, VOCAB, CTX = 32, 64, 4, 2, 16, 128


def gguf(arch, blocks, tensors, extra=()):
    """tensors: (name, dims innermost first, type); extra: (key, u32|f32|str|bool|[bool])."""
    kvs = [("general.architecture", arch), (f"{arch}.block_count", blocks),
           (f"{arch}.embedding_length", EMB), (f"{arch}.feed_forward_length", FFN),
           (f"{arch}.attention.head_count", HEADS), (f"{arch}.attention.head_count_kv", KV),
           (f"{arch}.context_length", CTX),
           (f"{arch}.attention.layer_norm_rms_epsilon", 1e-5)] + list(extra)
    out = bytearray(b"GGUF") + struct.pack("<IQQ", 3, len(tensors), len(kvs))

    def string(s):
        b = s.encode()
        return struct.pack("<Q", len(b)) + b

    for key, value in kvs:
        out += string(key)
        if isinstance(value, str):
            out += struct.pack("<I", 8) + string(value)
        elif isinstance(value, bool):
            out += struct.pack("<IB", 7, value)
        elif isinstance(value, float):
            out += struct.pack("<If", 6, value)
        elif isinstance(value, list):  # bools
            out += struct.pack("<IIQ", 9, 7, len(value)) + bytes(int(v) for v in value)
        else:
            out += struct.pack("<II", 4, value)
    data = bytearray()
    for name, dims, kind in tensors:
        count = 1
        for d in dims:
            count *= d
        while len(data) % 32:
            data += b"\0"
        out += string(name) + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", kind, len(data))
        if name.startswith("rope_"):  # RoPE frequency divisors (rope_freqs, LongRoPE): positive
            data += b"".join(struct.pack("<f", 1 + i / 4) for i in range(count))
        elif kind == F32:
            data += b"".join(struct.pack("<f", ((i * 7) % 13 - 6) / 16) for i in range(count))
        elif kind == F16:
            data += b"".join(struct.pack("<e", ((i * 5) % 11 - 5) / 16) for i in range(count))
        elif kind == MXFP4:  # blocks of an E8M0 exponent and 32 4-bit values
            for _ in range(count // 32):
                data += bytes([126]) + bytes((i * 5) % 256 for i in range(16))
        else:  # Q8_0: blocks of an f16 scale and 32 int8
            for _ in range(count // 32):
                data += struct.pack("<e", 0.01) + bytes((i * 3) % 256 for i in range(32))
    while len(out) % 32:
        out += b"\0"
    return bytes(out + data)


def block(i, matrix=F32, head_dim=EMB // HEADS, bias=False, qk_norm=False, olmo2=False,
          gemma3=False, phi3=False, glm4=False, experts=0, expert_ffn=FFN, ernie_moe=False,
          gptoss=False, qwen2_moe=False, glm4_moe=False, granite_moe=False, cohere=False,
          starcoder2=False, phi2=False):
    p = f"blk.{i}."
    pre, post = ("post_attention_norm", "post_ffw_norm") if olmo2 else ("attn_norm", "ffn_norm")
    if gptoss or glm4_moe:  # llama.cpp's name for the MLP's input norm
        post = "post_attention_norm"
    t = [(p + pre + ".weight", [EMB], F32),
         (p + "attn_q.weight", [EMB, HEADS * head_dim], matrix),
         (p + "attn_k.weight", [EMB, KV * head_dim], matrix),
         (p + "attn_v.weight", [EMB, KV * head_dim], matrix),
         (p + "attn_output.weight", [HEADS * head_dim, EMB], matrix),
         (p + post + ".weight", [EMB], F32),
         (p + "ffn_gate.weight", [EMB, FFN], matrix),
         (p + "ffn_up.weight", [EMB, FFN], matrix),
         (p + "ffn_down.weight", [FFN, EMB], matrix)]
    if cohere:  # one norm per parallel block
        t = t[:5] + t[6:]
    if phi2:  # StarCoder2's below in parallel blocks: one norm
        t = t[:5] + t[7:] + [(p + n, [d], F32) for n, d in (
            ("attn_norm.bias", EMB), ("attn_q.bias", HEADS * head_dim),
            ("attn_k.bias", KV * head_dim), ("attn_v.bias", KV * head_dim),
            ("attn_output.bias", EMB), ("ffn_up.bias", FFN), ("ffn_down.bias", EMB))]
    if starcoder2:  # norms' and projections' biases; up and down, no gate
        t = t[:6] + t[7:] + [(p + n, [d], F32) for n, d in (
            ("attn_norm.bias", EMB), ("ffn_norm.bias", EMB), ("attn_q.bias", HEADS * head_dim),
            ("attn_k.bias", KV * head_dim), ("attn_v.bias", KV * head_dim),
            ("attn_output.bias", EMB), ("ffn_up.bias", FFN), ("ffn_down.bias", EMB))]
    if phi3:  # qkv and gate + up fused (GGUF dims: [in, out])
        t = [t[0], (p + "attn_qkv.weight", [EMB, (HEADS + 2 * KV) * head_dim], matrix), t[4],
             t[5], (p + "ffn_up.weight", [EMB, 2 * FFN], matrix), t[8]]
    if glm4:  # separate q/k/v, gate + up fused, norms after both sublayers too
        t = t[:6] + [(p + "ffn_up.weight", [EMB, 2 * FFN], matrix), t[8],
                     (p + "post_attention_norm.weight", [EMB], F32),
                     (p + "post_ffw_norm.weight", [EMB], F32)]
    if experts:  # the router and each kind of expert matrix stacked (dims innermost first)
        kind = MXFP4 if gptoss else matrix
        t = t[:6] + [(p + "ffn_gate_inp.weight", [EMB, experts], F32),
                     (p + "ffn_gate_exps.weight", [EMB, expert_ffn, experts], kind),
                     (p + "ffn_up_exps.weight", [EMB, expert_ffn, experts], kind),
                     (p + "ffn_down_exps.weight", [expert_ffn, EMB, experts], kind)]
        if gptoss:  # biases on the router, the experts and the attention's output; sinks
            t += [(p + "ffn_gate_inp.bias", [experts], F32),
                  (p + "ffn_gate_exps.bias", [expert_ffn, experts], F32),
                  (p + "ffn_up_exps.bias", [expert_ffn, experts], F32),
                  (p + "ffn_down_exps.bias", [EMB, experts], F32),
                  (p + "attn_output.bias", [EMB], F32),
                  (p + "attn_sinks.weight", [HEADS], F32)]
        if ernie_moe:  # the score correction bias and 2 shared experts as one MLP
            t += [(p + "exp_probs_b.bias", [experts], F32),
                  (p + "ffn_gate_shexp.weight", [EMB, 2 * expert_ffn], matrix),
                  (p + "ffn_up_shexp.weight", [EMB, 2 * expert_ffn], matrix),
                  (p + "ffn_down_shexp.weight", [2 * expert_ffn, EMB], matrix)]
        if glm4_moe:  # the selection bias and one shared expert
            t += [(p + "exp_probs_b.bias", [experts], F32),
                  (p + "ffn_gate_shexp.weight", [EMB, expert_ffn], matrix),
                  (p + "ffn_up_shexp.weight", [EMB, expert_ffn], matrix),
                  (p + "ffn_down_shexp.weight", [expert_ffn, EMB], matrix)]
        if granite_moe:  # a shared MLP of 48 rows
            t += [(p + "ffn_gate_shexp.weight", [EMB, 48], matrix),
                  (p + "ffn_up_shexp.weight", [EMB, 48], matrix),
                  (p + "ffn_down_shexp.weight", [48, EMB], matrix)]
        if qwen2_moe:  # a shared expert of 48 rows and its gate
            t += [(p + "ffn_gate_shexp.weight", [EMB, 48], matrix),
                  (p + "ffn_up_shexp.weight", [EMB, 48], matrix),
                  (p + "ffn_down_shexp.weight", [48, EMB], matrix),
                  (p + "ffn_gate_inp_shexp.weight", [EMB] if i == 0 else [EMB, 1], F32)]
    if bias:
        t += [(p + "attn_q.bias", [HEADS * head_dim], F32),
              (p + "attn_k.bias", [KV * head_dim], F32), (p + "attn_v.bias", [KV * head_dim], F32)]
    if qk_norm:
        t += [(p + "attn_q_norm.weight", [head_dim], F32),
              (p + "attn_k_norm.weight", [head_dim], F32)]
    if gemma3:  # norms after both sublayers too, and per-head query/key norms
        t += [(p + "post_attention_norm.weight", [EMB], F32),
              (p + "post_ffw_norm.weight", [EMB], F32),
              (p + "attn_q_norm.weight", [head_dim], F32),
              (p + "attn_k_norm.weight", [head_dim], F32)]
    if olmo2:  # over the whole projections
        t += [(p + "attn_q_norm.weight", [HEADS * head_dim], F32),
              (p + "attn_k_norm.weight", [KV * head_dim], F32)]
    return t


def model(arch, blocks, matrix=F32, tied=False, extra=(), dense=(), **kw):
    t = [("token_embd.weight", [EMB, VOCAB], matrix), ("output_norm.weight", [EMB], F32)]
    if not tied:
        t.append(("output.weight", [EMB, VOCAB], matrix))
    for i in range(blocks):
        t += block(i, matrix, **{k: v for k, v in kw.items()
                                 if i not in dense or k not in ("experts", "expert_ffn",
                                                                "ernie_moe", "gptoss")})
    return t


SEEDS = {
    "llama-f32.gguf": gguf("llama", 2, model("llama", 2)),  # 80 KB: fuzz.sh -max_len
    "llama-f16.gguf": gguf("llama", 1, model("llama", 1, F16)),
    "llama31-rope-freqs.gguf": gguf(
        "llama", 1, model("llama", 1) + [("rope_freqs.weight", [EMB // HEADS // 2], F32)]),
    "qwen2-tied.gguf": gguf("qwen2", 1, model("qwen2", 1, tied=True, bias=True),
                            [("qwen2.rope.freq_base", 1000000.0)]),
    "qwen3-key-length.gguf": gguf(
        "qwen3", 1, model("qwen3", 1, head_dim=16, qk_norm=True),
        [("qwen3.attention.key_length", 16), ("qwen3.attention.value_length", 16)]),
    "llama-q8_0.gguf": gguf("llama", 1, model("llama", 1, Q8_0)),
    "smollm3-tied.gguf": gguf("smollm3", 4, model("smollm3", 4, F16, tied=True)),  # NoPE in 3
    "granite-scales.gguf": gguf(
        "granite", 1, model("granite", 1, F16, tied=True),
        [("granite.embedding_scale", 12.0), ("granite.residual_scale", 0.22),
         ("granite.attention.scale", 0.0625), ("granite.logit_scale", 8.0)]),
    "olmo2-post-norms.gguf": gguf("olmo2", 1, model("olmo2", 1, F16, olmo2=True)),
    "qwen2-yarn.gguf": gguf(
        "qwen2", 1, model("qwen2", 1, tied=True, bias=True),
        [("qwen2.rope.scaling.type", "yarn"), ("qwen2.rope.scaling.factor", 4.0),
         ("qwen2.rope.scaling.original_context_length", 64)]),
    "llama-swa-pattern.gguf": gguf(
        "llama", 2, model("llama", 2, F16),
        [("llama.attention.sliding_window", 64),
         ("llama.attention.sliding_window_pattern", [False, True])]),
    "phi3-fused.gguf": gguf(
        "phi3", 2, model("phi3", 2, F16, phi3=True), [("phi3.attention.sliding_window", 64)]),
    "phi3-longrope.gguf": gguf(
        "phi3", 1, model("phi3", 1, F16, phi3=True)
        + [("rope_factors_long.weight", [EMB // HEADS // 2], F32),
           ("rope_factors_short.weight", [EMB // HEADS // 2], F32)],
        [("phi3.rope.scaling.original_context_length", 64),
         ("phi3.rope.scaling.attn_factor", 1.2)]),
    "phi3-partial-rope.gguf": gguf(  # Phi-4-mini's form: RoPE on 6 of each head's 8
        "phi3", 1, model("phi3", 1, F16, phi3=True, tied=True)
        + [("rope_factors_long.weight", [3], F32), ("rope_factors_short.weight", [3], F32)],
        [("phi3.rope.dimension_count", 6), ("phi3.rope.scaling.original_context_length", 64),
         ("phi3.rope.scaling.attn_factor", 1.2)]),
    "glm4-partial-interleaved.gguf": gguf(  # GLM-4: RoPE on 4 of each head's 8, interleaved
        "glm4", 1, model("glm4", 1, F16, bias=True, glm4=True),
        [("glm4.rope.dimension_count", 4)]),
    "mixtral-experts.gguf": gguf(  # 4 experts, 2 per token; block 1 dense
        "llama", 2, model("llama", 2, F16, experts=4, dense=(1,)),
        [("llama.expert_count", 4), ("llama.expert_used_count", 2)]),
    "qwen3moe-experts.gguf": gguf(  # experts of 32 rows, the dense width 64
        "qwen3moe", 1, model("qwen3moe", 1, F16, qk_norm=True, experts=4, expert_ffn=32),
        [("qwen3moe.expert_count", 4), ("qwen3moe.expert_used_count", 2),
         ("qwen3moe.expert_feed_forward_length", 32)]),
    "ernie45moe-shared-experts.gguf": gguf(  # block 0 dense; bias, shared experts in block 1
        "ernie4_5-moe", 2, model("ernie4_5-moe", 2, F16, tied=True, experts=4, expert_ffn=32,
                                 dense=(0,), ernie_moe=True),
        [("ernie4_5-moe.expert_count", 4), ("ernie4_5-moe.expert_used_count", 2),
         ("ernie4_5-moe.expert_shared_count", 2),
         ("ernie4_5-moe.expert_feed_forward_length", 32)]),
    "gptoss-sinks.gguf": gguf(  # 2 blocks: sliding, full; MXFP4 experts
        "gpt-oss", 2, model("gpt-oss", 2, F16, bias=True, experts=4, expert_ffn=32, gptoss=True),
        [("gpt-oss.expert_count", 4), ("gpt-oss.expert_used_count", 2),
         ("gpt-oss.expert_feed_forward_length", 32), ("gpt-oss.attention.sliding_window", 64),
         ("gpt-oss.rope.scaling.type", "yarn"), ("gpt-oss.rope.scaling.factor", 4.0),
         ("gpt-oss.rope.scaling.original_context_length", 32)]),
    "qwen2moe-gated-shared-expert.gguf": gguf(
        "qwen2moe", 2, model("qwen2moe", 2, F16, bias=True, experts=4, expert_ffn=32,
                             qwen2_moe=True),
        [("qwen2moe.expert_count", 4), ("qwen2moe.expert_used_count", 2),
         ("qwen2moe.expert_feed_forward_length", 32),
         ("qwen2moe.expert_shared_feed_forward_length", 48)]),
    "glm4moe-sigmoid-experts.gguf": gguf(  # block 0 dense
        "glm4moe", 2, model("glm4moe", 2, F16, tied=True, bias=True, experts=4, expert_ffn=32,
                            dense=(0,), glm4_moe=True),
        [("glm4moe.expert_count", 4), ("glm4moe.expert_used_count", 2),
         ("glm4moe.expert_feed_forward_length", 32), ("glm4moe.expert_shared_count", 1),
         ("glm4moe.leading_dense_block_count", 1), ("glm4moe.expert_gating_func", 2),
         ("glm4moe.expert_weights_scale", 2.5), ("glm4moe.rope.dimension_count", 4)]),
    "granitemoe-shared-mlp.gguf": gguf(
        "granitemoe", 1, model("granitemoe", 1, F16, tied=True, experts=4,
                               granite_moe=True),
        [("granitemoe.expert_count", 4), ("granitemoe.expert_used_count", 2),
         ("granitemoe.expert_shared_feed_forward_length", 48),
         ("granitemoe.embedding_scale", 12.0), ("granitemoe.residual_scale", 0.22),
         ("granitemoe.attention.scale", 0.0625), ("granitemoe.logit_scale", 8.0)]),
    "command-r-parallel.gguf": gguf(
        "command-r", 1, model("command-r", 1, F16, tied=True, cohere=True),
        [("command-r.attention.layer_norm_epsilon", 1e-5), ("command-r.logit_scale", 0.0625)]),
    "cohere2-nope-full-layer.gguf": gguf(  # blocks 0-2 sliding with RoPE, 3 full without
        "cohere2", 4, model("cohere2", 4, F16, tied=True, cohere=True),
        [("cohere2.attention.layer_norm_epsilon", 1e-5), ("cohere2.logit_scale", 0.25),
         ("cohere2.attention.sliding_window", 64)]),
    "starcoder2-biases.gguf": gguf(
        "starcoder2", 1, model("starcoder2", 1, F16, tied=True, starcoder2=True)
        + [("output_norm.bias", [EMB], F32)],
        [("starcoder2.attention.layer_norm_epsilon", 1e-5)]),
    "phi2-parallel-partial-rope.gguf": gguf(  # RoPE on 2 of each head's 8; the logits' bias
        "phi2", 1, model("phi2", 1, F16, phi2=True)
        + [("output_norm.bias", [EMB], F32), ("output.bias", [VOCAB], F32)],
        [("phi2.attention.layer_norm_epsilon", 1e-5), ("phi2.rope.dimension_count", 2)]),
    # Phi-2's first checkpoint's form: one attn_qkv, weight and bias.
    "phi2-fused-qkv.gguf": gguf(
        "phi2", 1, [t for t in model("phi2", 1, F16, phi2=True)
                    if not t[0].startswith(("blk.0.attn_q", "blk.0.attn_k", "blk.0.attn_v"))]
        + [("blk.0.attn_qkv.weight", [EMB, (HEADS + 2 * KV) * (EMB // HEADS)], F16),
           ("blk.0.attn_qkv.bias", [(HEADS + 2 * KV) * (EMB // HEADS)], F32),
           ("output_norm.bias", [EMB], F32), ("output.bias", [VOCAB], F32)],
        [("phi2.attention.layer_norm_epsilon", 1e-5)]),
    # GPT-NeoX: StarCoder2's tensors with one attn_qkv; both norms in a
    # parallel block.
    "gptneox-parallel-two-norms.gguf": gguf(
        "gptneox", 1, [t for t in model("gptneox", 1, F16, starcoder2=True)
                       if not t[0].startswith(("blk.0.attn_q", "blk.0.attn_k", "blk.0.attn_v"))]
        + [("blk.0.attn_qkv.weight", [EMB, (HEADS + 2 * KV) * (EMB // HEADS)], F16),
           ("blk.0.attn_qkv.bias", [(HEADS + 2 * KV) * (EMB // HEADS)], F32),
           ("output_norm.bias", [EMB], F32)],
        [("gptneox.attention.layer_norm_epsilon", 1e-5), ("gptneox.rope.dimension_count", 2),
         ("gptneox.use_parallel_residual", True)]),
    # Falcon-40B's form: attn_norm_2 (the attention's) and attn_norm (the
    # MLP's), one attn_qkv without biases, up and down.
    "falcon-two-norms.gguf": gguf(
        "falcon", 1, [t for t in model("falcon", 1, F16, starcoder2=True)
                      if not t[0].startswith(("blk.0.attn_q", "blk.0.attn_k", "blk.0.attn_v"))
                      and not t[0].endswith(("attn_output.bias", "ffn_up.bias", "ffn_down.bias"))
                      and not t[0].startswith("blk.0.ffn_norm")]
        + [("blk.0.attn_qkv.weight", [EMB, (HEADS + 2 * KV) * (EMB // HEADS)], F16),
           ("blk.0.attn_norm_2.weight", [EMB], F32), ("blk.0.attn_norm_2.bias", [EMB], F32),
           ("output_norm.bias", [EMB], F32)],
        [("falcon.attention.layer_norm_epsilon", 1e-5)]),
    # OLMo 1: llama's tensors without norms, clamp_kqv.
    "olmo-no-norm-weights.gguf": gguf(
        "olmo", 1, [t for t in model("olmo", 1, F16) if "norm" not in t[0]],
        [("olmo.attention.layer_norm_epsilon", 1e-5), ("olmo.attention.clamp_kqv", 8.0)]),
    "gemma3-sandwich-norms.gguf": gguf(
        "gemma3", 2, model("gemma3", 2, F16, tied=True, gemma3=True),
        [("gemma3.attention.sliding_window", 64)]),
}

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    for name, data in SEEDS.items():
        with open(os.path.join(here, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")

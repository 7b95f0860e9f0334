#!/usr/bin/env python3
"""A mixture-of-experts model's shape: lazyc vs llama.cpp, same GGUF, same machine, one run.

    python3 bench/moe_vs_llamacpp.py [--shape granite-1b-a400m|granite-mini]
                                     [--tokens 512 2048] [--decode 32] [--threads 2]
                                     [--schedule default]

The model: a GGUF of arch granitemoe with random weights in the shape of
granite-3.1-1b-a400m (24 layers, hidden 1024, 16/8 heads of 64, 32 experts of
512 rows, 8 per token, Granite's multipliers, tied embeddings, its 49,155-token
vocabulary: tiny-llama-hf's 600 tokens, then unused ones; 1.3B parameters,
2.7 GB in bf16), or a quick smaller one (granite-mini: 8 layers, hidden 512, 16
experts of 256, 4 per token), written here with the gguf package as llama.cpp's
converter lays it out (ffn_gate_exps / ffn_up_exps / ffn_down_exps, the router
ffn_gate_inp in f32, the rest bf16). Token ids are random: the logits are not
what this measures, the time is.

lazyc: `lazy-compile --dtype bf16` (its bf16 KV cache), plus a LazyLLM variant
with --schedule (default: `default`, with --reuse-bias 4 as for gpt-oss: decode
free of revivals on a mixture of experts), timed by `lazy-run --json` with
512-token prefill batches (a pruned model prefills in one step) after one
untimed prefill of the same prompt (--warmup 1). llama.cpp:
llama-cpp-python (bench/.venv, built from source for this CPU on first use:
prefill_vs_llamacpp.py's), `Llama.eval` of the same ids with n_batch 512 (after
one untimed eval of them), then one-token evals, its default f16 KV cache. Both use the same threads. Prints a
table and writes bench/results/moe-<shape>.json.
"""
from vs_llamacpp import WRITER_CODE, shape_main

MAKE_GGUF = WRITER_CODE + r"""
import json, sys
from gguf import GGUFWriter
path, tokenizer, shape = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
L, H, HEADS, KV, D, E, K, F, VOCAB = (shape[k] for k in (
    "layers", "hidden", "heads", "kv_heads", "head_dim", "experts", "top_k", "ffn", "vocab"))
tokens, types, merges = vocabulary(tokenizer, VOCAB)
w = GGUFWriter(path, "granitemoe")
w.add_name("granitemoe-random")
w.add_context_length(16384); w.add_embedding_length(H); w.add_block_count(L)
w.add_feed_forward_length(F); w.add_head_count(HEADS); w.add_head_count_kv(KV)
w.add_rope_freq_base(10000.0); w.add_layer_norm_rms_eps(1e-6)
w.add_expert_count(E); w.add_expert_used_count(K)
# granite-3.1-1b-a400m's multipliers (GraniteModel.set_gguf_parameters).
w.add_embedding_scale(12.0); w.add_residual_scale(0.22)
w.add_attention_scale(0.015625); w.add_logit_scale(6.0)
w.add_tokenizer_model("gpt2"); w.add_tokenizer_pre("smollm"); w.add_token_list(tokens)
w.add_token_types(types)
w.add_token_merges(merges)
w.add_bos_token_id(1); w.add_eos_token_id(2)
# The tensors (name, numpy shape, BF16, "router" or f32 ones), generated as written.
tensors = [("token_embd.weight", (VOCAB, H), BF16), ("output_norm.weight", (H,), None)]
for l in range(L):
    p = f"blk.{l}."
    tensors += [(p + "attn_norm.weight", (H,), None), (p + "ffn_norm.weight", (H,), None),
                (p + "attn_q.weight", (HEADS * D, H), BF16),
                (p + "attn_k.weight", (KV * D, H), BF16),
                (p + "attn_v.weight", (KV * D, H), BF16),
                (p + "attn_output.weight", (H, HEADS * D), BF16),
                (p + "ffn_gate_inp.weight", (E, H), "router"),
                (p + "ffn_gate_exps.weight", (E, F, H), BF16),
                (p + "ffn_up_exps.weight", (E, F, H), BF16),
                (p + "ffn_down_exps.weight", (E, H, F), BF16)]
write_tensors(w, tensors, lambda kind, shape, rng:
              # (the router large enough that each token's experts differ clearly)
              rng.standard_normal(shape, dtype=np.float32) if kind == "router"
              else np.ones(shape, np.float32))
"""
SHAPES = {  # granite-3.1-1b-a400m's (its vocabulary's size), and a quick smaller one
    "granite-1b-a400m": dict(layers=24, hidden=1024, heads=16, kv_heads=8, head_dim=64,
                             experts=32, top_k=8, ffn=512, vocab=49155),
    "granite-mini": dict(layers=8, hidden=512, heads=8, kv_heads=4, head_dim=64, experts=16,
                         top_k=4, ffn=256, vocab=600),
}


if __name__ == "__main__":
    shape_main(MAKE_GGUF, SHAPES, "granitemoe", "moe-{}.json", decode=32)

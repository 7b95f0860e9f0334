#!/usr/bin/env python3
"""A code model's shape: StarCoder2, lazyc vs llama.cpp, same GGUF, same machine, one run.

    python3 bench/starcoder2_vs_llamacpp.py [--shape starcoder2-3b|starcoder2-mini]
                                            [--tokens 512 2048] [--decode 16] [--threads 2]
                                            [--schedule default]

The model: a GGUF of arch starcoder2 with random weights in the shape of
bigcode/starcoder2-3b (30 layers, hidden 3072, 24 query heads and 2 key/value
heads of 128, a GELU MLP of 12,288 rows, LayerNorms and projections with
biases, tied embeddings, its 49,152-token vocabulary: tiny-llama-hf's 600
tokens, then unused ones; 3.0B parameters, 6.1 GB in bf16), or a quick smaller
one (starcoder2-mini: 8 layers, hidden 512), written here with the gguf
package as llama.cpp's converter lays it out (attn_norm / ffn_norm /
output_norm with their biases, attn_q/k/v/output and ffn_up / ffn_down with
theirs). llama.cpp's starcoder2 has no sliding window and neither has the
file: both attend to every position. Token ids are random: the logits are not
what this measures, the time is. Repository-level code completion is the
long-prompt case StarCoder2 is used for.

lazyc: `lazy-compile --dtype bf16` (its bf16 KV cache), plus a LazyLLM variant
with --schedule (default: `default`, with --reuse-bias 4), timed by `lazy-run
--json` after one untimed prefill of the same prompt (--warmup 1). llama.cpp:
llama-cpp-python (bench/.venv, built from source for this CPU on first use:
prefill_vs_llamacpp.py's), `Llama.eval` of the same ids with n_batch 512 (after
one untimed eval of them), then one-token evals, its default f16 KV cache.
Both use the same threads. Prints a table and writes
bench/results/<shape>.json.
"""
from vs_llamacpp import WRITER_CODE, shape_main

MAKE_GGUF = WRITER_CODE + r"""
import json, sys
from gguf import GGUFWriter
path, tokenizer, shape = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
L, H, HEADS, KV, D, F, VOCAB = (shape[k] for k in (
    "layers", "hidden", "heads", "kv_heads", "head_dim", "ffn", "vocab"))
tokens, types, merges = vocabulary(tokenizer, VOCAB)
w = GGUFWriter(path, "starcoder2")
w.add_name("starcoder2-random")
w.add_context_length(16384); w.add_embedding_length(H); w.add_block_count(L)
w.add_feed_forward_length(F); w.add_head_count(HEADS); w.add_head_count_kv(KV)
w.add_rope_freq_base(999999.4420358813); w.add_layer_norm_eps(1e-5)
w.add_tokenizer_model("gpt2"); w.add_tokenizer_pre("starcoder"); w.add_token_list(tokens)
w.add_token_types(types)
w.add_token_merges(merges)
w.add_bos_token_id(1); w.add_eos_token_id(2)
# The tensors (name, numpy shape, BF16, "ones" or "bias"), generated as they are written.
tensors = [("token_embd.weight", (VOCAB, H), BF16), ("output_norm.weight", (H,), "ones"),
           ("output_norm.bias", (H,), "bias")]
for l in range(L):
    p = f"blk.{l}."
    for norm in ("attn_norm", "ffn_norm"):
        tensors += [(p + norm + ".weight", (H,), "ones"), (p + norm + ".bias", (H,), "bias")]
    for proj, rows, cols in (("attn_q", HEADS * D, H), ("attn_k", KV * D, H),
                             ("attn_v", KV * D, H), ("attn_output", H, HEADS * D),
                             ("ffn_up", F, H), ("ffn_down", H, F)):
        tensors += [(p + proj + ".weight", (rows, cols), BF16),
                    (p + proj + ".bias", (rows,), "bias")]
write_tensors(w, tensors, lambda kind, shape, rng:
              np.ones(shape, np.float32) if kind == "ones"
              else rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02))
"""
SHAPES = {  # bigcode/starcoder2-3b's (its vocabulary's size), and a quick smaller one
    "starcoder2-3b": dict(layers=30, hidden=3072, heads=24, kv_heads=2, head_dim=128,
                          ffn=12288, vocab=49152),
    "starcoder2-mini": dict(layers=8, hidden=512, heads=8, kv_heads=2, head_dim=64, ffn=2048,
                            vocab=600),
}


if __name__ == "__main__":
    shape_main(MAKE_GGUF, SHAPES, "starcoder2", "{}.json", decode=16)

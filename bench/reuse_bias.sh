#!/usr/bin/env bash
# The reuse bias (lazy-compile --reuse-bias, ours) on SmolLM2-135M-Instruct:
# the window configuration (`quarters`, window 32 / pool 11) at biases 1 (plain
# LazyLLM), 4, 16, 64 and 256, and the paper's last-token scores (`default`)
# at 1 and 64, in one lazy-bench process: pass key at 10 depths of a 4k
# haystack, agreement with dense at 2k (3 prompts), and prompt -> 64th token
# timed alternately with dense (revived token-layers). The bias changes no
# prefill, so TTFT is not re-measured here (bench/lazy_bench.sh).
# Writes bench/results/reuse-bias-<length>.{txt,json}.
#
#   bench/reuse_bias.sh            # prompt of 2,048 tokens for the generate task
#   bench/reuse_bias.sh 4096       # ... of 4,096
set -euo pipefail

LENGTH="${1:-2048}"
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" reuse_bias

echo "== compiling the dense model and the pruned ones"
compile_dense
for bias in 1 4 16 64 256; do
  add_variant "quarters-w32p11-b$bias" --schedule=quarters --score-window=32 --score-pool=11 \
    --reuse-bias="$bias"
done
for bias in 1 64; do
  add_variant "default-b$bias" --schedule=default --reuse-bias="$bias"
done
"$BIN/lazy-bench" -m "$MODEL" --dense "$WORK/dense.so" "${ARGS[@]}" \
  --tasks needle,agree,generate --depths 0.05,0.15,0.25,0.35,0.45,0.55,0.65,0.75,0.85,0.95 \
  --agree-prompts 3 --generate-length "$LENGTH" --repeat 2 \
  --json "$OUT/reuse-bias-$LENGTH.json" | tee "$OUT/reuse-bias-$LENGTH.txt"

#!/usr/bin/env bash
# Follow-up questions (lazy-run --follow-up) on SmolLM2-135M-Instruct: what
# dynamic pruning buys over static pruning once a conversation goes on. A
# haystack of real text hides a pass key and, 45% of the prompt further on
# (wrapping around), a secret word; the prompt asks for the key, then a
# follow-up question in the same context asks for the word (lazy-bench task
# followup, 10 depths). LazyLLM selects again for the question and revives
# what the first prefill skipped; static pruning keeps its first selection.
# Variants: `quarters` with window 32 / pool 11 (lazyllm, static, lazyllm with
# --reuse-bias=64) and the paper's `default` (lazyllm, static), one process.
# Writes bench/results/follow-up-<length>.{txt,json}.
#
#   bench/follow_up.sh             # haystack of 4,096 tokens
#   bench/follow_up.sh 8000        # ... of 8,000 (the task needs 64 positions more)
set -euo pipefail

LENGTH="${1:-4096}"
PREFIX=fu-
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" follow_up

echo "== compiling the dense model and the pruned ones"
compile_dense
W=(--schedule=quarters --score-window=32 --score-pool=11)
add_variant quarters-w32p11 "${W[@]}"
add_variant quarters-w32p11-static "${W[@]}" --policy=static
add_variant quarters-w32p11-b64 "${W[@]}" --reuse-bias=64
add_variant default --schedule=default
add_variant default-static --schedule=default --policy=static
"$BIN/lazy-bench" -m "$MODEL" --dense "$WORK/fu-dense.so" "${ARGS[@]}" --tasks followup \
  --needle-length "$LENGTH" --depths 0.05,0.15,0.25,0.35,0.45,0.55,0.65,0.75,0.85,0.95 \
  --json "$OUT/follow-up-$LENGTH.json" | tee "$OUT/follow-up-$LENGTH.txt"

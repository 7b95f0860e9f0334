#!/usr/bin/env bash
# Dense vs LazyLLM on SmolLM2-135M-Instruct: compiles the dense model and one
# pruned model per (schedule, policy), then runs lazy-bench over all of them in
# one process: TTFT at 1k/2k/4k/8k tokens, pass-key retrieval at 4k tokens,
# agreement with the dense model (first token, greedy continuation, KL) at 2k,
# prompt -> 64th token, and a follow-up question in the same context (4k).
# Writes bench/results/lazy-bench.{txt,json} and the SVG plots there.
#
#   bench/lazy_bench.sh                  # the full run (~40 min on 2 cores)
#   LAZYC_BENCH_QUICK=1 bench/lazy_bench.sh   # 1k/2k only, 3 depths, 1 prompt
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh" lazy_bench

# name=schedule: the shipped presets (default: late and steep; fast: the public
# 70/50/30%; quarters: 40% after each quarter of the depth, the schedule the
# observation-window scores reach 2x with).
SCHEDULES=(default=default quarters=quarters)
POLICIES=(lazyllm random static)
# Attention scores over the last 32 query rows, max-pooled over 11 keys (ours).
WINDOW=(--score-window=32 --score-pool=11)
compile() { # name schedule policy [lazy-compile options]
  add_variant "$1" --schedule="$2" --policy="$3" "${@:4}"
}
echo "== compiling the dense model and the pruned ones"
compile_dense
for entry in "${SCHEDULES[@]}"; do
  for policy in "${POLICIES[@]}"; do
    compile "${entry%%=*}-$policy" "${entry#*=}" "$policy"
  done
done
compile quarters-lazyllm-w32p11 quarters lazyllm "${WINDOW[@]}"
compile quarters-static-w32p11 quarters static "${WINDOW[@]}"
compile fast-lazyllm fast lazyllm
compile default-streaming default streaming

# Policies of one schedule compute the same share: time every length for lazyllm only
# (every variant gets the paired TTFT at the needle length).
OPTS=(--lengths 1024,2048,4096,8192 --needle-length 4096 --depths 0.1,0.3,0.5,0.7,0.9
      --agree-length 2048 --agree-prompts 2
      --ttft-variants default-lazyllm,quarters-lazyllm-w32p11)
if [[ -n "${LAZYC_BENCH_QUICK:-}" ]]; then
  OPTS=(--lengths 1024,2048 --needle-length 2048 --depths 0.2,0.5,0.8 --agree-length 1024 --agree-prompts 1)
fi
"$BIN/lazy-bench" -m "$MODEL" --dense "$WORK/dense.so" "${ARGS[@]}" "${OPTS[@]}" \
  --json "$OUT/lazy-bench.json" --svg "$OUT" | tee "$OUT/lazy-bench.txt"

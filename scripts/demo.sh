#!/usr/bin/env bash
# lazyc end to end on a real model: installs what is missing, builds, fetches
# SmolLM2-135M-Instruct, compiles it twice with lazy-compile (dense, and pruned
# with LazyLLM: schedule `quarters` with observation-window scores and a reuse
# bias toward what earlier steps computed), and asks
# both a question about a long document shipped in the repository: answers and
# metrics side by side.
#
#   scripts/demo.sh                      # the default question
#   scripts/demo.sh "Your question?"     # another question about the document
#   scripts/demo.sh "Q1?" "Q2?" ...      # Q2... as follow-ups in the same context
#                                        # (lazy-run --follow-up: no new prefill; the
#                                        # pruned model revives what each needs)
#   LAZYC_DEMO_SCHEDULE=default LAZYC_DEMO_SCORES= scripts/demo.sh
#                                        # the paper's method: last-token scores, no
#                                        # bias, default preset
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUESTION="${1:-How much did the restoration cost in total?}"
FOLLOW_UPS=()
for q in "${@:2}"; do FOLLOW_UPS+=(--follow-up "$q"); done
DOC="$ROOT/docs/demo/harbor-report.md"
MODEL="$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf"
BUILD="$ROOT/build"
COMPILED="$BUILD/demo/smollm2-135m.so"
PRUNED="$BUILD/demo/smollm2-135m-lazyllm.so"
SCHEDULE="${LAZYC_DEMO_SCHEDULE:-quarters}"
# Scores over the last 32 query rows, max-pooled over 11 tokens (README: the
# configuration that reaches 2x TTFT without losing retrieval), and decode steps
# that revive a skipped token only if it outscores the computed ones 64-fold
# (--reuse-bias: the whole answer, not only its first token, comes faster).
# Empty = the paper's last-token scores.
SCORES="${LAZYC_DEMO_SCORES---score-window=32 --score-pool=11 --reuse-bias=64}"

echo "== setup (packages, model)"
"$ROOT/scripts/setup.sh"

echo "== build"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir >/dev/null
ninja -C "$BUILD" -j2 lazy-compile lazy-run

echo "== compile $MODEL (dense, and LazyLLM with --schedule=$SCHEDULE $SCORES)"
mkdir -p "$(dirname "$COMPILED")"
"$BUILD/bin/lazy-compile" "$MODEL" --ctx 4096 -o "$COMPILED"
"$BUILD/bin/lazy-compile" "$MODEL" --ctx 4096 --schedule="$SCHEDULE" --policy=lazyllm $SCORES -o "$PRUNED"

PROMPT_FILE="$(mktemp)"
trap 'rm -f "$PROMPT_FILE"' EXIT
{
  echo "Read the report below and answer the question after it."
  echo
  cat "$DOC"
  echo
  echo "Question: $QUESTION"
} >"$PROMPT_FILE"

echo "== question: $QUESTION"
DENSE_JSON="$(mktemp)" PRUNED_JSON="$(mktemp)"
trap 'rm -f "$PROMPT_FILE" "$DENSE_JSON" "$PRUNED_JSON"' EXIT
# Both prefill the prompt in one step, so their TTFTs compare like for like.
"$BUILD/bin/lazy-run" "$COMPILED" -m "$MODEL" -f "$PROMPT_FILE" --chat -n 96 --json \
  --batch 100000 ${FOLLOW_UPS[@]+"${FOLLOW_UPS[@]}"} >"$DENSE_JSON"
"$BUILD/bin/lazy-run" "$PRUNED" -m "$MODEL" -f "$PROMPT_FILE" --chat -n 96 --json \
  ${FOLLOW_UPS[@]+"${FOLLOW_UPS[@]}"} >"$PRUNED_JSON"
python3 - "$DENSE_JSON" "$PRUNED_JSON" <<'PY'
import json, sys
dense, pruned = (json.load(open(p)) for p in sys.argv[1:3])
for name, m in (("dense", dense), ("LazyLLM", pruned)):
    print(f"== answer, {name} (SmolLM2-135M-Instruct, greedy):")
    print(m["text"].strip())
    print()
print("== metrics                  dense     LazyLLM")
for k in ("prompt_tokens", "generated_tokens", "ttft_ms", "prefill_tokens_per_s", "decode_tokens_per_s",
          "computed_share", "revived_tokens", "peak_rss_mib"):
    print(f"{k:>22}: {dense[k]:>10} {pruned[k]:>10}")
print(f"{'TTFT speedup':>22}: {dense['ttft_ms'] / pruned['ttft_ms']:>10.2f}x")
# The whole answer: the prefill and every decode step (a pruned model's decode
# steps also compute the tokens they revive); like for like only where both
# generated the same number of tokens.
answer = {n: m["ttft_ms"] + sum(m["decode_step_ms"]) for n, m in (("d", dense), ("p", pruned))}
print(f"{'answer_ms':>22}: {answer['d']:>10.1f} {answer['p']:>10.1f}")
print(f"{'answer speedup':>22}: {answer['d'] / answer['p']:>10.2f}x")
scores = (f", scores: window {pruned['score_window']}, pool {pruned['score_pool']}"
          if pruned["score_window"] > 1 or pruned["score_pool"] > 1 else ", last-token scores")
if pruned.get("reuse_bias", 1) != 1:
    scores += f", reuse bias {pruned['reuse_bias']:g}"
print(f"{'schedule':>22}: {pruned['schedule']} ({pruned['policy']}{scores})")
print(f"{'kept tokens per layer':>22}: {pruned['kept_tokens_per_layer']}")
# Follow-ups: one step over the question's tokens each, no new prefill.
for k, (fd, fp) in enumerate(zip(dense["follow_ups"], pruned["follow_ups"]), 1):
    print(f"\n== follow-up {k}: {fd['question']}")
    print(f"   dense:   {fd['text'].strip()}")
    print(f"   LazyLLM: {fp['text'].strip()}")
    print(f"   question step: dense {fd['ttft_ms']} ms, LazyLLM {fp['ttft_ms']} ms "
          f"({fp['question_revived_tokens']} token-layers revived for the question, "
          f"{fp['revived_tokens']} while answering)")
PY
echo
echo "== ask more yourself (one question per line, Ctrl-D ends):"
echo "   $BUILD/bin/lazy-run $PRUNED -m $MODEL -f $DOC --chat -i"
echo "   (add --session chat.ses to keep the conversation; later, go on where it stopped:"
echo "    $BUILD/bin/lazy-run $PRUNED -m $MODEL --continue --session chat.ses -i)"

#!/usr/bin/env bash
# lazyc end to end on a real model: installs what is missing, builds, fetches
# SmolLM2-135M-Instruct, compiles it to a native model with lazy-compile, and
# asks a question about a long document shipped in the repository.
#
#   scripts/demo.sh                      # the default question
#   scripts/demo.sh "Your question?"     # another question about the document
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUESTION="${1:-How much did the restoration cost in total?}"
DOC="$ROOT/docs/demo/harbor-report.md"
MODEL="$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf"
BUILD="$ROOT/build"
COMPILED="$BUILD/demo/smollm2-135m.so"

echo "== setup (packages, model)"
"$ROOT/scripts/setup.sh"

echo "== build"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir >/dev/null
ninja -C "$BUILD" -j2 lazy-compile lazy-run

echo "== compile $MODEL"
mkdir -p "$(dirname "$COMPILED")"
if [[ ! -f "$COMPILED" || "$COMPILED" -ot "$BUILD/bin/lazy-compile" ]]; then
  "$BUILD/bin/lazy-compile" "$MODEL" --ctx 4096 -o "$COMPILED"
else
  echo "up to date: $COMPILED"
fi

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
echo "== answer (SmolLM2-135M-Instruct, greedy):"
"$BUILD/bin/lazy-run" "$COMPILED" -m "$MODEL" -f "$PROMPT_FILE" --chat -n 96 --json |
  python3 -c '
import json, sys
m = json.load(sys.stdin)
print(m["text"].strip())
print()
print("== metrics")
for k in ("prompt_tokens", "generated_tokens", "ttft_ms", "prefill_tokens_per_s",
          "decode_tokens_per_s", "peak_rss_mib"):
    print(f"{k:>22}: {m[k]}")
'

# Sourced by the lazy-bench scripts (lazy_bench.sh, reuse_bias.sh,
# follow_up.sh): the paths, the model check, the tools built, and
# add_variant, which compiles one pruned model and adds it to ARGS.
#   source "$(dirname "${BASH_SOURCE[0]}")/common.sh" NAME   (NAME: for messages)
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODEL="$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf"
BIN="$ROOT/build/bin"
OUT="$ROOT/bench/results"
WORK="$ROOT/build/bench"
mkdir -p "$OUT" "$WORK"
[[ -f "$MODEL" ]] || { echo "$1: run scripts/setup.sh first (no $MODEL)" >&2; exit 1; }
ninja -C "$ROOT/build" -j2 lazy-compile lazy-bench >/dev/null

# The compiled models go to $WORK/$PREFIX<name>.so (8k context).
PREFIX="${PREFIX:-}"
ARGS=()
compile_dense() {
  "$BIN/lazy-compile" "$MODEL" --ctx 8192 -o "$WORK/${PREFIX}dense.so" >/dev/null
}
add_variant() { # name [lazy-compile options]
  "$BIN/lazy-compile" "$MODEL" --ctx 8192 "${@:2}" -o "$WORK/$PREFIX$1.so" >/dev/null
  ARGS+=(--variant "$1=$WORK/$PREFIX$1.so")
}

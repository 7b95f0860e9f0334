#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-22 (ASan + UBSan) and runs each for a
# bounded time. Crashing inputs land in test/fuzz/regressions/<target>/, which
# ctest replays in every build (commit them with the fix).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET=600] [TARGET...]
#   (targets: gguf tokenizer safetensors session model_tokenizer chat_template import
#   hf_config; default all)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER_TARGET="${1:-600}"
shift || true
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(gguf tokenizer safetensors session model_tokenizer chat_template import
  hf_config)
# The importers' targets need MLIR: a full build of their own (LLVM/MLIR are
# not instrumented; the project's code is). The others: a runtime-only build.
build_dir() {
  case "$1" in
  import | hf_config) echo "$ROOT/build-fuzz-full" ;;
  *) echo "$ROOT/build-fuzz" ;;
  esac
}

"$ROOT/scripts/setup.sh" --fuzz
declare -A wanted=()
for target in "${TARGETS[@]}"; do
  wanted["$(build_dir "$target")"]+=" ${target}_fuzzer"
done
for dir in "${!wanted[@]}"; do
  only=ON
  [ "$dir" = "$ROOT/build-fuzz-full" ] && only=OFF
  CC=clang-22 CXX=clang++-22 cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLAZYC_RUNTIME_ONLY=$only -DLAZYC_FUZZ=ON -DLAZYC_CUDA=OFF >/dev/null
  # shellcheck disable=SC2086 # the target list
  ninja -C "$dir" -j2 ${wanted[$dir]}
done

status=0
for target in "${TARGETS[@]}"; do
  BUILD="$(build_dir "$target")"
  corpus="$BUILD/corpus/$target"
  mkdir -p "$corpus" "$ROOT/test/fuzz/regressions/$target"
  cp -n "$ROOT/test/fuzz/seeds/$target/"* "$corpus/" 2>/dev/null || true
  echo "fuzz: $target for ${SECONDS_PER_TARGET}s"
  if ! "$BUILD/bin/${target}_fuzzer" "$corpus" -max_total_time="$SECONDS_PER_TARGET" \
      -max_len=131072 -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix="$ROOT/test/fuzz/regressions/$target/" \
      >"$BUILD/$target.log" 2>&1; then
    echo "fuzz: $target found a problem; see $BUILD/$target.log and test/fuzz/regressions/$target/"
    status=1
  fi
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$BUILD/$target.log" | sed "s/^/fuzz: $target /"
done
exit $status

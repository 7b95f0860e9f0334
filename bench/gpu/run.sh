#!/usr/bin/env bash
# One device call: build the runtime on the GPU machine, check the CUDA
# kernels and GPU-vs-CPU logits, then time Llama-2-7B-shaped prefill (random
# bf16 weights) dense and LazyLLM-pruned at 4k/8k/16k tokens, side by side
# with the PyTorch anchor (../shared/anchors/torch_prefill.py) in the same
# call, and print one table.
#
# Models are compiled beforehand on a machine with LLVM/MLIR (the GPU machine
# has none) by bench/gpu/prepare.sh, which packs them into .device/models.tar.xz
# (unpacked here into build-gpu/device/) beside the anchor and the GoogleTest sources
# (.device/ is git-ignored; pass it as the carried folder). Usage, on the GPU machine:
#   bench/gpu/run.sh [OUT_DIR]        (LAZYC_GPU_LENGTHS=4096,8192,16384)
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-${OUT:-/tmp/lazyc-gpu}}
mkdir -p "$OUT"
D=.device
LENGTHS=${LAZYC_GPU_LENGTHS:-4096,8192,16384}
B=build-gpu
log() { echo "== $(date +%T) (${SECONDS}s) $*"; }
# The sections after the first table are optional: each starts only while
# the call has time left (LAZYC_GPU_BUDGET_S seconds since the start, default
# 420: a device call may run 600 s), so the checks, the default timings and
# the anchor always come back.
BUDGET=${LAZYC_GPU_BUDGET_S:-420}
in_budget() {
  if [ "$SECONDS" -lt "$BUDGET" ]; then return 0; fi
  echo "== skipped (${SECONDS}s used of the ${BUDGET}s budget): $*"
  return 1
}

if [ -f .device/models.tar.xz ]; then
  # Unpacked outside the carried folder, which stays as small as it came
  # (the loose models would not fit a later call's carry), beside links to
  # the rest of it (anchor, GoogleTest; the real-weights GGUF is unpacked below).
  D=build-gpu/device
  log "unpacking the compiled models (.device/models.tar.xz -> $D)"
  rm -rf $D && mkdir -p $D
  tar -C $D -xJf .device/models.tar.xz 2>/dev/null \
    || python3 -c "import tarfile, sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" .device/models.tar.xz $D \
    || { echo "cannot unpack .device/models.tar.xz"; exit 1; }
  for f in .device/*; do
    case $f in .device/models.tar.xz|*.xz) ;; *) ln -s "$PWD/$f" $D/ ;; esac
  done
  ls $D/*.so | wc -l
fi
# SmolLM2's real blocks travel xz-compressed (prepare.sh).
if [ -f .device/smollm2-real.gguf.xz ]; then
  xz -dc .device/smollm2-real.gguf.xz > $D/smollm2-real.gguf 2>/dev/null \
    || python3 -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" \
         .device/smollm2-real.gguf.xz $D/smollm2-real.gguf \
    || { echo "cannot unpack .device/smollm2-real.gguf.xz"; rm -f $D/smollm2-real.gguf; }
fi

log "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
nproc

log "cuDNN (fused attention for prefill; lazyc's flash kernel without it)"
# The loader's path first; else the CUDA toolkit's and PyTorch's wheels' copies.
EXTRA=$(python3 - <<'PY' 2>/dev/null
import glob, importlib, os
dirs = ["/usr/local/cuda/lib", "/usr/local/cuda/lib64"]
for mod in ("nvidia.cudnn", "nvidia.cuda_nvrtc", "nvidia.cu13", "nvidia.cu12"):
    try:
        m = importlib.import_module(mod)
        dirs += [os.path.join(p, "lib") for p in m.__path__]
    except Exception:
        pass
print(":".join(d for d in dirs if os.path.isdir(d) and glob.glob(d + "/lib*.so*")))
PY
)
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$EXTRA"
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
for d in ${LD_LIBRARY_PATH//:/ }; do ls "$d"/libcudnn.so.9* "$d"/libnvrtc.so* 2>/dev/null; done | head -6
ldconfig -p | grep -E "libcudnn.so|libnvrtc.so" | head -4

log "build (runtime only: lazy-run, liblazycrt_cuda.so, CUDA kernel tests)"
cmake -S . -B $B -G Ninja -DLAZYC_RUNTIME_ONLY=ON -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DLAZYC_GTEST_SOURCE="$PWD/$D/googletest" >"$OUT/cmake.log" 2>&1 \
  || { tail -30 "$OUT/cmake.log"; exit 1; }
ninja -C $B lazy-run lazycrt_cuda lazyc-cuda-tests >"$OUT/build.log" 2>&1 \
  || { tail -40 "$OUT/build.log"; exit 1; }

log "CUDA kernels vs references"
timeout 180 $B/bin/lazyc-cuda-tests 2>&1 | tee "$OUT/cuda-tests.log" | grep -E "OK|FAILED|PASSED|SKIPPED|Skipped|Failure|expected|Which is|no cuDNN|cuDNN" | head -40
for variant in simple wide; do
  echo "-- attention tests again with LAZYC_CUDA_ATTENTION=$variant"
  LAZYC_CUDA_ATTENTION=$variant timeout 120 $B/bin/lazyc-cuda-tests --gtest_filter='*Attention*' 2>&1 | grep -E "PASSED|FAILED|Failure|Which is|expected" | head -8
done
echo "-- GEMM tests again with LAZYC_GEMM_AUTOTUNE=1"
LAZYC_GEMM_AUTOTUNE=1 timeout 120 $B/bin/lazyc-cuda-tests --gtest_filter='*Linear*' 2>&1 | grep -E "PASSED|FAILED|Failure|Which is|expected" | head -8

RUN=$B/bin/lazy-run
cmp_logits() { # name cpu.bin gpu.bin
  python3 - "$@" <<'PY'
import sys, numpy as np
name, a, b = sys.argv[1], np.fromfile(sys.argv[2], np.float32), np.fromfile(sys.argv[3], np.float32)
d = np.abs(a - b); scale = np.abs(a).max()
print(f"{name}: {a.size} logits, max |cpu-gpu| {d.max():.4g} (max |logit| {scale:.3g}, rel {d.max()/scale:.3g}), "
      f"argmax cpu {a.argmax()} gpu {b.argmax()}, top-5 overlap {len(set(np.argsort(-a)[:5]) & set(np.argsort(-b)[:5]))}/5")
PY
}
cmp_sets() { # cpu.json gpu.json: the same token sets on both sides?
  python3 - "$@" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
keys = ("kept_tokens_per_layer", "computed_tokens_per_layer", "revived_tokens")
same = all(a.get(k) == b.get(k) for k in keys)
print("  token sets (kept and computed per layer, revived):", "same on CPU and GPU" if same else "DIFFER",
      "| kept per layer cpu", a.get(keys[0]), "gpu", b.get(keys[0]))
PY
}
cmp_steps() { # name cpu-prefix gpu-prefix: decode logits step by step (--decode-logits)
  python3 - "$@" <<'PY'
import json, sys, numpy as np
name, a, b = sys.argv[1:4]
ja, jb = json.load(open(a + ".json")), json.load(open(b + ".json"))
# Token ids (lazy-run --json generated_ids; the synthetic models' text is their ids).
ta, tb = (j.get("generated_ids") or [int(t) for t in j["text"].split()] for j in (ja, jb))
la, lb = np.fromfile(a + ".bin", np.float32), np.fromfile(b + ".bin", np.float32)
steps = min(len(ta), len(tb)) - 1
la, lb = la.reshape(steps, -1), lb.reshape(steps, -1)
same = 0
while same < steps and ta[same] == tb[same]:
    same += 1  # step k's input is token k: compare while those agree
rel = [float(np.abs(la[k] - lb[k]).max() / np.abs(la[k]).max()) for k in range(min(same, steps))]
print(f"{name} decode: {len(rel)} steps with the same inputs, max |cpu-gpu| / max |logit| per step "
      f"{', '.join(f'{r:.3g}' for r in rel)}; tokens cpu {ta} gpu {tb}; "
      f"revived cpu {ja.get('revived_tokens')} gpu {jb.get('revived_tokens')}")
PY
}
# gpu_vs_cpu_synthetic NAME: $D/NAME-{cpu,cuda}.so on the same random weights and prompt:
# logits, token sets, 8 decode steps (tiny models), lazyc's own attention, GEMM autotuning.
gpu_vs_cpu_synthetic() {
  local m=$1
  [ -f $D/$m-cpu.so ] || return 0
  echo "-- $m (LAZYC_CUDA_ATTENTION=cudnn: cuDNN wherever it applies, even in a first prefill)"
  case $m in *bf16all*|*bf16res*) echo "   (bf16 activations amplify summation-order differences: on the CPU, SmolLM2 with the GPU's loop nests vs the CPU's differed by up to 4.9% of the largest logit, 2.7% on a short prompt, both correct)";; esac
  timeout 120 $RUN $D/$m-cpu.so --random-weights --random-prompt 300 -n 1 --logits "$OUT/$m-cpu.bin" --json >"$OUT/$m-cpu.json" 2>&1 \
    || { echo "$m cpu failed:"; tail -3 "$OUT/$m-cpu.json"; return 0; }
  LAZYC_CUDA_ATTENTION=cudnn LAZYC_CUDA_PROFILE=1 timeout 120 $RUN $D/$m-cuda.so --random-weights --random-prompt 300 -n 1 --logits "$OUT/$m-gpu.bin" --json >"$OUT/$m-gpu.json" 2>"$OUT/$m-gpu.err" \
    || { echo "$m gpu failed:"; tail -5 "$OUT/$m-gpu.err"; return 0; }
  grep -hE "lazyc \(cuda\): |  attention" "$OUT/$m-gpu.err" | head -4
  cmp_logits "$m" "$OUT/$m-cpu.bin" "$OUT/$m-gpu.bin"
  cmp_sets "$OUT/$m-cpu.json" "$OUT/$m-gpu.json"
  # Decoding too (tiny models): 8 steps on each side, revivals and the GPU's
  # key splits (forced to 3 ranges: the tiny model's few keys would not split)
  # included; compared step by step while both sides generated the same tokens.
  case $m in tiny-*)
    timeout 120 $RUN $D/$m-cpu.so --random-weights --random-prompt 300 -n 9 --decode-logits "$OUT/$m-cpu-steps.bin" --json >"$OUT/$m-cpu-steps.json" 2>/dev/null \
      && LAZYC_CUDA_KEY_SPLITS=3 timeout 120 $RUN $D/$m-cuda.so --random-weights --random-prompt 300 -n 9 --decode-logits "$OUT/$m-gpu-steps.bin" --json >"$OUT/$m-gpu-steps.json" 2>/dev/null \
      && cmp_steps "$m" "$OUT/$m-cpu-steps" "$OUT/$m-gpu-steps"
    ;;
  esac
  [[ $m == tiny-banded* ]] && return 0 # no cuDNN for banded layers; GEMMs as tiny's
  LAZYC_CUDA_ATTENTION=flash timeout 120 $RUN $D/$m-cuda.so --random-weights --random-prompt 300 -n 1 --logits "$OUT/$m-gpu-flash.bin" --json >"$OUT/$m-gpu-flash.json" 2>"$OUT/$m-gpu-flash.err" \
    && cmp_logits "$m (lazyc flash)" "$OUT/$m-cpu.bin" "$OUT/$m-gpu-flash.bin"
  LAZYC_GEMM_AUTOTUNE=1 timeout 120 $RUN $D/$m-cuda.so --random-weights --random-prompt 300 -n 1 --logits "$OUT/$m-gpu-tuned.bin" --json >"$OUT/$m-gpu-tuned.json" 2>"$OUT/$m-gpu-tuned.err" \
    && cmp_logits "$m (GEMM autotune)" "$OUT/$m-cpu.bin" "$OUT/$m-gpu-tuned.bin"
}
log "GPU vs CPU logits (same random bf16 weights)"
for m in tiny-dense tiny-lazy tiny-window tiny-bias smollm2-dense tiny-lazy-bf16all smollm2-dense-bf16all tiny-lazy-bf16res smollm2-dense-bf16res tiny-lazy-rownorm tiny-lazy-bf16res-rownorm; do
  gpu_vs_cpu_synthetic $m
done

# Real weights: SmolLM2-135M-Instruct's GGUF does not fit the carried folder, its
# first blocks do (prepare.sh: as many as fit; bench/gpu/gguf_truncate.py: the original tensors, embeddings,
# tokenizer); dense and pruned, the demo document as the prompt, 8 decode steps.
if [ -f $D/smollm2-real.gguf ]; then
  log "real weights (SmolLM2-135M-Instruct's first blocks, Q4_1 -> bf16): GPU vs CPU on docs/demo/harbor-report.md"
  for m in smollm2-real-dense smollm2-real-lazy; do
    [ -f $D/$m-cpu.so ] || continue
    # A follow-up question too (lazy-run --follow-up: a step of several new
    # tokens after the decode steps; the pruned model revives for it).
    args=(-m $D/smollm2-real.gguf -f docs/demo/harbor-report.md --batch 4096 -n 9 --ignore-eos --json
          --follow-up "Question: Who led the engineering design? Answer:")
    timeout 120 $RUN $D/$m-cpu.so "${args[@]}" --logits "$OUT/$m-cpu.bin" \
      --decode-logits "$OUT/$m-cpu-steps.bin" >"$OUT/$m-cpu.json" 2>"$OUT/$m-cpu.err" \
      && cp "$OUT/$m-cpu.json" "$OUT/$m-cpu-steps.json" \
      || { echo "$m cpu failed:"; tail -3 "$OUT/$m-cpu.err"; continue; }
    LAZYC_CUDA_ATTENTION=cudnn LAZYC_CUDA_KEY_SPLITS=3 timeout 120 $RUN $D/$m-cuda.so "${args[@]}" \
      --logits "$OUT/$m-gpu.bin" --decode-logits "$OUT/$m-gpu-steps.bin" >"$OUT/$m-gpu.json" \
      2>"$OUT/$m-gpu.err" && cp "$OUT/$m-gpu.json" "$OUT/$m-gpu-steps.json" \
      || { echo "$m gpu failed:"; tail -5 "$OUT/$m-gpu.err"; continue; }
    python3 -c "import json, sys; print('  attention:', json.load(open(sys.argv[1]))['attention'])" "$OUT/$m-gpu.json"
    cmp_logits "$m" "$OUT/$m-cpu.bin" "$OUT/$m-gpu.bin"
    cmp_sets "$OUT/$m-cpu.json" "$OUT/$m-gpu.json"
    cmp_steps "$m" "$OUT/$m-cpu-steps" "$OUT/$m-gpu-steps"
    python3 - "$OUT/$m-cpu.json" "$OUT/$m-gpu.json" <<'PY'
import json, sys
a, b = (json.load(open(f))["follow_ups"][0] for f in sys.argv[1:3])
print(f"  follow-up: tokens {'the same' if a['generated_ids'] == b['generated_ids'] else 'DIFFER'} on CPU and GPU "
      f"(cpu {a['generated_ids']} gpu {b['generated_ids']}), question step revived cpu "
      f"{a['question_revived_tokens']} gpu {b['question_revived_tokens']}")
PY
  done
fi

# gpu_vs_cpu_family NAME: $D/NAME-{cpu,cuda}.so (prepare.sh: the tiny GGUFs of
# test/fixtures, which the checkout carries) on the same prompt: logits, token sets,
# 8 decode steps with the GPU's keys in 3 ranges.
gpu_vs_cpu_family() {
  local m=$1
  [ -f $D/$m-cpu.so ] || return 0
  local args=(-m test/fixtures/${m%-*}.gguf -f test/fixtures/tiny-llama31-hf/config.json -n 9
              --ignore-eos --json)
  timeout 60 $RUN $D/$m-cpu.so "${args[@]}" --logits "$OUT/$m-cpu.bin" \
    --decode-logits "$OUT/$m-cpu-steps.bin" >"$OUT/$m-cpu.json" 2>"$OUT/$m-cpu.err" \
    && cp "$OUT/$m-cpu.json" "$OUT/$m-cpu-steps.json" \
    || { echo "$m cpu failed:"; tail -3 "$OUT/$m-cpu.err"; return 0; }
  LAZYC_CUDA_KEY_SPLITS=3 timeout 60 $RUN $D/$m-cuda.so "${args[@]}" --logits "$OUT/$m-gpu.bin" \
    --decode-logits "$OUT/$m-gpu-steps.bin" >"$OUT/$m-gpu.json" 2>"$OUT/$m-gpu.err" \
    && cp "$OUT/$m-gpu.json" "$OUT/$m-gpu-steps.json" \
    || { echo "$m gpu failed:"; tail -5 "$OUT/$m-gpu.err"; return 0; }
  cmp_logits "$m" "$OUT/$m-cpu.bin" "$OUT/$m-gpu.bin"
  cmp_sets "$OUT/$m-cpu.json" "$OUT/$m-gpu.json"
  cmp_steps "$m" "$OUT/$m-cpu-steps" "$OUT/$m-gpu-steps"
}
# Model families beyond SmolLM2: Llama 3.1's RoPE scaling, Qwen2's biases, Qwen3's head
# norms, SmolLM3's layer without RoPE, Granite's multipliers, OLMo 2's norms. (Those
# with sliding windows and soft-capping follow the first table.)
log "model families (tiny Llama 3.1 / Qwen2 / Qwen3 / SmolLM3 / Granite / OLMo 2 GGUFs): GPU vs CPU, dense and pruned"
for m in tiny-llama31-dense tiny-llama31-lazy tiny-qwen2-dense tiny-qwen2-lazy tiny-qwen2-bf16all \
         tiny-qwen3-dense tiny-qwen3-lazy tiny-smollm3-dense tiny-smollm3-lazy \
         tiny-granite-dense tiny-granite-lazy tiny-olmo2-dense tiny-olmo2-lazy; do
  gpu_vs_cpu_family $m
done

# Models compiled for other chips (runtime/cuda/ChipCompat.h): an sm_80 build runs on
# this GPU through its PTX (a note, the same logits as the CPU); an sm_100 build is refused
# with the --chip this GPU needs.
if [ -f $D/tiny-dense-sm80-cuda.so ] && [ -f "$OUT/tiny-dense-cpu.bin" ]; then
  log "models compiled for other chips (--chip=sm_80: PTX JIT here; --chip=sm_100: refused)"
  timeout 120 $RUN $D/tiny-dense-sm80-cuda.so --random-weights --random-prompt 300 -n 1 \
    --logits "$OUT/tiny-dense-sm80.bin" --json >"$OUT/tiny-dense-sm80.json" 2>"$OUT/tiny-dense-sm80.err" \
    && { grep -h "runs their PTX" "$OUT/tiny-dense-sm80.err"; cmp_logits "tiny-dense (--chip=sm_80)" "$OUT/tiny-dense-cpu.bin" "$OUT/tiny-dense-sm80.bin"; } \
    || { echo "sm_80 build failed:"; tail -3 "$OUT/tiny-dense-sm80.err"; }
  timeout 60 $RUN $D/tiny-dense-sm100-cuda.so --random-weights --random-prompt 8 -n 1 2>&1 | tail -1
fi

if command -v compute-sanitizer >/dev/null && [ -f $D/tiny-lazy-cuda.so ]; then
  # The default code generation, and the candidate with the most new kernels
  # (bf16res-rownorm: stacked GEMMs writing bf16, bf16 accumulation into the
  # residual stream, the bf16 query, the block-per-row norms); two runs, not
  # one per candidate: memcheck is slow and the timings come after it. The
  # second run's decode steps split their keys into 3 ranges (the tiny model's
  # few keys would not by default: flash-decoding's kernels).
  for m in tiny-lazy tiny-lazy-bf16res-rownorm; do
    [ -f $D/$m-cuda.so ] || continue
    splits=3; [ $m = tiny-lazy ] && splits=auto
    log "compute-sanitizer (memcheck) on the pruned tiny model ($m, LAZYC_CUDA_KEY_SPLITS=$splits)"
    LAZYC_CUDA_KEY_SPLITS=$splits LAZYC_CUDA_ATTENTION=cudnn timeout 180 compute-sanitizer --tool memcheck --print-limit 5 $RUN $D/$m-cuda.so \
      --random-weights --random-prompt 300 -n 8 --json >"$OUT/sanitizer-$m.log" 2>&1
    grep -E "ERROR SUMMARY|Invalid|error" "$OUT/sanitizer-$m.log" | head -8
  done
  # The block-per-row RMSNorm shares partial sums through shared memory.
  for m in tiny-lazy-bf16res-rownorm tiny-lazy-rownorm; do
    [ -f $D/$m-cuda.so ] || continue
    log "compute-sanitizer (racecheck) on the fused RMSNorm kernels ($m)"
    LAZYC_CUDA_ATTENTION=cudnn timeout 180 compute-sanitizer --tool racecheck --kernel-name kns=rms_norm --print-limit 5 $RUN $D/$m-cuda.so \
      --random-weights --random-prompt 300 -n 2 --json >"$OUT/racecheck-$m.log" 2>&1
    grep -E "ERROR SUMMARY|RACECHECK SUMMARY|hazard|error" "$OUT/racecheck-$m.log" | head -8
    break
  done
fi

log "Llama-2-7B shape, random bf16 weights: lazyc dense and pruned"
IFS=, read -ra LENS <<<"$LENGTHS"
for n in "${LENS[@]}"; do
  for v in dense lazy; do
    [ -f $D/llama7b-$v-cuda.so ] || continue
    timeout 150 $RUN $D/llama7b-$v-cuda.so --random-weights --random-prompt "$n" -n 0 --warmup 1 --repeat 3 \
      --batch "$n" --ctx $((n + 16)) --json >"$OUT/lazyc-$v-$n.json" 2>"$OUT/lazyc-$v-$n.err" \
      || { echo "lazyc $v $n failed:"; tail -5 "$OUT/lazyc-$v-$n.err"; }
    python3 -c "import json; r=json.load(open('$OUT/lazyc-$v-$n.json')); print('lazyc $v $n', r['ttft_ms_runs'], 'share', r['computed_share'])" 2>/dev/null
  done
done

log "PyTorch anchor (same call)"
if [ -f $D/torch_prefill.py ]; then
  PYTHONUNBUFFERED=1 timeout 300 python3 $D/torch_prefill.py --lengths "$LENGTHS" --no-hf --out "$OUT" \
    >"$OUT/anchor.log" 2>&1 || { echo "anchor failed:"; tail -5 "$OUT/anchor.log"; }
  grep -v SUMMARY "$OUT/anchor.log" | tail -5
fi

log "table (default code generation; the variants follow while time allows)"
python3 bench/gpu/report.py "$OUT" "$LENGTHS" | tee "$OUT/table.txt"

# time_variant NAME SO_SUFFIX [ENV=VALUE]: the Llama-2-7B runs again with another
# attention kernel or another compiled model, into lazyc-{dense,lazy}-N-NAME.json.
MEASURED=""
time_variant() {
  local name=$1 suffix=$2 setting=${3:-}
  MEASURED="$MEASURED $name"
  for n in "${LENS[@]}"; do
    for v in dense lazy; do
      [ -f $D/llama7b-$v$suffix-cuda.so ] || continue
      env $setting timeout 150 $RUN $D/llama7b-$v$suffix-cuda.so --random-weights \
        --random-prompt "$n" -n 0 --warmup 1 --repeat 3 --batch "$n" --ctx $((n + 16)) --json \
        >"$OUT/lazyc-$v-$n-$name.json" 2>"$OUT/lazyc-$v-$n-$name.err" \
        || { echo "lazyc $v $n ($name) failed:"; tail -3 "$OUT/lazyc-$v-$n-$name.err"; }
      python3 -c "import json; r=json.load(open('$OUT/lazyc-$v-$n-$name.json')); print('lazyc $v $n ($name)', r['ttft_ms_runs'])" 2>/dev/null
    done
  done
}
# Other code generation, in two groups. LAZYC_GPU_BUILDS (default "bf16res
# bf16res-rownorm bf16all rownorm"): the candidates for the CUDA default,
# prepare.sh's models compiled with --bf16-activations=residual (the residual
# stream in bf16 too, PyTorch's precision), with that and --fused-row-norms,
# with --bf16-activations=all --fuse-residual=true (the GEMM epilogues and
# bf16 activations) and with --fused-row-norms alone (each RMSNorm one
# block-per-row kernel; pruned model only). LAZYC_GPU_ABLATIONS (default
# "nohic noproj rtselect nodefer"), each the pruned model without one of the
# default optimizations: index lists copied back by every runtime call
# (--host-index-copies=false), a GEMM per projection (--fuse-projections=false),
# the runtime's score kernels and host selection instead of the generated
# ones, every computed row running its whole layer (--defer-mlp=false).
time_builds() {
  for build in "$@"; do
    in_budget "compiled variant $build" || continue
    log "compiled variant: $build"
    time_variant "$build" "-$build"
  done
}
time_builds ${LAZYC_GPU_BUILDS-bf16res bf16res-rownorm bf16all rownorm}

# Sliding windows and soft-capped scores (lazyc's banded attention kernels; cuDNN never
# runs them), GPU vs CPU: synthetic:tiny-banded[-128] (a 48-token window in layer 0,
# scores capped at 0.05; heads of 64 / 128) dense, pruned, and pruned with the runtime's
# window scores; the tiny Mistral (window in every layer), Phi-3 (fused projections),
# Gemma 2 (capped scores and logits, alternate windows) and Gemma 3 (GeGLU, two RoPEs)
# GGUFs with 40-token windows over a 455-token prompt, Phi-4-mini's form (partial
# rotary embeddings, LongRoPE), GLM-4 (interleaved partial RoPE) and ERNIE 4.5;
# memcheck on the banded kernels.
if in_budget "banded attention (sliding windows, soft-capping): GPU vs CPU"; then
  log "banded attention (sliding windows, soft-capping): GPU vs CPU"
  for m in tiny-banded-dense tiny-banded-lazy tiny-banded-rtwindow \
           tiny-banded128-dense tiny-banded128-lazy tiny-banded128-rtwindow; do
    gpu_vs_cpu_synthetic $m
  done
  for m in tiny-mistral-swa-dense tiny-mistral-swa-lazy tiny-phi3-dense tiny-phi3-lazy \
           tiny-gemma2-dense tiny-gemma2-lazy tiny-gemma3-dense tiny-gemma3-lazy \
           tiny-phi4mini-dense tiny-phi4mini-lazy tiny-glm4-dense tiny-glm4-lazy \
           tiny-ernie45-dense tiny-ernie45-lazy; do
    gpu_vs_cpu_family $m
  done
  if command -v compute-sanitizer >/dev/null && [ -f $D/tiny-banded128-lazy-cuda.so ]; then
    log "compute-sanitizer (memcheck) on the banded kernels (tiny-banded128-lazy, LAZYC_CUDA_KEY_SPLITS=3)"
    LAZYC_CUDA_KEY_SPLITS=3 timeout 180 compute-sanitizer --tool memcheck --print-limit 5 $RUN \
      $D/tiny-banded128-lazy-cuda.so --random-weights --random-prompt 300 -n 8 --json \
      >"$OUT/sanitizer-tiny-banded128-lazy.log" 2>&1
    grep -E "ERROR SUMMARY|Invalid|error" "$OUT/sanitizer-tiny-banded128-lazy.log" | head -8
  fi
fi

# Mixtures of experts and attention sinks (built 2026-11-29 without a GPU: first run
# here), pruned models (their first layer dense): synthetic:tiny-moe on random weights
# and the tiny Mixtral, ERNIE 4.5 MoE, GLM-4.5 (sigmoid scores) and Qwen2-MoE (its gated
# shared expert, 2026-11-30) GGUFs (lazyc_gpu_moe:
# router logits routed on the host, the experts' GEMMs in cuBLASLt), gpt-oss's, dense too
# (its sinks in lazyc_gpu_attention_sinks, through the key splits' combine, and LazyLLM's
# lazyc_gpu_sink_scores; experts widened to bf16 on both sides); memcheck on the pruned
# gpt-oss; moe-small's 4k prefill timed.
# LayerNorm families (built 2026-11-30 without a GPU: first run here), pruned: Cohere,
# StarCoder2, Phi-2, GPT-NeoX (exact GELU), Falcon (grouped query/key/value), OLMo 1
# (LayerNorms without weights, llm.clamp): the generated layer_norm, gelu and clamp
# kernels, parallel blocks.
if in_budget "LayerNorm families: GPU vs CPU"; then
  log "LayerNorm families (Cohere, StarCoder2, Phi-2, GPT-NeoX, Falcon, OLMo 1): GPU vs CPU"
  for m in tiny-cohere-lazy tiny-starcoder2-lazy tiny-phi2-lazy tiny-gptneox-lazy \
           tiny-falcon-lazy tiny-olmo-lazy; do
    gpu_vs_cpu_family $m
  done
fi

if in_budget "mixtures of experts, attention sinks: GPU vs CPU"; then
  log "mixtures of experts (lazyc_gpu_moe) and attention sinks (gpt-oss): GPU vs CPU"
  gpu_vs_cpu_synthetic tiny-moe-lazy
  for m in tiny-mixtral-lazy tiny-ernie45moe-lazy tiny-glm4moe-lazy tiny-qwen2moe-lazy tiny-gptoss-dense \
           tiny-gptoss-lazy; do
    gpu_vs_cpu_family $m
  done
  # A mixture of experts' prefill on the GPU (no PyTorch anchor for it): moe-small at
  # 4096 tokens, dense and pruned, then where the pruned one's time goes.
  for v in dense lazy; do
    [ -f $D/moe-small-$v-cuda.so ] || continue
    timeout 120 $RUN $D/moe-small-$v-cuda.so --random-weights --random-prompt 4096 -n 0 --warmup 1 \
      --repeat 3 --batch 4096 --ctx 4112 --json >"$OUT/moe-small-$v.json" 2>"$OUT/moe-small-$v.err" \
      || { echo "moe-small $v failed:"; tail -5 "$OUT/moe-small-$v.err"; continue; }
    python3 -c "import json; r=json.load(open('$OUT/moe-small-$v.json')); print('moe-small $v 4096 TTFT ms', r['ttft_ms_runs'], 'share', r['computed_share'])"
  done
  [ -f $D/moe-small-lazy-cuda.so ] && LAZYC_CUDA_PROFILE=1 timeout 120 $RUN $D/moe-small-lazy-cuda.so \
    --random-weights --random-prompt 4096 -n 0 --batch 4096 --ctx 4112 --warmup 1 --json 2>&1 >/dev/null \
    | sed -n '/lazyc (cuda) profile/,$p' | head -16
  if command -v compute-sanitizer >/dev/null && [ -f $D/tiny-gptoss-lazy-cuda.so ]; then
    log "compute-sanitizer (memcheck) on the pruned gpt-oss (sinks, experts)"
    timeout 180 compute-sanitizer --tool memcheck --print-limit 5 $RUN $D/tiny-gptoss-lazy-cuda.so \
      --random-weights --random-prompt 300 -n 8 --json >"$OUT/sanitizer-tiny-gptoss-lazy.log" 2>&1
    grep -E "ERROR SUMMARY|Invalid|error" "$OUT/sanitizer-tiny-gptoss-lazy.log" | head -8
  fi
fi

if in_budget "profiles"; then
  log "where lazyc's GPU time goes (LAZYC_CUDA_PROFILE=1, one warm prefill each after an untimed one, cuDNN forced; generated kernels by the op they come from)"
  LAST=${LENS[${#LENS[@]}-1]}
  for spec in "lazy $LAST" "lazy-bf16res $LAST" "lazy-bf16res-rownorm $LAST" "lazy-rownorm $LAST" "dense $LAST" "dense-bf16res $LAST" "lazy-bf16all $LAST" "lazy ${LENS[0]}" "dense ${LENS[0]}"; do
    set -- $spec
    [ -f $D/llama7b-$1-cuda.so ] || continue
    in_budget "profile $1 $2" || continue
    echo "-- $1 $2 tokens"
    LAZYC_CUDA_ATTENTION=cudnn LAZYC_CUDA_PROFILE=1 timeout 120 $RUN $D/llama7b-$1-cuda.so --random-weights --random-prompt "$2" \
      -n 0 --batch "$2" --ctx $(($2 + 16)) --warmup 1 --json 2>&1 >/dev/null | sed -n '/lazyc (cuda) profile/,$p' | head -30
  done
fi

# Decode after a prompt of the first length: lazyc's median step (dense, and
# pruned with LazyLLM's per-step selection and revivals) beside plain-PyTorch
# eager decode with a KV cache (bench/gpu/torch_decode.py, same shape).
if in_budget "decode"; then
  N0=${LENS[0]}
  log "decode: 32 steps after a $N0-token prompt (median step, ms)"
  # LAZYC_CUDA_KEY_SPLITS=0: one block per head (no flash-decoding), to compare.
  for run in dense:auto lazy:auto dense:0 lazy:0; do
    v=${run%:*} splits=${run#*:} name=decode-${run/:/-}
    [ -f $D/llama7b-$v-cuda.so ] || continue
    LAZYC_CUDA_KEY_SPLITS=$splits timeout 120 $RUN $D/llama7b-$v-cuda.so --random-weights \
      --random-prompt "$N0" -n 33 --batch "$N0" --ctx $((N0 + 64)) --json >"$OUT/$name.json" \
      2>"$OUT/$name.err" || { echo "lazyc decode $run failed:"; tail -3 "$OUT/$name.err"; continue; }
    python3 -c "import json; r=json.load(open('$OUT/$name.json')); print('lazyc $v decode (key splits $splits): median step', r['decode_step_ms_median'], 'ms,', r['decode_tokens_per_s'], 'tokens/s over all steps,', r['revived_tokens'], 'revived')"
  done
  PYTHONUNBUFFERED=1 timeout 120 python3 bench/gpu/torch_decode.py --prompt "$N0" --steps 32 \
    --out "$OUT/torch-decode.json" 2>&1 | tail -2
fi

# cuBLASLt's candidates timed per GEMM shape instead of its first choice
# (LAZYC_GEMM_AUTOTUNE=1; LAZYC_GPU_AUTOTUNE=0 skips this).
if [ "${LAZYC_GPU_AUTOTUNE-1}" != 0 ] && in_budget "GEMM autotuning"; then
  log "GEMM autotuning (LAZYC_GEMM_AUTOTUNE=1)"
  time_variant autotune "" LAZYC_GEMM_AUTOTUNE=1
fi

time_builds ${LAZYC_GPU_ABLATIONS-nohic noproj rtselect nodefer}

# Other attention kernels (LAZYC_GPU_VARIANTS, default "flash": lazyc's own
# kernel everywhere; also "wide", "simple").
VARIANTS=${LAZYC_GPU_VARIANTS-flash}
for variant in $VARIANTS; do
  in_budget "attention variant $variant" || continue
  log "attention variant: $variant"
  time_variant "$variant" "" "LAZYC_CUDA_ATTENTION=$variant"
done

if in_budget "cold start"; then
  log "cold start: the first prefills of a process (auto builds a length's cuDNN plans in its second prefill; cudnn at once)"
  N0=${LENS[0]}
  for v in dense lazy; do
    [ -f $D/llama7b-$v-cuda.so ] || continue
    for mode in auto cudnn flash; do
      LAZYC_CUDA_ATTENTION=$mode timeout 120 $RUN $D/llama7b-$v-cuda.so --random-weights --random-prompt "$N0" \
        -n 0 --warmup 0 --repeat 3 --batch "$N0" --ctx $((N0 + 16)) --json >"$OUT/cold-$v-$mode.json" 2>"$OUT/cold-$v-$mode.err"
      python3 -c "import json; r=json.load(open('$OUT/cold-$v-$mode.json')); print('cold $v $N0 $mode: first, second, third prefill (ms)', r['ttft_ms_runs'])" 2>/dev/null \
        || { echo "cold $v $mode failed:"; tail -3 "$OUT/cold-$v-$mode.err"; }
    done
  done
fi

# Per-kernel GPU time (Nsight Systems, when installed): which generated
# kernels dominate, for the next optimization.
NSYS=$(command -v nsys || ls /usr/local/cuda/bin/nsys /opt/nvidia/nsight-systems/*/bin/nsys 2>/dev/null | head -1)
if [ -n "$NSYS" ] && [ -f $D/llama7b-dense-cuda.so ] && in_budget "nsys"; then
  log "per-kernel GPU time, dense ${LENS[0]} tokens ($NSYS)"
  LAZYC_CUDA_ATTENTION=cudnn timeout 120 "$NSYS" profile -t cuda --stats=true -f true -o "$OUT/nsys-dense" $RUN \
    $D/llama7b-dense-cuda.so --random-weights --random-prompt "${LENS[0]}" -n 0 --batch "${LENS[0]}" \
    --ctx $((${LENS[0]} + 16)) >"$OUT/nsys-dense.txt" 2>&1
  grep -A 25 "cuda_gpu_kern_sum" "$OUT/nsys-dense.txt" | cut -c1-160 | head -28
  rm -f "$OUT"/nsys-dense.nsys-rep "$OUT"/nsys-dense.sqlite
fi

log "table (with the variants measured)"
python3 bench/gpu/report.py "$OUT" "$LENGTHS" $MEASURED | tee "$OUT/table.txt"

# Only a few files come back from the GPU machine: keep the summary files
# at the top of OUT and pack the per-run outputs into one archive.
( cd "$OUT" && files=$(ls | grep -vE '^(table\.txt|gpu-bench\.json|run\.log|details\.tar\.gz)$') \
  && [ -n "$files" ] && tar czf details.tar.gz $files && rm -f $files ) || true

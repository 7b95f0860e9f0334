#!/usr/bin/env bash
# Prepares .device/ (git-ignored) for bench/gpu/run.sh on a GPU machine that
# has no LLVM/MLIR: compiles the models here (host code portable x86-64,
# kernels as sm_90 cubin + PTX) into build/device-models/, packs them into
# .device/models.tar.xz (xz: ~57 MB of models carry as ~2 MB, far under the
# device call's 64 MiB) and copies the PyTorch anchor and the GoogleTest
# sources. Run after building (build/bin/lazy-compile); run.sh unpacks.
set -euo pipefail
cd "$(dirname "$0")/../.."
D=build/device-models   # the compiled models (kept: only stale ones recompile)
C=build/bin/lazy-compile
mkdir -p $D .device
ANCHOR=${LAZYC_ANCHOR:-../shared/anchors/torch_prefill.py}
[ -f "$ANCHOR" ] && cp "$ANCHOR" .device/ || echo "no anchor at $ANCHOR: the table will lack PyTorch numbers"
# GoogleTest for the CUDA kernel tests: its library only (1.0 MB; with GoogleMock, its tests
# and samples 3.5 MB, room that SmolLM2's real blocks below need). A full copy from
# earlier versions is replaced.
if [ ! -f .device/googletest/.lazyc-slim ]; then
  rm -rf .device/googletest && mkdir -p .device/googletest/googletest
  cp /usr/src/googletest/CMakeLists.txt .device/googletest/
  cp -r /usr/src/googletest/googletest/{CMakeLists.txt,cmake,include,src} \
    .device/googletest/googletest/
  touch .device/googletest/.lazyc-slim
fi
SCHED=3:0.7,7:0.7,11:0.7,15:0.7,19:0.7,23:0.7   # the anchor's default schedule
compile() { echo "lazy-compile $*"; $C "$@"; }
# GPU vs CPU: the same synthetic models for both targets (same random weights at run time).
compile synthetic:tiny --dtype bf16 --portable -o $D/tiny-dense-cpu.so
compile synthetic:tiny --dtype bf16 --target=cuda -o $D/tiny-dense-cuda.so
compile synthetic:tiny --dtype bf16 --portable --schedule=0:0.5 -o $D/tiny-lazy-cpu.so
compile synthetic:tiny --dtype bf16 --target=cuda --schedule=0:0.5 -o $D/tiny-lazy-cuda.so
# Observation-window scores + max-pooling (lazyc_gpu_window_scores, a pooling kernel).
WINDOW="--score-window=32 --score-pool=5"
compile synthetic:tiny --dtype bf16 --portable --schedule=0:0.5 $WINDOW -o $D/tiny-window-cpu.so
compile synthetic:tiny --dtype bf16 --target=cuda --schedule=0:0.5 $WINDOW -o $D/tiny-window-cuda.so
# ... with the reuse bias (lazyc_gpu_reuse_bias; its decode steps revive less).
compile synthetic:tiny --dtype bf16 --portable --schedule=0:0.5 $WINDOW --reuse-bias=8 -o $D/tiny-bias-cpu.so
compile synthetic:tiny --dtype bf16 --target=cuda --schedule=0:0.5 $WINDOW --reuse-bias=8 -o $D/tiny-bias-cuda.so
# Banded attention (synthetic:tiny-banded[-128]: a 48-token sliding window in layer 0,
# scores soft-capped at 20 everywhere; heads of 64 / 128, lazyc's two flash kernel
# sizes): dense, pruned, and pruned with the runtime's window scores
# (lazyc_gpu_window_scores with the layer's window and cap).
for p in tiny-banded tiny-banded-128; do
  n=${p/-128/128}
  for t in "cpu --portable" "cuda --target=cuda"; do
    set -- $t
    compile synthetic:$p --dtype bf16 $2 -o $D/$n-dense-$1.so
    compile synthetic:$p --dtype bf16 $2 --schedule=0:0.5 -o $D/$n-lazy-$1.so
    compile synthetic:$p --dtype bf16 $2 --schedule=0:0.5 $WINDOW --generated-scores=false -o $D/$n-rtwindow-$1.so
  done
done
# Other chips' builds of the tiny model: sm_80 (the H100 runs its PTX, JIT-compiled at load;
# same logits expected) and sm_100 (the runtime must refuse it, naming --chip=sm_90).
compile synthetic:tiny --dtype bf16 --target=cuda --chip=sm_80 -o $D/tiny-dense-sm80-cuda.so
compile synthetic:tiny --dtype bf16 --target=cuda --chip=sm_100 -o $D/tiny-dense-sm100-cuda.so
compile synthetic:smollm2-135m --dtype bf16 --portable --ctx 1024 -o $D/smollm2-dense-cpu.so
compile synthetic:smollm2-135m --dtype bf16 --target=cuda --ctx 1024 -o $D/smollm2-dense-cuda.so
# "bf16all": the GEMM epilogues and bf16 activations (not the CUDA default
# until they have run on a GPU), with CPU twins of the same precision.
NEW="--bf16-activations=all --fuse-residual=true"
compile synthetic:tiny --dtype bf16 --portable --schedule=0:0.5 $NEW -o $D/tiny-lazy-bf16all-cpu.so
compile synthetic:tiny --dtype bf16 --target=cuda --schedule=0:0.5 $NEW -o $D/tiny-lazy-bf16all-cuda.so
compile synthetic:smollm2-135m --dtype bf16 --portable --ctx 1024 $NEW -o $D/smollm2-dense-bf16all-cpu.so
compile synthetic:smollm2-135m --dtype bf16 --target=cuda --ctx 1024 $NEW -o $D/smollm2-dense-bf16all-cuda.so
# "bf16res": also the residual stream in bf16 (PyTorch's bf16 precision).
RES="--bf16-activations=residual"
compile synthetic:tiny --dtype bf16 --portable --schedule=0:0.5 $RES -o $D/tiny-lazy-bf16res-cpu.so
compile synthetic:tiny --dtype bf16 --target=cuda --schedule=0:0.5 $RES -o $D/tiny-lazy-bf16res-cuda.so
compile synthetic:smollm2-135m --dtype bf16 --portable --ctx 1024 $RES -o $D/smollm2-dense-bf16res-cpu.so
compile synthetic:smollm2-135m --dtype bf16 --target=cuda --ctx 1024 $RES -o $D/smollm2-dense-bf16res-cuda.so
# Llama-2-7B shape, dense and with the anchor's schedule (recompiled when
# lazy-compile is newer than them), with the default code generation and
# with "bf16all", timed side by side.
fresh() { [ -f "$1" ] && [ "$1" -nt $C ]; }
fresh $D/llama7b-dense-cuda.so || compile synthetic:llama2-7b --dtype bf16 --target=cuda -o $D/llama7b-dense-cuda.so
fresh $D/llama7b-lazy-cuda.so || compile synthetic:llama2-7b --dtype bf16 --target=cuda --schedule=$SCHED -o $D/llama7b-lazy-cuda.so
fresh $D/llama7b-dense-bf16all-cuda.so || compile synthetic:llama2-7b --dtype bf16 --target=cuda $NEW -o $D/llama7b-dense-bf16all-cuda.so
fresh $D/llama7b-lazy-bf16all-cuda.so || compile synthetic:llama2-7b --dtype bf16 --target=cuda --schedule=$SCHED $NEW -o $D/llama7b-lazy-bf16all-cuda.so
# "rtselect": the pruned model with the runtime's LazyLLM kernels (score
# kernels, host selection: the default before lazyc-scores-to-linalg and
# lazyc-select-to-linalg), to time the generated scores and selection against.
fresh $D/llama7b-lazy-rtselect-cuda.so || compile synthetic:llama2-7b --dtype bf16 --target=cuda --schedule=$SCHED --generated-selection=false --generated-scores=false -o $D/llama7b-lazy-rtselect-cuda.so
# "nodefer": pruned without lazy-defer-mlp (every computed row runs
# its whole layer; the last layer's tail for every row), to time what it saves.
fresh $D/llama7b-lazy-nodefer-cuda.so || compile synthetic:llama2-7b --dtype bf16 --target=cuda --schedule=$SCHED --defer-mlp=false -o $D/llama7b-lazy-nodefer-cuda.so
fresh $D/llama7b-dense-bf16res-cuda.so || compile synthetic:llama2-7b --dtype bf16 --target=cuda $RES -o $D/llama7b-dense-bf16res-cuda.so
fresh $D/llama7b-lazy-bf16res-cuda.so || compile synthetic:llama2-7b --dtype bf16 --target=cuda --schedule=$SCHED $RES -o $D/llama7b-lazy-bf16res-cuda.so
# "noproj": pruned without lazyc-fuse-projections (a GEMM for each
# of Q, K, gate and up instead of one for Q+K and one for gate+up).
fresh $D/llama7b-lazy-noproj-cuda.so || compile synthetic:llama2-7b --dtype bf16 --target=cuda --schedule=$SCHED --fuse-projections=false -o $D/llama7b-lazy-noproj-cuda.so
# "nohic": pruned without lazyc-gpu-host-index-copies (every runtime call
# copies its index lists back, waiting for the GPU), to time what it saves.
fresh $D/llama7b-lazy-nohic-cuda.so || compile synthetic:llama2-7b --dtype bf16 --target=cuda --schedule=$SCHED --host-index-copies=false -o $D/llama7b-lazy-nohic-cuda.so
# "rownorm": each RMSNorm one kernel of a block per row (--fused-row-norms;
# not the default until measured), pruned 7B and the tiny pruned model for the
# logits check (its CPU twin is the default one: the CPU code is unchanged).
ROWNORM=--fused-row-norms
compile synthetic:tiny --dtype bf16 --target=cuda --schedule=0:0.5 $ROWNORM -o $D/tiny-lazy-rownorm-cuda.so
cp $D/tiny-lazy-cpu.so $D/tiny-lazy-rownorm-cpu.so
fresh $D/llama7b-lazy-rownorm-cuda.so || compile synthetic:llama2-7b --dtype bf16 --target=cuda --schedule=$SCHED $ROWNORM -o $D/llama7b-lazy-rownorm-cuda.so
# "bf16res-rownorm": both (the bf16 residual stream the block-per-row norms read):
# the fewest activation bytes, the likeliest fastest if each works on its own.
compile synthetic:tiny --dtype bf16 --target=cuda --schedule=0:0.5 $RES $ROWNORM -o $D/tiny-lazy-bf16res-rownorm-cuda.so
cp $D/tiny-lazy-bf16res-cpu.so $D/tiny-lazy-bf16res-rownorm-cpu.so
fresh $D/llama7b-dense-bf16res-rownorm-cuda.so || compile synthetic:llama2-7b --dtype bf16 --target=cuda $RES $ROWNORM -o $D/llama7b-dense-bf16res-rownorm-cuda.so
fresh $D/llama7b-lazy-bf16res-rownorm-cuda.so || compile synthetic:llama2-7b --dtype bf16 --target=cuda --schedule=$SCHED $RES $ROWNORM -o $D/llama7b-lazy-bf16res-rownorm-cuda.so
# Real weights: SmolLM2-135M-Instruct's GGUF (98 MB) does not fit a device call, whose
# whole working tree (tracked files and the carried .device/) travels in 64 MiB; its
# embeddings and tokenizer (~32 MB) with as many of its first blocks as fit (~2.2 MB
# each, at most 8, at least 2; the original tensors; xz-compressed) do: GPU vs CPU
# logits on a real text, dense and pruned.
REAL=models/SmolLM2-135M-Instruct.Q4_1.gguf
rm -f .device/smollm2-real8.gguf # earlier versions: always 8 blocks
travelling() { # bytes of the tracked and untracked-not-ignored files
  { git ls-files -z; git ls-files -z -o --exclude-standard; } | xargs -0 stat -c %s 2>/dev/null \
    | awk '{s += $1} END {print s + 0}'
}
MIB=1048576
if [ -f $REAL ]; then
  # Room left under 64 MiB after the checkout, GoogleTest, the anchor and the packed
  # models: the last run's models.tar.xz and 512 KiB (its size varies little: 2.7 MB on
  # 2026-11-29, real models included or not), else 3.5 MiB; the total is checked below.
  # With a fixed reserve of 6 MiB the 4 blocks that fit on 2026-11-29 fell to 3 when the
  # checkout grew by 0.7 MB of test fixtures, and with 3.5 MiB to none at 23.9 MiB of
  # checkout (session 32).
  packed=$(stat -c %s .device/models.tar.xz 2>/dev/null || echo $((3 * MIB)))
  room=$(( 64 * MIB - $(travelling) - $(du -sb .device/googletest | cut -f1) - packed - MIB / 2 - 65536 ))
  # The blocks travel xz-compressed (Q4_1 blocks: ~9% smaller; run.sh unpacks them), the
  # file the models are compiled from stays here (build/ is ignored). From the most blocks
  # whose file, compressed at the first try's ratio, would fit.
  LOCAL=build/device-real/smollm2-real.gguf
  mkdir -p build/device-real
  rm -f .device/smollm2-real.gguf .device/smollm2-real.gguf.xz
  ratio=92 # percent, until measured
  blocks=8
  while [ $blocks -ge 2 ]; do
    python3 bench/gpu/gguf_truncate.py $REAL $LOCAL --blocks $blocks >/dev/null
    raw=$(stat -c %s $LOCAL)
    if [ $(( raw * ratio / 100 )) -le "$room" ]; then
      xz -T2 -6 -c $LOCAL > .device/smollm2-real.gguf.xz
      packedReal=$(stat -c %s .device/smollm2-real.gguf.xz)
      ratio=$(( packedReal * 100 / raw + 1 ))
      [ "$packedReal" -le "$room" ] && break
      rm -f .device/smollm2-real.gguf.xz
    fi
    blocks=$((blocks - 1))
  done
  if [ ! -f .device/smollm2-real.gguf.xz ]; then
    echo "no room for SmolLM2's real weights in a device call: run.sh will skip that check"
  else
    echo "real weights: SmolLM2-135M-Instruct's first $blocks blocks ($(du -h $LOCAL | cut -f1), $(du -h .device/smollm2-real.gguf.xz | cut -f1) as .device/smollm2-real.gguf.xz)"
    # Pruning after the second and third blocks (after the first two of 3, the first of 2:
    # the last block cannot prune).
    real_sched=1:0.6,2:0.6
    [ $blocks -ge 4 ] || real_sched=0:0.6,1:0.6
    [ $blocks -ge 3 ] || real_sched=0:0.6
    for t in "cpu --portable" "cuda --target=cuda"; do
      set -- $t
      compile $LOCAL --dtype bf16 --ctx 2048 $2 -o $D/smollm2-real-dense-$1.so
      compile $LOCAL --dtype bf16 --ctx 2048 $2 --schedule=$real_sched -o $D/smollm2-real-lazy-$1.so
    done
  fi
else
  echo "no $REAL (scripts/setup.sh fetches it): run.sh will skip the real-weights check"
  rm -f .device/smollm2-real.gguf .device/smollm2-real.gguf.xz
fi
# Model families beyond SmolLM2: the tiny GGUFs of test/fixtures (they travel with
# the checkout; each matches transformers on the CPU): Llama 3.1's RoPE scaling,
# Qwen2's Q/K/V biases (also with bf16 activations: the bias kernel writes the bf16
# V), Qwen3's per-head query/key norms, SmolLM3's layer without RoPE (its query
# and key straight from their GEMMs), Granite's multipliers (llm.scale kernels, the
# attention's scale), OLMo 2's norms (of whole projections, of sublayer outputs).
# Dense and pruned, GPU vs CPU in run.sh.
for f in tiny-llama31 tiny-qwen2 tiny-qwen3 tiny-smollm3 tiny-granite tiny-olmo2; do
  for t in "cpu --portable" "cuda --target=cuda"; do
    set -- $t
    compile test/fixtures/$f.gguf --dtype bf16 $2 -o $D/$f-dense-$1.so
    compile test/fixtures/$f.gguf --dtype bf16 $2 --schedule=0:0.5 -o $D/$f-lazy-$1.so
  done
done
# Sliding windows (40 tokens) and soft-capping: Mistral's window in every layer, Phi-3's
# fused projections with it, Gemma 2's capped scores and logits in alternate windowed
# layers, Gemma 3 (GeGLU, norms scaling by 1 + weight before and after each sublayer,
# two RoPEs) with its windowed layers; Phi-4-mini's form (no window: RoPE on 12 of each
# head's 16 elements, LongRoPE's attention factor on those only), GLM-4 (interleaved RoPE
# on half of each head, Q/K/V biases, norms after the sublayers) and ERNIE 4.5.
for f in tiny-mistral-swa tiny-phi3 tiny-phi4mini tiny-glm4 tiny-ernie45 tiny-gemma2 tiny-gemma3; do
  for t in "cpu --portable" "cuda --target=cuda"; do
    set -- $t
    compile test/fixtures/$f.gguf --dtype bf16 $2 -o $D/$f-dense-$1.so
    compile test/fixtures/$f.gguf --dtype bf16 $2 --schedule=0:0.5 -o $D/$f-lazy-$1.so
  done
done
# LayerNorm families (2026-11-30, not yet run on a GPU), pruned (layer 0 dense):
# Cohere (parallel blocks, LayerNorms without biases), StarCoder2 (biased LayerNorms,
# GELU's tanh form), Phi-2 (partial RoPE, the logits' bias), GPT-NeoX (exact GELU, a
# norm per sublayer of a parallel block), Falcon (grouped query/key/value, Falcon-40B's
# norms), OLMo 1 (LayerNorms without weights, llm.clamp). GPU vs CPU in run.sh.
for f in tiny-cohere tiny-starcoder2 tiny-phi2 tiny-gptneox tiny-falcon tiny-olmo; do
  for t in "cpu --portable" "cuda --target=cuda"; do
    set -- $t
    compile test/fixtures/$f.gguf --dtype bf16 $2 --schedule=0:0.5 -o $D/$f-lazy-$1.so
  done
done
# Mixtures of experts (lazyc_gpu_moe: router logits routed on the host, the experts'
# GEMMs in cuBLASLt): synthetic:tiny-moe on random weights, and the tiny Mixtral, ERNIE
# 4.5 MoE (its selection bias, renormalization floor, shared experts), GLM-4.5
# (sigmoid scores, routed scale) and Qwen2-MoE (a gated shared expert: llm.sigmoid_gate's
# generated kernel) GGUFs. GPU vs CPU in run.sh.
# (Pruned models only but gpt-oss's: their first layer runs dense, and a device call's
# 64 MiB leave little room; Qwen3-MoE's and OLMoE's forms add nothing new on the GPU.)
for t in "cpu --portable" "cuda --target=cuda"; do
  set -- $t
  compile synthetic:tiny-moe --dtype bf16 $2 --schedule=0:0.5 -o $D/tiny-moe-lazy-$1.so
done
# gpt-oss (attention sinks, biased experts): its MXFP4 experts widened to bf16 on the
# CPU side too (the cuda target widens them), exactly (MXFP4 values fit bf16).
for f in tiny-mixtral tiny-ernie45moe tiny-glm4moe tiny-qwen2moe tiny-gptoss; do
  for t in "cpu --portable --mxfp4=widen" "cuda --target=cuda"; do
    set -- $t
    [ $f = tiny-gptoss ] && compile test/fixtures/$f.gguf --dtype bf16 ${@:2} -o $D/$f-dense-$1.so
    compile test/fixtures/$f.gguf --dtype bf16 ${@:2} --schedule=0:0.5 -o $D/$f-lazy-$1.so
  done
done
# A mixture of experts' GPU prefill, timed by run.sh (within its budget):
# synthetic:moe-small (12 layers, hidden 768, 16 experts of 512 rows, 4 per token),
# dense and with LazyLLM's default schedule.
fresh $D/moe-small-dense-cuda.so || compile synthetic:moe-small --dtype bf16 --target=cuda -o $D/moe-small-dense-cuda.so
fresh $D/moe-small-lazy-cuda.so || compile synthetic:moe-small --dtype bf16 --target=cuda --schedule=default -o $D/moe-small-lazy-cuda.so
compile test/fixtures/tiny-qwen2.gguf --dtype bf16 --portable --schedule=0:0.5 $NEW -o $D/tiny-qwen2-bf16all-cpu.so
compile test/fixtures/tiny-qwen2.gguf --dtype bf16 --target=cuda --schedule=0:0.5 $NEW -o $D/tiny-qwen2-bf16all-cuda.so
# Older prepare.sh variants, and the loose models earlier versions carried.
rm -f $D/llama7b-*-base-cuda.so $D/llama7b-dense-nodefer-cuda.so $D/llama7b-dense-noproj-cuda.so .device/*.so \
  $D/tiny-moe-dense-*.so $D/tiny-{mixtral,ernie45moe,glm4moe}-dense-*.so $D/tiny-{qwen3moe,olmoe}-*.so \
  $D/smollm2-real8-*.so
echo "packing $(ls $D/*.so | wc -l) models ($(du -sh $D | cut -f1)) into .device/models.tar.xz"
tar -C $D -cJf .device/models.tar.xz $(cd $D && ls *.so)
# What a device call carries: it refuses a working tree over 64 MiB.
total=$(( $(travelling) + $(du -sb .device | cut -f1) ))
echo "a device call carries $(( total / MIB )) MiB of its 64 (checkout $(( $(travelling) / MIB )) MiB, .device $(du -sh .device | cut -f1))"
if [ $total -gt $(( 64 * MIB )) ]; then
  echo "error: over the device call's 64 MiB: carry less" >&2
  exit 1
fi

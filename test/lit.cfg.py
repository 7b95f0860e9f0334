# lit configuration for lazyc. Run through ctest, or directly:
#   lit -v build/test                  (whole suite)
#   lit -v build/test/Dialect/llm/ops.mlir   (one file)
import os

import lit.formats

config.name = "lazyc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.lazyc_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unit", "fixtures", "fuzz", "e2e"]

# Project tools first, then FileCheck & co. from LLVM 22.
config.environment["PATH"] = os.pathsep.join(
    [config.lazyc_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", os.environ["PATH"])]
)
# Sanitizer builds: leak checking of the whole MLIR context is noise here, and
# so is manual poisoning: LLVM's BumpPtrAllocator, inlined into our instrumented
# code, poisons the slabs it creates, and libMLIR.so (not instrumented) then
# allocates from them without unpoisoning (a false "use-after-poison" in
# StringAttr::get while LazyInsertPruning sets the schedule, depending on where
# the slabs fall).
# OpenMP threads sleep at once when they wait: lit runs tests in parallel, and
# next to another ctest process (ctest -j2) GNU OpenMP's busy-waiting threads
# take the cores the working ones need (a whole ctest run 376 s -> 152 s on 2
# cores). The tools bound their spinning themselves; an explicit setting wins.
config.environment["OMP_WAIT_POLICY"] = os.environ.get("OMP_WAIT_POLICY", "passive")
config.environment["ASAN_OPTIONS"] = os.environ.get(
    "ASAN_OPTIONS", "detect_leaks=0:allow_user_poisoning=0")
config.substitutions.append(("%lazy_src", config.lazyc_src_root))
# Execution tests (mlir-runner) link MLIR's runner utilities (printMemrefF32).
llvm_lib_dir = os.path.join(config.llvm_tools_dir, "..", "lib")
config.substitutions.append(
    ("%mlir_runner_libs", ",".join(os.path.join(llvm_lib_dir, f"lib{name}.so")
                                   for name in ("mlir_runner_utils", "mlir_c_runner_utils"))))

# ... and the CPU runtime (its kernels as the reference of generated code).
config.substitutions.append(
    ("%lazyc_rt", os.path.join(config.lazyc_tools_dir, "..", "lib", "liblazycrt.so")))
# In a sanitizer build that runtime is instrumented: mlir-runner (which is not)
# can load it only with the ASan runtime preloaded. Tests loading %lazyc_rt
# run `%mlir_runner`. One OpenMP thread: mlir-runner unloads the runtime at
# exit while OpenMP's worker threads would still run its code (a crash after
# the output, which is then lost).
mlir_runner = "env OMP_NUM_THREADS=1 mlir-runner"
if getattr(config, "lazyc_sanitize", "OFF").upper() in ("ON", "1", "TRUE", "YES"):
    import subprocess
    asan = subprocess.run([config.cxx_compiler, "-print-file-name=libasan.so"],
                          capture_output=True, text=True).stdout.strip()
    if asan and os.path.isabs(asan):
        mlir_runner = f"env OMP_NUM_THREADS=1 LD_PRELOAD={asan} mlir-runner"
config.substitutions.append(("%mlir_runner", mlir_runner))

# The development model, downloaded by scripts/setup.sh; tests needing it say
# "REQUIRES: smollm2" and are reported UNSUPPORTED when it is absent.
smollm2 = os.path.join(config.lazyc_src_root, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
if os.path.exists(smollm2):
    config.available_features.add("smollm2")
config.substitutions.append(("%smollm2", smollm2))
config.substitutions.append(("%fixtures", os.path.join(config.lazyc_src_root, "test", "fixtures")))

# GPU tests: a machine without an NVIDIA device runs the "no GPU" error paths.
if not os.path.exists("/dev/nvidia0"):
    config.available_features.add("no-gpu")
config.substitutions.append(("%lazy_lib", os.path.join(config.lazyc_tools_dir, "..", "lib")))
if os.path.exists(os.path.join(config.lazyc_tools_dir, "..", "lib", "liblazycrt_cuda.so")):
    config.available_features.add("cuda-runtime")
# ptxas (the CUDA toolkit): lazy-compile --target=cuda can embed cubins.
cuda_home = os.environ.get("CUDA_HOME", "/usr/local/cuda")
if os.access(os.path.join(cuda_home, "bin", "ptxas"), os.X_OK):
    config.available_features.add("ptxas")

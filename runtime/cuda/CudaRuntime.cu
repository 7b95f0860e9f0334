//===- CudaRuntime.cu - the CUDA runtime of compiled models ----------------===//
//
// liblazycrt_cuda.so, loaded by runtime/Runtime.cpp only for models compiled
// with `lazy-compile --target=cuda`:
//
//  * the mgpu* entry points MLIR's gpu-to-llvm lowering calls (module load,
//    kernel launch, allocation, copies). Every stream the host code asks for
//    is the runtime's one stream, so work stays in order without the
//    per-launch synchronizations the lowering inserts (they are no-ops
//    here); allocations are stream-ordered (cudaMallocAsync) from a pool
//    that keeps its memory between steps.
//  * the heavy kernels the compiled model calls (runtime/cpu/Kernels.h's C
//    ABI, lazyc_gpu_* with device addresses): GEMMs through cuBLASLt (bf16
//    in, fp32 accumulate), a flash-style attention on tensor cores (mma.sync
//    bf16, online softmax, no N x N matrix, causal by original positions,
//    GQA, over gathered query and key sets; sliding windows and soft-capped
//    scores in its Banded instantiations; head sizes 64, 96, 128, 256, a
//    warp per query row for other sizes), the LazyLLM last-row importance
//    scores as separate small kernels (so pruning never forces an unfused
//    attention), selection and the Aux Cache.
//  * LazycCudaApi (CudaApi.h) for the host runtime.
//
// The CUDA runtime is linked statically (it loads the driver, libcuda.so,
// with dlopen) and driver functions come through cudaGetDriverEntryPoint*:
// this library builds and loads without a GPU; init() says why CUDA is
// unavailable.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/MoERouting.h"
#include "runtime/cuda/AttentionBand.h"
#include "runtime/cuda/CudaApi.h"
#include "runtime/cuda/CudnnAttention.h"
#include "runtime/cuda/GemmAlignment.h"
#include "runtime/cuda/HostCopies.h"
#include "runtime/cuda/KeySplits.h"
#include "runtime/cuda/KernelProfile.h"
#include "runtime/model/RandomWeights.h"

#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cublasLt.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

namespace {

//===----------------------------------------------------------------------===//
// State and errors
//===----------------------------------------------------------------------===//

struct State {
  bool initialized = false;
  std::string initError; // non-empty: CUDA is unusable
  std::string lastError; // first error after init
  std::string name;
  cudaStream_t stream = nullptr;
  cublasLtHandle_t lt = nullptr;
  void *workspace = nullptr;
  size_t workspaceBytes = 0;
  __nv_bfloat16 *scratch = nullptr; // bf16 copy of a GEMM input
  size_t scratchBytes = 0;
  // cuDNN attention operands: bf16 Q and O, gathered K/V rows; f32 Q and O
  // of lazyc's kernels when the compiled model passes bf16 ones.
  struct Buffer {
    void *p = nullptr;
    size_t bytes = 0;
  } sdpaQ, sdpaO, sdpaK, sdpaV, flashQ, flashO, splitParts;
  /// lazyc_gpu_moe's: router logits, an expert's rows and their products.
  Buffer moeLogits, moeRows, moeGate, moeUp, moeHidden, moeDown;
  int smCount = 0; // streaming multiprocessors (key splits of small steps)
  int computeCapability = 0; // major * 10 + minor
  size_t maxSharedPerBlock = 0; // opt-in dynamic shared memory per block (bytes)
  int64_t cudnnAttentionCalls = 0, lazycAttentionCalls = 0;
  // Index lists the host needed: copied back (a wait for the GPU) or read
  // from a host copy (LAZYC_CUDA_PROFILE reports both).
  int64_t fetchWaits = 0, fetchHostCopies = 0;
  // Host copies of device buffers that nothing rewrites until they are freed
  // (a step's tokens and positions: LazycCudaApi::mirror; index lists the
  // compiler marks final: lazyc_gpu_keep_host_copy): the kernels' host-side
  // index work reads these without a synchronization.
  lazyc::rt::HostCopies hostCopies;
  std::string attentionInfo;
  // Driver functions.
  decltype(&cuModuleLoadData) moduleLoadData = nullptr;
  decltype(&cuModuleLoadDataEx) moduleLoadDataEx = nullptr;
  decltype(&cuModuleUnload) moduleUnload = nullptr;
  decltype(&cuModuleGetFunction) moduleGetFunction = nullptr;
  decltype(&cuLaunchKernel) launchKernel = nullptr;
  decltype(&cuGetErrorString) getErrorString = nullptr;
};

State &state() {
  static State s;
  return s;
}

void setError(const std::string &message) {
  State &s = state();
  if (s.lastError.empty())
    s.lastError = message;
  std::fprintf(stderr, "lazyc (cuda): %s\n", message.c_str());
}

bool check(cudaError_t e, const char *what) {
  if (e == cudaSuccess)
    return true;
  setError(std::string(what) + ": " + cudaGetErrorString(e));
  return false;
}

bool checkDriver(CUresult r, const char *what) {
  if (r == CUDA_SUCCESS)
    return true;
  const char *text = nullptr;
  if (state().getErrorString)
    state().getErrorString(r, &text);
  setError(std::string(what) + ": " + (text ? text : ("CUresult " + std::to_string(r))));
  return false;
}

template <typename F> bool driverEntry(const char *name, F &fn) {
  void *p = nullptr;
  cudaDriverEntryPointQueryResult found;
  if (cudaGetDriverEntryPointByVersion(name, &p, 12000, cudaEnableDefault, &found) !=
          cudaSuccess ||
      found != cudaDriverEntryPointSuccess || !p)
    return false;
  fn = reinterpret_cast<F>(p);
  return true;
}

std::string gib(double bytes) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
  return b;
}

const char *initialize() {
  State &s = state();
  if (s.initialized)
    return s.initError.empty() ? nullptr : s.initError.c_str();
  s.initialized = true;
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    int driver = 0;
    cudaDriverGetVersion(&driver);
    if (driver == 0)
      s.initError = "no NVIDIA driver found (libcuda.so.1 cannot be loaded): no GPU here";
    else if (e == cudaErrorInsufficientDriver)
      s.initError = "the CUDA driver is too old for this runtime (driver supports CUDA " +
                    std::to_string(driver / 1000) + "." + std::to_string(driver % 1000 / 10) +
                    ", runtime built with " + std::to_string(CUDART_VERSION / 1000) + "." +
                    std::to_string(CUDART_VERSION % 1000 / 10) + ")";
    else if (e == cudaErrorNoDevice || count == 0)
      s.initError = "no CUDA device found";
    else
      s.initError = std::string("CUDA is unavailable: ") + cudaGetErrorString(e) +
                    (driver == 0 ? " (no NVIDIA driver: libcuda.so not found)" : "");
    return s.initError.c_str();
  }
  cudaDeviceProp prop;
  if (cudaSetDevice(0) != cudaSuccess || cudaGetDeviceProperties(&prop, 0) != cudaSuccess ||
      cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking) != cudaSuccess) {
    s.initError = "cannot start CUDA on device 0";
    return s.initError.c_str();
  }
  s.name = std::string(prop.name) + " (sm_" + std::to_string(prop.major) +
           std::to_string(prop.minor) + ", " + gib(static_cast<double>(prop.totalGlobalMem)) +
           ")";
  s.smCount = prop.multiProcessorCount;
  s.computeCapability = prop.major * 10 + prop.minor;
  s.maxSharedPerBlock = prop.sharedMemPerBlockOptin;
  if (prop.major < 8) {
    s.initError = s.name + ": lazyc's CUDA kernels need compute capability 8.0 or newer";
    return s.initError.c_str();
  }
  if (!driverEntry("cuModuleLoadData", s.moduleLoadData) ||
      !driverEntry("cuModuleLoadDataEx", s.moduleLoadDataEx) ||
      !driverEntry("cuModuleUnload", s.moduleUnload) ||
      !driverEntry("cuModuleGetFunction", s.moduleGetFunction) ||
      !driverEntry("cuLaunchKernel", s.launchKernel) ||
      !driverEntry("cuGetErrorString", s.getErrorString)) {
    s.initError = "the CUDA driver lacks the module/launch entry points (driver too old?)";
    return s.initError.c_str();
  }
  // Keep freed memory in the pool: steps allocate and free the same sizes.
  cudaMemPool_t pool;
  if (cudaDeviceGetDefaultMemPool(&pool, 0) == cudaSuccess) {
    uint64_t threshold = UINT64_MAX;
    cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold);
  }
  if (cublasLtCreate(&s.lt) != CUBLAS_STATUS_SUCCESS) {
    s.initError = "cannot create a cuBLASLt handle";
    return s.initError.c_str();
  }
  s.workspaceBytes = 64ull << 20;
  if (cudaMalloc(&s.workspace, s.workspaceBytes) != cudaSuccess) {
    s.initError = "out of device memory for the GEMM workspace";
    return s.initError.c_str();
  }
  return nullptr;
}

bool ready() {
  if (!initialize())
    return true;
  setError(state().initError);
  return false;
}

void *deviceAlloc(size_t bytes) {
  if (!ready())
    return nullptr;
  void *p = nullptr;
  if (bytes == 0)
    bytes = 1;
  cudaError_t e = cudaMallocAsync(&p, bytes, state().stream);
  if (e != cudaSuccess) {
    size_t freeBytes = 0, total = 0;
    cudaMemGetInfo(&freeBytes, &total);
    setError("out of GPU memory: allocating " + gib(static_cast<double>(bytes)) + " with " +
             gib(static_cast<double>(freeBytes)) + " free of " +
             gib(static_cast<double>(total)) + " (" + cudaGetErrorString(e) + ")");
    return nullptr;
  }
  return p;
}

void deviceFree(void *p) {
  if (p && state().stream) {
    state().hostCopies.forget(p);
    cudaFreeAsync(p, state().stream);
  }
}

template <typename T> T *ptr(uint64_t address) { return reinterpret_cast<T *>(address); }

/// Device -> host copy of `n` elements (waits), or the host copy of a buffer
/// nothing rewrites (no wait: a dense prefill's positions at every layer, a
/// pruned layer's token set in every call up to the next pruning layer).
template <typename T> std::vector<T> fetch(uint64_t device, int64_t n) {
  std::vector<T> host(static_cast<size_t>(std::max<int64_t>(n, 0)));
  const size_t bytes = host.size() * sizeof(T);
  lazyc::rt::HostCopies &copies = state().hostCopies;
  if (n <= 0)
    return host;
  if (copies.lookup(ptr<void>(device), host.data(), bytes)) {
    ++state().fetchHostCopies;
    return host;
  }
  ++state().fetchWaits;
  if (check(cudaMemcpyAsync(host.data(), ptr<T>(device), bytes, cudaMemcpyDeviceToHost,
                            state().stream),
            "copy to host") &&
      check(cudaStreamSynchronize(state().stream), "a GPU kernel failed"))
    copies.fetched(ptr<void>(device), host.data(), bytes);
  return host;
}

/// Host -> device copy into a fresh stream-ordered buffer (freed by the caller
/// with deviceFree after the kernels that read it are queued).
template <typename T> T *upload(const std::vector<T> &host) {
  T *d = static_cast<T *>(deviceAlloc(std::max<size_t>(host.size(), 1) * sizeof(T)));
  if (d && !host.empty())
    check(cudaMemcpyAsync(d, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice,
                          state().stream),
          "copy to device");
  return d;
}

/// Host result -> device array (the kernels' outputs computed on the host),
/// remembered as the latest upload (lazyc_gpu_keep_uploaded_copy).
template <typename T> void putBack(uint64_t device, const std::vector<T> &host) {
  if (!host.empty() &&
      check(cudaMemcpyAsync(ptr<T>(device), host.data(), host.size() * sizeof(T),
                            cudaMemcpyHostToDevice, state().stream),
            "copy to device"))
    state().hostCopies.uploaded(ptr<void>(device), host.data(), host.size() * sizeof(T));
}

/// A host vector's address, as the CPU kernels take it.
template <typename T> uint64_t hostAddr(std::vector<T> &v) {
  return reinterpret_cast<uint64_t>(v.data());
}

unsigned blocksFor(int64_t n, int threads) {
  return static_cast<unsigned>(std::max<int64_t>(1, (n + threads - 1) / threads));
}

/// Adds the wall time of a LazyLLM kernel (incl. its host round trips) to
/// the step's selection-overhead counter.
class Timed {
public:
  explicit Timed(LazycKVCache *cache)
      : cache_(cache), start_(std::chrono::steady_clock::now()) {}
  ~Timed() {
    if (!cache_)
      return;
    cudaStreamSynchronize(state().stream);
    cache_->lazy_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now() - start_)
                           .count();
  }

private:
  LazycKVCache *cache_;
  std::chrono::steady_clock::time_point start_;
};

std::string attentionVariant();
std::string cudnnStatus();

/// LAZYC_CUDA_PROFILE=1: GPU time per kind of work (CUDA events around each
/// call), printed at exit. Off by default (events cost a little).
enum ProfileKind {
  kGemm,
  kConvert,
  kAttention,
  kCudnnAttention,
  kGenerated,
  kLazy,
  kMoE,
  kProfileKinds
};
struct Profile {
  bool on = std::getenv("LAZYC_CUDA_PROFILE") != nullptr;
  /// (kind of work, start, end, the compiled kernel launched or null)
  std::vector<std::tuple<int, cudaEvent_t, cudaEvent_t, void *>> marks;
  /// Compiled kernels' names (mgpuModuleGetFunction).
  std::map<void *, std::string> kernelNames;
  /// Times restart() dropped what was measured before (warm-up work).
  int restarts = 0;
  static void report();
  static void restart();
  /// Frees the events and forgets what was measured.
  void clearMarks();
};
Profile &profile() {
  static Profile p;
  return p;
}
void Profile::report() {
  Profile &p = profile();
  if (!p.on || !state().stream)
    return;
  cudaStreamSynchronize(state().stream);
  double ms[kProfileKinds] = {0};
  int64_t n[kProfileKinds] = {0};
  lazyc::rt::KernelTotals generated;
  for (auto &[kind, a, b, kernel] : p.marks) {
    float t = 0;
    cudaEventElapsedTime(&t, a, b);
    ms[kind] += t;
    ++n[kind];
    if (kind == kGenerated) {
      auto name = p.kernelNames.find(kernel);
      generated.add(name == p.kernelNames.end() ? std::string("(unnamed)")
                                                : lazyc::rt::kernelKind(name->second),
                    t);
    }
  }
  const char *names[] = {"GEMM (cuBLASLt)",
                         "f32->bf16 GEMM inputs",
                         "attention (lazyc flash)",
                         "attention (cuDNN fused, incl. bf16 I/O)",
                         "compiler-generated kernels",
                         "LazyLLM (scores/select/Aux Cache)",
                         "experts' rows (gather, activation, sum)"};
  // From the first marked call's start to the last one's end: what the
  // marked calls leave of it is GPU idle time (host work, synchronizations)
  // and unmarked kernels (the K/V cache writes).
  float span = 0, marked = 0;
  if (!p.marks.empty())
    cudaEventElapsedTime(&span, std::get<1>(p.marks.front()), std::get<2>(p.marks.back()));
  for (double t : ms)
    marked += static_cast<float>(t);
  if (p.restarts == 0)
    std::fprintf(stderr, "lazyc (cuda) profile, GPU time over the whole run:\n");
  else
    std::fprintf(stderr, "lazyc (cuda) profile, GPU time since the warm-up (restarted %d "
                         "time%s):\n",
                 p.restarts, p.restarts == 1 ? "" : "s");
  std::fprintf(stderr, "  attention: LAZYC_CUDA_ATTENTION=%s, %s\n", attentionVariant().c_str(),
               cudnnStatus().c_str());
  std::fprintf(stderr, "  span of the marked work %.2f ms, of which unattributed %.2f ms (idle "
                       "gaps, unmarked kernels)\n",
               span, span - marked);
  p.clearMarks();
  for (int k = 0; k < kProfileKinds; ++k)
    std::fprintf(stderr, "  %-36s %9.2f ms  (%lld calls)\n", names[k], ms[k],
                 static_cast<long long>(n[k]));
  std::fprintf(stderr, "  index lists for host-side work: %lld copied back (each waits for the "
                       "GPU), %lld read from host copies\n",
               static_cast<long long>(state().fetchWaits),
               static_cast<long long>(state().fetchHostCopies));
  // The compiled kernels by the op they came from (lazyc-gpu-name-kernels).
  if (!generated.empty())
    std::fprintf(stderr, "  compiler-generated kernels by op:\n");
  for (const auto &e : generated.sorted())
    std::fprintf(stderr, "    %-34s %9.2f ms  (%lld launches)\n", e.kind.c_str(), e.ms,
                 static_cast<long long>(e.launches));
}
void Profile::restart() {
  Profile &p = profile();
  if (!p.on)
    return;
  if (state().stream)
    cudaStreamSynchronize(state().stream);
  p.clearMarks();
  state().fetchWaits = state().fetchHostCopies = 0;
  ++p.restarts;
}
void Profile::clearMarks() {
  for (auto &[kind, a, b, kernel] : marks) {
    cudaEventDestroy(a);
    cudaEventDestroy(b);
  }
  marks.clear();
}
class Mark {
public:
  explicit Mark(int kind, void *kernel = nullptr) : kind_(kind), kernel_(kernel) {
    if (!profile().on)
      return;
    cudaEventCreate(&a_);
    cudaEventCreate(&b_);
    cudaEventRecord(a_, state().stream);
  }
  ~Mark() {
    if (!profile().on)
      return;
    cudaEventRecord(b_, state().stream);
    profile().marks.emplace_back(kind_, a_, b_, kernel_);
  }

private:
  int kind_;
  void *kernel_;
  cudaEvent_t a_ = nullptr, b_ = nullptr;
};

/// Layer `layer`'s bf16 keys / values in the device KV cache.
__nv_bfloat16 *layerKeys(LazycKVCache *cache, int64_t layer) {
  return reinterpret_cast<__nv_bfloat16 *>(cache->k) + layer * cache->context * cache->kv_dim;
}
__nv_bfloat16 *layerValues(LazycKVCache *cache, int64_t layer) {
  return reinterpret_cast<__nv_bfloat16 *>(cache->v) + layer * cache->context * cache->kv_dim;
}

void count(LazycKVCache *cache, LazycStat stat, int64_t layer, int64_t n) {
  if (cache->stats)
    cache->stats[stat * cache->layers + layer] += n;
}

//===----------------------------------------------------------------------===//
// Small kernels
//===----------------------------------------------------------------------===//

__global__ void toBF16(const float *__restrict__ in, __nv_bfloat16 *__restrict__ out, int64_t n) {
  int64_t i = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) * 4;
  if (i + 3 < n) {
    float4 v = *reinterpret_cast<const float4 *>(in + i);
    *reinterpret_cast<__nv_bfloat162 *>(out + i) = __floats2bfloat162_rn(v.x, v.y);
    *reinterpret_cast<__nv_bfloat162 *>(out + i + 2) = __floats2bfloat162_rn(v.z, v.w);
  } else {
    for (; i < n; ++i)
      out[i] = __float2bfloat16_rn(in[i]);
  }
}

__global__ void fillRandomKernel(void *out, int64_t n, int dtype, uint64_t seed, uint64_t tensor,
                                 float scale, int constant) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float v = constant ? scale : lazyc::rt::randomWeight(seed, tensor, static_cast<uint64_t>(i), scale);
    if (dtype == 0)
      static_cast<float *>(out)[i] = v;
    else
      static_cast<uint16_t *>(out)[i] = lazyc::rt::floatToBF16Bits(v);
  }
}

__global__ void fromBF16(const __nv_bfloat16 *__restrict__ in, float *__restrict__ out,
                         int64_t n) {
  int64_t i = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) * 4;
  if (i + 3 < n) {
    float2 a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162 *>(in + i));
    float2 b = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162 *>(in + i + 2));
    *reinterpret_cast<float4 *>(out + i) = make_float4(a.x, a.y, b.x, b.y);
  } else {
    for (; i < n; ++i)
      out[i] = __bfloat162float(in[i]);
  }
}

/// dst[r] = src[index[r]] for rows of `rowVectors` 16-byte vectors.
__global__ void gatherKVRows(const uint4 *__restrict__ src, const int32_t *__restrict__ index,
                           int64_t rows, int64_t rowVectors, uint4 *__restrict__ dst) {
  int64_t n = rows * rowVectors;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t r = i / rowVectors, c = i % rowVectors;
    dst[i] = src[index[r] * rowVectors + c];
  }
}

__device__ inline __nv_bfloat16 asBF16(float x) { return __float2bfloat16_rn(x); }
__device__ inline __nv_bfloat16 asBF16(__nv_bfloat16 x) { return x; }

/// K/V rows of this step (f32 or bf16) into the layer's cache slots (bf16).
template <typename T>
__global__ void writeKV(const T *__restrict__ k, const T *__restrict__ v,
                        const int32_t *__restrict__ pos, int64_t rows, int64_t kvDim,
                        __nv_bfloat16 *__restrict__ kc, __nv_bfloat16 *__restrict__ vc) {
  int64_t n = rows * kvDim;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t r = i / kvDim, d = i % kvDim;
    int64_t slot = static_cast<int64_t>(pos[r]) * kvDim + d;
    kc[slot] = asBF16(k[i]);
    vc[slot] = asBF16(v[i]);
  }
}

__global__ void iota(int32_t *out, int64_t n) {
  int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n)
    out[i] = static_cast<int32_t>(i);
}

/// out[r] = fresh[src[r]] (kind 0), aux[src[r]] (kind 1) or zeros (kind 2).
__global__ void gatherRows(float *__restrict__ out, const float *__restrict__ fresh,
                           const float *__restrict__ aux, const int32_t *__restrict__ kind,
                           const int32_t *__restrict__ src, int64_t columns) {
  int64_t r = blockIdx.x;
  const float *row = kind[r] == 0   ? fresh + src[r] * columns
                     : kind[r] == 1 ? aux + static_cast<int64_t>(src[r]) * columns
                                    : nullptr;
  for (int64_t c = threadIdx.x; c < columns; c += blockDim.x)
    out[r * columns + c] = row ? row[c] : 0.0f;
}

/// aux[dst[i]] = hidden[src[i]].
__global__ void scatterRows(float *__restrict__ aux, const float *__restrict__ hidden,
                            const int32_t *__restrict__ src, const int32_t *__restrict__ dst,
                            int64_t columns) {
  int64_t i = blockIdx.x;
  for (int64_t c = threadIdx.x; c < columns; c += blockDim.x)
    aux[static_cast<int64_t>(dst[i]) * columns + c] = hidden[static_cast<int64_t>(src[i]) * columns + c];
}

//===----------------------------------------------------------------------===//
// Attention: flash-style on tensor cores
//===----------------------------------------------------------------------===//

__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t *>(&v);
}

__device__ __forceinline__ void mma16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                         uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
               "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/// ldmatrix: four 8x8 b16 matrices from shared memory (row addresses from
/// lanes 0-7, 8-15, 16-23, 24-31), optionally transposed.
template <bool Trans>
__device__ __forceinline__ void ldmatrix4(uint32_t (&r)[4], const void *rowAddress) {
  uint32_t a = static_cast<uint32_t>(__cvta_generic_to_shared(rowAddress));
  if (Trans)
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
  else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
}

__device__ __forceinline__ void cpAsync16(void *smem, const void *global, bool valid) {
  uint32_t a = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  int bytes = valid ? 16 : 0; // 0: fill with zeros
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(a), "l"(global),
               "r"(bytes));
}
__device__ __forceinline__ void cpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

/// How many keys a block of queries sees: keys with position <= the block's
/// last query position (keys ascending; keys == null: slots 0..numKeys).
__device__ __forceinline__ int visibleKeys(const int32_t *qpos, int lastRow,
                                           const int32_t *keys, int numKeys) {
  return lazyc::rt::firstKeyAbove(keys, numKeys, qpos[lastRow]);
}

/// Fills one K/V tile (64 keys from `t0`) and its key positions in shared
/// memory, with cp.async (Async; the caller commits) or plain loads.
template <int D, bool Async>
__device__ __forceinline__ void loadKVTile(__nv_bfloat16 *k, __nv_bfloat16 *v, int *pos, int t0,
                                           int visible, const int32_t *keys,
                                           const __nv_bfloat16 *kc, const __nv_bfloat16 *vc,
                                           int64_t kvStride, int g) {
  constexpr int BN = 64, LD = D + 8, CH = D / 8;
  for (int i = threadIdx.x; i < BN * CH; i += blockDim.x) {
    const int j = i / CH, ch = i % CH, key = t0 + j;
    const bool valid = key < visible;
    const int64_t slot = valid ? (keys ? keys[key] : key) : 0;
    const int64_t base = slot * kvStride + static_cast<int64_t>(g) * D + ch * 8;
    if constexpr (Async) {
      cpAsync16(k + j * LD + ch * 8, kc + base, valid);
      cpAsync16(v + j * LD + ch * 8, vc + base, valid);
    } else {
      uint4 kv = make_uint4(0, 0, 0, 0), vv = make_uint4(0, 0, 0, 0);
      if (valid) {
        kv = *reinterpret_cast<const uint4 *>(kc + base);
        vv = *reinterpret_cast<const uint4 *>(vc + base);
      }
      *reinterpret_cast<uint4 *>(k + j * LD + ch * 8) = kv;
      *reinterpret_cast<uint4 *>(v + j * LD + ch * 8) = vv;
    }
  }
  for (int j = threadIdx.x; j < BN; j += blockDim.x) {
    const int key = t0 + j;
    pos[j] = key < visible ? (keys ? keys[key] : key) : INT_MAX;
  }
}

/// One tile's online softmax for a 16-row MMA tile: masks S (16 x 64, in
/// log2 units after scaling) by position, updates the running max m and sum
/// l of rows r and r+8, rescales the output accumulators, and packs P into
/// the A fragments of the P V product. Banded (a sliding window or
/// soft-capped scores, `band`): the keys at positions <= floor0 / floor1
/// (windowFloor of rows r and r+8) are masked too, and the scores capped.
template <int D, bool Banded>
__device__ __forceinline__ void onlineSoftmax(float (&s)[8][4], int pos0, int pos1,
                                              const int *tilePos, float scaleLog2,
                                              float &m0, float &m1, float &l0, float &l1,
                                              float (&o)[D / 8][4], uint32_t (&pa)[4][4],
                                              const lazyc::rt::AttentionBand &band = {},
                                              int floor0 = INT_MIN, int floor1 = INT_MIN) {
  const int c = (threadIdx.x % 32) % 4;
  float mx0 = m0, mx1 = m1;
#pragma unroll
  for (int n = 0; n < 8; ++n) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int key = n * 8 + c * 2 + (e & 1);
      if constexpr (Banded) {
        float v = lazyc::rt::bandLogit2(s[n][e], scaleLog2, band);
        const int kp = tilePos[key];
        if (kp > (e < 2 ? pos0 : pos1) || kp <= (e < 2 ? floor0 : floor1))
          v = -INFINITY;
        s[n][e] = v;
      } else {
        float v = s[n][e] * scaleLog2;
        if (tilePos[key] > (e < 2 ? pos0 : pos1))
          v = -INFINITY;
        s[n][e] = v;
      }
    }
    mx0 = fmaxf(mx0, fmaxf(s[n][0], s[n][1]));
    mx1 = fmaxf(mx1, fmaxf(s[n][2], s[n][3]));
  }
  mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
  mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
  mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
  mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
  const float base0 = mx0 == -INFINITY ? 0.0f : mx0, base1 = mx1 == -INFINITY ? 0.0f : mx1;
  const float alpha0 = exp2f(m0 - base0), alpha1 = exp2f(m1 - base1);
  m0 = mx0;
  m1 = mx1;
  float sum0 = 0.0f, sum1 = 0.0f;
#pragma unroll
  for (int n = 0; n < 8; ++n) {
    s[n][0] = exp2f(s[n][0] - base0);
    s[n][1] = exp2f(s[n][1] - base0);
    s[n][2] = exp2f(s[n][2] - base1);
    s[n][3] = exp2f(s[n][3] - base1);
    sum0 += s[n][0] + s[n][1];
    sum1 += s[n][2] + s[n][3];
  }
  l0 = l0 * alpha0 + sum0;
  l1 = l1 * alpha1 + sum1;
#pragma unroll
  for (int dn = 0; dn < D / 8; ++dn) {
    o[dn][0] *= alpha0;
    o[dn][1] *= alpha0;
    o[dn][2] *= alpha1;
    o[dn][3] *= alpha1;
  }
  // Two adjacent 8-key accumulator tiles form one 16-key A fragment.
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    pa[j][0] = pack2(s[2 * j][0], s[2 * j][1]);
    pa[j][1] = pack2(s[2 * j][2], s[2 * j][3]);
    pa[j][2] = pack2(s[2 * j + 1][0], s[2 * j + 1][1]);
    pa[j][3] = pack2(s[2 * j + 1][2], s[2 * j + 1][3]);
  }
}

/// The sum over the 4 lanes that hold one MMA row (lanes 4r .. 4r+3).
__device__ __forceinline__ float quadSum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

/// Writes rows r and r+8 of a 16-row output tile, normalized by the row sums.
template <int D>
__device__ __forceinline__ void storeRows(float *out, int64_t outStride, int h, int row0,
                                          int rows, float l0, float l1,
                                          const float (&o)[D / 8][4]) {
  const int c = (threadIdx.x % 32) % 4;
  l0 = quadSum(l0);
  l1 = quadSum(l1);
  const float inv0 = l0 > 0.0f ? 1.0f / l0 : 0.0f, inv1 = l1 > 0.0f ? 1.0f / l1 : 0.0f;
  const int row1 = row0 + 8;
#pragma unroll
  for (int dn = 0; dn < D / 8; ++dn) {
    const int col = h * D + dn * 8 + c * 2;
    if (row0 < rows)
      *reinterpret_cast<float2 *>(out + static_cast<int64_t>(row0) * outStride + col) =
          make_float2(o[dn][0] * inv0, o[dn][1] * inv0);
    if (row1 < rows)
      *reinterpret_cast<float2 *>(out + static_cast<int64_t>(row1) * outStride + col) =
          make_float2(o[dn][2] * inv1, o[dn][3] * inv1);
  }
}

/// A key split's rows r and r+8 (flash-decoding): the unnormalized output
/// and the rows' running max (log2 units) and sum, for combineKeySplits.
/// Layout: o [split][row][heads * D], ml [split][row][heads][2].
template <int D>
__device__ __forceinline__ void storePartialRows(float *partO, float *partML, int rows,
                                                 int heads, int h, int row0, float m0, float m1,
                                                 float l0, float l1,
                                                 const float (&o)[D / 8][4]) {
  const int c = (threadIdx.x % 32) % 4;
  l0 = quadSum(l0);
  l1 = quadSum(l1);
  const int64_t split = blockIdx.z, qDim = static_cast<int64_t>(heads) * D;
  float *po = partO + split * rows * qDim;
  float *pml = partML + split * rows * heads * 2;
  const int row1 = row0 + 8;
#pragma unroll
  for (int dn = 0; dn < D / 8; ++dn) {
    const int col = h * D + dn * 8 + c * 2;
    if (row0 < rows)
      *reinterpret_cast<float2 *>(po + row0 * qDim + col) = make_float2(o[dn][0], o[dn][1]);
    if (row1 < rows)
      *reinterpret_cast<float2 *>(po + row1 * qDim + col) = make_float2(o[dn][2], o[dn][3]);
  }
  if (c == 0 && row0 < rows)
    *reinterpret_cast<float2 *>(pml + (static_cast<int64_t>(row0) * heads + h) * 2) =
        make_float2(m0, l0);
  if (c == 0 && row1 < rows)
    *reinterpret_cast<float2 *>(pml + (static_cast<int64_t>(row1) * heads + h) * 2) =
        make_float2(m1, l1);
}

/// out[row, h*D + d] from the key splits' partial rows: each split's output
/// and sum rescaled to the largest running max. One block per (row, head),
/// one thread per dim. `sinks` (gpt-oss; null: none): one logit per head,
/// one more term of each row's softmax denominator (no value).
__global__ void combineKeySplits(const float *__restrict__ partO,
                                 const float *__restrict__ partML, int splits, int rows,
                                 int heads, int D, const float *__restrict__ sinks,
                                 float *__restrict__ out, int64_t outStride) {
  const int row = blockIdx.x, h = blockIdx.y, d = threadIdx.x;
  const int64_t qDim = static_cast<int64_t>(heads) * D;
  float m = -INFINITY;
  for (int z = 0; z < splits; ++z)
    m = fmaxf(m, partML[((static_cast<int64_t>(z) * rows + row) * heads + h) * 2]);
  // The kernels' logits are in log2 units (scaled by log2(e)).
  const float sink = sinks ? sinks[h] * 1.4426950408889634f : -INFINITY;
  const float top = fmaxf(m, sink);
  float o = 0.0f, l = sinks ? exp2f(sink - top) : 0.0f;
  if (m != -INFINITY)
    for (int z = 0; z < splits; ++z) {
      const float *ml = partML + ((static_cast<int64_t>(z) * rows + row) * heads + h) * 2;
      const float w = exp2f(ml[0] - top); // 0 for a split without visible keys
      l += ml[1] * w;
      o += partO[(static_cast<int64_t>(z) * rows + row) * qDim + h * D + d] * w;
    }
  out[static_cast<int64_t>(row) * outStride + h * D + d] = l > 0.0f ? o / l : 0.0f;
}

/// Flash attention on tensor cores. One block: 16 * WARPS query rows of one
/// head (16 per warp) against tiles of 64 keys of its KV head, in shared
/// memory; Pipelined: two tile buffers filled with cp.async, so the next
/// tile loads while this one is computed. Queries f32 (converted while
/// loading), keys/values bf16 from the cache, fp32 softmax/accumulation and
/// output. Query row i sees the keys whose position is <= qpos[i]; keys are
/// the cache slots 0.. (keys == null) or the ascending slot list `keys`.
/// With gridDim.z > 1 (flash-decoding: a step of few rows over many keys,
/// which would leave most SMs idle) block z takes the z-th of gridDim.z
/// equal ranges of whole key tiles and writes partial rows to partO/partML
/// for combineKeySplits; else the output rows. Banded: a sliding window
/// and/or soft-capped scores (`band`, AttentionBand.h); the block starts at
/// the first key its earliest row's window sees.
/// Shared memory (dynamic): smemBytes<D, Pipelined>().
template <int D, bool Pipelined> constexpr int flashSmemBytes() {
  return (Pipelined ? 2 : 1) * (2 * 64 * (D + 8) * 2 + 64 * 4);
}

template <int D, int WARPS, bool Pipelined, bool Banded>
__global__ void __launch_bounds__(WARPS * 32)
    flashAttention(const float *__restrict__ q, int64_t qStride, const int32_t *__restrict__ qpos,
                   int rows, const __nv_bfloat16 *__restrict__ kc,
                   const __nv_bfloat16 *__restrict__ vc, int64_t kvStride,
                   const int32_t *__restrict__ keys, int numKeys, int group, float scaleLog2,
                   lazyc::rt::AttentionBand band, float *__restrict__ out, int64_t outStride,
                   float *__restrict__ partO, float *__restrict__ partML) {
  constexpr int BM = WARPS * 16, BN = 64, LD = D + 8;
  constexpr int STAGES = Pipelined ? 2 : 1;
  extern __shared__ __align__(16) unsigned char smem[];
  // Stage s: K tile, V tile, key positions.
  auto sK = [&](int st) {
    return reinterpret_cast<__nv_bfloat16 *>(smem) + st * 2 * BN * LD;
  };
  auto sV = [&](int st) { return sK(st) + BN * LD; };
  auto sPos = [&](int st) {
    return reinterpret_cast<int *>(smem + STAGES * 2 * BN * LD * 2) + st * BN;
  };
  __shared__ int sVisible, sLowest;
  const int h = blockIdx.y, g = h / group;
  const int blockRow = (gridDim.x - 1 - blockIdx.x) * BM; // late (heavy) blocks first
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int r = lane / 4, c = lane % 4;
  const int row0 = blockRow + warp * 16 + r, row1 = row0 + 8;
  const int pos0 = row0 < rows ? qpos[row0] : -1, pos1 = row1 < rows ? qpos[row1] : -1;
  if (threadIdx.x == 0) {
    sVisible = visibleKeys(qpos, min(blockRow + BM, rows) - 1, keys, numKeys);
    if constexpr (Banded)
      sLowest = lazyc::rt::firstBandKey(keys, numKeys, qpos[blockRow], band);
  }
  __syncthreads();
  const int visible = sVisible, lowest = Banded ? min(sLowest, visible) : 0;
  // This block's keys [first, end): all it sees, or its split's whole tiles.
  const lazyc::rt::KeyRange range =
      lazyc::rt::splitKeyRange(lowest, visible, gridDim.z, static_cast<int>(blockIdx.z), BN);
  const int first = range.first, end = range.end;
  int floor0 = INT_MIN, floor1 = INT_MIN;
  if constexpr (Banded) {
    floor0 = lazyc::rt::windowFloor(pos0, band);
    floor1 = lazyc::rt::windowFloor(pos1, band);
  }

  auto loadTile = [&](int st, int t0) {
    loadKVTile<D, Pipelined>(sK(st), sV(st), sPos(st), t0, visible, keys, kc, vc, kvStride, g);
    if constexpr (Pipelined)
      cpAsyncCommit();
  };

  // This warp's 16 query rows as A fragments (bf16), for every 16 dims.
  uint32_t qa[D / 16][4];
  auto load2 = [&](int row, int col) -> uint32_t {
    if (row >= rows)
      return 0;
    float2 v = *reinterpret_cast<const float2 *>(q + static_cast<int64_t>(row) * qStride +
                                                 static_cast<int64_t>(h) * D + col);
    return pack2(v.x, v.y);
  };
  if (first < end)
    loadTile(0, first);
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    qa[kk][0] = load2(row0, kk * 16 + c * 2);
    qa[kk][1] = load2(row1, kk * 16 + c * 2);
    qa[kk][2] = load2(row0, kk * 16 + 8 + c * 2);
    qa[kk][3] = load2(row1, kk * 16 + 8 + c * 2);
  }

  float o[D / 8][4];
#pragma unroll
  for (int i = 0; i < D / 8; ++i)
    o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
  float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;

  for (int t0 = first, it = 0; t0 < end; t0 += BN, ++it) {
    const int st = Pipelined ? (it & 1) : 0;
    if constexpr (Pipelined) {
      if (t0 + BN < end) {
        loadTile(st ^ 1, t0 + BN); // the next tile loads during this one
        cpAsyncWait<1>();
      } else {
        cpAsyncWait<0>();
      }
    } else if (it > 0) {
      loadTile(0, t0);
    }
    __syncthreads();
    const __nv_bfloat16 *tileK = sK(st), *tileV = sV(st);
    const int *tilePos = sPos(st);

    // S = Q K^T (16 x 64 per warp), scaled to log2 units and masked.
    float s[BN / 8][4];
#pragma unroll
    for (int n = 0; n < BN / 8; ++n) {
      s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
      // Lane l addresses key n*8 + l%8, dims kk*16 + (l/8)*8: b0/b1 of kk
      // and kk+1 in one load.
      const __nv_bfloat16 *base = tileK + (n * 8 + lane % 8) * LD + (lane / 8) * 8;
#pragma unroll
      for (int kk = 0; kk < D / 16; kk += 2) {
        uint32_t b[4];
        ldmatrix4<false>(b, base + kk * 16);
        mma16816(s[n], qa[kk], b[0], b[1]);
        mma16816(s[n], qa[kk + 1], b[2], b[3]);
      }
    }
    uint32_t pa[BN / 16][4];
    onlineSoftmax<D, Banded>(s, pos0, pos1, tilePos, scaleLog2, m0, m1, l0, l1, o, pa, band,
                             floor0, floor1);
    // O += P V: P's accumulators are the A fragments of the next MMA.
#pragma unroll
    for (int j = 0; j < BN / 16; ++j) {
      const uint32_t(&a)[4] = pa[j];
      // Lane l addresses key 16j + ((l/8)%2)*8 + l%8, dims (dn + l/16)*8:
      // transposed, b0/b1 of dn and dn+1 in one load.
      const __nv_bfloat16 *base =
          tileV + (16 * j + ((lane / 8) % 2) * 8 + lane % 8) * LD + (lane / 16) * 8;
#pragma unroll
      for (int dn = 0; dn < D / 8; dn += 2) {
        uint32_t b[4];
        ldmatrix4<true>(b, base + dn * 8);
        mma16816(o[dn], a, b[0], b[1]);
        mma16816(o[dn + 1], a, b[2], b[3]);
      }
    }
    __syncthreads(); // this buffer is refilled next-but-one iteration
  }
  if (gridDim.z > 1)
    storePartialRows<D>(partO, partML, rows, gridDim.y, h, row0, m0, m1, l0, l1, o);
  else
    storeRows<D>(out, outStride, h, row0, rows, l0, l1, o);
}

/// Wide variant: 4 warps x 32 query rows (two 16-row MMA tiles per warp) so
/// every K/V fragment loaded from shared memory feeds two MMAs; the Q tile
/// lives in shared memory (ldmatrix per use) to keep registers for the two
/// accumulators. K/V double-buffered with cp.async. 128 query rows per block.
/// Banded: as flashAttention's.
template <int D> constexpr int flashWideSmemBytes() {
  return 128 * (D + 8) * 2 + flashSmemBytes<D, true>();
}

template <int D, bool Banded>
__global__ void __launch_bounds__(128)
    flashAttentionWide(const float *__restrict__ q, int64_t qStride,
                       const int32_t *__restrict__ qpos, int rows,
                       const __nv_bfloat16 *__restrict__ kc,
                       const __nv_bfloat16 *__restrict__ vc, int64_t kvStride,
                       const int32_t *__restrict__ keys, int numKeys, int group,
                       float scaleLog2, lazyc::rt::AttentionBand band,
                       float *__restrict__ out, int64_t outStride) {
  constexpr int BM = 128, BN = 64, LD = D + 8;
  extern __shared__ __align__(16) unsigned char smem[];
  __nv_bfloat16 *sQ = reinterpret_cast<__nv_bfloat16 *>(smem);
  unsigned char *kvBase = smem + BM * LD * 2;
  auto sK = [&](int st) { return reinterpret_cast<__nv_bfloat16 *>(kvBase) + st * 2 * BN * LD; };
  auto sV = [&](int st) { return sK(st) + BN * LD; };
  auto sPos = [&](int st) {
    return reinterpret_cast<int *>(kvBase + 2 * 2 * BN * LD * 2) + st * BN;
  };
  __shared__ int sVisible, sLowest;
  const int h = blockIdx.y, g = h / group;
  const int blockRow = (gridDim.x - 1 - blockIdx.x) * BM;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int r = lane / 4;
  int rowPos[2][2], rowFloor[2][2];
#pragma unroll
  for (int mt = 0; mt < 2; ++mt)
#pragma unroll
    for (int hi = 0; hi < 2; ++hi) {
      const int row = blockRow + warp * 32 + mt * 16 + hi * 8 + r;
      rowPos[mt][hi] = row < rows ? qpos[row] : -1;
      rowFloor[mt][hi] = Banded ? lazyc::rt::windowFloor(rowPos[mt][hi], band) : INT_MIN;
    }
  if (threadIdx.x == 0) {
    sVisible = visibleKeys(qpos, min(blockRow + BM, rows) - 1, keys, numKeys);
    if constexpr (Banded)
      sLowest = lazyc::rt::firstBandKey(keys, numKeys, qpos[blockRow], band);
  }
  // Q tile -> shared memory as bf16 (rows past the end are zeros).
  for (int i = threadIdx.x; i < BM * (D / 2); i += blockDim.x) {
    const int row = i / (D / 2), col = (i % (D / 2)) * 2, grow = blockRow + row;
    uint32_t v = 0;
    if (grow < rows) {
      float2 f = *reinterpret_cast<const float2 *>(q + static_cast<int64_t>(grow) * qStride +
                                                   static_cast<int64_t>(h) * D + col);
      v = pack2(f.x, f.y);
    }
    *reinterpret_cast<uint32_t *>(sQ + row * LD + col) = v;
  }
  __syncthreads();
  const int visible = sVisible, lowest = Banded ? min(sLowest, visible) : 0;
  auto loadTile = [&](int st, int t0) {
    loadKVTile<D, true>(sK(st), sV(st), sPos(st), t0, visible, keys, kc, vc, kvStride, g);
    cpAsyncCommit();
  };
  if (lowest < visible)
    loadTile(0, lowest);

  float o[2][D / 8][4];
#pragma unroll
  for (int mt = 0; mt < 2; ++mt)
#pragma unroll
    for (int i = 0; i < D / 8; ++i)
      o[mt][i][0] = o[mt][i][1] = o[mt][i][2] = o[mt][i][3] = 0.0f;
  float m[2][2], l[2][2];
#pragma unroll
  for (int mt = 0; mt < 2; ++mt)
    m[mt][0] = m[mt][1] = -INFINITY, l[mt][0] = l[mt][1] = 0.0f;
  // Lane address of this warp's A fragments in sQ: rows (l/8)%2*8 + l%8 of
  // the 16-row tile, dims (l/16)*8 of the 16-dim step.
  const __nv_bfloat16 *qBase =
      sQ + (warp * 32 + ((lane / 8) % 2) * 8 + lane % 8) * LD + (lane / 16) * 8;

  for (int t0 = lowest, it = 0; t0 < visible; t0 += BN, ++it) {
    const int st = it & 1;
    if (t0 + BN < visible) {
      loadTile(st ^ 1, t0 + BN);
      cpAsyncWait<1>();
    } else {
      cpAsyncWait<0>();
    }
    __syncthreads();
    const __nv_bfloat16 *tileK = sK(st), *tileV = sV(st);
    const int *tilePos = sPos(st);

    // S = Q K^T for both 16-row tiles; each K fragment feeds both.
    float s[2][BN / 8][4];
#pragma unroll
    for (int mt = 0; mt < 2; ++mt)
#pragma unroll
      for (int n = 0; n < BN / 8; ++n)
        s[mt][n][0] = s[mt][n][1] = s[mt][n][2] = s[mt][n][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; kk += 2) {
      uint32_t qa[2][2][4]; // [mt][kk, kk+1]
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) {
        ldmatrix4<false>(qa[mt][0], qBase + mt * 16 * LD + kk * 16);
        ldmatrix4<false>(qa[mt][1], qBase + mt * 16 * LD + (kk + 1) * 16);
      }
#pragma unroll
      for (int n = 0; n < BN / 8; ++n) {
        uint32_t b[4];
        ldmatrix4<false>(b, tileK + (n * 8 + lane % 8) * LD + (lane / 8) * 8 + kk * 16);
#pragma unroll
        for (int mt = 0; mt < 2; ++mt) {
          mma16816(s[mt][n], qa[mt][0], b[0], b[1]);
          mma16816(s[mt][n], qa[mt][1], b[2], b[3]);
        }
      }
    }
    uint32_t pa[2][BN / 16][4];
#pragma unroll
    for (int mt = 0; mt < 2; ++mt)
      onlineSoftmax<D, Banded>(s[mt], rowPos[mt][0], rowPos[mt][1], tilePos, scaleLog2,
                               m[mt][0], m[mt][1], l[mt][0], l[mt][1], o[mt], pa[mt], band,
                               rowFloor[mt][0], rowFloor[mt][1]);
    // O += P V; each V fragment feeds both row tiles.
#pragma unroll
    for (int j = 0; j < BN / 16; ++j) {
      const __nv_bfloat16 *base =
          tileV + (16 * j + ((lane / 8) % 2) * 8 + lane % 8) * LD + (lane / 16) * 8;
#pragma unroll
      for (int dn = 0; dn < D / 8; dn += 2) {
        uint32_t b[4];
        ldmatrix4<true>(b, base + dn * 8);
#pragma unroll
        for (int mt = 0; mt < 2; ++mt) {
          mma16816(o[mt][dn], pa[mt][j], b[0], b[1]);
          mma16816(o[mt][dn + 1], pa[mt][j], b[2], b[3]);
        }
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int mt = 0; mt < 2; ++mt)
    storeRows<D>(out, outStride, h, blockRow + warp * 32 + mt * 16 + r, rows, l[mt][0],
                 l[mt][1], o[mt]);
}

/// Attention for head sizes without a tensor-core kernel (any even size up
/// to 256 but 64, 96, 128 and 256): one warp per query row, head and key range (with
/// gridDim.z > 1, flash-decoding's splits: partial rows for
/// combineKeySplits, as flashAttention's). Lane l holds dims 2l, 2l + 1,
/// 2l + 64, ... of the query and the output in registers (PAIRS pairs); the
/// row's keys (from the first its window sees to the last <= its position)
/// one at a time: the dot product summed across the warp, an online softmax
/// in log2 units, the value row accumulated. Keys and values are read as
/// bf16 pairs, 128 contiguous bytes per warp per 64 dims.
template <int PAIRS>
__global__ void __launch_bounds__(128)
    rowAttention(const float *__restrict__ q, int64_t qStride, const int32_t *__restrict__ qpos,
                 int rows, const __nv_bfloat16 *__restrict__ kc,
                 const __nv_bfloat16 *__restrict__ vc, int64_t kvStride,
                 const int32_t *__restrict__ keys, int numKeys, int group, int D,
                 float scaleLog2, lazyc::rt::AttentionBand band, float *__restrict__ out,
                 int64_t outStride, float *__restrict__ partO, float *__restrict__ partML) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  const int h = blockIdx.y, g = h / group;
  if (row >= rows)
    return;
  const int pos = qpos[row];
  float2 qv[PAIRS], o[PAIRS];
#pragma unroll
  for (int i = 0; i < PAIRS; ++i) {
    const int d = 2 * lane + 64 * i;
    qv[i] = d < D ? *reinterpret_cast<const float2 *>(q + static_cast<int64_t>(row) * qStride +
                                                      static_cast<int64_t>(h) * D + d)
                  : make_float2(0.0f, 0.0f);
    o[i] = make_float2(0.0f, 0.0f);
  }
  // The row's keys [first, end), this split's share of them.
  const int first = lazyc::rt::firstBandKey(keys, numKeys, pos, band);
  const int end = max(first, lazyc::rt::firstKeyAbove(keys, numKeys, pos));
  const lazyc::rt::KeyRange range =
      lazyc::rt::splitRowKeys(first, end, gridDim.z, static_cast<int>(blockIdx.z));
  float m = -INFINITY, l = 0.0f;
  for (int j = range.first; j < range.end; ++j) {
    const int64_t base = static_cast<int64_t>(keys ? keys[j] : j) * kvStride +
                         static_cast<int64_t>(g) * D;
    float dot = 0.0f;
#pragma unroll
    for (int i = 0; i < PAIRS; ++i) {
      const int d = 2 * lane + 64 * i;
      if (d < D) {
        const float2 k = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162 *>(kc + base + d));
        dot += qv[i].x * k.x + qv[i].y * k.y;
      }
    }
#pragma unroll
    for (int off = 16; off > 0; off /= 2)
      dot += __shfl_xor_sync(0xffffffffu, dot, off);
    const float s = lazyc::rt::bandLogit2(dot, scaleLog2, band);
    const float mNew = fmaxf(m, s), alpha = exp2f(m - mNew), p = exp2f(s - mNew);
    l = l * alpha + p;
#pragma unroll
    for (int i = 0; i < PAIRS; ++i) {
      const int d = 2 * lane + 64 * i;
      if (d < D) {
        const float2 v = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162 *>(vc + base + d));
        o[i].x = o[i].x * alpha + p * v.x;
        o[i].y = o[i].y * alpha + p * v.y;
      }
    }
    m = mNew;
  }
  const int heads = gridDim.y;
  if (gridDim.z > 1) { // partial rows: layouts as storePartialRows'
    const int64_t split = blockIdx.z, qDim = static_cast<int64_t>(heads) * D;
    float *po = partO + (split * rows + row) * qDim + static_cast<int64_t>(h) * D;
#pragma unroll
    for (int i = 0; i < PAIRS; ++i) {
      const int d = 2 * lane + 64 * i;
      if (d < D)
        *reinterpret_cast<float2 *>(po + d) = o[i];
    }
    if (lane == 0)
      *reinterpret_cast<float2 *>(partML + ((split * rows + row) * heads + h) * 2) =
          make_float2(m, l);
    return;
  }
  const float inv = l > 0.0f ? 1.0f / l : 0.0f; // no key in its window: zeros
  float *orow = out + static_cast<int64_t>(row) * outStride + static_cast<int64_t>(h) * D;
#pragma unroll
  for (int i = 0; i < PAIRS; ++i) {
    const int d = 2 * lane + 64 * i;
    if (d < D)
      *reinterpret_cast<float2 *>(orow + d) = make_float2(o[i].x * inv, o[i].y * inv);
  }
}

/// Plain reference attention (one thread per query row and head; any head
/// size): the tests' reference, and the kernel of odd head sizes.
__global__ void referenceAttention(const float *__restrict__ q, const int32_t *__restrict__ qpos,
                                   int rows, const __nv_bfloat16 *__restrict__ kc,
                                   const __nv_bfloat16 *__restrict__ vc, int64_t kvStride,
                                   const int32_t *__restrict__ keys, int numKeys, int heads,
                                   int group, int D, float scale, lazyc::rt::AttentionBand band,
                                   float *__restrict__ out) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  int h = blockIdx.y;
  if (i >= rows)
    return;
  const float *qi = q + static_cast<int64_t>(i) * heads * D + h * D;
  float *oi = out + static_cast<int64_t>(i) * heads * D + h * D;
  for (int d = 0; d < D; ++d)
    oi[d] = 0;
  float m = -INFINITY, l = 0;
  for (int j = lazyc::rt::firstBandKey(keys, numKeys, qpos[i], band); j < numKeys; ++j) {
    int slot = keys ? keys[j] : j;
    if (slot > qpos[i])
      break;
    const __nv_bfloat16 *kj = kc + slot * kvStride + (h / group) * D;
    const __nv_bfloat16 *vj = vc + slot * kvStride + (h / group) * D;
    float dot = 0;
    for (int d = 0; d < D; ++d)
      dot += qi[d] * __bfloat162float(kj[d]);
    // Natural-log units: the scaled dot product, or soft-capped.
    dot = band.capLog2 > 0.0f ? band.capLog2 * tanhf(dot * band.capInv) * 0.6931471805599453f
                              : dot * scale;
    float mn = fmaxf(m, dot), a = expf(m - mn), p = expf(dot - mn);
    l = l * a + p;
    for (int d = 0; d < D; ++d)
      oi[d] = oi[d] * a + p * __bfloat162float(vj[d]);
    m = mn;
  }
  for (int d = 0; d < D; ++d)
    oi[d] = l > 0 ? oi[d] / l : 0.0f; // no key in the window: zeros
}

//===----------------------------------------------------------------------===//
// LazyLLM importance: the last query row's attention, mean over heads
//===----------------------------------------------------------------------===//

/// logits[h, j] of one query row over keys [0, numKeys): -inf before `first`
/// (outside its sliding window), soft-capped when `softcap` > 0.
__global__ void scoreLogits(const float *__restrict__ qLast, const __nv_bfloat16 *__restrict__ kc,
                            int64_t kvStride, const int32_t *__restrict__ keys, int first,
                            int numKeys, int D, int group, float scale, float softcap,
                            float *__restrict__ logits) {
  extern __shared__ float sq[];
  const int h = blockIdx.y;
  for (int d = threadIdx.x; d < D; d += blockDim.x)
    sq[d] = qLast[h * D + d];
  __syncthreads();
  int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= numKeys)
    return;
  if (j < first) {
    logits[static_cast<int64_t>(h) * numKeys + j] = -INFINITY;
    return;
  }
  const __nv_bfloat16 *k = kc + static_cast<int64_t>(keys[j]) * kvStride + (h / group) * D;
  float dot = 0;
  for (int d = 0; d < D; d += 2) {
    float2 kv = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162 *>(k + d));
    dot += sq[d] * kv.x + sq[d + 1] * kv.y;
  }
  float logit = dot * scale;
  if (softcap > 0.0f)
    logit = softcap * tanhf(logit / softcap);
  logits[static_cast<int64_t>(h) * numKeys + j] = logit;
}

/// Per head: max and sum of exp(logit - max); with `sinks` (gpt-oss; null:
/// none) the head's sink logit is one more term.
__global__ void scoreNormalizers(const float *__restrict__ logits, int numKeys,
                                 const float *__restrict__ sinks, float *__restrict__ norms) {
  __shared__ float red[32];
  const float *l = logits + static_cast<int64_t>(blockIdx.x) * numKeys;
  float m = -INFINITY;
  for (int j = threadIdx.x; j < numKeys; j += blockDim.x)
    m = fmaxf(m, l[j]);
  for (int o = 16; o > 0; o /= 2)
    m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
  if (threadIdx.x % 32 == 0)
    red[threadIdx.x / 32] = m;
  __syncthreads();
  if (threadIdx.x < 32) {
    m = threadIdx.x < blockDim.x / 32 ? red[threadIdx.x] : -INFINITY;
    for (int o = 16; o > 0; o /= 2)
      m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    if (threadIdx.x == 0)
      red[0] = m;
  }
  __syncthreads();
  m = red[0];
  __syncthreads();
  float s = 0;
  for (int j = threadIdx.x; j < numKeys; j += blockDim.x)
    s += expf(l[j] - m);
  for (int o = 16; o > 0; o /= 2)
    s += __shfl_xor_sync(0xffffffffu, s, o);
  if (threadIdx.x % 32 == 0)
    red[threadIdx.x / 32] = s;
  __syncthreads();
  if (threadIdx.x == 0) {
    float total = 0;
    for (int w = 0; w < static_cast<int>(blockDim.x / 32); ++w)
      total += red[w];
    if (sinks) {
      const float sink = sinks[blockIdx.x], top = fmaxf(m, sink);
      total = total * expf(m - top) + expf(sink - top);
      m = top;
    }
    norms[2 * blockIdx.x] = m;
    norms[2 * blockIdx.x + 1] = total;
  }
}

/// out[j] += weight * sum over heads of the probability of key j.
__global__ void scoreCombine(const float *__restrict__ logits, const float *__restrict__ norms,
                             int numKeys, int heads, float weight, float *__restrict__ out) {
  int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= numKeys)
    return;
  float acc = 0;
  for (int h = 0; h < heads; ++h)
    acc += expf(logits[static_cast<int64_t>(h) * numKeys + j] - norms[2 * h]) / norms[2 * h + 1];
  out[j] += acc * weight;
}

//===----------------------------------------------------------------------===//
// GEMM plans (cuBLASLt)
//===----------------------------------------------------------------------===//

struct GemmPlan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo;
  std::vector<cublasLtMatmulAlgo_t> candidates; // the heuristic's, best first
  bool ok = false, tuned = false;
};

/// LAZYC_GEMM_AUTOTUNE=1: the first call of each GEMM shape times cuBLASLt's
/// heuristic candidates (up to 8) and keeps the fastest, instead of the
/// heuristic's first choice. Off by default: it costs the first prefill
/// time, and the heuristic is usually right.
bool gemmAutotune() {
  static const bool on = [] {
    const char *v = std::getenv("LAZYC_GEMM_AUTOTUNE");
    return v && *v && std::string(v) != "0";
  }();
  return on;
}

/// Each operand's alignment in bytes (up to 256): cuBLASLt must only offer
/// algorithms that work with these pointers.
struct GemmAlignments {
  uint32_t w, x, y;
  auto key() const { return std::make_tuple(w, x, y); }
};

/// y[rows x out] = x[rows x in] w[out x in]^T, i.e. column-major
/// Y^T (out x rows) = W (out x in, stored as its transpose) X^T. `bf16`: x and
/// w are bf16 (else f32, TF32 tensor cores); `bf16Out`: y is bf16 (else f32).
/// One plan per shape, types and operand alignments.
GemmPlan &gemmPlan(int64_t out, int64_t rows, int64_t in, bool bf16, bool bf16Out,
                   GemmAlignments align) {
  static std::map<std::tuple<int64_t, int64_t, int64_t, bool, bool,
                             std::tuple<uint32_t, uint32_t, uint32_t>>,
                  GemmPlan>
      plans;
  GemmPlan &p = plans[{out, rows, in, bf16, bf16Out, align.key()}];
  if (p.desc)
    return p;
  State &s = state();
  cublasLtMatmulDescCreate(&p.desc, bf16 ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_32F_FAST_TF32,
                           CUDA_R_32F);
  cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta));
  cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb));
  cudaDataType ab = bf16 ? CUDA_R_16BF : CUDA_R_32F;
  cublasLtMatrixLayoutCreate(&p.a, ab, in, out, in);
  cublasLtMatrixLayoutCreate(&p.b, ab, in, rows, in);
  cublasLtMatrixLayoutCreate(&p.c, bf16Out ? CUDA_R_16BF : CUDA_R_32F, out, rows, out);
  cublasLtMatmulPreference_t pref;
  cublasLtMatmulPreferenceCreate(&pref);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                       &s.workspaceBytes, sizeof(s.workspaceBytes));
  // A is the weight, B the input, C = D the output (column-major view).
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align.w,
                                       sizeof(align.w));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align.x,
                                       sizeof(align.x));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align.y,
                                       sizeof(align.y));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align.y,
                                       sizeof(align.y));
  cublasLtMatmulHeuristicResult_t results[8];
  int found = 0;
  cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(s.lt, p.desc, p.a, p.b, p.c, p.c, pref,
                                                     gemmAutotune() ? 8 : 1, results, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (st != CUBLAS_STATUS_SUCCESS || found == 0) {
    setError("cuBLASLt has no algorithm for a " + std::to_string(rows) + "x" +
             std::to_string(out) + "x" + std::to_string(in) + " GEMM (status " +
             std::to_string(static_cast<int>(st)) + ")");
    return p;
  }
  p.algo = results[0].algo;
  for (int i = 0; i < found; ++i)
    if (results[i].state == CUBLAS_STATUS_SUCCESS)
      p.candidates.push_back(results[i].algo);
  p.tuned = p.candidates.size() < 2;
  p.ok = true;
  return p;
}

/// Times each candidate of `p` on these operands (into a scratch output,
/// beta = 0, so y is untouched) and keeps the fastest in p.algo.
void tuneGemm(GemmPlan &p, const void *w, const void *x, int64_t outBytes) {
  State &s = state();
  p.tuned = true;
  void *scratch = deviceAlloc(static_cast<size_t>(outBytes));
  if (!scratch)
    return; // keep the heuristic's choice
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  const float alpha = 1.0f, beta = 0.0f;
  float best = 0;
  bool timed = false;
  for (size_t i = 0; i < p.candidates.size(); ++i) {
    auto run = [&] {
      return cublasLtMatmul(s.lt, p.desc, &alpha, w, p.a, x, p.b, &beta, scratch, p.c, scratch,
                            p.c, &p.candidates[i], s.workspace, s.workspaceBytes, s.stream);
    };
    if (run() != CUBLAS_STATUS_SUCCESS) // warm-up; a candidate that fails is skipped
      continue;
    cudaEventRecord(a, s.stream);
    for (int r = 0; r < 3; ++r)
      run();
    cudaEventRecord(b, s.stream);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    if (!timed || ms < best) {
      best = ms;
      p.algo = p.candidates[i];
      timed = true;
    }
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  deviceFree(scratch);
  cudaGetLastError(); // a failed candidate must not fail the step
}

/// y (+)= x w^T through the cached cuBLASLt plan (bf16 or f32 x and w; bf16
/// or f32 y). `accumulate` adds the product to y (beta = 1, C = D = y: the
/// residual add in the epilogue).
void runGemm(int64_t out, int64_t rows, int64_t in, bool bf16, const void *w, const void *x,
             void *y, bool bf16Out = false, bool accumulate = false) {
  GemmPlan &p = gemmPlan(out, rows, in, bf16, bf16Out,
                         {lazyc::rt::gemmAlignment(w), lazyc::rt::gemmAlignment(x),
                          lazyc::rt::gemmAlignment(y)});
  if (!p.ok)
    return;
  if (!p.tuned)
    tuneGemm(p, w, x, rows * out * (bf16Out ? 2 : 4));
  State &s = state();
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  Mark mark(kGemm);
  cublasStatus_t st = cublasLtMatmul(s.lt, p.desc, &alpha, w, p.a, x, p.b, &beta, y, p.c, y,
                                     p.c, &p.algo, s.workspace, s.workspaceBytes, s.stream);
  if (st != CUBLAS_STATUS_SUCCESS)
    setError("cuBLASLt GEMM failed (status " + std::to_string(static_cast<int>(st)) + ")");
}

/// x as bf16 for a bf16 GEMM: converted into the runtime's scratch buffer.
const void *bf16Input(uint64_t x, int64_t rows, int64_t in) {
  State &s = state();
  size_t bytes = static_cast<size_t>(rows * in) * sizeof(__nv_bfloat16);
  if (bytes > s.scratchBytes) {
    deviceFree(s.scratch);
    s.scratchBytes = std::max(bytes, s.scratchBytes * 2);
    s.scratch = static_cast<__nv_bfloat16 *>(deviceAlloc(s.scratchBytes));
    if (!s.scratch)
      std::exit(1);
  }
  Mark mark(kConvert);
  toBF16<<<blocksFor((rows * in + 3) / 4, 256), 256, 0, s.stream>>>(ptr<float>(x), s.scratch,
                                                                    rows * in);
  return s.scratch;
}

/// One query row of an importance score: the row of q, and the keys
/// [first, visible) it sees (causal; `first` > 0 under a sliding window).
struct ScoreRow {
  int64_t row, first, visible;
};

/// out = the mean over `rows` of the head-averaged attention row
/// (soft-capped scores when `softcap` > 0; `sinks`, one logit per head, in
/// the softmax denominators when not null); a key no row sees scores 0.
void windowScores(LazycKVCache *cache, int64_t layer, uint64_t qAddr,
                  const std::vector<ScoreRow> &rows, uint64_t keysAddr, int64_t numKeys,
                  int64_t heads, int64_t kvHeads, int64_t headDim, double scale, double softcap,
                  uint64_t outAddr, const float *sinks = nullptr) {
  Mark mark(kLazy);
  State &s = state();
  const int64_t kvDim = kvHeads * headDim;
  __nv_bfloat16 *kc = layerKeys(cache, layer);
  float *logits = static_cast<float *>(deviceAlloc((heads * numKeys + 2 * heads) * sizeof(float)));
  if (!logits)
    std::exit(1);
  float *norms = logits + heads * numKeys;
  const float weight = 1.0f / static_cast<float>(heads * static_cast<int64_t>(rows.size()));
  check(cudaMemsetAsync(ptr<float>(outAddr), 0, numKeys * sizeof(float), s.stream),
        "clearing the importance scores");
  for (const ScoreRow &r : rows) {
    if (r.first >= r.visible) // sees no key (none in its window)
      continue;
    const float *q = ptr<float>(qAddr) + r.row * heads * headDim;
    scoreLogits<<<dim3(blocksFor(r.visible, 128), static_cast<unsigned>(heads)), 128,
                  headDim * sizeof(float), s.stream>>>(
        q, kc, kvDim, ptr<int32_t>(keysAddr), static_cast<int>(r.first),
        static_cast<int>(r.visible), static_cast<int>(headDim),
        static_cast<int>(heads / kvHeads), static_cast<float>(scale),
        static_cast<float>(softcap), logits);
    scoreNormalizers<<<static_cast<unsigned>(heads), 1024, 0, s.stream>>>(
        logits, static_cast<int>(r.visible), sinks, norms);
    scoreCombine<<<blocksFor(r.visible, 256), 256, 0, s.stream>>>(
        logits, norms, static_cast<int>(r.visible), static_cast<int>(heads), weight,
        ptr<float>(outAddr));
  }
  deviceFree(logits);
  check(cudaGetLastError(), "importance-score kernels");
}

//===----------------------------------------------------------------------===//
// Attention through cuDNN (prefill over one token set)
//===----------------------------------------------------------------------===//

/// LAZYC_CUDA_ATTENTION: unset or "auto": cuDNN's fused attention where it
/// applies (cudnnPrefillAttention) and its plan pays off (CudnnPlanPolicy:
/// from a length's second prefill, or at once from LAZYC_CUDNN_COLD_ROWS
/// rows), lazyc's flash kernel elsewhere; "flash":
/// lazyc's kernel only; "cudnn": like auto, but a step cuDNN cannot run where
/// it applies is an error (it does not apply to sliding-window or soft-capped
/// layers: lazyc's banded kernels run those); "simple" (64-row blocks without the cp.async
/// pipeline, the first kernel) and "wide" (32 query rows per warp): other
/// lazyc kernels, kept as cross-checks.
/// Read at every call (tests switch it); an unknown value is an error.
std::string attentionVariant() {
  const char *v = std::getenv("LAZYC_CUDA_ATTENTION");
  std::string variant = v && *v ? v : "auto";
  for (const char *known : {"auto", "flash", "cudnn", "simple", "wide"})
    if (variant == known)
      return variant;
  static std::string reported; // once, not at every attention call
  if (reported != variant)
    setError("LAZYC_CUDA_ATTENTION=" + variant +
             " is not one of auto, flash, cudnn, simple, wide");
  reported = variant;
  return "auto";
}

/// "cuDNN 9.19.0", or "no cuDNN: " and why.
std::string cudnnStatus() {
  const std::string &why = lazyc::cuda::cudnnUnavailable();
  return why.empty() ? lazyc::cuda::cudnnVersionString() : "no cuDNN: " + why;
}

/// Fewest rows handed to cuDNN (LAZYC_CUDNN_MIN_ROWS, default 128): below,
/// lazyc's kernel is as fast and needs no per-shape plan.
int64_t cudnnMinRows() {
  static const int64_t rows = [] {
    const char *v = std::getenv("LAZYC_CUDNN_MIN_ROWS");
    return v ? std::max<int64_t>(1, std::atoll(v)) : int64_t{128};
  }();
  return rows;
}

/// Prompt length from which `auto` builds a cuDNN plan in the first prefill
/// that has it (LAZYC_CUDNN_COLD_ROWS, default 16384: on an H100 a 16k dense
/// prefill saves about the ~0.14 s the plan costs); shorter lengths wait for a
/// second prefill of the same length.
int64_t cudnnColdRows() {
  static const int64_t rows = [] {
    const char *v = std::getenv("LAZYC_CUDNN_COLD_ROWS");
    return v ? std::max<int64_t>(1, std::atoll(v)) : int64_t{16384};
  }();
  return rows;
}

void *growBuffer(State::Buffer &b, size_t bytes) {
  if (bytes > b.bytes) {
    deviceFree(b.p);
    b.p = deviceAlloc(bytes);
    b.bytes = b.p ? bytes : 0;
    if (!b.p) {
      std::fprintf(stderr, "lazyc (cuda): %s\n", state().lastError.c_str());
      std::exit(1);
    }
  }
  return b.p;
}

/// A causal prefill whose rows are also its keys (ascending positions: a
/// dense prefill from position 0, or a LazyLLM layer attending over the rows
/// it computes): causal by index is causal by position, so cuDNN's fused
/// attention runs it on bf16 Q (a copy of an f32 one) and bf16 K/V rows: the
/// step's own K/V when they are bf16 (`kvBF16`: they are the keys, in
/// order), else the cache's slots, gathered unless those are 0..rows-1.
/// False: not such a step, or cuDNN cannot run it (the caller runs lazyc's
/// kernel).
bool cudnnPrefillAttention(const std::string &variant, LazycKVCache *cache, int64_t layer,
                           const std::vector<int32_t> &pos, const std::vector<int32_t> *keys,
                           uint64_t qAddr, bool qBF16, uint64_t kAddr, uint64_t vAddr,
                           bool kvBF16, uint64_t posAddr, int64_t rows,
                           int64_t heads, int64_t kvHeads, int64_t headDim, double scale,
                           uint64_t outAddr, bool outBF16) {
  if (variant != "auto" && variant != "cudnn")
    return false;
  const int64_t qDim = heads * headDim, kvDim = kvHeads * headDim;
  if (rows < cudnnMinRows() || (headDim != 64 && headDim != 128) || heads % kvHeads != 0 ||
      kvDim % 8 != 0)
    return false;
  const int64_t numKeys = keys ? static_cast<int64_t>(keys->size()) : -1;
  const lazyc::cuda::TokenSet set =
      lazyc::cuda::classifyTokenSet(pos.data(), rows, keys ? keys->data() : nullptr, numKeys);
  if (set == lazyc::cuda::TokenSet::Other)
    return false;
  const bool fromZero = set == lazyc::cuda::TokenSet::FromZero;
  if (!lazyc::cuda::cudnnUnavailable().empty()) {
    if (variant == "cudnn")
      setError("LAZYC_CUDA_ATTENTION=cudnn: " + lazyc::cuda::cudnnUnavailable());
    return false;
  }
  lazyc::cuda::SdpaShape shape{rows, heads, kvHeads, headDim, qDim, kvDim};
  // auto: only where the plan pays for itself (cudnnPlanPolicy).
  static lazyc::cuda::CudnnPlanPolicy policy(cudnnColdRows());
  if (!policy.shouldUse(shape, layer, lazyc::cuda::cudnnHasPlan(shape)) && variant == "auto")
    return false;
  std::string why;
  auto refuse = [&] {
    std::string message = "cuDNN attention failed for " + std::to_string(rows) + " rows, " +
                          std::to_string(heads) + "/" + std::to_string(kvHeads) + " heads of " +
                          std::to_string(headDim) + ": " + why;
    if (variant == "cudnn") {
      setError("LAZYC_CUDA_ATTENTION=cudnn: " + message);
    } else {
      static std::string told;
      if (told != why)
        std::fprintf(stderr, "lazyc (cuda): %s; lazyc's flash attention runs instead\n",
                     message.c_str());
      told = why;
    }
    return false;
  };
  // The plan first (outside the profiled span: a new shape compiles kernels).
  if (!lazyc::cuda::cudnnPrepare(shape, why))
    return refuse();
  State &s = state();
  Mark mark(kCudnnAttention);
  // bf16 Q and O as they are; f32 ones through bf16 copies.
  const __nv_bfloat16 *q = ptr<__nv_bfloat16>(qAddr);
  if (!qBF16) {
    auto *copy = static_cast<__nv_bfloat16 *>(growBuffer(s.sdpaQ, rows * qDim * 2));
    toBF16<<<blocksFor((rows * qDim + 3) / 4, 256), 256, 0, s.stream>>>(ptr<float>(qAddr), copy,
                                                                        rows * qDim);
    q = copy;
  }
  auto *o = outBF16 ? ptr<__nv_bfloat16>(outAddr)
                    : static_cast<__nv_bfloat16 *>(growBuffer(s.sdpaO, rows * qDim * 2));
  const void *k = layerKeys(cache, layer), *v = layerValues(cache, layer);
  if (kvBF16) {
    k = ptr<__nv_bfloat16>(kAddr);
    v = ptr<__nv_bfloat16>(vAddr);
  } else if (!fromZero) {
    const int64_t vectors = kvDim * 2 / 16;
    void *gk = growBuffer(s.sdpaK, rows * kvDim * 2), *gv = growBuffer(s.sdpaV, rows * kvDim * 2);
    gatherKVRows<<<blocksFor(rows * vectors, 256), 256, 0, s.stream>>>(
        static_cast<const uint4 *>(k), ptr<int32_t>(posAddr), rows, vectors,
        static_cast<uint4 *>(gk));
    gatherKVRows<<<blocksFor(rows * vectors, 256), 256, 0, s.stream>>>(
        static_cast<const uint4 *>(v), ptr<int32_t>(posAddr), rows, vectors,
        static_cast<uint4 *>(gv));
    k = gk;
    v = gv;
  }
  if (!lazyc::cuda::cudnnCausalAttention(s.stream, shape, q, k, v, o, static_cast<float>(scale),
                                         why))
    return refuse();
  if (!outBF16)
    fromBF16<<<blocksFor((rows * qDim + 3) / 4, 256), 256, 0, s.stream>>>(o, ptr<float>(outAddr),
                                                                          rows * qDim);
  ++s.cudnnAttentionCalls;
  return check(cudaGetLastError(), "cuDNN attention");
}


//===----------------------------------------------------------------------===//
// Mixture of experts (lazyc_gpu_moe)
//===----------------------------------------------------------------------===//

__device__ __forceinline__ void storeValue(float *p, float v) { *p = v; }
__device__ __forceinline__ void storeValue(__nv_bfloat16 *p, float v) {
  *p = __float2bfloat16_rn(v);
}

/// out[i] = x[rows[i]] (f32 rows of `columns` values, to f32 or bf16), a
/// block per row.
template <typename T>
__global__ void gatherExpertRows(const float *__restrict__ x, const int32_t *__restrict__ rows,
                                 int64_t columns, T *__restrict__ out) {
  const int64_t i = blockIdx.x;
  const float *src = x + static_cast<int64_t>(rows[i]) * columns;
  for (int64_t c = threadIdx.x; c < columns; c += blockDim.x)
    storeValue(out + i * columns + c, src[c]);
}

/// h = act(g + gateBias, u + upBias) over n rows of ffn values (the biases
/// optional): activation 0 SwiGLU, 1 gpt-oss's (gate clamped above, up both
/// ways at `limit`, sigmoid(1.702 g), times up + 1), as lazyc_rt_moe's.
template <typename T>
__global__ void expertActivation(const float *__restrict__ g, const float *__restrict__ u,
                                 const float *__restrict__ gateBias,
                                 const float *__restrict__ upBias, int64_t n, int64_t ffn,
                                 int activation, float limit, T *__restrict__ h) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n * ffn)
    return;
  const int64_t f = i % ffn;
  const float gv = g[i] + (gateBias ? gateBias[f] : 0.0f);
  const float uv = u[i] + (upBias ? upBias[f] : 0.0f);
  float r;
  if (activation == 0) {
    r = gv / (1.0f + expf(-gv)) * uv;
  } else {
    const float gc = fminf(gv, limit), uc = fminf(fmaxf(uv, -limit), limit);
    r = gc / (1.0f + expf(-1.702f * gc)) * (uc + 1.0f);
  }
  storeValue(h + i, r);
}

/// y[rows[i]] += weights[i] * (d[i] + downBias), a block per row (an
/// expert's rows are distinct; the experts run one after another).
__global__ void addExpertRows(const float *__restrict__ d, const float *__restrict__ downBias,
                              const int32_t *__restrict__ rows, const float *__restrict__ weights,
                              int64_t columns, float *__restrict__ y) {
  const int64_t i = blockIdx.x;
  float *dst = y + static_cast<int64_t>(rows[i]) * columns;
  const float w = weights[i];
  for (int64_t c = threadIdx.x; c < columns; c += blockDim.x)
    dst[c] += w * (d[i * columns + c] + (downBias ? downBias[c] : 0.0f));
}

/// One expert's GEMMs and kernels over its n rows (`rows`, `weights`: device
/// lists) of x; T is the GEMM operands' type (bf16 or f32 weights).
template <typename T>
void runExpert(const float *x, const int32_t *rows, const float *weights, int64_t n,
               int64_t hidden, int64_t ffn, const void *gate, const void *up, const void *down,
               const float *gateBias, const float *upBias, const float *downBias, int activation,
               float limit, float *y) {
  State &s = state();
  constexpr bool bf16 = std::is_same_v<T, __nv_bfloat16>;
  auto *xs = static_cast<T *>(growBuffer(s.moeRows, n * hidden * sizeof(T)));
  auto *g = static_cast<float *>(growBuffer(s.moeGate, n * ffn * sizeof(float)));
  auto *u = static_cast<float *>(growBuffer(s.moeUp, n * ffn * sizeof(float)));
  auto *h = static_cast<T *>(growBuffer(s.moeHidden, n * ffn * sizeof(T)));
  auto *d = static_cast<float *>(growBuffer(s.moeDown, n * hidden * sizeof(float)));
  {
    Mark mark(kMoE);
    gatherExpertRows<<<static_cast<unsigned>(n), 256, 0, s.stream>>>(x, rows, hidden, xs);
  }
  runGemm(ffn, n, hidden, bf16, gate, xs, g);
  runGemm(ffn, n, hidden, bf16, up, xs, u);
  {
    Mark mark(kMoE);
    expertActivation<<<blocksFor(n * ffn, 256), 256, 0, s.stream>>>(
        g, u, gateBias, upBias, n, ffn, activation, limit, h);
  }
  runGemm(hidden, n, ffn, bf16, down, h, d);
  Mark mark(kMoE);
  addExpertRows<<<static_cast<unsigned>(n), 256, 0, s.stream>>>(d, downBias, rows, weights,
                                                                hidden, y);
}

} // namespace

//===----------------------------------------------------------------------===//
// mgpu*: what MLIR's gpu-to-llvm lowering calls
//===----------------------------------------------------------------------===//

extern "C" {

void *mgpuModuleLoad(void *data, size_t /*size*/) {
  if (!ready())
    return nullptr;
  CUmodule module = nullptr;
  if (!checkDriver(state().moduleLoadData(&module, data), "loading a compiled kernel module"))
    return nullptr;
  return module;
}

void *mgpuModuleLoadJIT(void *data, int optLevel) {
  if (!ready())
    return nullptr;
  CUmodule module = nullptr;
  CUjit_option options[] = {CU_JIT_OPTIMIZATION_LEVEL};
  void *values[] = {reinterpret_cast<void *>(static_cast<intptr_t>(optLevel))};
  if (!checkDriver(state().moduleLoadDataEx(&module, data, 1, options, values),
                   "JIT-compiling a PTX kernel module"))
    return nullptr;
  return module;
}

void mgpuModuleUnload(void *module) {
  // At exit the driver may already be gone; modules die with the context.
  (void)module;
}

void *mgpuModuleGetFunction(void *module, const char *name) {
  if (!module)
    return nullptr;
  CUfunction f = nullptr;
  if (!checkDriver(state().moduleGetFunction(&f, static_cast<CUmodule>(module), name),
                   "finding a kernel in its module"))
    return nullptr;
  if (profile().on)
    profile().kernelNames[f] = name;
  return f;
}

void mgpuLaunchKernel(void *function, intptr_t gx, intptr_t gy, intptr_t gz, intptr_t bx,
                      intptr_t by, intptr_t bz, int32_t smem, void * /*stream*/, void **params,
                      void **extra, size_t /*paramsCount*/) {
  if (!function) {
    setError("launching a kernel whose module failed to load");
    return;
  }
  if (gx <= 0 || gy <= 0 || gz <= 0)
    return; // empty iteration space
  Mark mark(kGenerated, function);
  checkDriver(state().launchKernel(static_cast<CUfunction>(function), gx, gy, gz, bx, by, bz,
                                   smem, state().stream, params, extra),
              "launching a compiled kernel");
}

void *mgpuStreamCreate() { return state().stream; }
void mgpuStreamDestroy(void *) {}
// One stream keeps every launch, copy and free in order; the host reads
// device memory only through the runtime, which synchronizes then.
void mgpuStreamSynchronize(void *) {}

void *mgpuMemAlloc(uint64_t bytes, void * /*stream*/, bool /*hostShared*/) {
  void *p = deviceAlloc(bytes);
  if (!p) {
    // The compiled step cannot continue without its buffer.
    std::fprintf(stderr, "lazyc (cuda): %s\n", state().lastError.c_str());
    std::exit(1);
  }
  return p;
}

void mgpuMemFree(void *p, void * /*stream*/) {
  deviceFree(p);
}

void mgpuMemcpy(void *dst, void *src, size_t bytes, void * /*stream*/) {
  state().hostCopies.forget(dst); // rewritten: no host copy of it holds
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, state().stream), "memcpy");
}

void mgpuMemset32(void *dst, unsigned value, size_t count, void * /*stream*/) {
  state().hostCopies.forget(dst);
  if (value == 0)
    check(cudaMemsetAsync(dst, 0, count * 4, state().stream), "memset");
  else
    setError("mgpuMemset32 with a non-zero value is not supported");
}

//===----------------------------------------------------------------------===//
// Heavy kernels (Kernels.h ABI, device addresses)
//===----------------------------------------------------------------------===//

/// The general GEMM entry (Kernels.h): bf16 activations that compiler-
/// generated kernels produced (lazyc-gpu-bf16-gemm-inputs: no conversion
/// here), bf16 outputs, and the residual add in the epilogue.
void lazyc_gpu_linear_ex(uint64_t x, int64_t xtype, int64_t rows, int64_t in, uint64_t w,
                         int64_t wtype, int64_t out, uint64_t y, int64_t ytype,
                         int64_t accumulate) {
  if (rows <= 0)
    return;
  if (wtype != 0 && wtype != 1) {
    setError("lazyc_gpu_linear: f16 weights are not supported on the GPU (use bf16)");
    return;
  }
  if ((xtype != 0 && xtype != 1) || (ytype != 0 && ytype != 1)) {
    setError("lazyc_gpu_linear_ex: unsupported activation types " + std::to_string(xtype) +
             " -> " + std::to_string(ytype) + (accumulate ? " (accumulating)" : ""));
    return;
  }
  const bool bf16 = wtype == 1;
  if (!bf16 && (xtype == 1 || ytype == 1)) {
    setError("lazyc_gpu_linear_ex: bf16 activations need bf16 weights");
    return;
  }
  const void *input = bf16 && xtype == 0 ? bf16Input(x, rows, in) : ptr<void>(x);
  runGemm(out, rows, in, bf16, ptr<void>(w), input, ptr<void>(y), ytype == 1, accumulate != 0);
}

void lazyc_gpu_linear(uint64_t x, int64_t rows, int64_t in, uint64_t w, int64_t wtype,
                      int64_t out, uint64_t y) {
  lazyc_gpu_linear_ex(x, 0, rows, in, w, wtype, out, y, 0, 0);
}

/// llm.moe (Kernels.h's lazyc_rt_moe, device addresses): the router's GEMM
/// here, its logits copied back and routed on the host as the CPU routes
/// them (MoERouting.h: the same experts and weights from the same logits),
/// then each chosen expert's rows gathered, its gate, up and down GEMMs
/// (cuBLASLt), activation and weighted sum into y. f32 or bf16 weights (the
/// cuda target widens MXFP4 experts).
void lazyc_gpu_moe(uint64_t x, int64_t rows, int64_t hidden, uint64_t router, int64_t rtype,
                   uint64_t selectionBias, uint64_t routerBias, uint64_t gate, uint64_t up,
                   uint64_t down, uint64_t gateBias, uint64_t upBias, uint64_t downBias,
                   int64_t wtype, int64_t experts, int64_t topK, int64_t ffn, int64_t normTopK,
                   double normMin, int64_t activation, double limit, int64_t scoring,
                   double routedScale, uint64_t y) {
  if (activation != 0 && activation != 1) {
    setError("lazyc_gpu_moe: unknown activation " + std::to_string(activation));
    return;
  }
  if (scoring != 0 && scoring != 1) {
    setError("lazyc_gpu_moe: unknown scoring " + std::to_string(scoring));
    return;
  }
  if ((wtype != 0 && wtype != 1) || (rtype != 0 && rtype != 1)) {
    setError("lazyc_gpu_moe: the router's and experts' weights must be f32 or bf16 on the GPU "
             "(types " + std::to_string(rtype) + ", " + std::to_string(wtype) + ")");
    return;
  }
  if (topK < 1 || topK > experts) {
    setError("lazyc_gpu_moe: top_k " + std::to_string(topK) + " of " + std::to_string(experts) +
             " experts");
    return;
  }
  if (rows <= 0)
    return;
  State &s = state();
  auto *logitsDev = static_cast<float *>(growBuffer(s.moeLogits, rows * experts * sizeof(float)));
  const void *input = rtype == 1 ? bf16Input(x, rows, hidden) : ptr<void>(x);
  runGemm(experts, rows, hidden, rtype == 1, ptr<void>(router), input, logitsDev);
  std::vector<float> logits = fetch<float>(reinterpret_cast<uint64_t>(logitsDev), rows * experts);
  if (routerBias) {
    const std::vector<float> bias = fetch<float>(routerBias, experts);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t e = 0; e < experts; ++e)
        logits[static_cast<size_t>(r * experts + e)] += bias[static_cast<size_t>(e)];
  }
  std::vector<float> choose;
  if (selectionBias)
    choose = fetch<float>(selectionBias, experts);
  lazyc::rt::ExpertRows assigned;
  lazyc::rt::routeExperts(
      logits.data(), rows, experts, selectionBias ? choose.data() : nullptr,
      lazyc::rt::Routing::fromKernelArgs(topK, scoring, normTopK, normMin, routedScale), assigned);
  // Every expert's rows and weights in one list each, uploaded once.
  std::vector<int32_t> order;
  std::vector<float> weights;
  std::vector<int64_t> start(static_cast<size_t>(experts) + 1, 0);
  order.reserve(static_cast<size_t>(rows * topK));
  weights.reserve(order.capacity());
  for (int64_t e = 0; e < experts; ++e) {
    start[e] = static_cast<int64_t>(order.size());
    for (const auto &[row, weight] : assigned[e]) {
      order.push_back(static_cast<int32_t>(row));
      weights.push_back(weight);
    }
  }
  start[experts] = static_cast<int64_t>(order.size());
  int32_t *orderDev = upload(order);
  float *weightsDev = upload(weights);
  if (!orderDev || !weightsDev) {
    std::fprintf(stderr, "lazyc (cuda): %s\n", s.lastError.c_str());
    std::exit(1);
  }
  check(cudaMemsetAsync(ptr<float>(y), 0, static_cast<size_t>(rows * hidden) * sizeof(float),
                        s.stream),
        "memset");
  const size_t elementBytes = wtype == 1 ? 2 : 4;
  const auto *gateBiases = ptr<const float>(gateBias), *upBiases = ptr<const float>(upBias),
             *downBiases = ptr<const float>(downBias);
  for (int64_t e = 0; e < experts; ++e) {
    const int64_t n = start[e + 1] - start[e];
    if (n == 0)
      continue;
    const size_t matrix = static_cast<size_t>(ffn * hidden) * elementBytes * e;
    const void *g = ptr<const char>(gate) + matrix, *u = ptr<const char>(up) + matrix,
               *d = ptr<const char>(down) + matrix;
    const float *gb = gateBiases ? gateBiases + e * ffn : nullptr;
    const float *ub = upBiases ? upBiases + e * ffn : nullptr;
    const float *db = downBiases ? downBiases + e * hidden : nullptr;
    if (wtype == 1)
      runExpert<__nv_bfloat16>(ptr<const float>(x), orderDev + start[e], weightsDev + start[e], n,
                               hidden, ffn, g, u, d, gb, ub, db, static_cast<int>(activation),
                               static_cast<float>(limit), ptr<float>(y));
    else
      runExpert<float>(ptr<const float>(x), orderDev + start[e], weightsDev + start[e], n, hidden,
                       ffn, g, u, d, gb, ub, db, static_cast<int>(activation),
                       static_cast<float>(limit), ptr<float>(y));
  }
  deviceFree(orderDev);
  deviceFree(weightsDev);
  check(cudaGetLastError(), "mixture-of-experts kernels");
}

/// The attention entries' work (Kernels.h ABI): query, key/value and output
/// f32 or bf16 (`qtype`, `kvtype`, `otype`: 0 / 1), the KV cache bf16; a
/// sliding window (`window` > 0) and soft-capped scores (`softcap` > 0) as
/// lazyc_rt_attention_ex's, in lazyc's kernels (cuDNN's graph here has
/// neither); attention sinks (`sinks`, one logit per head, or null) through
/// the key-split path, whose combine adds them to the denominators.
static void runAttention(LazycKVCache *cache, int64_t layer, uint64_t qAddr, uint64_t kAddr,
                         uint64_t vAddr, uint64_t posAddr, int64_t rows, uint64_t keysAddr,
                         int64_t numKeys, int64_t heads, int64_t kvHeads, int64_t headDim,
                         double scale, uint64_t outAddr, int64_t qtype, int64_t kvtype,
                         int64_t otype, int64_t window, double softcap, const float *sinks) {
  if (window < 0 || window > INT_MAX || !(softcap >= 0.0) || !std::isfinite(softcap)) {
    setError("lazyc_gpu_attention_ex: bad sliding window " + std::to_string(window) +
             " or softcap " + std::to_string(softcap));
    return;
  }
  if (rows <= 0)
    return;
  for (int64_t type : {qtype, kvtype, otype})
    if (type != 0 && type != 1) {
      setError("lazyc_gpu_attention_ex: unsupported element type " + std::to_string(type));
      return;
    }
  const bool qBF16 = qtype == 1, outBF16 = otype == 1;
  State &s = state();
  const int64_t kvDim = kvHeads * headDim;
  __nv_bfloat16 *kc = layerKeys(cache, layer);
  __nv_bfloat16 *vc = layerValues(cache, layer);
  const int32_t *pos = ptr<int32_t>(posAddr);
  if (kvtype == 1)
    writeKV<<<blocksFor(rows * kvDim, 256), 256, 0, s.stream>>>(
        ptr<__nv_bfloat16>(kAddr), ptr<__nv_bfloat16>(vAddr), pos, rows, kvDim, kc, vc);
  else
    writeKV<<<blocksFor(rows * kvDim, 256), 256, 0, s.stream>>>(
        ptr<float>(kAddr), ptr<float>(vAddr), pos, rows, kvDim, kc, vc);
  // Bookkeeping on the host (cached slots, counters): positions and keys.
  std::vector<int32_t> hostPos = fetch<int32_t>(posAddr, rows);
  uint8_t *cached = cache->cached ? cache->cached + layer * cache->context : nullptr;
  int64_t *stats = cache->stats;
  int32_t maxPos = 0;
  for (int32_t p : hostPos) {
    maxPos = std::max(maxPos, p);
    if (cached) {
      if (cached[p] && stats)
        ++stats[LAZYC_STAT_RECOMPUTED * cache->layers + layer];
      cached[p] = 1;
    }
  }
  const int32_t *keys = numKeys >= 0 ? ptr<int32_t>(keysAddr) : nullptr;
  int64_t keyCount = keys ? numKeys : maxPos + 1;
  int64_t lastKey = maxPos;
  std::vector<int32_t> hostKeys;
  if (keys) {
    hostKeys = fetch<int32_t>(keysAddr, numKeys);
    for (int32_t k : hostKeys)
      if (cached && !cached[k] && stats)
        ++stats[LAZYC_STAT_UNCACHED_KEY * cache->layers + layer];
    lastKey = hostKeys.empty() ? -1 : hostKeys.back();
  }
  if (stats) {
    stats[LAZYC_STAT_COMPUTED * cache->layers + layer] += rows;
    stats[LAZYC_STAT_TOTAL_COMPUTED * cache->layers + layer] += rows;
    stats[LAZYC_STAT_KEYS * cache->layers + layer] = keyCount;
    stats[LAZYC_STAT_LAST_KEY * cache->layers + layer] = lastKey;
  }
  const std::string variant = attentionVariant();
  const bool banded = window > 0 || softcap > 0.0;
  if (!banded && !sinks &&
      cudnnPrefillAttention(variant, cache, layer, hostPos, keys ? &hostKeys : nullptr, qAddr,
                            qBF16, kAddr, vAddr, kvtype == 1, posAddr, rows, heads, kvHeads,
                            headDim, scale, outAddr, outBF16))
    return;
  const lazyc::rt::AttentionBand band = lazyc::rt::makeAttentionBand(window, scale, softcap);
  ++s.lazycAttentionCalls;
  const int group = static_cast<int>(heads / kvHeads);
  Mark mark(kAttention);
  const float scaleLog2 = static_cast<float>(scale * 1.4426950408889634);
  // lazyc's kernels read and write f32: bf16 operands through f32 copies.
  const int64_t qDim = heads * headDim;
  const float *qf = ptr<float>(qAddr);
  if (qBF16) {
    auto *copy = static_cast<float *>(growBuffer(s.flashQ, rows * qDim * 4));
    fromBF16<<<blocksFor((rows * qDim + 3) / 4, 256), 256, 0, s.stream>>>(
        ptr<__nv_bfloat16>(qAddr), copy, rows * qDim);
    qf = copy;
  }
  float *out = outBF16 ? static_cast<float *>(growBuffer(s.flashO, rows * qDim * 4))
                       : ptr<float>(outAddr);
  // lazyc's tensor-core kernels: head sizes 64, 128, 96 (Phi-3) and 256
  // (Gemma); the wide one (a cross-check) 64 and 128 only, the default kernel
  // otherwise. Other even sizes up to 256: a warp per row (rowAttention); the
  // rest: the plain kernel.
  const bool flashHead = headDim == 64 || headDim == 128 || headDim == 96 || headDim == 256;
  const bool rowHead = !flashHead && headDim % 2 == 0 && headDim <= 256;
  const bool simple = variant == "simple";
  const bool wide = variant == "wide" && (headDim == 64 || headDim == 128) && !sinks;
  if (sinks && !flashHead && !rowHead) {
    setError("attention sinks on the GPU: head size " + std::to_string(headDim) +
             " runs in the plain kernel, which has none (even sizes up to 256 have them)");
    return;
  }
  // A step of at most 64 rows (decode) runs 4 warps per block, its keys in
  // splits when its blocks would leave SMs idle (flash-decoding): rows x
  // heads blocks of the flash kernel, 4 rows per block of rowAttention.
  const bool few = rows <= 64 && (rowHead || (flashHead && !simple && !wide));
  const int64_t fewBlocks = rowHead ? (rows + 3) / 4 * heads : heads;
  // A window bounds the keys a step of few rows reads.
  const int64_t readKeys = window > 0 ? std::min(keyCount, window + rows) : keyCount;
  int64_t splits = few ? lazyc::rt::keySplits(fewBlocks, readKeys, s.smCount,
                                              std::getenv("LAZYC_CUDA_KEY_SPLITS"))
                       : 1;
  if (splits == 0) {
    setError(std::string("LAZYC_CUDA_KEY_SPLITS=") + std::getenv("LAZYC_CUDA_KEY_SPLITS") +
             " is not auto or a number of key ranges (0 or 1: none)");
    return;
  }
  // Sinks join the denominators where the key splits combine: at least two.
  if (sinks)
    splits = std::max<int64_t>(splits, 2);
  float *partO = nullptr, *partML = nullptr;
  if (splits > 1) {
    partO = static_cast<float *>(
        growBuffer(s.splitParts, static_cast<size_t>(splits * rows * (qDim + 2 * heads)) * 4));
    partML = partO + splits * rows * qDim;
  }
  auto launch = [&](auto kernel, int warps, int smemBytes, auto... splitArgs) {
    static std::map<const void *, bool> configured;
    if (!configured[reinterpret_cast<const void *>(kernel)]) {
      // The 8.6/8.9 GPUs allow 99 KB per block: the wide kernel needs more.
      if (static_cast<size_t>(smemBytes) > s.maxSharedPerBlock) {
        setError("LAZYC_CUDA_ATTENTION=" + variant + ": this attention kernel needs " +
                 std::to_string(smemBytes) + " bytes of shared memory per block; " + s.name +
                 " allows " + std::to_string(s.maxSharedPerBlock) +
                 (wide ? " (LAZYC_CUDA_ATTENTION=auto runs on it)" : ""));
        return;
      }
      if (!check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      smemBytes),
                 "configuring the attention kernel's shared memory"))
        return;
      configured[reinterpret_cast<const void *>(kernel)] = true;
    }
    dim3 blocks(blocksFor(rows, warps * 16), static_cast<unsigned>(heads),
                static_cast<unsigned>(splits));
    const int threads = wide ? 128 : warps * 32;
    kernel<<<blocks, threads, smemBytes, s.stream>>>(
        qf, heads * headDim, pos, static_cast<int>(rows), kc, vc, kvDim, keys,
        static_cast<int>(keyCount), group, scaleLog2, band, out, heads * headDim,
        splitArgs...);
  };
  // The kernels of one head size; Banded: with the window and cap checks.
  auto launchHead = [&](auto dim, auto bandedTag) {
    constexpr int D = decltype(dim)::value;
    constexpr bool B = decltype(bandedTag)::value;
    if constexpr (D == 64 || D == 128)
      if (wide) {
        launch(flashAttentionWide<D, B>, 8 /* 128 rows per block */, flashWideSmemBytes<D>());
        return;
      }
    if constexpr (D == 256) {
      // 4 warps (255 registers a thread, a few spilled); two K/V tiles in
      // flight where a block may have their 136 KB of shared memory (8.0,
      // 9.0), one elsewhere (68 KB: 8.6 / 8.9 allow 99).
      if (!simple && static_cast<size_t>(flashSmemBytes<D, true>()) <= s.maxSharedPerBlock)
        launch(flashAttention<D, 4, true, B>, 4, flashSmemBytes<D, true>(), partO, partML);
      else
        launch(flashAttention<D, 4, false, B>, 4, flashSmemBytes<D, false>(), partO, partML);
    } else if (simple) {
      launch(flashAttention<D, 4, false, B>, 4, flashSmemBytes<D, false>(), partO, partML);
    } else if (few) {
      launch(flashAttention<D, 4, true, B>, 4, flashSmemBytes<D, true>(), partO, partML);
    } else {
      launch(flashAttention<D, 8, true, B>, 8, flashSmemBytes<D, true>(), partO, partML);
    }
  };
  using Dim256 = std::integral_constant<int, 256>;
  using Dim128 = std::integral_constant<int, 128>;
  using Dim96 = std::integral_constant<int, 96>;
  using Dim64 = std::integral_constant<int, 64>;
  if (headDim == 256)
    banded ? launchHead(Dim256{}, std::true_type{}) : launchHead(Dim256{}, std::false_type{});
  else if (headDim == 128)
    banded ? launchHead(Dim128{}, std::true_type{}) : launchHead(Dim128{}, std::false_type{});
  else if (headDim == 96)
    banded ? launchHead(Dim96{}, std::true_type{}) : launchHead(Dim96{}, std::false_type{});
  else if (headDim == 64)
    banded ? launchHead(Dim64{}, std::true_type{}) : launchHead(Dim64{}, std::false_type{});
  else if (rowHead) {
    auto launchRows = [&](auto kernel) {
      kernel<<<dim3(blocksFor(rows, 4), static_cast<unsigned>(heads),
                    static_cast<unsigned>(splits)),
               128, 0, s.stream>>>(qf, qDim, pos, static_cast<int>(rows), kc, vc, kvDim, keys,
                                   static_cast<int>(keyCount), group, static_cast<int>(headDim),
                                   scaleLog2, band, out, qDim, partO, partML);
    };
    const int64_t pairs = (headDim + 63) / 64; // per lane
    pairs == 1   ? launchRows(rowAttention<1>)
    : pairs == 2 ? launchRows(rowAttention<2>)
    : pairs == 3 ? launchRows(rowAttention<3>)
                 : launchRows(rowAttention<4>);
  } else
    referenceAttention<<<dim3(blocksFor(rows, 64), static_cast<unsigned>(heads)), 64, 0,
                         s.stream>>>(qf, pos, static_cast<int>(rows), kc, vc,
                                     kvDim, keys, static_cast<int>(keyCount),
                                     static_cast<int>(heads), group, static_cast<int>(headDim),
                                     static_cast<float>(scale), band, out);
  if (splits > 1) // only the flash kernels and rowAttention split (`few`)
    combineKeySplits<<<dim3(static_cast<unsigned>(rows), static_cast<unsigned>(heads)),
                       static_cast<unsigned>(headDim), 0, s.stream>>>(
        partO, partML, static_cast<int>(splits), static_cast<int>(rows),
        static_cast<int>(heads), static_cast<int>(headDim), sinks, out, heads * headDim);
  if (outBF16)
    toBF16<<<blocksFor((rows * qDim + 3) / 4, 256), 256, 0, s.stream>>>(
        out, ptr<__nv_bfloat16>(outAddr), rows * qDim);
  check(cudaGetLastError(), "attention kernel launch");
}

void lazyc_gpu_attention_ex(LazycKVCache *cache, int64_t layer, uint64_t qAddr, uint64_t kAddr,
                            uint64_t vAddr, uint64_t posAddr, int64_t rows, uint64_t keysAddr,
                            int64_t numKeys, int64_t heads, int64_t kvHeads, int64_t headDim,
                            double scale, uint64_t outAddr, int64_t qtype, int64_t kvtype,
                            int64_t otype, int64_t window, double softcap) {
  runAttention(cache, layer, qAddr, kAddr, vAddr, posAddr, rows, keysAddr, numKeys, heads,
               kvHeads, headDim, scale, outAddr, qtype, kvtype, otype, window, softcap, nullptr);
}

/// lazyc_gpu_attention_ex with attention sinks (gpt-oss; Kernels.h's
/// lazyc_rt_attention_sinks).
void lazyc_gpu_attention_sinks(LazycKVCache *cache, int64_t layer, uint64_t qAddr,
                               uint64_t kAddr, uint64_t vAddr, uint64_t posAddr, int64_t rows,
                               uint64_t keysAddr, int64_t numKeys, int64_t heads,
                               int64_t kvHeads, int64_t headDim, double scale, uint64_t outAddr,
                               int64_t qtype, int64_t kvtype, int64_t otype, int64_t window,
                               double softcap, uint64_t sinksAddr) {
  if (!sinksAddr) {
    setError("lazyc_gpu_attention_sinks: no sinks");
    return;
  }
  runAttention(cache, layer, qAddr, kAddr, vAddr, posAddr, rows, keysAddr, numKeys, heads,
               kvHeads, headDim, scale, outAddr, qtype, kvtype, otype, window, softcap,
               ptr<float>(sinksAddr));
}

void lazyc_gpu_attention(LazycKVCache *cache, int64_t layer, uint64_t qAddr, uint64_t kAddr,
                         uint64_t vAddr, uint64_t posAddr, int64_t rows, uint64_t keysAddr,
                         int64_t numKeys, int64_t heads, int64_t kvHeads, int64_t headDim,
                         double scale, uint64_t outAddr) {
  lazyc_gpu_attention_ex(cache, layer, qAddr, kAddr, vAddr, posAddr, rows, keysAddr, numKeys,
                         heads, kvHeads, headDim, scale, outAddr, 0, 0, 0, 0, 0.0);
}

/// How many attention calls cuDNN ran so far (tests, reports).
int64_t lazyc_gpu_cudnn_attention_calls(void) { return state().cudnnAttentionCalls; }

/// For tests: the reference attention on the same inputs.
void lazyc_gpu_attention_reference(LazycKVCache *cache, int64_t layer, uint64_t qAddr,
                                   uint64_t posAddr, int64_t rows, uint64_t keysAddr,
                                   int64_t numKeys, int64_t heads, int64_t kvHeads,
                                   int64_t headDim, double scale, uint64_t outAddr) {
  const int64_t kvDim = kvHeads * headDim;
  __nv_bfloat16 *kc = layerKeys(cache, layer);
  __nv_bfloat16 *vc = layerValues(cache, layer);
  referenceAttention<<<dim3(blocksFor(rows, 64), static_cast<unsigned>(heads)), 64, 0,
                       state().stream>>>(
      ptr<float>(qAddr), ptr<int32_t>(posAddr), static_cast<int>(rows), kc, vc, kvDim,
      numKeys >= 0 ? ptr<int32_t>(keysAddr) : nullptr,
      static_cast<int>(numKeys >= 0 ? numKeys : cache->context), static_cast<int>(heads),
      static_cast<int>(heads / kvHeads), static_cast<int>(headDim), static_cast<float>(scale),
      lazyc::rt::AttentionBand{}, ptr<float>(outAddr));
}

//===--- LazyLLM kernels: index work on the host (the CPU kernels on copied
//===--- lists), row data on the GPU.

int64_t lazyc_gpu_context_size(uint64_t positions, int64_t rows) {
  std::vector<int32_t> pos = fetch<int32_t>(positions, rows);
  return lazyc_rt_context_size(reinterpret_cast<uint64_t>(pos.data()), rows);
}

void lazyc_gpu_context(uint64_t positions, int64_t rows, uint64_t out) {
  int64_t n = lazyc_gpu_context_size(positions, rows);
  if (n > 0)
    iota<<<blocksFor(n, 256), 256, 0, state().stream>>>(ptr<int32_t>(out), n);
}

void lazyc_gpu_scores(LazycKVCache *cache, int64_t layer, uint64_t qAddr, int64_t rows,
                      uint64_t keysAddr, int64_t numKeys, int64_t heads, int64_t kvHeads,
                      int64_t headDim, double scale, uint64_t outAddr) {
  Timed timed(cache);
  if (numKeys <= 0 || rows <= 0)
    return;
  windowScores(cache, layer, qAddr, {{rows - 1, 0, numKeys}}, keysAddr, numKeys, heads,
               kvHeads, headDim, scale, 0.0, outAddr);
}

/// lazyc_gpu_window_scores' and lazyc_gpu_sink_scores' work (`entry` names
/// the caller in errors): the window's rows and the keys (ascending
/// positions) each sees, on the host over copied position lists
/// (`positionsAddr` 0: the last row over every key), then windowScores with
/// `sinks` (null: none).
static void bandedWindowScores(const char *entry, LazycKVCache *cache, int64_t layer,
                               uint64_t qAddr, uint64_t positionsAddr, int64_t rows,
                               uint64_t keysAddr, int64_t numKeys, int64_t heads, int64_t kvHeads,
                               int64_t headDim, double scale, int64_t window, uint64_t outAddr,
                               int64_t sliding, double softcap, const float *sinks) {
  Timed timed(cache);
  if (sliding < 0 || sliding > INT_MAX || !(softcap >= 0.0) || !std::isfinite(softcap)) {
    setError(std::string(entry) + ": bad sliding window " + std::to_string(sliding) +
             " or softcap " + std::to_string(softcap));
    return;
  }
  if (numKeys <= 0 || rows <= 0)
    return;
  std::vector<ScoreRow> work;
  if (!positionsAddr) {
    work.push_back({rows - 1, 0, numKeys});
  } else {
    std::vector<int32_t> positions = fetch<int32_t>(positionsAddr, rows);
    std::vector<int32_t> keys = fetch<int32_t>(keysAddr, numKeys);
    const lazyc::rt::AttentionBand band = lazyc::rt::makeAttentionBand(sliding, scale, softcap);
    for (int64_t r : lazyc::scoreWindowRows(positions.data(), rows, window))
      work.push_back({r,
                      lazyc::rt::firstBandKey(keys.data(), static_cast<int>(numKeys),
                                              positions[r], band),
                      std::upper_bound(keys.begin(), keys.end(), positions[r]) - keys.begin()});
  }
  windowScores(cache, layer, qAddr, work, keysAddr, numKeys, heads, kvHeads, headDim, scale,
               softcap, outAddr, sinks);
}

void lazyc_gpu_window_scores(LazycKVCache *cache, int64_t layer, uint64_t qAddr,
                             uint64_t positionsAddr, int64_t rows, uint64_t keysAddr,
                             int64_t numKeys, int64_t heads, int64_t kvHeads, int64_t headDim,
                             double scale, int64_t window, uint64_t outAddr, int64_t sliding,
                             double softcap) {
  bandedWindowScores("lazyc_gpu_window_scores", cache, layer, qAddr, positionsAddr, rows,
                     keysAddr, numKeys, heads, kvHeads, headDim, scale, window, outAddr, sliding,
                     softcap, nullptr);
}

/// lazyc_gpu_window_scores with attention sinks (gpt-oss; Kernels.h's
/// lazyc_rt_sink_scores): `positions` 0 is the last row over every key.
void lazyc_gpu_sink_scores(LazycKVCache *cache, int64_t layer, uint64_t qAddr,
                           uint64_t positionsAddr, int64_t rows, uint64_t keysAddr,
                           int64_t numKeys, int64_t heads, int64_t kvHeads, int64_t headDim,
                           double scale, int64_t window, uint64_t outAddr, int64_t sliding,
                           double softcap, uint64_t sinksAddr) {
  if (!sinksAddr) {
    setError("lazyc_gpu_sink_scores: no sinks");
    return;
  }
  bandedWindowScores("lazyc_gpu_sink_scores", cache, layer, qAddr, positionsAddr, rows, keysAddr,
                     numKeys, heads, kvHeads, headDim, scale, window, outAddr, sliding, softcap,
                     ptr<float>(sinksAddr));
}

void lazyc_gpu_random_scores(uint64_t keysAddr, int64_t numKeys, int64_t layer, int64_t seed,
                             uint64_t outAddr) {
  std::vector<int32_t> keys = fetch<int32_t>(keysAddr, numKeys);
  std::vector<float> scores(keys.size());
  lazyc_rt_random_scores(reinterpret_cast<uint64_t>(keys.data()), numKeys, layer, seed,
                         reinterpret_cast<uint64_t>(scores.data()));
  putBack(outAddr, scores);
}

int64_t lazyc_gpu_select_size(int64_t n, double keep, int64_t minKeep) {
  return lazyc_rt_select_size(n, keep, minKeep);
}

void lazyc_gpu_select(uint64_t scoresAddr, int64_t n, double keep, int64_t minKeep,
                      uint64_t outAddr) {
  std::vector<float> scores = fetch<float>(scoresAddr, n);
  std::vector<int32_t> kept(static_cast<size_t>(lazyc_rt_select_size(n, keep, minKeep)));
  lazyc_rt_select(reinterpret_cast<uint64_t>(scores.data()), n, keep, minKeep,
                  reinterpret_cast<uint64_t>(kept.data()));
  putBack(outAddr, kept);
}

int64_t lazyc_gpu_select_once_size(LazycKVCache *cache, int64_t layer, uint64_t scoresAddr,
                                   uint64_t keysAddr, int64_t n, uint64_t positionsAddr,
                                   int64_t rows, double keep, int64_t minKeep) {
  std::vector<float> scores = fetch<float>(scoresAddr, n);
  std::vector<int32_t> keys = fetch<int32_t>(keysAddr, n), pos = fetch<int32_t>(positionsAddr, rows);
  return lazyc_rt_select_once_size(cache, layer, hostAddr(scores), hostAddr(keys), n,
                                   hostAddr(pos), rows, keep, minKeep);
}

void lazyc_gpu_select_once(LazycKVCache *cache, int64_t layer, uint64_t scoresAddr,
                           uint64_t keysAddr, int64_t n, uint64_t positionsAddr, int64_t rows,
                           double keep, int64_t minKeep, uint64_t outAddr) {
  std::vector<float> scores = fetch<float>(scoresAddr, n);
  std::vector<int32_t> keys = fetch<int32_t>(keysAddr, n), pos = fetch<int32_t>(positionsAddr, rows);
  std::vector<int32_t> kept(static_cast<size_t>(lazyc_rt_select_once_size(
      cache, layer, hostAddr(scores), hostAddr(keys), n, hostAddr(pos), rows, keep, minKeep)));
  lazyc_rt_select_once(cache, layer, hostAddr(scores), hostAddr(keys), n, hostAddr(pos), rows,
                       keep, minKeep, hostAddr(kept));
  putBack(outAddr, kept);
}

void lazyc_gpu_reuse_bias(LazycKVCache *cache, int64_t layer, uint64_t scoresAddr,
                          uint64_t keysAddr, int64_t n, double bias, uint64_t outAddr) {
  std::vector<float> scores = fetch<float>(scoresAddr, n);
  std::vector<int32_t> keys = fetch<int32_t>(keysAddr, n);
  lazyc_rt_reuse_bias(cache, layer, hostAddr(scores), hostAddr(keys), n, bias,
                      hostAddr(scores));
  putBack(outAddr, scores);
}

int64_t lazyc_gpu_missing_size(LazycKVCache *cache, int64_t layer, uint64_t keysAddr, int64_t n) {
  std::vector<int32_t> keys = fetch<int32_t>(keysAddr, n);
  return lazyc_rt_missing_size(cache, layer, reinterpret_cast<uint64_t>(keys.data()), n);
}

void lazyc_gpu_missing(LazycKVCache *cache, int64_t layer, uint64_t keysAddr, int64_t n,
                       uint64_t outAddr) {
  std::vector<int32_t> keys = fetch<int32_t>(keysAddr, n);
  std::vector<int32_t> missing(static_cast<size_t>(
      lazyc_rt_missing_size(cache, layer, reinterpret_cast<uint64_t>(keys.data()), n)));
  lazyc_rt_missing(cache, layer, reinterpret_cast<uint64_t>(keys.data()), n,
                   reinterpret_cast<uint64_t>(missing.data()));
  putBack(outAddr, missing);
}

/// lazyc-gpu-host-index-copies: nothing writes `device`'s `bytes` until it is
/// freed, so its next fetch is kept for the calls after it.
void lazyc_gpu_keep_host_copy(uint64_t device, int64_t bytes) {
  if (bytes > 0)
    state().hostCopies.markFinal(ptr<void>(device), static_cast<size_t>(bytes));
}

/// lazyc-gpu-host-index-copies, right after the runtime call that uploaded
/// `device` (missing, select, select_once): that upload is its host copy.
void lazyc_gpu_keep_uploaded_copy(uint64_t device, int64_t bytes) {
  if (bytes > 0)
    state().hostCopies.keepUploaded(ptr<void>(device), static_cast<size_t>(bytes));
}

void lazyc_gpu_aux_save(LazycKVCache *cache, int64_t layer, uint64_t hiddenAddr,
                        uint64_t positionsAddr, int64_t rows, int64_t columns, uint64_t keptAddr,
                        int64_t numKept) {
  Timed timed(cache);
  std::vector<int32_t> pos = fetch<int32_t>(positionsAddr, rows),
                       kept = fetch<int32_t>(keptAddr, numKept);
  std::vector<int32_t> src, dst;
  for (int64_t r = 0; r < rows; ++r) {
    if (std::binary_search(kept.begin(), kept.end(), pos[r]))
      continue;
    src.push_back(static_cast<int32_t>(r));
    dst.push_back(pos[r]);
  }
  if (src.empty())
    return;
  if (!cache->aux[layer]) {
    size_t bytes = static_cast<size_t>(cache->context) * columns * sizeof(float);
    cache->aux[layer] = static_cast<float *>(deviceAlloc(bytes));
    cache->aux_saved[layer] = static_cast<uint8_t *>(std::calloc(cache->context, 1));
    if (!cache->aux[layer] || !cache->aux_saved[layer]) {
      std::fprintf(stderr, "lazyc (cuda): out of memory allocating the Aux Cache of layer %lld\n",
                   static_cast<long long>(layer));
      std::exit(1);
    }
    cache->aux_bytes += static_cast<int64_t>(bytes + cache->context);
  }
  for (int32_t p : dst)
    cache->aux_saved[layer][p] = 1;
  count(cache, LAZYC_STAT_SAVED, layer, static_cast<int64_t>(src.size()));
  int32_t *dSrc = upload(src), *dDst = upload(dst);
  scatterRows<<<static_cast<unsigned>(src.size()), 256, 0, state().stream>>>(
      cache->aux[layer], ptr<float>(hiddenAddr), dSrc, dDst, columns);
  deviceFree(dSrc);
  deviceFree(dDst);
}

void lazyc_gpu_aux_load(LazycKVCache *cache, int64_t layer, uint64_t wantedAddr,
                        int64_t numWanted, uint64_t freshAddr, uint64_t freshPositionsAddr,
                        int64_t freshRows, int64_t columns, uint64_t outAddr) {
  Timed timed(cache);
  if (numWanted <= 0)
    return;
  std::vector<int32_t> wanted = fetch<int32_t>(wantedAddr, numWanted),
                       freshPos = fetch<int32_t>(freshPositionsAddr, freshRows);
  std::vector<int32_t> kind(wanted.size()), src(wanted.size());
  for (size_t r = 0; r < wanted.size(); ++r) {
    const int32_t p = wanted[r];
    auto hit = std::lower_bound(freshPos.begin(), freshPos.end(), p);
    if (hit != freshPos.end() && *hit == p) {
      kind[r] = 0;
      src[r] = static_cast<int32_t>(hit - freshPos.begin());
    } else if (cache->aux[layer] && cache->aux_saved[layer][p]) {
      kind[r] = 1;
      src[r] = p;
      count(cache, LAZYC_STAT_REVIVED, layer, 1);
    } else {
      kind[r] = 2;
      src[r] = 0;
      count(cache, LAZYC_STAT_MISSING_INPUT, layer, 1);
    }
  }
  int32_t *dKind = upload(kind), *dSrc = upload(src);
  gatherRows<<<static_cast<unsigned>(numWanted), 256, 0, state().stream>>>(
      ptr<float>(outAddr), ptr<float>(freshAddr), cache->aux[layer], dKind, dSrc, columns);
  deviceFree(dKind);
  deviceFree(dSrc);
}

//===----------------------------------------------------------------------===//
// The host runtime's table
//===----------------------------------------------------------------------===//

static const char *apiLastError() {
  return state().lastError.empty() ? nullptr : state().lastError.c_str();
}
static const char *apiDeviceName() { return state().name.c_str(); }
static int apiComputeCapability() { return state().computeCapability; }
static void *apiAlloc(size_t bytes) { return deviceAlloc(bytes); }
static void apiFree(void *p) { deviceFree(p); }
static int apiToDevice(void *d, const void *h, size_t bytes) {
  return check(cudaMemcpyAsync(d, h, bytes, cudaMemcpyHostToDevice, state().stream),
               "copy to device")
             ? 0
             : 1;
}
static int apiToHost(void *h, const void *d, size_t bytes) {
  bool ok = check(cudaMemcpyAsync(h, d, bytes, cudaMemcpyDeviceToHost, state().stream),
                  "copy to host") &&
            check(cudaStreamSynchronize(state().stream), "a GPU kernel failed");
  return ok ? 0 : 1;
}
static int apiZero(void *d, size_t bytes) {
  return check(cudaMemsetAsync(d, 0, bytes, state().stream), "memset") ? 0 : 1;
}
static int apiFillRandom(void *d, int64_t count, int dtype, uint64_t seed, uint64_t tensor,
                         float scale, int constant) {
  fillRandomKernel<<<4096, 256, 0, state().stream>>>(d, count, dtype, seed, tensor, scale,
                                                     constant);
  return check(cudaGetLastError(), "random weights") ? 0 : 1;
}
static int apiSynchronize() {
  return check(cudaStreamSynchronize(state().stream), "a GPU kernel failed") ? 0 : 1;
}
static const char *apiAttentionInfo() {
  State &s = state();
  s.attentionInfo = attentionVariant() + "; " + cudnnStatus() +
                    "; attention calls: cuDNN " + std::to_string(s.cudnnAttentionCalls) +
                    ", lazyc " + std::to_string(s.lazycAttentionCalls);
  return s.attentionInfo.c_str();
}
static void apiMirror(const void *device, const void *host, size_t bytes) {
  state().hostCopies.mirror(device, host, bytes);
}
static void apiRestartProfile() { Profile::restart(); }
static void apiReleaseCache(LazycKVCache *cache) {
  Profile::report(); // the model is going away: its profile is complete
  for (int64_t l = 0; cache->aux && l < cache->layers; ++l) {
    deviceFree(cache->aux[l]);
    cache->aux[l] = nullptr;
  }
}

const LazycCudaApi *lazyc_cuda_api(void) {
  static const LazycCudaApi api = {
      LAZYC_CUDA_API_VERSION, initialize,    apiLastError, apiDeviceName,
      apiAlloc,               apiFree,       apiToDevice,  apiToHost,
      apiZero,                apiFillRandom, apiSynchronize, apiReleaseCache,
      2,                      apiAttentionInfo, apiMirror,
      apiRestartProfile,      apiComputeCapability,
  };
  return &api;
}

} // extern "C"

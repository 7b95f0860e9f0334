//===- CudnnAttention.cpp - causal prefill attention through cuDNN --------===//
//
// The attention is one cuDNN operation graph, the pattern cuDNN's fused
// attention engines recognise (the same graph cudnn-frontend's composite
// SDPA node builds for inference, virtual softmax statistics included):
//
//   S = Q x K^T (f32) -> S * scale -> select(row >= col, S, lowest)
//     -> P = exp(S - max) / sum (bf16) -> O = P x V;  stats = max + log(sum)
//
// cuDNN is not linked: libcudnn.so.9 is opened with dlopen and the few
// backend functions are looked up, so the runtime builds without cuDNN's
// headers and runs where cuDNN is absent (the caller falls back to lazyc's
// own kernel). The enum values below are cuDNN 9's backend ABI
// (cudnn_graph.h).
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/CudnnAttention.h"

#include <cuda_runtime.h>
#include <dlfcn.h>

#include <cfloat>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <utility>
#include <vector>

namespace lazyc::cuda {
namespace {

using Desc = void *;   // cudnnBackendDescriptor_t
using Handle = void *; // cudnnHandle_t
using Status = int;    // cudnnStatus_t (0: success)

// cudnnBackendAttributeType_t
enum : int {
  kTypeHandle = 0,
  kTypeDataType = 1,
  kTypeBoolean = 2,
  kTypeInt64 = 3,
  kTypeFloat = 4,
  kTypeVoidPtr = 6,
  kTypeHeurMode = 8,
  kTypePointwiseMode = 14,
  kTypeDescriptor = 15,
  kTypeReductionOp = 18,
};
// cudnnDataType_t
enum : int { kFloat = 0, kInt32 = 4, kBF16 = 9, kBool = 11 };
// cudnnPointwiseMode_t
enum : int {
  kAdd = 0,
  kMul = 1,
  kDiv = 6,
  kSub = 9,
  kExp = 13,
  kLog = 15,
  kCmpGE = 303,
  kGenIndex = 501,
  kBinarySelect = 601,
};
// cudnnReduceTensorOp_t
enum : int { kReduceAdd = 0, kReduceMax = 3 };
// cudnnBackendHeurMode_t
enum : int { kHeurB = 1, kHeurFallback = 2, kHeurA = 3 };
// cudnnBackendDescriptorType_t
enum : int {
  kPointwiseDesc = 0,
  kEngineCfgDesc = 3,
  kEngineHeurDesc = 4,
  kPlanDesc = 5,
  kOpPointwiseDesc = 13,
  kOpGraphDesc = 15,
  kVariantPackDesc = 16,
  kTensorDesc = 17,
  kMatmulDesc = 18,
  kOpMatmulType = 19,
  kReductionDesc = 21,
  kOpReductionType = 22,
};
// cudnnBackendAttributeName_t
enum : int {
  kPwMode = 0,
  kPwMathPrec = 1,
  kPwAxis = 9,
  kHeurMode = 200,
  kHeurGraph = 201,
  kHeurResults = 202,
  kPlanHandle = 400,
  kPlanConfig = 401,
  kPlanWorkspace = 402,
  kOpPwDesc = 750,
  kOpPwX = 751,
  kOpPwB = 752,
  kOpPwY = 753,
  kOpPwT = 758,
  kGraphHandle = 800,
  kGraphOps = 801,
  kTensorAlignment = 900,
  kTensorDataType = 901,
  kTensorDims = 902,
  kTensorStrides = 903,
  kTensorUid = 906,
  kTensorVirtual = 907,
  kTensorByValue = 908,
  kPackUids = 1000,
  kPackPointers = 1001,
  kPackWorkspace = 1003,
  kMatmulCompType = 1500,
  kOpMatmulA = 1520,
  kOpMatmulB = 1521,
  kOpMatmulC = 1522,
  kOpMatmulDesc = 1523,
  kReductionOp = 1600,
  kReductionCompType = 1601,
  kOpReductionX = 1610,
  kOpReductionY = 1611,
  kOpReductionDesc = 1612,
};

// Unique ids of the tensors the caller binds.
enum : int64_t { kUidQ = 1, kUidK = 2, kUidV = 3, kUidO = 4, kUidScale = 5, kUidLowest = 6 };

struct Api {
  Status (*create)(Handle *) = nullptr;
  Status (*setStream)(Handle, cudaStream_t) = nullptr;
  size_t (*getVersion)() = nullptr;
  const char *(*errorString)(Status) = nullptr;
  void (*lastErrorString)(char *, size_t) = nullptr;
  Status (*createDescriptor)(int, Desc *) = nullptr;
  Status (*destroyDescriptor)(Desc) = nullptr;
  Status (*finalize)(Desc) = nullptr;
  Status (*setAttribute)(Desc, int, int, int64_t, const void *) = nullptr;
  Status (*getAttribute)(Desc, int, int, int64_t, int64_t *, void *) = nullptr;
  Status (*execute)(Handle, Desc, Desc) = nullptr;
  Handle handle = nullptr;
  size_t version = 0;
  std::string unavailable = "not loaded";
};

template <typename F> bool symbol(void *lib, const char *name, F &fn) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  return fn != nullptr;
}

void *openLibrary(std::string &tried) {
  std::vector<std::string> candidates;
  if (const char *env = std::getenv("LAZYC_CUDNN")) {
    std::string e = env;
    if (e.size() > 3 && e.find(".so") != std::string::npos)
      candidates.push_back(e);
    else
      for (const char *lib : {"/libcudnn.so.9", "/libcudnn_graph.so.9"})
        candidates.push_back(e + lib);
  }
  for (const char *c : {"libcudnn.so.9", "libcudnn_graph.so.9", "/usr/local/cuda/lib/libcudnn.so.9",
                        "/usr/local/cuda/lib64/libcudnn.so.9"})
    candidates.push_back(c);
  for (const std::string &c : candidates) {
    if (void *lib = dlopen(c.c_str(), RTLD_NOW | RTLD_GLOBAL))
      return lib;
    tried += (tried.empty() ? "" : ", ") + c;
  }
  return nullptr;
}

Api &api() {
  static Api a;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string tried;
    void *lib = openLibrary(tried);
    if (!lib) {
      a.unavailable = "libcudnn.so.9 not found (tried " + tried +
                      "; set LAZYC_CUDNN to its file or folder)";
      return;
    }
    bool ok = symbol(lib, "cudnnCreate", a.create) &&
              symbol(lib, "cudnnSetStream", a.setStream) &&
              symbol(lib, "cudnnGetVersion", a.getVersion) &&
              symbol(lib, "cudnnGetErrorString", a.errorString) &&
              symbol(lib, "cudnnBackendCreateDescriptor", a.createDescriptor) &&
              symbol(lib, "cudnnBackendDestroyDescriptor", a.destroyDescriptor) &&
              symbol(lib, "cudnnBackendFinalize", a.finalize) &&
              symbol(lib, "cudnnBackendSetAttribute", a.setAttribute) &&
              symbol(lib, "cudnnBackendGetAttribute", a.getAttribute) &&
              symbol(lib, "cudnnBackendExecute", a.execute);
    symbol(lib, "cudnnGetLastErrorString", a.lastErrorString); // optional
    if (!ok) {
      a.unavailable = "the cuDNN library lacks the backend graph API";
      return;
    }
    a.version = a.getVersion();
    if (a.version < 90000) {
      a.unavailable = "cuDNN " + std::to_string(a.version) + " is too old (9.0 or newer needed)";
      return;
    }
    Status st = a.create(&a.handle);
    if (st != 0) {
      a.unavailable = std::string("cudnnCreate failed (cuDNN needs a usable GPU): ") +
                      a.errorString(st);
      return;
    }
    a.unavailable.clear();
  });
  return a;
}

/// Builds one operation graph; owns every descriptor it creates (an
/// execution plan keeps them alive).
class Graph {
public:
  ~Graph() {
    for (auto it = owned_.rbegin(); it != owned_.rend(); ++it)
      api().destroyDescriptor(*it);
  }
  const std::string &error() const { return error_; }

  Desc make(int type) {
    if (!error_.empty())
      return nullptr;
    Desc d = nullptr;
    if (!ok(api().createDescriptor(type, &d), "creating a descriptor"))
      return nullptr;
    owned_.push_back(d);
    return d;
  }
  bool set(Desc d, int name, int type, int64_t count, const void *value) {
    if (!d || !error_.empty())
      return false;
    return ok(api().setAttribute(d, name, type, count, value),
              ("setting attribute " + std::to_string(name)).c_str());
  }
  bool setDesc(Desc d, int name, Desc value) { return set(d, name, kTypeDescriptor, 1, &value); }
  bool finalize(Desc d, const char *what) {
    if (!d || !error_.empty())
      return false;
    return ok(api().finalize(d), what);
  }

  Desc tensor(int64_t uid, int type, const std::vector<int64_t> &dims,
              const std::vector<int64_t> &strides, bool isVirtual, bool byValue = false) {
    Desc t = make(kTensorDesc);
    int64_t alignment = 16;
    set(t, kTensorDataType, kTypeDataType, 1, &type);
    set(t, kTensorDims, kTypeInt64, static_cast<int64_t>(dims.size()), dims.data());
    set(t, kTensorStrides, kTypeInt64, static_cast<int64_t>(strides.size()), strides.data());
    set(t, kTensorUid, kTypeInt64, 1, &uid);
    set(t, kTensorAlignment, kTypeInt64, 1, &alignment);
    set(t, kTensorVirtual, kTypeBoolean, 1, &isVirtual);
    if (byValue)
      set(t, kTensorByValue, kTypeBoolean, 1, &byValue);
    finalize(t, "finalizing a tensor");
    return t;
  }
  /// y = mode(x[, b[, t]]); `axis` for GEN_INDEX.
  void pointwise(int mode, Desc x, Desc b, Desc t, Desc y, int precision = kFloat,
                 int64_t axis = -1) {
    Desc p = make(kPointwiseDesc);
    set(p, kPwMode, kTypePointwiseMode, 1, &mode);
    set(p, kPwMathPrec, kTypeDataType, 1, &precision);
    if (axis >= 0)
      set(p, kPwAxis, kTypeInt64, 1, &axis);
    finalize(p, "finalizing a pointwise descriptor");
    std::vector<std::pair<int, Desc>> operands = {{kOpPwDesc, p}, {kOpPwX, x}, {kOpPwY, y}};
    if (b)
      operands.push_back({kOpPwB, b});
    if (t)
      operands.push_back({kOpPwT, t});
    operation(kOpPointwiseDesc, operands);
  }
  void matmul(Desc a, Desc b, Desc c) {
    Desc m = make(kMatmulDesc);
    int type = kFloat;
    set(m, kMatmulCompType, kTypeDataType, 1, &type);
    finalize(m, "finalizing a matmul descriptor");
    operation(kOpMatmulType,
              {{kOpMatmulA, a}, {kOpMatmulB, b}, {kOpMatmulC, c}, {kOpMatmulDesc, m}});
  }
  void reduce(int mode, Desc x, Desc y) {
    Desc r = make(kReductionDesc);
    int type = kFloat;
    set(r, kReductionOp, kTypeReductionOp, 1, &mode);
    set(r, kReductionCompType, kTypeDataType, 1, &type);
    finalize(r, "finalizing a reduction descriptor");
    operation(kOpReductionType, {{kOpReductionX, x}, {kOpReductionY, y}, {kOpReductionDesc, r}});
  }
  /// One operation of the graph: its descriptor-valued attributes.
  void operation(int type, const std::vector<std::pair<int, Desc>> &attributes) {
    Desc op = make(type);
    for (const auto &[name, value] : attributes)
      setDesc(op, name, value);
    if (finalize(op, "finalizing an operation"))
      ops_.push_back(op);
  }

  /// The operation graph of the ops added so far.
  Desc operationGraph() {
    Desc g = make(kOpGraphDesc);
    set(g, kGraphOps, kTypeDescriptor, static_cast<int64_t>(ops_.size()), ops_.data());
    set(g, kGraphHandle, kTypeHandle, 1, &api().handle);
    finalize(g, "finalizing the operation graph");
    return g;
  }

  /// The first engine the heuristics offer whose plan finalizes.
  Desc plan(Desc graph, int64_t &workspace) {
    std::string reasons;
    for (int mode : {kHeurA, kHeurFallback}) {
      if (!error_.empty())
        return nullptr;
      Desc heur = make(kEngineHeurDesc);
      setDesc(heur, kHeurGraph, graph);
      set(heur, kHeurMode, kTypeHeurMode, 1, &mode);
      if (!finalize(heur, "finalizing the engine heuristics")) {
        reasons += error_ + "; ";
        error_.clear();
        continue;
      }
      constexpr int kMaxConfigs = 16;
      std::vector<Desc> configs;
      for (int i = 0; i < kMaxConfigs; ++i)
        configs.push_back(make(kEngineCfgDesc));
      int64_t count = 0;
      if (!ok(api().getAttribute(heur, kHeurResults, kTypeDescriptor, kMaxConfigs, &count,
                                 configs.data()),
              "reading the heuristics' engine configurations"))
        return nullptr;
      for (int64_t i = 0; i < count && i < kMaxConfigs; ++i) {
        Desc p = make(kPlanDesc);
        set(p, kPlanHandle, kTypeHandle, 1, &api().handle);
        setDesc(p, kPlanConfig, configs[i]);
        if (finalize(p, "finalizing an execution plan")) {
          int64_t n = 0;
          if (!ok(api().getAttribute(p, kPlanWorkspace, kTypeInt64, 1, &n, &workspace),
                  "reading the workspace size"))
            return nullptr;
          return p;
        }
        reasons += error_ + "; ";
        error_.clear();
      }
      if (count == 0)
        reasons += std::string(mode == kHeurA ? "heuristics A" : "fallback heuristics") +
                   " offered no engine; ";
    }
    error_ = "no cuDNN engine runs this attention graph (" + reasons + ")";
    return nullptr;
  }

private:
  bool ok(Status st, const char *what) {
    if (st == 0)
      return true;
    if (error_.empty()) {
      error_ = std::string(what) + ": " + api().errorString(st);
      if (api().lastErrorString) {
        char detail[512] = {0};
        api().lastErrorString(detail, sizeof(detail));
        if (detail[0])
          error_ += std::string(" (") + detail + ")";
      }
    }
    return false;
  }

  std::vector<Desc> owned_;
  std::vector<Desc> ops_;
  std::string error_;
};

struct Plan {
  std::unique_ptr<Graph> graph; // keeps the descriptors alive
  Desc plan = nullptr;
  void *workspace = nullptr;
  std::string error; // non-empty: this shape has no engine
};

using ShapeKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;

/// The graph and execution plan of one shape.
Plan buildPlan(const SdpaShape &s) {
  Plan p;
  p.graph = std::make_unique<Graph>();
  Graph &g = *p.graph;
  const int64_t b = 1, h = s.heads, hk = s.kvHeads, n = s.rows, d = s.headDim;
  const std::vector<int64_t> scores = {b, h, n, n}, scoreStrides = {h * n * n, n * n, n, 1};
  const std::vector<int64_t> rowStats = {b, h, n, 1}, rowStatStrides = {h * n, n, 1, 1};
  const std::vector<int64_t> one = {1, 1, 1, 1};
  // Q, O: [b, h, n, d] over rows of qRowStride elements; K^T: [b, hk, d, n]
  // and V: [b, hk, n, d] over rows of kvRowStride.
  Desc q = g.tensor(kUidQ, kBF16, {b, h, n, d}, {n * s.qRowStride, d, s.qRowStride, 1}, false);
  Desc kt =
      g.tensor(kUidK, kBF16, {b, hk, d, n}, {n * s.kvRowStride, d, 1, s.kvRowStride}, false);
  Desc v = g.tensor(kUidV, kBF16, {b, hk, n, d}, {n * s.kvRowStride, d, s.kvRowStride, 1}, false);
  Desc o = g.tensor(kUidO, kBF16, {b, h, n, d}, {n * s.qRowStride, d, s.qRowStride, 1}, false);
  Desc scale = g.tensor(kUidScale, kFloat, one, one, false, /*byValue=*/true);
  Desc lowest = g.tensor(kUidLowest, kFloat, one, one, false, /*byValue=*/true);
  int64_t uid = 100;
  // Virtual tensors: [b, h, n, n] scores and [b, h, n, 1] per-row statistics.
  auto score = [&](int type) { return g.tensor(uid++, type, scores, scoreStrides, true); };
  auto rowStat = [&] { return g.tensor(uid++, kFloat, rowStats, rowStatStrides, true); };
  Desc s1 = score(kFloat);
  g.matmul(q, kt, s1);
  Desc s2 = score(kFloat);
  g.pointwise(kMul, s1, scale, nullptr, s2);
  Desc row = score(kInt32);
  g.pointwise(kGenIndex, s2, nullptr, nullptr, row, kFloat, 2);
  Desc col = score(kInt32);
  g.pointwise(kGenIndex, s2, nullptr, nullptr, col, kFloat, 3);
  Desc causal = score(kBool);
  g.pointwise(kCmpGE, row, col, nullptr, causal);
  Desc s3 = score(kFloat);
  g.pointwise(kBinarySelect, s2, lowest, causal, s3);
  Desc max = rowStat();
  g.reduce(kReduceMax, s3, max);
  Desc shifted = score(kFloat);
  g.pointwise(kSub, s3, max, nullptr, shifted);
  Desc e = score(kFloat);
  g.pointwise(kExp, shifted, nullptr, nullptr, e);
  Desc sum = rowStat();
  g.reduce(kReduceAdd, e, sum);
  // The softmax statistics (max + log sum), unused here: cuDNN recognises
  // the attention pattern only with them.
  Desc logSum = rowStat();
  g.pointwise(kLog, sum, nullptr, nullptr, logSum);
  Desc stats = rowStat();
  g.pointwise(kAdd, max, logSum, nullptr, stats);
  Desc probs = score(kBF16); // bmm2 takes the I/O type
  g.pointwise(kDiv, e, sum, nullptr, probs);
  g.matmul(probs, v, o);
  Desc graph = g.operationGraph();
  int64_t workspace = 0;
  p.plan = g.plan(graph, workspace);
  if (!p.plan) {
    p.error = g.error();
    return p;
  }
  if (workspace > 0) {
    cudaError_t e = cudaMalloc(&p.workspace, static_cast<size_t>(workspace));
    if (e != cudaSuccess) {
      p.plan = nullptr;
      p.error = "allocating cuDNN's workspace (" + std::to_string(workspace) +
                " bytes): " + cudaGetErrorString(e);
    }
  }
  return p;
}

/// The plans built so far, by shape. Never destroyed: at exit the driver
/// may be gone before the plans.
std::map<ShapeKey, Plan> &plans() {
  static auto *built = new std::map<ShapeKey, Plan>();
  return *built;
}
ShapeKey keyOf(const SdpaShape &shape) {
  return {shape.rows,    shape.heads,      shape.kvHeads,
          shape.headDim, shape.qRowStride, shape.kvRowStride};
}

/// The cached plan of a shape (built on first use), or null with `why`.
Plan *planFor(const SdpaShape &shape, std::string &why) {
  Api &a = api();
  if (!a.unavailable.empty()) {
    why = a.unavailable;
    return nullptr;
  }
  ShapeKey key = keyOf(shape);
  auto it = plans().find(key);
  // Each length has its own plan: building one may compile kernels (NVRTC,
  // ~0.1-0.5 s on an H100), once per process and length.
  if (it == plans().end())
    it = plans().emplace(key, buildPlan(shape)).first;
  if (!it->second.plan) {
    why = it->second.error;
    return nullptr;
  }
  return &it->second;
}

} // namespace

TokenSet classifyTokenSet(const int32_t *pos, int64_t rows, const int32_t *keys,
                          int64_t numKeys) {
  if (rows <= 0 || (keys && numKeys != rows))
    return TokenSet::Other;
  bool fromZero = true;
  for (int64_t i = 0; i < rows; ++i) {
    if (i > 0 && pos[i] <= pos[i - 1])
      return TokenSet::Other;
    if (keys && keys[i] != pos[i])
      return TokenSet::Other;
    fromZero = fromZero && pos[i] == i;
  }
  if (fromZero)
    return TokenSet::FromZero;
  // Implicit keys are every slot up to the last position: only 0..rows-1
  // makes them the rows themselves.
  return keys ? TokenSet::Gathered : TokenSet::Other;
}

bool CudnnPlanPolicy::shouldUse(const SdpaShape &shape, int64_t layer, bool planBuilt) {
  if (layer <= lastLayer_)
    ++step_; // the layers started over: a new step
  lastLayer_ = layer;
  auto [seen, inserted] = firstStep_.emplace(
      std::make_tuple(shape.rows, shape.heads, shape.kvHeads, shape.headDim), step_);
  return planBuilt || shape.rows >= coldRows_ || seen->second < step_;
}

bool cudnnHasPlan(const SdpaShape &shape) { return plans().count(keyOf(shape)) != 0; }

const std::string &cudnnUnavailable() { return api().unavailable; }

std::string cudnnVersionString() {
  Api &a = api();
  if (!a.unavailable.empty())
    return "";
  return "cuDNN " + std::to_string(a.version / 10000) + "." +
         std::to_string(a.version / 100 % 100) + "." + std::to_string(a.version % 100);
}

bool cudnnPrepare(const SdpaShape &shape, std::string &why) {
  return planFor(shape, why) != nullptr;
}

bool cudnnCausalAttention(CUstream_st *stream, const SdpaShape &shape, const void *q,
                          const void *k, const void *v, void *o, float scale, std::string &why) {
  Api &a = api();
  Plan *plan = planFor(shape, why);
  if (!plan)
    return false;
  Plan &p = *plan;
  Status st = a.setStream(a.handle, stream);
  if (st != 0) {
    why = std::string("cudnnSetStream: ") + a.errorString(st);
    return false;
  }
  float lowestValue = -FLT_MAX;
  int64_t uids[] = {kUidQ, kUidK, kUidV, kUidO, kUidScale, kUidLowest};
  void *pointers[] = {const_cast<void *>(q), const_cast<void *>(k), const_cast<void *>(v),
                      o, &scale, &lowestValue};
  Graph pack; // owns the variant pack
  Desc vp = pack.make(kVariantPackDesc);
  pack.set(vp, kPackUids, kTypeInt64, 6, uids);
  pack.set(vp, kPackPointers, kTypeVoidPtr, 6, pointers);
  pack.set(vp, kPackWorkspace, kTypeVoidPtr, 1, &p.workspace);
  if (!pack.finalize(vp, "finalizing the variant pack")) {
    why = pack.error();
    return false;
  }
  st = a.execute(a.handle, p.plan, vp);
  if (st != 0) {
    why = std::string("cudnnBackendExecute: ") + a.errorString(st);
    return false;
  }
  return true;
}

} // namespace lazyc::cuda

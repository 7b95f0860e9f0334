//===- Runtime.cpp - load and run a compiled model --------------------------===//

#include "runtime/Runtime.h"

#include "runtime/cpu/Profile.h"
#include "runtime/cpu/MXFP4.h"
#include "runtime/cpu/Q8_0.h"
#include "runtime/cuda/ChipCompat.h"
#include "runtime/cuda/CudaApi.h"
#include "runtime/model/GGUF.h"
#include "runtime/model/RandomWeights.h"
#include "runtime/model/Json.h"
#include "runtime/model/Safetensors.h"
#include "runtime/model/Tokenizer.h"
#include "runtime/model/WeightLayout.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <unistd.h>
#include <malloc.h>
#include <numeric>
#include <sstream>
#include <sys/resource.h>
#include <sys/stat.h>

using namespace lazyc::rt;

namespace {
constexpr int kABIVersion = 6; // compiler/Compile.h

template <typename T> struct MemRef1D {
  T *allocated, *aligned;
  int64_t offset, size, stride;
};
struct MemRef2D {
  float *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
};
using ForwardFn = void (*)(MemRef2D *, MemRef1D<int32_t> *, MemRef1D<int32_t> *,
                           LazycKVCache *, MemRef1D<int32_t> *, MemRef1D<uint8_t> *);

template <typename T> MemRef1D<T> view(const std::vector<T> &v) {
  T *p = const_cast<T *>(v.data());
  return {p, p, 0, static_cast<int64_t>(v.size()), 1};
}

/// Loads liblazycrt_cuda.so (next to this library) once, globally, so the
/// CUDA model's mgpu* / lazyc_gpu_* references resolve, and starts CUDA.
const LazycCudaApi *loadCudaRuntime(std::string &error) {
  static const LazycCudaApi *api = nullptr;
  static std::string loadError;
  static bool tried = false;
  if (!tried) {
    tried = true;
    Dl_info self;
    std::string dir;
    if (dladdr(reinterpret_cast<void *>(&lazyc_rt_linear), &self) && self.dli_fname) {
      dir = self.dli_fname;
      dir = dir.substr(0, dir.find_last_of('/') + 1);
    }
    std::string path = dir + "liblazycrt_cuda.so";
    void *lib = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
      loadError = "this model was compiled for CUDA, but the CUDA runtime (" + path +
                  ") cannot be loaded: " + dlerror() +
                  " (build lazyc with nvcc available to get it)";
    } else {
      auto get = reinterpret_cast<const LazycCudaApi *(*)()>(dlsym(lib, "lazyc_cuda_api"));
      const LazycCudaApi *table = get ? get() : nullptr;
      if (!table || table->version != LAZYC_CUDA_API_VERSION)
        loadError = path + " is not a matching lazyc CUDA runtime";
      else if (const char *why = table->init())
        loadError = std::string("cannot run a CUDA model: ") + why;
      else
        api = table;
    }
  }
  if (!api)
    error = loadError;
  return api;
}

std::string gib(double bytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
  return buffer;
}
} // namespace

CompiledModel::~CompiledModel() {
  if (cuda_) {
    cuda_->releaseCache(&cache_);
    cuda_->free(arena_);
    cuda_->free(cache_.k);
    cuda_->free(cache_.v);
    cuda_->synchronize();
    arena_ = nullptr;
    cache_.k = cache_.v = nullptr;
  }
  std::free(arena_);
  std::free(cache_.k);
  std::free(cache_.v);
  std::free(cache_.cached);
  for (int64_t l = 0; cache_.aux && l < cache_.layers; ++l) {
    std::free(cache_.aux[l]);
    std::free(cache_.aux_saved[l]);
  }
  std::free(cache_.aux);
  std::free(cache_.aux_saved);
  if (library_)
    dlclose(library_);
}

std::unique_ptr<CompiledModel> CompiledModel::load(const std::string &library,
                                                   const std::string &modelPath,
                                                   int64_t context, std::string &error) {
  // Compiled steps allocate their intermediates (megabytes each in prefill)
  // with malloc and free them at the end of the step. Keep freed memory in
  // the heap instead of returning it to the kernel, so the next step reuses
  // it without page faults.
  static bool heapTuned = [] {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return true;
  }();
  (void)heapTuned;
  std::unique_ptr<CompiledModel> m(new CompiledModel());
  std::string path = library.find('/') == std::string::npos ? "./" + library : library;
  m->library_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!m->library_) {
    std::string why = dlerror();
    // A model compiled with --target=cuda needs the CUDA runtime's symbols.
    if (why.find("undefined symbol: mgpu") == std::string::npos &&
        why.find("undefined symbol: lazyc_gpu_") == std::string::npos) {
      error = "cannot load compiled model: " + why;
      return nullptr;
    }
    if (!(m->cuda_ = loadCudaRuntime(error)))
      return nullptr;
    m->library_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!m->library_) {
      error = std::string("cannot load compiled model: ") + dlerror();
      return nullptr;
    }
  }
  const char *description =
      static_cast<const char *>(dlsym(m->library_, "lazyc_model_description"));
  m->forward_ = dlsym(m->library_, "_mlir_ciface_forward");
  if (!description || !m->forward_) {
    error = "'" + library + "' is not a lazyc compiled model (no lazyc_model_description / "
            "_mlir_ciface_forward)";
    return nullptr;
  }
  auto json = JsonValue::parse(description, error);
  if (!json) {
    error = "'" + library + "': malformed model description: " + error;
    return nullptr;
  }
  if (json->getInt("abi_version") != kABIVersion) {
    error = "'" + library + "' was compiled for model ABI " +
            std::to_string(json->getInt("abi_version").value_or(-1)) +
            "; this runtime reads ABI " + std::to_string(kABIVersion) + " (recompile it)";
    return nullptr;
  }
  if (m->cuda_) {
    // Its kernel modules loaded with the library. A GPU that cannot run them
    // (the description's chip and gpu_format: lazy-compile --chip and
    // --gpu-format) is told apart from other failures, with the --chip it
    // needs; a note when it runs them only by compiling their PTX at load.
    std::string note;
    error = kernelFitError(library, json->getString("chip").value_or(""),
                           json->getString("gpu_format").value_or("fatbin"),
                           m->cuda_->computeCapability(), m->cuda_->deviceName(), note);
    if (!note.empty())
      std::fprintf(stderr, "lazyc: %s\n", note.c_str());
    if (!error.empty())
      return nullptr;
    if (const char *e = m->cuda_->lastError()) {
      error = "'" + library + "': " + e;
      return nullptr;
    }
  }
  ModelInfo &info = m->info_;
  info.arch = json->getString("arch").value_or("?");
  info.name = json->getString("name").value_or("?");
  info.contextLength = json->getInt("context_length").value_or(0);
  info.vocabSize = json->getInt("vocab_size").value_or(0);
  info.layers = json->getInt("layers").value_or(0);
  info.kvHeads = json->getInt("kv_heads").value_or(0);
  info.headDim = json->getInt("head_dim").value_or(0);
  info.arenaBytes = json->getInt("weight_arena_bytes").value_or(0);
  if (const JsonValue *lazy = json->get("lazy")) {
    info.pruned = true;
    info.policy = lazy->getString("policy").value_or("?");
    info.scoreWindow = lazy->getInt("score_window").value_or(1);
    info.scorePool = lazy->getInt("score_pool").value_or(1);
    info.reuseBias = lazy->getNumber("reuse_bias").value_or(1.0);
    info.minKeep = lazy->getInt("min_keep").value_or(0);
    info.auxHidden = lazy->getInt("aux_hidden").value_or(-1);
    if (const JsonValue *sched = lazy->get("schedule"); sched && sched->isArray())
      for (const JsonValue &entry : sched->array())
        if (entry.isArray() && entry.array().size() == 2)
          info.schedule.emplace_back(entry.array()[0].integer().value_or(-1),
                                     entry.array()[1].number());
  }
  info.target = json->getString("target").value_or("cpu");
  info.kvCache = json->getString("kv_cache").value_or("f32");
  if (info.kvCache != "f32" && info.kvCache != "bf16" && info.kvCache != "f16") {
    error = "'" + library + "': unknown KV cache type '" + info.kvCache + "'";
    return nullptr;
  }
  info.synthetic = json->getBool("synthetic").value_or(false);
  if (info.target == "cuda" && !m->cuda_) {
    error = "'" + library + "' is a CUDA model but did not need the CUDA runtime (corrupt?)";
    return nullptr;
  }
  if (info.contextLength <= 0 || info.vocabSize <= 0 || info.layers <= 0 ||
      info.kvHeads <= 0 || info.headDim <= 0) {
    error = "'" + library + "': incomplete model description";
    return nullptr;
  }
  if (context <= 0)
    context = info.contextLength;
  if (context > info.contextLength) {
    error = "context " + std::to_string(context) + " exceeds the compiled context length " +
            std::to_string(info.contextLength);
    return nullptr;
  }
  if (!m->loadWeights(modelPath, description, error))
    return nullptr;

  // The KV cache: [layers][context][kv_dim] keys and values.
  LazycKVCache &cache = m->cache_;
  cache.context = context;
  cache.layers = info.layers;
  cache.kv_dim = info.kvHeads * info.headDim;
  size_t elements = static_cast<size_t>(cache.layers) * cache.context * cache.kv_dim;
  if (m->cuda_) {
    // bf16 keys and values in GPU memory.
    size_t bytes = elements * static_cast<size_t>(m->cuda_->kvElementBytes);
    cache.k = m->cuda_->alloc(bytes);
    cache.v = cache.k ? m->cuda_->alloc(bytes) : nullptr;
    if (!cache.k || !cache.v) {
      error = "out of GPU memory: the KV cache for " + std::to_string(context) +
              " tokens needs " + gib(2.0 * bytes) + " (use a smaller --ctx)";
      return nullptr;
    }
    m->cuda_->zero(cache.k, bytes);
    m->cuda_->zero(cache.v, bytes);
  } else {
    cache.kv_type = info.kvCache == "f16" ? 2 : info.kvCache == "bf16" ? 1 : 0;
    cache.k = std::calloc(elements, m->kvElementBytes());
    cache.v = std::calloc(elements, m->kvElementBytes());
  }
  if (!cache.k || !cache.v) {
    error = "out of memory: the KV cache for " + std::to_string(context) + " tokens needs " +
            gib(2.0 * static_cast<double>(elements * m->kvElementBytes())) +
            " (use a smaller --ctx" +
            (info.kvCache == "f32" ? ", or --kv-cache=bf16 or f16" : "") + ")";
    return nullptr;
  }
  if (!m->cuda_) {
    lazyc::rt::warmUpDecodeAttention(info.headDim);
    m->hashDescription(description); // sessions (CPU models)
  }
  // LazyLLM state: which slots each layer holds, the Aux Cache (allocated per
  // layer on its first save), counters.
  cache.cached = static_cast<uint8_t *>(std::calloc(cache.layers * cache.context, 1));
  cache.aux = static_cast<float **>(std::calloc(cache.layers, sizeof(float *)));
  cache.aux_saved = static_cast<uint8_t **>(std::calloc(cache.layers, sizeof(uint8_t *)));
  m->stats_.assign(static_cast<size_t>(LAZYC_STAT_COUNT * cache.layers), 0);
  cache.stats = m->stats_.data();
  if (!cache.cached || !cache.aux || !cache.aux_saved) {
    error = "out of memory allocating the cache bookkeeping";
    return nullptr;
  }
  return m;
}

bool CompiledModel::loadWeights(const std::string &modelPath, const std::string &description,
                                std::string &error) {
  std::string jsonError;
  auto json = JsonValue::parse(description, jsonError);
  const JsonValue *weights = json ? json->get("weights") : nullptr;
  if (!weights || !weights->isArray()) {
    error = "model description lists no weights";
    return false;
  }
  if (info_.arenaBytes <= 0 || info_.arenaBytes > (int64_t(1) << 40)) {
    error = "model description has an invalid weight arena size";
    return false;
  }
  // Random weights (synthetic models): generated where they live.
  if (modelPath.rfind("random", 0) == 0) {
    noTokenizer_ = "random weights come without one";
    uint64_t seed = 0;
    if (modelPath.size() > 7 && modelPath[6] == ':')
      seed = std::strtoull(modelPath.c_str() + 7, nullptr, 10);
    return fillRandomWeights(*weights, seed, error);
  }
  if (info_.synthetic) {
    error = "'" + info_.name + "' is a synthetic model (no weight file): run it with random "
            "weights (lazy-run --random-weights)";
    return false;
  }
  arena_ = static_cast<uint8_t *>(
      std::aligned_alloc(64, (static_cast<size_t>(info_.arenaBytes) + 63) / 64 * 64));
  if (!arena_) {
    error = "out of memory: the weights need " + gib(static_cast<double>(info_.arenaBytes));
    return false;
  }

  // Open the model file: GGUF or a Hugging Face checkpoint folder.
  struct stat st;
  bool isDir = stat(modelPath.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  std::shared_ptr<GGUFFile> gguf;
  std::shared_ptr<HFCheckpoint> hf;
  if (isDir) {
    auto ckpt = HFCheckpoint::open(modelPath, error);
    if (!ckpt)
      return false;
    hf = std::move(ckpt);
    // Without tokenizer.json or tokenizer.model the weights still run on
    // token ids (--ids).
    if (hf->hasTokenizer()) {
      tokenizer_ = Tokenizer::fromHFCheckpoint(*hf, error);
      if (!tokenizer_) {
        error = "'" + modelPath + "': " + error;
        return false;
      }
    } else {
      noTokenizer_ = "'" + modelPath + "' has neither tokenizer.json nor tokenizer.model";
    }
    modelFile_ = hf;
  } else {
    auto file = GGUFFile::open(modelPath, error);
    if (!file)
      return false;
    gguf = std::move(file);
    tokenizer_ = Tokenizer::fromGGUF(*gguf, error);
    modelFile_ = gguf;
    if (!tokenizer_)
      return false;
  }

  // First every entry is checked against the file (names, shapes, types);
  // then the tensors are dequantized into the arena in parallel.
  using Element = WeightElement;
  // The file's tensors the load reads (memory-mapped), released from the
  // resident set once copied (MappedFile::releasePages).
  std::vector<std::pair<const void *, size_t>> read;
  auto findTensor = [&](const std::string &name, GGMLType &type, const void *&data,
                        std::vector<uint64_t> &fileShape) {
    if (gguf) {
      const GGUFTensorInfo *t = gguf->findTensor(name);
      if (!t)
        return false;
      fileShape.assign(t->dims.rbegin(), t->dims.rend());
      type = t->type;
      data = t->data;
      read.push_back({t->data, static_cast<size_t>(t->numBytes)});
      return true;
    }
    const SafetensorsTensor *t = hf->findTensor(name);
    if (!t)
      return false;
    fileShape = t->shape;
    type = t->type;
    data = t->data;
    read.push_back({t->data, static_cast<size_t>(t->numBytes)});
    return true;
  };
  auto missing = [&](const std::string &name) {
    return "model/weights mismatch: '" + modelPath + "' has no tensor '" + name +
           "' (was the model compiled from another file?)";
  };
  // Entries the file lays out otherwise (llm.weight's row_step, transposed,
  // scales: gpt-oss's Hugging Face experts), converted a row at a time.
  std::vector<LaidOutWeight> laidOut;
  struct Conversion {
    GGMLType type;
    const GGMLTypeTraits *traits;
    const void *data;
    uint8_t *target;
    int64_t count;
    Element element;
  };
  std::vector<Conversion> conversions;
  for (const JsonValue &w : weights->array()) {
    std::string name = w.getString("name").value_or("");
    std::string dtype = w.getString("dtype").value_or("");
    int64_t offset = w.getInt("offset").value_or(-1), bytes = w.getInt("bytes").value_or(-1);
    int64_t count = 1;
    std::vector<uint64_t> shape;
    if (const JsonValue *s = w.get("shape"); s && s->isArray())
      for (const JsonValue &d : s->array()) {
        shape.push_back(static_cast<uint64_t>(d.integer().value_or(0)));
        count *= d.integer().value_or(0);
      }
    // Q8_0 (cpu/Q8_0.h): 34 bytes per 32 values of a row; MXFP4
    // (cpu/MXFP4.h): 17.
    const bool q8 = dtype == "q8_0", mx = dtype == "mxfp4";
    int64_t elementBytes = dtype == "f32" ? 4 : (dtype == "bf16" || dtype == "f16") ? 2 : 0;
    const int64_t expectedBytes =
        q8   ? (count % kQ8_0Values == 0 ? count / kQ8_0Values * kQ8_0Bytes : -1)
        : mx ? (count % kMXFP4Values == 0 ? count / kMXFP4Values * kMXFP4Bytes : -1)
             : count * elementBytes;
    if (name.empty() || (elementBytes == 0 && !q8 && !mx) || offset < 0 ||
        bytes != expectedBytes ||
        offset + bytes > info_.arenaBytes) {
      error = "model description has a malformed weight entry '" + name + "'";
      return false;
    }
    // A part of a fused tensor (Phi-3's qkv): rows [begin, end) of its matrix.
    // (Every row_step-th of them: planLaidOutWeight checks the count.)
    const bool stepped = w.get("row_step") != nullptr;
    int64_t rowBegin = -1, rowEnd = -1;
    if (const JsonValue *r = w.get("rows")) {
      if (!r->isArray() || r->array().size() != 2 || (shape.size() != 2 && !stepped)) {
        error = "model description has a malformed weight entry '" + name + "'";
        return false;
      }
      rowBegin = r->array()[0].integer().value_or(-1);
      rowEnd = r->array()[1].integer().value_or(-1);
      if (rowBegin < 0 || (!stepped && rowEnd - rowBegin != static_cast<int64_t>(shape[0]))) {
        error = "model description has a malformed weight entry '" + name + "'";
        return false;
      }
    }
    const Element element = q8                ? Element::Q8_0
                            : mx              ? Element::MXFP4
                            : dtype == "f32"  ? Element::F32
                            : dtype == "bf16" ? Element::BF16
                                              : Element::F16;
    // Find the tensor, check its shape and that it can be dequantized.
    GGMLType type;
    const void *data;
    std::vector<uint64_t> fileShape;
    if (!findTensor(name, type, data, fileShape)) {
      error = missing(name);
      return false;
    }
    const JsonValue *step = w.get("row_step"), *scales = w.get("scales");
    if (step || scales || w.get("transposed")) {
      LaidOutEntry entry;
      entry.name = name;
      entry.shape = shape;
      entry.element = element;
      entry.target = arena_ + offset;
      entry.hasRows = rowBegin >= 0;
      entry.rowBegin = rowBegin;
      entry.rowEnd = rowEnd;
      entry.rowStep = step ? step->integer().value_or(0) : 1;
      entry.rowBlock = w.getInt("row_block").value_or(1);
      entry.transposed = w.getBool("transposed").value_or(false);
      entry.type = type;
      entry.data = static_cast<const uint8_t *>(data);
      entry.fileShape = fileShape;
      if (scales) {
        std::string scalesName = scales->isString() ? scales->string() : "";
        GGMLType scalesType;
        const void *scalesData;
        if (!findTensor(scalesName, scalesType, scalesData, entry.scalesShape)) {
          error = missing(scalesName);
          return false;
        }
        if (scalesType != GGMLType::U8) {
          error = "tensor '" + scalesName + "' holds MXFP4 scales, which must be bytes (U8)";
          return false;
        }
        entry.hasScales = true;
        entry.scales = static_cast<const uint8_t *>(scalesData);
      }
      if (!planLaidOutWeight(entry, laidOut.emplace_back(), error))
        return false;
      continue;
    }
    // A stack of matrices (GGUF's experts: [experts, rows, columns]) is one
    // matrix of all their rows.
    if (rowBegin < 0 && shape.size() == 2 && fileShape.size() == 3)
      fileShape = {fileShape[0] * fileShape[1], fileShape[2]};
    // ... and a stack of vectors (their biases: [experts, rows]) one vector.
    if (rowBegin < 0 && shape.size() == 1 && fileShape.size() == 2)
      fileShape = {fileShape[0] * fileShape[1]};
    // ... and a one-row matrix may be a vector (Qwen2-MoE's shared expert
    // gate, squeezed by older GGUF converters).
    if (rowBegin < 0 && shape.size() == 2 && shape[0] == 1 && fileShape.size() == 1)
      fileShape = {1, fileShape[0]};
    // (A part's rows lie inside the file's matrix, of the part's width.)
    bool shapeMatches = rowBegin < 0 ? fileShape == shape
                                     : fileShape.size() == 2 && fileShape[1] == shape[1] &&
                                           fileShape[0] >= static_cast<uint64_t>(rowEnd);
    if (!shapeMatches) {
      error = "model/weights mismatch: tensor '" + name +
              "' has another shape in the model file than in the compiled model";
      return false;
    }
    const GGMLTypeTraits *traits = getTypeTraits(static_cast<uint32_t>(type));
    if (!traits || !traits->canDequantize || count % traits->blockElements != 0 ||
        (rowBegin >= 0 && shape[1] % traits->blockElements != 0)) {
      error = "tensor '" + name + "' has a type lazyc cannot dequantize";
      return false;
    }
    if (rowBegin >= 0) // whole blocks per row: the part starts at a row's first byte
      data = static_cast<const uint8_t *>(data) +
             static_cast<size_t>(rowBegin) * (shape[1] / traits->blockElements) *
                 traits->blockBytes;
    conversions.push_back({type, traits, data, arena_ + offset, count, element});
  }
  // Work in pieces of whole blocks, so one large tensor (the embedding)
  // does not leave the other threads idle (a laid-out weight's: of rows).
  struct Piece {
    const Conversion *c;
    int64_t begin, count;
    // Laid-out weights reading one tensor (gpt-oss's gate and up from one
    // interleaved gate_up): the same rows of each, then their file pages
    // released, so that none is read from the file twice.
    const std::vector<const LaidOutWeight *> *laid = nullptr;
  };
  std::vector<Piece> pieces;
  for (const Conversion &c : conversions) {
    // Whole blocks of the file's type and of Q8_0's (32 values).
    const int64_t block = std::lcm<int64_t>(c.traits->blockElements, kQ8_0Values);
    const int64_t piece = std::max<int64_t>(block, (int64_t(1) << 20) / block * block);
    for (int64_t begin = 0; begin < c.count; begin += piece)
      pieces.push_back({&c, begin, std::min(piece, c.count - begin)});
  }
  std::vector<std::vector<const LaidOutWeight *>> groups;
  for (const LaidOutWeight &l : laidOut) {
    auto same = std::find_if(groups.begin(), groups.end(), [&](const auto &g) {
      return g[0]->data == l.data && g[0]->rows == l.rows && g[0]->cols == l.cols &&
             g[0]->rowStep == l.rowStep && g[0]->rowBlock == l.rowBlock;
    });
    if (same == groups.end())
      groups.push_back({&l});
    else
      same->push_back(&l);
  }
  for (const auto &g : groups) {
    // (A transposed piece gathers its rows into an f32 scratch of them all.)
    const LaidOutWeight &l = *g[0];
    const int64_t piece = std::max<int64_t>(1, (l.transposed ? 64 << 10 : 1 << 20) / l.cols);
    for (int64_t begin = 0; begin < l.rows; begin += piece)
      pieces.push_back({nullptr, begin, std::min(piece, l.rows - begin), &g});
  }
  // Every type and size was checked above: dequantize cannot refuse a piece.
#pragma omp parallel
  {
    std::vector<float> scratch;
#pragma omp for schedule(dynamic)
    for (size_t i = 0; i < pieces.size(); ++i) {
      if (const auto *laid = pieces[i].laid) {
        const int64_t begin = pieces[i].begin, end = begin + pieces[i].count;
        for (const LaidOutWeight *l : *laid)
          convertLaidOutRows(*l, begin, end, scratch);
        for (const LaidOutWeight *l : *laid)
          releaseLaidOutRows(*l, begin, end);
        continue;
      }
      const Conversion &c = *pieces[i].c;
      const int64_t begin = pieces[i].begin, count = pieces[i].count;
      const auto *source = static_cast<const uint8_t *>(c.data) +
                           begin / c.traits->blockElements * c.traits->blockBytes;
      // (Read once: its pages leave the resident set after the piece, so
      // the load does not hold the file and the arena both.)
      struct Release {
        const void *p;
        size_t n;
        ~Release() { MappedFile::releasePages(p, n); }
      } release{source, static_cast<size_t>(count / c.traits->blockElements *
                                            c.traits->blockBytes)};
      if (c.element == Element::Q8_0 || c.element == Element::MXFP4) {
        // Blocks of 32 values (Q8_0's or MXFP4's): the file's as they are,
        // or its values quantized.
        static_assert(kQ8_0Values == kMXFP4Values, "pieces of whole blocks of both");
        const bool q8 = c.element == Element::Q8_0;
        const int64_t blockBytes = q8 ? kQ8_0Bytes : kMXFP4Bytes;
        uint8_t *blocks = c.target + begin / kQ8_0Values * blockBytes;
        if (c.type == (q8 ? GGMLType::Q8_0 : GGMLType::MXFP4)) {
          std::memcpy(blocks, source, static_cast<size_t>(count / kQ8_0Values * blockBytes));
        } else {
          scratch.resize(static_cast<size_t>(count));
          dequantize(c.type, source, scratch.data(), static_cast<size_t>(count));
          (q8 ? quantizeQ8_0 : quantizeMXFP4)(scratch.data(), blocks, static_cast<size_t>(count));
        }
        continue;
      }
      float *target = c.element == Element::F32
                          ? reinterpret_cast<float *>(c.target) + begin
                          : (scratch.resize(static_cast<size_t>(count)), scratch.data());
      dequantize(c.type, source, target, static_cast<size_t>(count));
      // The element type is chosen once per piece, not per element.
      auto *out = reinterpret_cast<uint16_t *>(c.target) + begin;
      if (c.element == Element::BF16)
        for (int64_t j = 0; j < count; ++j)
          out[j] = floatToBF16(target[j]);
      else if (c.element == Element::F16)
        for (int64_t j = 0; j < count; ++j)
          out[j] = floatToHalf(target[j]);
    }
  }
  // (A laid-out weight's rows, read by pieces of other entries too.)
  for (auto [p, n] : read)
    MappedFile::releasePages(p, n);
  return uploadArena(error);
}

bool CompiledModel::uploadArena(std::string &error) {
  if (!cuda_)
    return true;
  auto *device = static_cast<uint8_t *>(cuda_->alloc(static_cast<size_t>(info_.arenaBytes)));
  if (!device) {
    error = "out of GPU memory: the weights need " + gib(static_cast<double>(info_.arenaBytes));
    return false;
  }
  int rc = cuda_->toDevice(device, arena_, static_cast<size_t>(info_.arenaBytes));
  rc |= cuda_->synchronize();
  std::free(arena_);
  arena_ = device;
  if (rc != 0) {
    error = std::string("copying the weights to the GPU failed: ") +
            (cuda_->lastError() ? cuda_->lastError() : "?");
    return false;
  }
  return true;
}

bool CompiledModel::fillRandomWeights(const JsonValue &weights, uint64_t seed,
                                      std::string &error) {
  size_t bytes = (static_cast<size_t>(info_.arenaBytes) + 63) / 64 * 64;
  arena_ = static_cast<uint8_t *>(cuda_ ? cuda_->alloc(bytes) : std::aligned_alloc(64, bytes));
  if (!arena_) {
    error = std::string("out of ") + (cuda_ ? "GPU " : "") +
            "memory: the weights need " + gib(static_cast<double>(info_.arenaBytes));
    return false;
  }
  uint64_t tensor = 0;
  for (const JsonValue &w : weights.array()) {
    std::string name = w.getString("name").value_or("");
    std::string dtype = w.getString("dtype").value_or("");
    int64_t offset = w.getInt("offset").value_or(-1), bytes = w.getInt("bytes").value_or(-1);
    const bool q8 = dtype == "q8_0" && !cuda_; // the cuda target has no Q8_0 GEMMs
    const bool mx = dtype == "mxfp4" && !cuda_; // nor MXFP4 ones
    int64_t elementBytes = dtype == "f32" ? 4 : dtype == "bf16" ? 2 : 0;
    if ((elementBytes == 0 && !q8 && !mx) || offset < 0 || bytes < 0 ||
        offset + bytes > info_.arenaBytes || (q8 && bytes % kQ8_0Bytes != 0) ||
        (mx && bytes % kMXFP4Bytes != 0)) {
      error = "random weights: unsupported or malformed weight entry '" + name + "'";
      return false;
    }
    int64_t count = q8   ? bytes / kQ8_0Bytes * kQ8_0Values
                    : mx ? bytes / kMXFP4Bytes * kMXFP4Values
                         : bytes / elementBytes;
    // Norm weights are 1 (as a freshly initialized model's).
    bool norm = name.find("norm") != std::string::npos;
    float scale = norm ? 1.0f : kRandomWeightScale;
    ++tensor;
    if (q8) { // the random values, quantized a block at a time
#pragma omp parallel for schedule(static)
      for (int64_t b = 0; b < count / kQ8_0Values; ++b) {
        float values[kQ8_0Values];
        for (int64_t j = 0; j < kQ8_0Values; ++j)
          values[j] = randomWeight(seed, tensor, static_cast<uint64_t>(b * kQ8_0Values + j), scale);
        quantizeQ8_0(values, arena_ + offset + b * kQ8_0Bytes, kQ8_0Values);
      }
      continue;
    }
    if (mx) {
      // MXFP4 blocks of random codes under the exponent 2^-8: a standard
      // deviation of 0.023 (uniform codes: 5.85 times the scale), near the
      // other matrices' 0.02, and fast for gpt-oss-20b's 19 billion.
#pragma omp parallel for schedule(static)
      for (int64_t b = 0; b < count / kMXFP4Values; ++b) {
        uint8_t *block = arena_ + offset + b * kMXFP4Bytes;
        block[0] = 120;
        for (uint64_t half = 0; half < 2; ++half) {
          const uint64_t bits = mix64(seed * 0x9E3779B97F4A7C15ull ^ (tensor << 40) ^
                                      (static_cast<uint64_t>(b) * 2 + half));
          std::memcpy(block + 1 + 8 * half, &bits, sizeof(bits));
        }
      }
      continue;
    }
    if (cuda_) {
      if (cuda_->fillRandom(arena_ + offset, count, elementBytes == 4 ? 0 : 1, seed, tensor,
                            scale, norm) != 0) {
        error = "random weights on the GPU failed";
        return false;
      }
      continue;
    }
    for (int64_t i = 0; i < count; ++i) {
      float v = norm ? scale : randomWeight(seed, tensor, static_cast<uint64_t>(i), scale);
      if (elementBytes == 4)
        reinterpret_cast<float *>(arena_ + offset)[i] = v;
      else
        reinterpret_cast<uint16_t *>(arena_ + offset)[i] = floatToBF16Bits(v);
    }
  }
  if (cuda_ && cuda_->synchronize() != 0) {
    error = "random weights on the GPU failed";
    return false;
  }
  return true;
}

bool CompiledModel::step(const std::vector<int32_t> &tokens,
                         const std::vector<int32_t> &positions,
                         const std::vector<int32_t> &logitRows, std::vector<float> &logits,
                         std::string &error) {
  if (tokens.empty() || tokens.size() != positions.size()) {
    error = "a step needs one position per token";
    return false;
  }
  for (int32_t t : tokens)
    if (t < 0 || t >= info_.vocabSize) {
      error = "token id " + std::to_string(t) + " is outside the vocabulary";
      return false;
    }
  for (int32_t p : positions)
    if (p < 0 || p >= cache_.context) {
      error = "position " + std::to_string(p) + " is outside the context of " +
              std::to_string(cache_.context) + " tokens";
      return false;
    }
  for (int32_t r : logitRows)
    if (r < 0 || r >= static_cast<int32_t>(tokens.size())) {
      error = "logit row " + std::to_string(r) + " is not a row of this step";
      return false;
    }
  MemRef2D result{};
  auto tokenRef = view(tokens), posRef = view(positions), rowRef = view(logitRows);
  MemRef1D<uint8_t> arena{arena_, arena_, 0, info_.arenaBytes, 1};
  // A CUDA model reads its inputs from GPU memory; they (and the result)
  // are freed on every way out.
  struct DeviceBuffers {
    const LazycCudaApi *cuda;
    std::vector<void *> buffers;
    ~DeviceBuffers() {
      for (void *d : buffers)
        cuda->free(d);
    }
  } deviceInputs{cuda_, {}};
  if (cuda_) {
    for (auto *ref : {&tokenRef, &posRef, &rowRef}) {
      size_t bytes = static_cast<size_t>(ref->size) * sizeof(int32_t);
      auto *d = static_cast<int32_t *>(cuda_->alloc(bytes));
      if (!d || (bytes && cuda_->toDevice(d, ref->aligned, bytes) != 0)) {
        error = std::string("GPU: ") + (cuda_->lastError() ? cuda_->lastError() : "?");
        return false;
      }
      deviceInputs.buffers.push_back(d);
      cuda_->mirror(d, ref->aligned, bytes); // positions: read on the host at every layer
      ref->allocated = ref->aligned = d;
    }
  }
  // Per-step counters start over; generation counters accumulate.
  for (LazycStat s : {LAZYC_STAT_COMPUTED, LAZYC_STAT_KEYS, LAZYC_STAT_REVIVED, LAZYC_STAT_SAVED,
                      LAZYC_STAT_LAST_KEY})
    std::fill_n(stats_.begin() + s * cache_.layers, cache_.layers, 0);
  cache_.lazy_ns = 0;
  cache_.step_tokens = static_cast<int64_t>(tokens.size()); // lazy.reuse_bias: decode steps only
  {
    // LAZYC_PROFILE=1 (CPU models): the whole step, beside its kernels.
    const auto rows = static_cast<int64_t>(tokens.size());
    if (!cuda_ && lazyc::rt::profile::enabled())
      lazyc::rt::profile::beginStep(rows);
    lazyc::rt::profile::Scope timed(cuda_ ? nullptr : "step", rows);
    reinterpret_cast<ForwardFn>(forward_)(&result, &tokenRef, &posRef, &cache_, &rowRef, &arena);
  }
  if (cuda_)
    deviceInputs.buffers.push_back(result.allocated);
  // The invariants of ../shared/LAZYLLM.md, checked on every step.
  auto total = [&](LazycStat s) {
    int64_t sum = 0;
    for (int64_t l = 0; l < cache_.layers; ++l)
      sum += stats_[s * cache_.layers + l];
    return sum;
  };
  if (int64_t n = total(LAZYC_STAT_RECOMPUTED)) {
    error = "internal error: " + std::to_string(n) +
            " token-layers were computed twice (LazyLLM invariant)";
    if (!cuda_)
      std::free(result.allocated);
    return false;
  }
  if (int64_t n = total(LAZYC_STAT_MISSING_INPUT) + total(LAZYC_STAT_UNCACHED_KEY)) {
    error = "internal error: " + std::to_string(n) +
            " rows had no input or no cached K/V (LazyLLM Aux Cache invariant)";
    if (!cuda_)
      std::free(result.allocated);
    return false;
  }
  size_t n = static_cast<size_t>(result.sizes[0] * result.sizes[1]);
  if (cuda_) {
    logits.resize(n);
    int rc = cuda_->toHost(logits.data(), result.aligned + result.offset, n * sizeof(float));
    if (rc != 0 || cuda_->lastError()) {
      error = std::string("GPU: ") + (cuda_->lastError() ? cuda_->lastError() : "step failed");
      return false;
    }
    return true;
  }
  logits.assign(result.aligned + result.offset, result.aligned + result.offset + n);
  std::free(result.allocated);
  return true;
}

void CompiledModel::reset() {
  // (A slot is read only after it is written, as the cached flags below
  // record: the device cache needs no clearing.)
  if (!cuda_) {
    size_t elements = static_cast<size_t>(cache_.layers) * cache_.context * cache_.kv_dim;
    std::memset(cache_.k, 0, elements * kvElementBytes());
    std::memset(cache_.v, 0, elements * kvElementBytes());
  }
  forgetCachedSlots();
}

void CompiledModel::forgetCachedSlots() {
  std::memset(cache_.cached, 0, static_cast<size_t>(cache_.layers * cache_.context));
  for (int64_t l = 0; l < cache_.layers; ++l)
    if (cache_.aux_saved[l])
      std::memset(cache_.aux_saved[l], 0, static_cast<size_t>(cache_.context));
  std::fill(stats_.begin(), stats_.end(), 0);
}

StepStats CompiledModel::stats() const {
  StepStats s;
  auto row = [&](LazycStat stat) {
    auto begin = stats_.begin() + stat * cache_.layers;
    return std::vector<int64_t>(begin, begin + cache_.layers);
  };
  s.computed = row(LAZYC_STAT_COMPUTED);
  s.keys = row(LAZYC_STAT_KEYS);
  s.revived = row(LAZYC_STAT_REVIVED);
  s.saved = row(LAZYC_STAT_SAVED);
  s.lastKey = row(LAZYC_STAT_LAST_KEY);
  s.totalComputed = row(LAZYC_STAT_TOTAL_COMPUTED);
  s.auxBytes = cache_.aux_bytes;
  s.selectSeconds = static_cast<double>(cache_.lazy_ns) * 1e-9;
  return s;
}

std::string Sampler::state() const {
  std::ostringstream out;
  out << rng_;
  return out.str();
}

bool Sampler::restore(const std::string &text) {
  std::istringstream in(text);
  std::mt19937_64 rng;
  in >> rng;
  if (in.fail() || !(in >> std::ws).eof())
    return false;
  rng_ = rng;
  return true;
}

int32_t Sampler::sample(const float *logits, int64_t vocab) {
  if (options_.temperature <= 0.0f)
    return static_cast<int32_t>(std::max_element(logits, logits + vocab) - logits);
  std::vector<int32_t> ids(vocab);
  std::iota(ids.begin(), ids.end(), 0);
  int64_t keep = options_.topK > 0 ? std::min<int64_t>(options_.topK, vocab) : vocab;
  std::partial_sort(ids.begin(), ids.begin() + keep, ids.end(),
                    [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  ids.resize(keep);
  std::vector<double> probs(keep);
  double maxLogit = logits[ids[0]], sum = 0;
  for (int64_t i = 0; i < keep; ++i) {
    probs[i] = std::exp((logits[ids[i]] - maxLogit) / options_.temperature);
    sum += probs[i];
  }
  // Nucleus: the smallest prefix whose mass reaches top_p.
  double mass = 0;
  int64_t cut = keep;
  for (int64_t i = 0; i < keep; ++i) {
    mass += probs[i] / sum;
    if (mass >= options_.topP) {
      cut = i + 1;
      break;
    }
  }
  std::discrete_distribution<int64_t> pick(probs.begin(), probs.begin() + cut);
  return ids[pick(rng_)];
}

void lazyc::rt::boundOpenMPSpinning(char **argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT"))
    return;
  setenv("GOMP_SPINCOUNT", "20000", 1);
  // Exec the binary by its real path so the process keeps its name.
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0)
    return;
  path[n] = '\0';
  execv(path, argv);
  // If the restart fails, go on with the default policy.
}

double lazyc::rt::peakRSSMiB() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

std::string CompiledModel::deviceName() const {
  return cuda_ ? cuda_->deviceName() : std::string();
}

std::string CompiledModel::attentionInfo() const {
  return cuda_ ? cuda_->attentionInfo() : std::string();
}

void CompiledModel::restartProfile() {
  if (cuda_)
    cuda_->restartProfile();
}

//===- GPUPrepare.cpp - put a bufferized model on the GPU -------------------===//
//
// The CUDA target reuses the CPU pipeline up to bufferization. From there:
//
//  * lazyc-gpu-prepare: every buffer lives in device memory (memref.alloc ->
//    gpu.alloc, memref.dealloc -> gpu.dealloc, memref.copy -> gpu.memcpy,
//    constant globals copied to the device once per step), and the heavy
//    kernels are the CUDA runtime's (lazyc_rt_* -> lazyc_gpu_*, same C ABI,
//    device addresses; runtime/cuda/CudaKernels.h).
//  * lazyc-gpu-map-loops: each outermost scf.parallel (a linalg op after
//    convert-linalg-to-parallel-loops) becomes one flat 1-D iteration space
//    tiled into blocks of threads, mapped to block_x / thread_x for
//    convert-parallel-loops-to-gpu; reductions inside (scf.for over an
//    accumulator in memory) accumulate in a register instead.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/GPU/RowSum.h"

#include "dialects/llm/LLMOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SetVector.h"

namespace lazyc {
#define GEN_PASS_DEF_LAZYCGPUPREPARE
#define GEN_PASS_DEF_LAZYCGPUMAPLOOPS
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;

namespace {

/// True if `op` sits in a region executed per element (a linalg body or a
/// loop): those become device code.
bool inDeviceRegion(Operation *op) {
  return op->getParentOfType<linalg::LinalgOp>() || op->getParentOfType<scf::ParallelOp>() ||
         op->getParentOfType<gpu::LaunchOp>();
}

/// gpu.alloc / dealloc / memcpy lower only in async form: each gets its own
/// `gpu.wait async` token and a `gpu.wait` after it. The runtime runs every
/// stream the lowered code asks for on its one stream, in order, so these
/// waits cost nothing (runtime/cuda/CudaRuntime.cpp).
Value waitAsync(OpBuilder &b, Location loc) {
  return gpu::WaitOp::create(b, loc, b.getType<gpu::AsyncTokenType>(), ValueRange{})
      .getAsyncToken();
}
void waitFor(OpBuilder &b, Location loc, Value token) {
  gpu::WaitOp::create(b, loc, Type(), ValueRange{token});
}
Value deviceAlloc(OpBuilder &b, Location loc, MemRefType type, ValueRange dynamicSizes,
                  ValueRange symbols) {
  Value token = waitAsync(b, loc);
  auto alloc = gpu::AllocOp::create(b, loc, type, b.getType<gpu::AsyncTokenType>(),
                                    ValueRange{token}, dynamicSizes, symbols, false);
  waitFor(b, loc, alloc.getAsyncToken());
  return alloc.getMemref();
}
void deviceFree(OpBuilder &b, Location loc, Value memref) {
  Value token = waitAsync(b, loc);
  auto dealloc = gpu::DeallocOp::create(b, loc, b.getType<gpu::AsyncTokenType>(),
                                        ValueRange{token}, memref);
  waitFor(b, loc, dealloc.getAsyncToken());
}
void deviceCopy(OpBuilder &b, Location loc, Value dst, Value src) {
  Value token = waitAsync(b, loc);
  auto copy = gpu::MemcpyOp::create(b, loc, b.getType<gpu::AsyncTokenType>(), ValueRange{token},
                                    dst, src);
  waitFor(b, loc, copy.getAsyncToken());
}

struct LazycGPUPreparePass : public lazyc::impl::LazycGPUPrepareBase<LazycGPUPreparePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    IRRewriter rewriter(&getContext());
    bool failed = false;

    // The runtime's CUDA kernels replace the CPU ones (same signatures).
    SymbolTable symbols(module);
    for (auto fn : llvm::make_early_inc_range(module.getOps<func::FuncOp>())) {
      StringRef name = fn.getSymName();
      if (!fn.isExternal() || !name.starts_with("lazyc_rt_"))
        continue;
      std::string gpuName = ("lazyc_gpu_" + name.drop_front(strlen("lazyc_rt_"))).str();
      if (mlir::failed(symbols.replaceAllSymbolUses(fn.getSymNameAttr(),
                                                    rewriter.getStringAttr(gpuName), module)))
        return signalPassFailure();
      symbols.setSymbolName(fn, gpuName);
    }

    module.walk([&](func::FuncOp fn) {
      if (fn.isExternal())
        return;
      // Constant globals (e.g. RoPE frequencies) are host memory: give each
      // function a device copy.
      DenseMap<StringRef, Value> deviceGlobals;
      SmallVector<memref::GetGlobalOp> globals;
      fn.walk([&](memref::GetGlobalOp op) { globals.push_back(op); });
      for (memref::GetGlobalOp op : globals) {
        auto type = cast<MemRefType>(op.getType());
        Value &copy = deviceGlobals[op.getName()];
        if (!copy) {
          rewriter.setInsertionPointToStart(&fn.getBody().front());
          auto host = memref::GetGlobalOp::create(rewriter, op.getLoc(), type, op.getName());
          copy = deviceAlloc(rewriter, op.getLoc(), type, {}, {});
          deviceCopy(rewriter, op.getLoc(), copy, host);
          fn.walk([&](func::ReturnOp ret) {
            rewriter.setInsertionPoint(ret);
            deviceFree(rewriter, ret.getLoc(), copy);
          });
        }
        rewriter.replaceOp(op, copy);
      }

      fn.walk<WalkOrder::PreOrder>([&](Operation *op) -> WalkResult {
        if (isa<gpu::LaunchOp>(op))
          return WalkResult::skip();
        if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
          rewriter.setInsertionPoint(alloc);
          rewriter.replaceOp(alloc, deviceAlloc(rewriter, alloc.getLoc(), alloc.getType(),
                                                alloc.getDynamicSizes(),
                                                alloc.getSymbolOperands()));
        } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
          rewriter.setInsertionPoint(dealloc);
          deviceFree(rewriter, dealloc.getLoc(), dealloc.getMemref());
          rewriter.eraseOp(dealloc);
        } else if (auto copy = dyn_cast<memref::CopyOp>(op)) {
          rewriter.setInsertionPoint(copy);
          deviceCopy(rewriter, copy.getLoc(), copy.getTarget(), copy.getSource());
          rewriter.eraseOp(copy);
        } else if (auto store = dyn_cast<memref::StoreOp>(op);
                   store && !inDeviceRegion(op)) {
          // A scalar written by the host (e.g. a one-element index list):
          // a one-thread kernel writes it.
          rewriter.setInsertionPoint(store);
          Location loc = store.getLoc();
          Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
          auto launch = gpu::LaunchOp::create(
              rewriter, NameLoc::get(rewriter.getStringAttr("store"), loc), one, one, one, one,
              one, one);
          rewriter.setInsertionPointToStart(&launch.getBody().front());
          memref::StoreOp::create(rewriter, loc, store.getValueToStore(), store.getMemref(),
                                  store.getIndices());
          gpu::TerminatorOp::create(rewriter, loc);
          rewriter.eraseOp(store);
        } else if (isa<memref::AllocaOp>(op) ||
                   (isa<memref::LoadOp>(op) && !inDeviceRegion(op))) {
          // Host code must not touch device memory directly.
          op->emitOpError("reads or writes a buffer on the host; the CUDA target keeps "
                          "every buffer in device memory");
          failed = true;
        }
        return WalkResult::advance();
      });
    });
    if (failed)
      signalPassFailure();
  }
};

/// In `loop`'s body, turns `scf.for` reductions that load/store one
/// loop-invariant element of an output buffer into a register accumulator.
scf::ParallelOp promoteAccumulators(scf::ParallelOp loop) {
  SmallVector<scf::ForOp> fors;
  loop.walk([&](scf::ForOp f) { fors.push_back(f); });
  for (scf::ForOp forOp : fors) {
    if (forOp.getNumResults() != 0)
      continue;
    // The accumulator: the loop's only store, to a loop-invariant element,
    // and the one load of that element. Other loop-invariant loads are
    // inputs (e.g. the row's own score that every step compares with).
    memref::StoreOp store;
    bool ok = true;
    forOp.getBody()->walk([&](memref::StoreOp s) {
      if (store)
        ok = false;
      store = s;
    });
    if (!ok || !store || store->getBlock() != forOp.getBody() ||
        !forOp.isDefinedOutsideOfLoop(store.getMemref()) ||
        !llvm::all_of(store.getIndices(),
                      [&](Value v) { return forOp.isDefinedOutsideOfLoop(v); }))
      continue;
    memref::LoadOp load;
    forOp.getBody()->walk([&](memref::LoadOp l) {
      if (l.getMemref() != store.getMemref())
        return;
      // Any other read of the accumulator buffer keeps it in memory.
      if (load || l.getIndices() != store.getIndices())
        ok = false;
      load = l;
    });
    if (!ok || !load || load->getBlock() != forOp.getBody() ||
        !load->isBeforeInBlock(store))
      continue;
    OpBuilder b(forOp);
    Location loc = forOp.getLoc();
    Value init = memref::LoadOp::create(b, loc, load.getMemref(), load.getIndices());
    auto newFor = scf::ForOp::create(
        b, loc, forOp.getLowerBound(), forOp.getUpperBound(), forOp.getStep(), ValueRange{init},
        [&](OpBuilder &nb, Location nl, Value iv, ValueRange iterArgs) {
          IRMapping map;
          map.map(forOp.getInductionVar(), iv);
          map.map(load.getResult(), iterArgs[0]);
          Value next;
          for (Operation &op : forOp.getBody()->without_terminator()) {
            if (&op == load.getOperation())
              continue;
            if (&op == store.getOperation()) {
              next = map.lookupOrDefault(store.getValueToStore());
              continue;
            }
            nb.clone(op, map);
          }
          scf::YieldOp::create(nb, nl, ValueRange{next});
        });
    b.setInsertionPointAfter(newFor);
    memref::StoreOp::create(b, loc, newFor.getResult(0), store.getMemref(), store.getIndices());
    forOp.erase();
  }
  return loop;
}

/// True if the loop bounds `a` and `b` are the same extent: the same value,
/// `memref.dim`s of the same buffer and index, or the size a buffer was
/// allocated with.
bool sameExtent(Value a, Value b) {
  auto strip = [](Value v) {
    // dim(alloc(%n), d) -> %n, for the alloc's dynamic dimension d; likewise
    // through the output shape of an expand_shape.
    while (auto dim = v.getDefiningOp<memref::DimOp>()) {
      std::optional<int64_t> index = dim.getConstantIndex();
      Operation *def = dim.getSource().getDefiningOp();
      auto type = dyn_cast<MemRefType>(dim.getSource().getType());
      if (!index || !def || !type || !type.isDynamicDim(*index))
        break;
      if (auto expand = dyn_cast<memref::ExpandShapeOp>(def)) {
        auto size = dyn_cast<Value>(expand.getMixedOutputShape()[*index]);
        if (!size)
          break;
        v = size;
        continue;
      }
      if (!isa<memref::AllocOp, gpu::AllocOp>(def))
        break;
      unsigned dynamicIndex = type.getDynamicDimIndex(*index);
      ValueRange sizes = isa<gpu::AllocOp>(def) ? cast<gpu::AllocOp>(def).getDynamicSizes()
                                                : cast<memref::AllocOp>(def).getDynamicSizes();
      v = sizes[dynamicIndex];
    }
    return v;
  };
  a = strip(a);
  b = strip(b);
  if (a == b)
    return true;
  auto da = a.getDefiningOp<memref::DimOp>(), db = b.getDefiningOp<memref::DimOp>();
  return da && db && da.getSource() == db.getSource() && da.getConstantIndex() &&
         da.getConstantIndex() == db.getConstantIndex();
}

/// The value a fill loop (`scf.parallel` whose body only stores one value
/// from outside into `buffer` at its induction variables) writes, or null.
Value fillValue(scf::ParallelOp loop, Value buffer) {
  Block *body = loop.getBody();
  if (!llvm::hasSingleElement(body->without_terminator()))
    return {};
  auto store = dyn_cast<memref::StoreOp>(&body->front());
  if (!store || store.getMemref() != buffer ||
      !llvm::equal(store.getIndices(), loop.getInductionVars()) ||
      !loop.isDefinedOutsideOfLoop(store.getValueToStore()))
    return {};
  return store.getValueToStore();
}

/// A reduction loop nest starts from its accumulators' stored values. When
/// those were just written by a fill loop over the same iteration space (a
/// linalg.fill of the init), start from the fill value instead and drop the
/// fill: one kernel and one pass over the buffer fewer (RMSNorm's sums).
void foldFillIntoReduction(scf::ParallelOp loop, llvm::SmallPtrSetImpl<Operation *> &erased) {
  // After promoteAccumulators: `%init = memref.load %buf[ivs]` in the body.
  SmallVector<memref::LoadOp> inits;
  for (auto load : loop.getBody()->getOps<memref::LoadOp>())
    if (loop.isDefinedOutsideOfLoop(load.getMemref()) &&
        llvm::equal(load.getIndices(), loop.getInductionVars()))
      inits.push_back(load);
  for (memref::LoadOp init : inits) {
    Value buffer = init.getMemref();
    // The only other access of the buffer in the nest: the final store.
    int accesses = 0;
    loop.walk([&](Operation *op) {
      if (llvm::is_contained(op->getOperands(), buffer))
        ++accesses;
    });
    if (accesses != 2)
      continue;
    // Walk back to the fill; nothing in between may touch the buffer
    // (except reading its sizes).
    scf::ParallelOp fill;
    Value value;
    for (Operation *op = loop->getPrevNode(); op; op = op->getPrevNode()) {
      if (auto candidate = dyn_cast<scf::ParallelOp>(op))
        if ((value = fillValue(candidate, buffer))) {
          fill = candidate;
          break;
        }
      bool touches = false;
      op->walk([&](Operation *inner) {
        if (!isa<memref::DimOp>(inner) && llvm::is_contained(inner->getOperands(), buffer))
          touches = true;
      });
      if (touches || op == buffer.getDefiningOp())
        break;
    }
    if (!fill || fill.getNumLoops() != loop.getNumLoops())
      continue;
    bool sameSpace = true;
    for (unsigned d = 0; d < loop.getNumLoops(); ++d)
      sameSpace &= isConstantIntValue(loop.getLowerBound()[d], 0) &&
                   isConstantIntValue(fill.getLowerBound()[d], 0) &&
                   isConstantIntValue(loop.getStep()[d], 1) &&
                   isConstantIntValue(fill.getStep()[d], 1) &&
                   sameExtent(loop.getUpperBound()[d], fill.getUpperBound()[d]);
    if (!sameSpace)
      continue;
    init.replaceAllUsesWith(value);
    init.erase();
    erased.insert(fill);
    fill.erase();
  }
}

/// The buffer and indices a memref.load / memref.store accesses (null for
/// any other op).
std::pair<Value, ValueRange> accessOf(Operation *op) {
  if (auto load = dyn_cast<memref::LoadOp>(op))
    return {load.getMemref(), load.getIndices()};
  if (auto store = dyn_cast<memref::StoreOp>(op))
    return {store.getMemref(), store.getIndices()};
  return {};
}

/// Each thread of an elementwise loop handles `factor` neighbouring elements
/// of the innermost dimension (a static size that `factor` divides; else the
/// largest power of two below `factor` that does): the straight-line body is
/// cloned op by op for each element, so all of a thread's loads come before
/// its first store — `factor` independent memory requests in flight per
/// thread instead of one (which the latency of GPU memory needs), and
/// neighbouring addresses that the backend can merge into vector accesses.
/// Iterations of an scf.parallel are independent, so interleaving them is
/// valid. Returns the loop that replaces `loop` (or `loop`).
scf::ParallelOp unrollInnermost(scf::ParallelOp loop, int64_t factor) {
  if (factor <= 1 || loop.getNumReductions() != 0)
    return loop;
  Block *body = loop.getBody();
  for (Operation &op : body->without_terminator())
    if (op.getNumRegions() != 0)
      return loop;
  const unsigned last = loop.getNumLoops() - 1;
  std::optional<int64_t> ub = getConstantIntValue(loop.getUpperBound()[last]);
  if (!ub || !isConstantIntValue(loop.getLowerBound()[last], 0) ||
      !isConstantIntValue(loop.getStep()[last], 1))
    return loop;
  while (factor > 1 && *ub % factor != 0)
    factor /= 2;
  if (factor <= 1)
    return loop;
  // Buffers read or written at (..., iv) with static strides: a thread's
  // `factor` neighbours start at a multiple of `factor` elements from the
  // base, so a base aligned to factor x element size (at most 16 bytes)
  // makes them one vector access.
  Value iv = loop.getInductionVars()[last];
  llvm::SetVector<Value> vectorizable;
  for (Operation &op : body->without_terminator()) {
    auto [memref, indices] = accessOf(&op);
    if (!memref)
      continue;
    auto type = cast<MemRefType>(memref.getType());
    if (indices.empty() || indices.back() != iv || !loop.isDefinedOutsideOfLoop(memref) ||
        type.getRank() == 0 || !type.getElementType().isIntOrFloat())
      continue;
    // Static strides and offset (a row-major array with static rows, or a
    // column slice of one: a stacked GEMM's Q or gate): every group starts
    // `factor`-aligned when the outer strides and the offset are multiples.
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(type.getStridesAndOffset(strides, offset)) || strides.back() != 1 ||
        ShapedType::isDynamic(offset) || offset % factor != 0)
      continue;
    bool aligned = true;
    for (int64_t stride : ArrayRef(strides).drop_back())
      aligned &= !ShapedType::isDynamic(stride) && stride % factor == 0;
    if (aligned)
      vectorizable.insert(memref);
  }
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  SmallVector<Value> upper(loop.getUpperBound());
  upper[last] = arith::ConstantIndexOp::create(b, loc, *ub / factor);
  auto unrolled = scf::ParallelOp::create(
      b, loc, loop.getLowerBound(), upper, loop.getStep(),
      [&](OpBuilder &nb, Location nl, ValueRange ivs) {
        SmallVector<IRMapping> maps(static_cast<size_t>(factor));
        Value first = arith::MulIOp::create(nb, nl, ivs[last],
                                            arith::ConstantIndexOp::create(nb, nl, factor));
        for (int64_t u = 0; u < factor; ++u) {
          for (unsigned d = 0; d < last; ++d)
            maps[u].map(loop.getInductionVars()[d], ivs[d]);
          Value index = u == 0 ? first
                               : arith::AddIOp::create(
                                     nb, nl, first, arith::ConstantIndexOp::create(nb, nl, u));
          maps[u].map(loop.getInductionVars()[last], index);
        }
        auto cloneBody = [&](OpBuilder &cb, ArrayRef<IRMapping> base) {
          SmallVector<IRMapping> m(base.begin(), base.end());
          for (Operation &op : body->without_terminator())
            for (int64_t u = 0; u < factor; ++u)
              cb.clone(op, m[u]);
        };
        if (vectorizable.empty()) {
          cloneBody(nb, maps);
          return;
        }
        // Versioned on the bases' alignment, checked where it runs: the
        // aligned copy reads and writes each buffer's `factor` neighbours as
        // one vector (vector.load/store with that alignment: ld.global.v4 on
        // the GPU); the other is the scalar code, so a misaligned buffer is
        // slower, never a fault.
        Value aligned;
        llvm::SmallDenseMap<Value, unsigned> alignments;
        for (Value memref : vectorizable) {
          auto type = cast<MemRefType>(memref.getType());
          unsigned bytes = type.getElementTypeBitWidth() / 8;
          unsigned alignment = static_cast<unsigned>(std::min<int64_t>(16, factor * bytes));
          if (bytes == 0 || type.getElementTypeBitWidth() % 8 != 0 || alignment <= bytes)
            continue;
          Value base = memref::ExtractAlignedPointerAsIndexOp::create(nb, nl, memref);
          Value low = arith::AndIOp::create(
              nb, nl, base, arith::ConstantIndexOp::create(nb, nl, alignment - 1));
          Value ok = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, low,
                                           arith::ConstantIndexOp::create(nb, nl, 0));
          aligned = aligned ? arith::AndIOp::create(nb, nl, aligned, ok).getResult() : ok;
          alignments[memref] = alignment;
        }
        if (!aligned) {
          cloneBody(nb, maps);
          return;
        }
        auto vectorBody = [&](OpBuilder &vb, Location vl) {
          SmallVector<IRMapping> m(maps);
          for (Operation &op : body->without_terminator()) {
            auto [memref, indices] = accessOf(&op);
            if (!memref || !alignments.count(memref) || indices.back() != iv) {
              for (int64_t u = 0; u < factor; ++u)
                vb.clone(op, m[u]);
              continue;
            }
            SmallVector<Value> at;
            for (Value index : indices)
              at.push_back(m[0].lookupOrDefault(index)); // u = 0: the first neighbour
            Type element = cast<MemRefType>(memref.getType()).getElementType();
            auto vectorType = VectorType::get({factor}, element);
            llvm::MaybeAlign alignment(alignments[memref]);
            if (auto load = dyn_cast<memref::LoadOp>(op)) {
              Value v = vector::LoadOp::create(vb, vl, vectorType, memref, at,
                                               /*nontemporal=*/false, alignment);
              for (int64_t u = 0; u < factor; ++u)
                m[u].map(load.getResult(), vector::ExtractOp::create(vb, vl, v, u).getResult());
            } else {
              Value stored = cast<memref::StoreOp>(op).getValueToStore();
              SmallVector<Value> elements;
              for (int64_t u = 0; u < factor; ++u)
                elements.push_back(m[u].lookupOrDefault(stored));
              Value v = vector::FromElementsOp::create(vb, vl, vectorType, elements);
              vector::StoreOp::create(vb, vl, v, memref, at, /*nontemporal=*/false, alignment);
            }
          }
        };
        scf::IfOp::create(
            nb, nl, aligned,
            [&](OpBuilder &tb, Location tl) {
              vectorBody(tb, tl);
              scf::YieldOp::create(tb, tl);
            },
            [&](OpBuilder &eb, Location el) {
              cloneBody(eb, maps);
              scf::YieldOp::create(eb, el);
            });
      });
  loop.erase();
  return unrolled;
}

struct LazycGPUMapLoopsPass : public lazyc::impl::LazycGPUMapLoopsBase<LazycGPUMapLoopsPass> {
  using Base::Base;
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    SmallVector<scf::ParallelOp> outermost;
    fn.walk([&](scf::ParallelOp op) {
      if (!op->getParentOfType<scf::ParallelOp>())
        outermost.push_back(op);
    });
    MLIRContext *ctx = &getContext();
    IRRewriter rewriter(ctx);
    // Accumulators in registers, starting from their fill values (which may
    // erase fill loops: each precedes its reduction, so it was visited).
    llvm::erase_if(outermost,
                   [](scf::ParallelOp loop) { return loop->getParentOfType<gpu::LaunchOp>(); });
    llvm::SmallPtrSet<Operation *, 16> erased;
    for (scf::ParallelOp loop : outermost)
      if (!erased.contains(loop))
        foldFillIntoReduction(promoteAccumulators(loop), erased);
    for (scf::ParallelOp loop : outermost) {
      if (erased.contains(loop))
        continue;
      bool hasInnerLoop = false;
      loop.walk([&](scf::ForOp) { hasInnerLoop = true; });
      if (!hasInnerLoop)
        loop = unrollInnermost(loop, elementsPerThread);
      // One flat dimension (coalesced: the innermost dimension varies fastest).
      if (loop.getNumLoops() > 1) {
        std::vector<unsigned> all(loop.getNumLoops());
        for (unsigned i = 0; i < all.size(); ++i)
          all[i] = i;
        rewriter.setInsertionPoint(loop);
        collapseParallelLoops(rewriter, loop, {all});
        // collapseParallelLoops replaced the loop: find it again.
        continue;
      }
    }
    // Collapsing erased loops: collect the outermost ones again and tile.
    outermost.clear();
    fn.walk([&](scf::ParallelOp op) {
      if (!op->getParentOfType<scf::ParallelOp>() && !op->getParentOfType<gpu::LaunchOp>())
        outermost.push_back(op);
    });
    for (scf::ParallelOp loop : outermost) {
      // Loops with a sequential reduction inside get smaller blocks (more
      // of them in flight); pure elementwise loops get full blocks.
      bool hasInnerLoop = false;
      loop.walk([&](scf::ForOp) { hasInnerLoop = true; });
      int64_t tile = hasInnerLoop ? reductionBlockSize : blockSize;
      auto [outer, inner] = scf::tileParallelLoop(loop, {tile}, /*noMinMaxBounds=*/true);
      auto mapping = [&](gpu::Processor p) {
        AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
        return gpu::ParallelLoopDimMappingAttr::get(ctx, p, id, id);
      };
      if (mlir::failed(gpu::setMappingAttr(outer, {mapping(gpu::Processor::BlockX)})) ||
          mlir::failed(gpu::setMappingAttr(inner, {mapping(gpu::Processor::ThreadX)})))
        return signalPassFailure();
    }
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// lazyc-gpu-split-reductions
//===----------------------------------------------------------------------===//

namespace lazyc {
#define GEN_PASS_DEF_LAZYCGPUSPLITREDUCTIONS
#include "passes/Passes.h.inc"
} // namespace lazyc

namespace {
/// Rows of a 2-D sum reduction, `out[i] += f(in[i, k])` over a static k of
/// size n, become `partial[i, j] += f(in[i, k' * r + j])` (r partial sums per
/// row, in parallel; interleaved, so the threads of a row's partial sums read
/// adjacent elements: coalesced) and `out[i] += partial[i, j]`.
struct SplitRowReduction : OpRewritePattern<linalg::GenericOp> {
  SplitRowReduction(MLIRContext *ctx, int64_t maxRatio, int64_t minSize, bool skipRowNorms)
      : OpRewritePattern(ctx), maxRatio(maxRatio), minSize(minSize), skipRowNorms(skipRowNorms) {}
  LogicalResult matchAndRewrite(linalg::GenericOp op, PatternRewriter &rewriter) const override {
    // The combiner `out + f(in)`: 0 is then the partial sums' start.
    if (!op.hasPureTensorSemantics() || !lazyc::isRowSum(op))
      return failure();
    // Left for lazyc-gpu-fuse-row-norms: one all-parallel reader that also
    // reads the rows.
    if (skipRowNorms && op->getResult(0).hasOneUse()) {
      auto reader = dyn_cast<linalg::GenericOp>(*op->getResult(0).getUsers().begin());
      if (reader && reader.getNumReductionLoops() == 0 &&
          llvm::is_contained(reader.getDpsInputs(), op.getDpsInputOperand(0)->get()))
        return failure();
    }
    MLIRContext *ctx = op.getContext();
    AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx);
    auto inType = dyn_cast<RankedTensorType>(op.getDpsInputOperand(0)->get().getType());
    auto outType = dyn_cast<RankedTensorType>(op.getResult(0).getType());
    if (!inType || !outType || inType.getRank() != 2 || inType.isDynamicDim(1) ||
        !outType.getElementType().isF32())
      return failure();
    int64_t n = inType.getDimSize(1), r = maxRatio;
    if (n < minSize)
      return failure();
    while (r > 1 && (n % r != 0 || n / r < 2))
      r /= 2;
    if (r <= 1)
      return failure();
    Location loc = op.getLoc();
    Value in = op.getDpsInputOperand(0)->get();
    // The row count as the input has it: static (e.g. the one row whose
    // logits are wanted) or dynamic.
    const int64_t rowDim = inType.getDimSize(0);
    OpFoldResult rowSize = tensor::getMixedSize(rewriter, loc, in, 0);
    SmallVector<Value> dynamicRows;
    if (auto rows = dyn_cast<Value>(rowSize))
      dynamicRows.push_back(rows);
    auto expandedType = RankedTensorType::get({rowDim, n / r, r}, inType.getElementType());
    Value expanded = tensor::ExpandShapeOp::create(
        rewriter, loc, expandedType, in, SmallVector<ReassociationIndices>{{0}, {1, 2}},
        SmallVector<OpFoldResult>{rowSize, rewriter.getIndexAttr(n / r), rewriter.getIndexAttr(r)});
    auto partialType = RankedTensorType::get({rowDim, r}, outType.getElementType());
    Value empty = tensor::EmptyOp::create(rewriter, loc, partialType.getShape(),
                                          partialType.getElementType(), dynamicRows);
    Value zero = arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(0.0f));
    Value init = linalg::FillOp::create(rewriter, loc, zero, empty).getResult(0);
    AffineExpr e0 = getAffineDimExpr(0, ctx), e1 = getAffineDimExpr(1, ctx),
               e2 = getAffineDimExpr(2, ctx);
    auto partial = linalg::GenericOp::create(
        rewriter, loc, TypeRange{partialType}, ValueRange{expanded}, ValueRange{init},
        // (row, partial sum j, step k') reads expanded[row, k', j].
        ArrayRef<AffineMap>{AffineMap::get(3, 0, {e0, e2, e1}, ctx),
                            AffineMap::get(3, 0, {e0, e1}, ctx)},
        ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                      utils::IteratorType::parallel,
                                      utils::IteratorType::reduction});
    rewriter.cloneRegionBefore(op.getRegion(), partial.getRegion(), partial.getRegion().end());
    auto final = linalg::GenericOp::create(
        rewriter, loc, TypeRange{outType}, ValueRange{partial.getResult(0)},
        ValueRange{op.getDpsInitOperand(0)->get()},
        ArrayRef<AffineMap>{AffineMap::get(2, 0, {d0, d1}, ctx), AffineMap::get(2, 0, {d0}, ctx)},
        ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                      utils::IteratorType::reduction},
        [](OpBuilder &b, Location l, ValueRange args) {
          linalg::YieldOp::create(b, l, ValueRange{arith::AddFOp::create(b, l, args[1], args[0])});
        });
    rewriter.replaceOp(op, final.getResult(0));
    return success();
  }
  int64_t maxRatio, minSize;
  bool skipRowNorms;
};

struct LazycGPUSplitReductionsPass
    : public lazyc::impl::LazycGPUSplitReductionsBase<LazycGPUSplitReductionsPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<SplitRowReduction>(&getContext(), ratio, threshold, skipRowNorms);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// bf16 activations: shared fusion of the conversions
//===----------------------------------------------------------------------===//

namespace {
/// `tensor.extract %t[i, j]` inside a linalg body, where %t is the result of
/// a one-input elementwise generic (identity maps, no index ops, the output
/// not read): extract from that generic's input and apply its body to the
/// scalar. Then the generic's only other reader can fuse it (RoPE reads a
/// row's partner element with tensor.extract).
struct ExtractOfElementwise : OpRewritePattern<tensor::ExtractOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tensor::ExtractOp extract,
                                PatternRewriter &rewriter) const override {
    auto producer = extract.getTensor().getDefiningOp<linalg::GenericOp>();
    if (!producer || producer.getNumDpsInputs() != 1 || producer.getNumDpsInits() != 1 ||
        producer->getNumResults() != 1 || !producer.hasPureTensorSemantics() ||
        producer.getNumParallelLoops() != producer.getNumLoops() ||
        !llvm::all_of(producer.getIndexingMapsArray(),
                      [](AffineMap m) { return m.isIdentity(); }))
      return failure();
    // The body must be a function of the input element alone.
    Block &body = producer.getRegion().front();
    if (!body.getArgument(1).use_empty() ||
        llvm::any_of(body.without_terminator(), [](Operation &op) {
          return isa<linalg::IndexOp>(op) || op.getNumRegions() != 0;
        }))
      return failure();
    Location loc = extract.getLoc();
    Value scalar = tensor::ExtractOp::create(rewriter, loc, producer.getDpsInputs()[0],
                                             extract.getIndices());
    IRMapping map;
    map.map(body.getArgument(0), scalar);
    for (Operation &op : body.without_terminator())
      rewriter.clone(op, map);
    auto yield = cast<linalg::YieldOp>(body.getTerminator());
    rewriter.replaceOp(extract, map.lookupOrDefault(yield.getOperand(0)));
    return success();
  }
};

/// A linalg.generic converting the elements of the 2-D tensor `v` to `to`
/// (arith.truncf or arith.extf), inserted right after `v`.
Value castElements(OpBuilder &b, Location at, Value v, FloatType to) {
  OpBuilder::InsertionGuard guard(b);
  // Named after the kernel that produces `v` when it can absorb the
  // conversion (the fused kernel keeps the consumer's location: this one),
  // else "convert" (a kernel of its own, or fused into its readers).
  Operation *producer = v.getDefiningOp();
  Location loc = producer && isa<linalg::LinalgOp>(producer)
                     ? producer->getLoc()
                     : Location(NameLoc::get(b.getStringAttr("convert"), at));
  b.setInsertionPointAfterValue(v);
  auto inType = cast<RankedTensorType>(v.getType());
  auto type = RankedTensorType::get(inType.getShape(), to);
  SmallVector<Value> dynamic;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      dynamic.push_back(tensor::DimOp::create(b, loc, v, d));
  Value init = tensor::EmptyOp::create(b, loc, type.getShape(), to, dynamic);
  AffineMap id = b.getMultiDimIdentityMap(2);
  bool narrowing = to.getWidth() < cast<FloatType>(inType.getElementType()).getWidth();
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{v}, ValueRange{init},
             ArrayRef<AffineMap>{id, id},
             ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                           utils::IteratorType::parallel},
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               Value c = narrowing ? arith::TruncFOp::create(nb, nl, to, args[0]).getResult()
                                   : arith::ExtFOp::create(nb, nl, to, args[0]).getResult();
               linalg::YieldOp::create(nb, nl, ValueRange{c});
             })
      .getResult(0);
}

/// `v` (2-D f32) rounded to bf16 by a linalg.generic right after it.
Value truncateToBF16(OpBuilder &b, Location loc, Value v) {
  return castElements(b, loc, v, b.getBF16Type());
}

/// Fuses elementwise conversions (bf16 truncations and widenings) into the
/// linalg ops next to them, when nothing else reads the intermediate value.
LogicalResult fuseConversions(Operation *root) {
  MLIRContext *ctx = root->getContext();
  RewritePatternSet patterns(ctx);
  patterns.add<ExtractOfElementwise>(ctx);
  // tensor.dim of a producer's result is answered from its operands, so
  // the dim is not a second user that blocks the fusion.
  memref::populateResolveRankedShapedTypeResultDimsPatterns(patterns);
  linalg::populateElementwiseOpsFusionPatterns(patterns, [](OpOperand *operand) {
    Operation *producer = operand->get().getDefiningOp();
    return producer && producer->hasOneUse();
  });
  return applyPatternsGreedily(root, std::move(patterns));
}
} // namespace

//===----------------------------------------------------------------------===//
// lazyc-gpu-bf16-gemm-inputs
//===----------------------------------------------------------------------===//

namespace lazyc {
#define GEN_PASS_DEF_LAZYCGPUBF16GEMMINPUTS
#include "passes/Passes.h.inc"
} // namespace lazyc

namespace {
struct LazycGPUBF16GemmInputsPass
    : public lazyc::impl::LazycGPUBF16GemmInputsBase<LazycGPUBF16GemmInputsPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    // One truncation per input value (Q/K/V and gate/up share theirs).
    DenseMap<Value, Value> truncated;
    SmallVector<lazyc::llm::LinearOp> linears;
    getOperation().walk([&](lazyc::llm::LinearOp op) { linears.push_back(op); });
    for (lazyc::llm::LinearOp op : linears) {
      auto inType = op.getInput().getType();
      if (!inType.getElementType().isF32() || !op.getWeight().getType().getElementType().isBF16())
        continue;
      Value &bf16 = truncated[op.getInput()];
      if (!bf16) {
        OpBuilder b(ctx);
        bf16 = truncateToBF16(b, op.getLoc(), op.getInput());
      }
      op.getInputMutable().assign(bf16);
    }
    // Fuse each truncation (and any elementwise chain) into its producer
    // when the producer has no other user: the producing kernel writes bf16.
    if (failed(fuseConversions(getOperation())))
      signalPassFailure();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// lazyc-gpu-bf16-gemm-outputs
//===----------------------------------------------------------------------===//

namespace lazyc {
#define GEN_PASS_DEF_LAZYCGPUBF16GEMMOUTPUTS
#include "passes/Passes.h.inc"
} // namespace lazyc

namespace {
/// A bf16-weight GEMM that produces plain f32 (no accumulation).
bool isBF16WeightGemm(lazyc::llm::LinearOp linear) {
  return linear && !linear.getAccumulate() && linear.getType().getElementType().isF32() &&
         linear.getWeight().getType().getElementType().isBF16();
}

/// True if every use of `v` is an input operand of a linalg.generic, a
/// tensor.extract inside one (RoPE reads a row's partner element that way)
/// or a tensor.dim: the users that can read a bf16 value widened in place.
bool onlyElementwiseReaders(Value v) {
  for (OpOperand &use : v.getUses()) {
    Operation *user = use.getOwner();
    if (auto generic = dyn_cast<linalg::GenericOp>(user)) {
      if (!generic.isDpsInput(&use) || !generic.hasPureTensorSemantics())
        return false;
    } else if (isa<tensor::ExtractOp>(user)) {
      if (!user->getParentOfType<linalg::GenericOp>())
        return false;
    } else if (!isa<tensor::DimOp>(user)) {
      return false;
    }
  }
  return !v.use_empty();
}

struct LazycGPUBF16GemmOutputsPass
    : public lazyc::impl::LazycGPUBF16GemmOutputsBase<LazycGPUBF16GemmOutputsPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    SmallVector<lazyc::llm::LinearOp> linears;
    getOperation().walk([&](lazyc::llm::LinearOp op) { linears.push_back(op); });
    auto bf16Like = [&](Value v) {
      v.setType(RankedTensorType::get(cast<RankedTensorType>(v.getType()).getShape(),
                                      BFloat16Type::get(ctx)));
    };
    for (lazyc::llm::LinearOp op : linears) {
      auto type = op.getType();
      if (!isBF16WeightGemm(op) || type.getRank() != 2)
        continue;
      // The product itself, or the column slices of a stacked GEMM
      // (lazyc-fuse-projections), each read only by elementwise kernels.
      Value product = op.getResult();
      SmallVector<Value> read{product};
      bool sliced = llvm::any_of(product.getUsers(), llvm::IsaPred<tensor::ExtractSliceOp>) &&
                    llvm::all_of(product.getUsers(),
                                 llvm::IsaPred<tensor::ExtractSliceOp, tensor::DimOp>);
      if (sliced) {
        read.clear();
        for (Operation *user : product.getUsers())
          if (isa<tensor::ExtractSliceOp>(user))
            read.push_back(user->getResult(0));
      }
      if (!llvm::all_of(read, onlyElementwiseReaders))
        continue;
      // The GEMM writes bf16; a widening generic gives its readers the f32
      // they expect, and fusion moves the widening into each reader.
      // (The types change first: the widening's block argument is bf16.)
      bf16Like(product);
      OpBuilder b(ctx);
      for (Value v : read) {
        if (v != product)
          bf16Like(v);
        Value widened = castElements(b, op.getLoc(), v, b.getF32Type());
        v.replaceAllUsesExcept(widened, widened.getDefiningOp());
      }
    }
    if (failed(fuseConversions(getOperation())))
      signalPassFailure();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// lazyc-gpu-bf16-attention
//===----------------------------------------------------------------------===//

namespace lazyc {
#define GEN_PASS_DEF_LAZYCGPUBF16ATTENTION
#include "passes/Passes.h.inc"
} // namespace lazyc

namespace {
/// True if `v`'s only readers other than tensor.dim ops are `user`'s.
bool onlyReadBy(Value v, Operation *user) {
  bool read = false;
  for (Operation *u : v.getUsers()) {
    if (u == user)
      read = true;
    else if (!isa<tensor::DimOp>(u))
      return false;
  }
  return read;
}

struct LazycGPUBF16AttentionPass
    : public lazyc::impl::LazycGPUBF16AttentionBase<LazycGPUBF16AttentionPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    SmallVector<lazyc::llm::AttentionOp> attentions;
    getOperation().walk([&](lazyc::llm::AttentionOp op) { attentions.push_back(op); });
    OpBuilder b(ctx);
    auto bf16Like = [&](Type t) {
      return RankedTensorType::get(cast<RankedTensorType>(t).getShape(), b.getBF16Type());
    };
    for (lazyc::llm::AttentionOp attn : attentions) {
      Value q = attn.getQuery(), k = attn.getKey(), v = attn.getValue();
      if (!cast<RankedTensorType>(q.getType()).getElementType().isF32() ||
          !cast<RankedTensorType>(k.getType()).getElementType().isF32() ||
          !attn.getType().getElementType().isF32())
        continue;
      Location loc = attn.getLoc();
      // Only in models with bf16 weights (V's projection tells). V comes
      // from its GEMM, or from a kernel of ours reading it (Qwen2's bias
      // add), maybe through a column slice of a stacked GEMM.
      auto vLinear = v.getDefiningOp<lazyc::llm::LinearOp>();
      auto vKernel = v.getDefiningOp<linalg::GenericOp>();
      if (!vLinear && vKernel)
        for (Value in : vKernel.getDpsInputs()) {
          if (auto slice = in.getDefiningOp<tensor::ExtractSliceOp>())
            in = slice.getSource();
          if (auto linear = in.getDefiningOp<lazyc::llm::LinearOp>())
            vLinear = linear;
        }
      if (!isBF16WeightGemm(vLinear))
        continue;
      // The query, when a kernel of ours (RoPE) produces it for this
      // attention, or for it and row slices (a pruning layer's generated
      // importance scores read the last rows): RoPE writes bf16, and each
      // slice is widened where it is read. (The runtime's score kernels,
      // lazy.scores, read f32: that query stays f32.)
      SmallVector<tensor::ExtractSliceOp> slices;
      bool slicesOnly = llvm::all_of(q.getUsers(), [&](Operation *u) {
        if (auto slice = dyn_cast<tensor::ExtractSliceOp>(u)) {
          slices.push_back(slice);
          return true;
        }
        return u == attn.getOperation() || isa<tensor::DimOp>(u);
      });
      if (q.getDefiningOp<linalg::GenericOp>() && slicesOnly) {
        Value bf16 = truncateToBF16(b, loc, q);
        for (tensor::ExtractSliceOp slice : slices) {
          b.setInsertionPoint(slice);
          Value narrow = tensor::ExtractSliceOp::create(
              b, slice.getLoc(), bf16Like(slice.getType()), bf16, slice.getMixedOffsets(),
              slice.getMixedSizes(), slice.getMixedStrides());
          slice.replaceAllUsesWith(castElements(b, slice.getLoc(), narrow, b.getF32Type()));
          slice.erase();
        }
        attn.getQueryMutable().assign(bf16);
      }
      // Key and value together: RoPE writes K in bf16, V's GEMM (or the
      // kernel after it) writes bf16.
      if (k.getDefiningOp<linalg::GenericOp>() && onlyReadBy(k, attn) && onlyReadBy(v, attn) &&
          k != v) {
        attn.getKeyMutable().assign(truncateToBF16(b, loc, k));
        if (v.getDefiningOp<lazyc::llm::LinearOp>())
          v.setType(bf16Like(v.getType()));
        else
          attn.getValueMutable().assign(truncateToBF16(b, loc, v));
      }
      // The output, when only bf16-weight GEMMs read it as their input (the
      // attention output projection): written in bf16 for them.
      Value out = attn.getResult();
      bool gemmInputsOnly = !out.use_empty() && llvm::all_of(out.getUses(), [&](OpOperand &use) {
        auto linear = dyn_cast<lazyc::llm::LinearOp>(use.getOwner());
        return linear && use.get() == linear.getInput() && use.getOperandNumber() == 0 &&
               linear.getWeight().getType().getElementType().isBF16();
      });
      if (gemmInputsOnly)
        out.setType(bf16Like(out.getType()));
    }
    if (failed(fuseConversions(getOperation())))
      signalPassFailure();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// lazyc-gpu-bf16-residual
//===----------------------------------------------------------------------===//

namespace lazyc {
#define GEN_PASS_DEF_LAZYCGPUBF16RESIDUAL
#include "passes/Passes.h.inc"
} // namespace lazyc

namespace {
/// A residual GEMM that can accumulate into bf16: bf16 weights, an f32
/// accumulation (lazyc-fuse-linear-add).
bool isResidualGemm(lazyc::llm::LinearOp linear) {
  return linear.getAccumulate() && linear.getType().getElementType().isF32() &&
         linear.getType().getRank() == 2 &&
         linear.getWeight().getType().getElementType().isBF16();
}

struct LazycGPUBF16ResidualPass
    : public lazyc::impl::LazycGPUBF16ResidualBase<LazycGPUBF16ResidualPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    SmallVector<lazyc::llm::LinearOp> gemms;
    getOperation().walk([&](lazyc::llm::LinearOp op) {
      if (isResidualGemm(op))
        gemms.push_back(op);
    });
    llvm::SmallPtrSet<Operation *, 32> converted(gemms.begin(), gemms.end());
    // An accumulation into a value no residual GEMM wrote (the embedding,
    // rows the Aux Cache returned): one truncation of it, shared.
    DenseMap<Value, Value> truncated;
    OpBuilder b(ctx);
    // Program order: each GEMM's accumulator is already bf16 when it was
    // written by one before it.
    for (lazyc::llm::LinearOp op : gemms) {
      Value acc = op.getAccumulate();
      if (cast<RankedTensorType>(acc.getType()).getElementType().isF32()) {
        Value &bf16 = truncated[acc];
        if (!bf16)
          bf16 = truncateToBF16(b, op.getLoc(), acc);
        op.getAccumulateMutable().assign(bf16);
      }
      Value sum = op.getResult();
      sum.setType(RankedTensorType::get(op.getType().getShape(), b.getBF16Type()));
      // Readers other than the next residual GEMMs' accumulation get f32,
      // one widening each, so that fusion moves it into each reader
      // (RMSNorm's reduction and scaling, gathers of rows).
      SmallVector<OpOperand *> widen;
      for (OpOperand &use : sum.getUses()) {
        auto next = dyn_cast<lazyc::llm::LinearOp>(use.getOwner());
        bool accumulates = next && converted.contains(next) && next.getAccumulate() == sum &&
                           use.getOperandNumber() == 2;
        if (!accumulates && !isa<tensor::DimOp>(use.getOwner()))
          widen.push_back(&use);
      }
      for (OpOperand *use : widen)
        use->set(castElements(b, op.getLoc(), sum, b.getF32Type()));
    }
    if (failed(fuseConversions(getOperation())))
      signalPassFailure();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// lazyc-gpu-name-kernels
//===----------------------------------------------------------------------===//

namespace lazyc {
#define GEN_PASS_DEF_LAZYCGPUNAMEKERNELS
#include "passes/Passes.h.inc"
} // namespace lazyc

namespace {
/// The outermost name a location carries (`"rms_norm"(...)`), or "".
StringRef nameIn(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().getValue();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location part : fused.getLocations())
      if (StringRef name = nameIn(part); !name.empty())
        return name;
  if (auto call = dyn_cast<CallSiteLoc>(loc))
    return nameIn(call.getCallee());
  return "";
}

struct LazycGPUNameKernelsPass
    : public lazyc::impl::LazycGPUNameKernelsBase<LazycGPUNameKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    int64_t counter = 0;
    module.walk([&](func::FuncOp fn) {
      fn.walk([&](gpu::LaunchOp launch) {
        if (launch.getFunctionAttr() || launch.getModuleAttr())
          return;
        StringRef kind = nameIn(launch.getLoc());
        std::string name = (fn.getName() + "_" + (kind.empty() ? "kernel" : kind)).str();
        for (char &c : name)
          if (!llvm::isAlnum(c) && c != '_')
            c = '_';
        // Unique among the module's symbols (the outlined gpu.modules).
        std::string unique;
        do
          unique = name + "_" + std::to_string(counter++);
        while (symbols.lookup(unique));
        auto ref = FlatSymbolRefAttr::get(&getContext(), unique);
        launch.setModuleAttr(ref);
        launch.setFunctionAttr(ref);
      });
    });
  }
};
} // namespace

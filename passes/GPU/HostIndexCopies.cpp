//===- HostIndexCopies.cpp - index lists the CUDA runtime may keep on host -===//
//
// The CUDA runtime's LazyLLM and attention entry points do their index work
// on the host: each copies its position and token lists back from the GPU,
// which waits for every kernel queued before it. A pruned prefill passes the
// same lists (the kept set, the positions of the rows a layer computes) to
// a dozen calls per pruning segment: aux_save, missing, aux_load and every
// layer's attention. When nothing writes such a buffer after its producer,
// the first copy can serve all later calls.
//
// This pass finds those buffers after lazyc-gpu-prepare: i32 buffers
// allocated in the function whose writers (linalg outputs, copies, stores in
// kernels, runtime calls through an address not marked read-only) all come
// before at least two read-only runtime calls. After the last writer it
// calls `lazyc_gpu_keep_host_copy(address, bytes)`: the runtime keeps the
// host copy of the buffer's next fetch until the buffer is freed. Any use it
// cannot classify leaves the buffer alone. When the last writer is a runtime
// call that uploads its host-computed result (lazyc_gpu_missing, _select,
// _select_once), the mark is `lazyc_gpu_keep_uploaded_copy`, right after
// it: that upload is the host copy, and no call waits for a fetch.
//
// With `check`, on the CPU, the mark is `lazyc_rt_keep_host_copy` (a
// snapshot) and each later runtime read is preceded by
// `lazyc_rt_check_host_copy` (compare with the snapshot): a model run then
// tests the proof on real schedules.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/RuntimeCall.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace lazyc {
#define GEN_PASS_DEF_LAZYCGPUHOSTINDEXCOPIES
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;

namespace {

enum class Access { Read, RuntimeRead, Write, Unknown };

/// An access to the buffer: the op of the function's block that performs it.
using Use = std::pair<Operation *, Access>;

/// How `use` touches the buffer (for an address, at each runtime call that
/// takes it); false for a use this pass does not understand.
bool classify(OpOperand &use, Block *block, SmallVectorImpl<Use> &uses) {
  Operation *user = use.getOwner();
  Value value = use.get();
  Operation *top = block->findAncestorOpInBlock(*user);
  if (!top)
    return false;
  if (isa<memref::DimOp, gpu::DeallocOp, memref::DeallocOp>(user))
    return true;
  if (auto extract = dyn_cast<memref::ExtractAlignedPointerAsIndexOp>(user)) {
    // The address reaches runtime calls through an i64 cast; the call reads
    // the buffer if the address is marked read-only, else it may write it.
    Access access =
        extract->hasAttr(lazyc::kReadOnlyAddressAttr) ? Access::RuntimeRead : Access::Write;
    for (Operation *cast : extract->getUsers()) {
      if (!isa<arith::IndexCastOp>(cast))
        return false;
      for (Operation *call : cast->getUsers()) {
        Operation *callTop = block->findAncestorOpInBlock(*call);
        if (!isa<func::CallOp>(call) || !callTop)
          return false;
        uses.emplace_back(callTop, access);
      }
    }
    return true;
  }
  Access access = Access::Unknown;
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(user))
    access = linalgOp.isDpsInit(&use) ? Access::Write : Access::Read;
  else if (auto copy = dyn_cast<gpu::MemcpyOp>(user))
    access = copy.getDst() == value ? Access::Write : Access::Read;
  else if (auto copy = dyn_cast<memref::CopyOp>(user))
    access = copy.getTarget() == value ? Access::Write : Access::Read;
  else if (isa<memref::LoadOp, vector::LoadOp>(user))
    access = Access::Read;
  else if (auto store = dyn_cast<memref::StoreOp>(user))
    access = store.getMemRef() == value ? Access::Write : Access::Unknown;
  else if (auto store = dyn_cast<vector::StoreOp>(user))
    access = store.getBase() == value ? Access::Write : Access::Unknown;
  if (access == Access::Unknown)
    return false;
  uses.emplace_back(top, access);
  return true;
}

/// Every access to `value` and to the views of it; false if one is not
/// understood.
bool collectUses(Value value, Block *block, SmallVectorImpl<Use> &uses) {
  for (OpOperand &use : value.getUses()) {
    Operation *user = use.getOwner();
    if (auto view = dyn_cast<ViewLikeOpInterface>(user); view && view.getViewSource() == value) {
      for (Value result : user->getResults())
        if (!collectUses(result, block, uses))
          return false;
      continue;
    }
    if (!classify(use, block, uses))
      return false;
  }
  return true;
}

struct LazycGPUHostIndexCopiesPass
    : public lazyc::impl::LazycGPUHostIndexCopiesBase<LazycGPUHostIndexCopiesPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Value> buffers;
    module.walk([&](Operation *op) {
      if (!isa<gpu::AllocOp, memref::AllocOp>(op))
        return;
      Value buffer = op->getResult(0);
      auto type = dyn_cast<MemRefType>(buffer.getType());
      if (type && type.getElementType().isInteger(32) && type.getLayout().isIdentity() &&
          isa<func::FuncOp>(op->getParentOp()))
        buffers.push_back(buffer);
    });
    for (Value buffer : buffers) {
      Block *block = buffer.getDefiningOp()->getBlock();
      SmallVector<Use> uses;
      if (!collectUses(buffer, block, uses))
        continue;
      Operation *lastWriter = nullptr;
      for (auto [op, access] : uses)
        if (access == Access::Write && (!lastWriter || lastWriter->isBeforeInBlock(op)))
          lastWriter = op;
      if (!lastWriter)
        continue; // never written here: nothing to copy
      int64_t laterRuntimeReads = llvm::count_if(uses, [&](auto &use) {
        return use.second == Access::RuntimeRead && lastWriter->isBeforeInBlock(use.first);
      });
      if (laterRuntimeReads < 2)
        continue; // one fetch gains nothing from a kept copy
      OpBuilder b(lastWriter->getContext());
      b.setInsertionPointAfter(lastWriter);
      StringRef mark = check                      ? "lazyc_rt_keep_host_copy"
                       : uploadsResult(lastWriter) ? "lazyc_gpu_keep_uploaded_copy"
                                                   : "lazyc_gpu_keep_host_copy";
      callWithAddress(b, lastWriter->getLoc(), module, buffer, mark);
      if (!check)
        continue;
      llvm::SmallPtrSet<Operation *, 8> checked; // a call may read it twice
      for (auto [op, access] : uses)
        if (access == Access::RuntimeRead && lastWriter->isBeforeInBlock(op) &&
            checked.insert(op).second) {
          b.setInsertionPoint(op);
          callWithAddress(b, op->getLoc(), module, buffer, "lazyc_rt_check_host_copy");
        }
    }
  }

  /// Whether `op` is a CUDA runtime call whose writes are the upload of a
  /// result it computed on the host (the runtime remembers that upload).
  static bool uploadsResult(Operation *op) {
    auto call = dyn_cast<func::CallOp>(op);
    return call && llvm::is_contained({StringRef("lazyc_gpu_missing"),
                                       StringRef("lazyc_gpu_select"),
                                       StringRef("lazyc_gpu_select_once")},
                                      call.getCallee());
  }

  /// callee(address of `buffer`, its size in bytes); the address is read
  /// only (the call must not count as a writer of the buffer).
  static void callWithAddress(OpBuilder &b, Location loc, ModuleOp module, Value buffer,
                              StringRef callee) {
    auto type = cast<MemRefType>(buffer.getType());
    auto extract = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
    extract->setAttr(lazyc::kReadOnlyAddressAttr, b.getUnitAttr());
    Value address = arith::IndexCastOp::create(b, loc, b.getI64Type(), extract.getResult());
    Value bytes = arith::ConstantIndexOp::create(b, loc, 4); // i32
    for (int64_t d = 0; d < type.getRank(); ++d) {
      Value size = type.isDynamicDim(d)
                       ? Value(memref::DimOp::create(b, loc, buffer, d))
                       : Value(arith::ConstantIndexOp::create(b, loc, type.getDimSize(d)));
      bytes = arith::MulIOp::create(b, loc, bytes, size);
    }
    lazyc::callRuntime(b, loc, module, callee,
                       {address, arith::IndexCastOp::create(b, loc, b.getI64Type(), bytes)});
  }
};

} // namespace

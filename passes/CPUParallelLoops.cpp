//===- CPUParallelLoops.cpp - outermost parallel loops on runtime threads --===//
//
// See LazycCPUParallelLoops in Passes.td. A loop
//
//   scf.parallel (%i, %j) = (%lb0, %lb1) to (%ub0, %ub1) step (%c1, %s1) {
//     ... reads %a : memref<?x576xf32>, %x : f32 ...
//   }
//
// becomes, with `%ctx` a stack struct {descriptor of %a, %x},
//
//   llvm.store (descriptor of %a), (field 0 of %ctx); llvm.store %x, ...
//   call @lazyc_rt_parallel_for(@forward_parallel_0, %ctx, %lb0, %ub0, work)
//
//   func.func private @forward_parallel_0(%ctx: !llvm.ptr, %b: i64, %e: i64) {
//     %a = (field 0 of %ctx) ; %x = ...
//     scf.parallel (%i, %j) = (%b, %lb1) to (%e, %ub1) step (%c1, %s1) { ... }
//   }
//
// Descriptors cross the struct as their LLVM type through
// unrealized_conversion_casts, which convert-lazyc-to-llvm's lowering of the
// memrefs turns into identities (reconcile-unrealized-casts).
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Conversion/LLVMCommon/LoweringOptions.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/ADT/SetVector.h"

namespace lazyc {
#define GEN_PASS_DEF_LAZYCCPUPARALLELLOOPS
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;

namespace {
constexpr llvm::StringLiteral kRuntimeFn = "lazyc_rt_parallel_for";
/// A dimension or inner loop whose size is not static counts as this many
/// iterations in the work estimate.
constexpr int64_t kUnknownTripCount = 64;

std::optional<int64_t> tripCount(Value lb, Value ub, Value step) {
  std::optional<int64_t> l = getConstantIntValue(lb), u = getConstantIntValue(ub),
                         s = getConstantIntValue(step);
  if (!l || !u || !s || *s <= 0)
    return std::nullopt;
  return *u > *l ? (*u - *l + *s - 1) / *s : 0;
}

/// Iterations inside one step of the loop's first dimension: its other
/// dimensions times the sequential loops directly in its body (a reduction
/// of linalg's). An estimate for the runtime's decision to split.
int64_t workPerStep(scf::ParallelOp loop) {
  auto times = [](int64_t a, std::optional<int64_t> b) {
    return std::min<int64_t>(a * (b ? std::max<int64_t>(*b, 1) : kUnknownTripCount),
                             int64_t{1} << 40);
  };
  int64_t work = 1;
  for (unsigned d = 1; d < loop.getNumLoops(); ++d)
    work = times(work, tripCount(loop.getLowerBound()[d], loop.getUpperBound()[d],
                                 loop.getStep()[d]));
  int64_t inner = 0;
  for (auto forOp : loop.getBody()->getOps<scf::ForOp>())
    inner += times(1, tripCount(forOp.getLowerBound(), forOp.getUpperBound(),
                                forOp.getStep()));
  return inner ? std::min<int64_t>(work * inner, int64_t{1} << 40) : work;
}

/// Whether `loop` may be outlined: no results, a unit step in its first
/// dimension, not inside another loop (a call per iteration of that would
/// cost more than it saves), and only values the context can carry.
bool outlinable(scf::ParallelOp loop, int64_t minRows) {
  if (loop.getNumResults() != 0 || getConstantIntValue(loop.getStep()[0]) != 1)
    return false;
  if (std::optional<int64_t> rows =
          tripCount(loop.getLowerBound()[0], loop.getUpperBound()[0], loop.getStep()[0]);
      rows && *rows < minRows)
    return false;
  for (Operation *op = loop->getParentOp(); op && !isa<func::FuncOp>(op); op = op->getParentOp())
    if (isa<LoopLikeOpInterface>(op))
      return false;
  return true;
}

struct LazycCPUParallelLoopsPass
    : public lazyc::impl::LazycCPUParallelLoopsBase<LazycCPUParallelLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    LLVMTypeConverter converter(ctx, LowerToLLVMOptions(ctx));
    SymbolTable symbols(module);
    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    Type i64 = IntegerType::get(ctx, 64);
    auto bodyType = FunctionType::get(ctx, {ptrType, i64, i64}, {});

    SmallVector<scf::ParallelOp> loops;
    module.walk([&](scf::ParallelOp loop) {
      if (loop->getParentOfType<func::FuncOp>() && outlinable(loop, minRows))
        loops.push_back(loop);
    });
    if (loops.empty())
      return;

    auto runtimeFn = symbols.lookup<func::FuncOp>(kRuntimeFn);
    if (!runtimeFn) {
      OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
      runtimeFn = func::FuncOp::create(
          b, module.getLoc(), kRuntimeFn,
          FunctionType::get(ctx, {bodyType, ptrType, i64, i64, i64}, {}));
      runtimeFn.setPrivate();
      symbols.insert(runtimeFn);
    }

    llvm::DenseMap<func::FuncOp, unsigned> counts;
    for (scf::ParallelOp loop : loops) {
      auto parent = loop->getParentOfType<func::FuncOp>();
      // What the loop reads from above: constants are cloned, the rest
      // travels in the context (index as i64, memrefs as descriptors).
      llvm::SetVector<Value> above;
      getUsedValuesDefinedAbove(loop.getRegion(), above);
      // The first dimension's step (a constant) too; its bounds are the
      // function's arguments.
      above.insert(loop.getStep()[0]);
      for (unsigned d = 1; d < loop.getNumLoops(); ++d)
        for (Value v : {loop.getLowerBound()[d], loop.getUpperBound()[d], loop.getStep()[d]})
          above.insert(v);
      SmallVector<Value> constants, captured;
      SmallVector<Type> fields;
      bool supported = true;
      for (Value v : above) {
        if (Operation *def = v.getDefiningOp(); def && def->hasTrait<OpTrait::ConstantLike>()) {
          constants.push_back(v);
          continue;
        }
        Type type = v.getType();
        Type field = isa<MemRefType, IndexType, IntegerType, FloatType>(type)
                         ? converter.convertType(type)
                         : Type();
        if (!field || !LLVM::isCompatibleType(field)) {
          supported = false;
          break;
        }
        captured.push_back(v);
        fields.push_back(field);
      }
      if (!supported)
        continue;
      auto structType = LLVM::LLVMStructType::getLiteral(ctx, fields);
      Location loc = loop.getLoc();

      // The body function.
      OpBuilder b(parent);
      std::string name = (parent.getSymName() + "_parallel_" + Twine(counts[parent]++)).str();
      auto fn = func::FuncOp::create(b, loc, name, bodyType);
      fn.setPrivate();
      symbols.insert(fn); // renamed if the name was taken
      name = fn.getSymName().str();
      Block *entry = fn.addEntryBlock();
      b.setInsertionPointToStart(entry);
      IRMapping map;
      for (Value v : constants)
        map.map(v, b.clone(*v.getDefiningOp())->getResult(0));
      Value context = entry->getArgument(0);
      for (auto [index, v] : llvm::enumerate(captured)) {
        Value at = LLVM::GEPOp::create(b, loc, ptrType, structType, context,
                                       ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(index)});
        Value field = LLVM::LoadOp::create(b, loc, fields[index], at);
        Value value =
            isa<IndexType>(v.getType())
                ? arith::IndexCastOp::create(b, loc, v.getType(), field).getResult()
            : isa<MemRefType>(v.getType())
                ? UnrealizedConversionCastOp::create(b, loc, v.getType(), field).getResult(0)
                : field;
        map.map(v, value);
      }
      auto inner = cast<scf::ParallelOp>(b.clone(*loop, map));
      const unsigned dims = loop.getNumLoops();
      inner->setOperand(0, arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                                      entry->getArgument(1)));
      inner->setOperand(dims, arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                                         entry->getArgument(2)));
      // The bounds' casts go before the loop that reads them.
      inner->getOperand(0).getDefiningOp()->moveBefore(inner);
      inner->getOperand(dims).getDefiningOp()->moveBefore(inner);
      func::ReturnOp::create(b, loc);

      // The call: the context on the caller's stack (allocated once, at its
      // entry), filled right before.
      b.setInsertionPointToStart(&parent.getBody().front());
      Value one = LLVM::ConstantOp::create(b, loc, i64, 1);
      Value slot = LLVM::AllocaOp::create(b, loc, ptrType, structType, one);
      b.setInsertionPoint(loop);
      for (auto [index, v] : llvm::enumerate(captured)) {
        Value field =
            isa<IndexType>(v.getType())
                ? arith::IndexCastOp::create(b, loc, i64, v).getResult()
            : isa<MemRefType>(v.getType())
                ? UnrealizedConversionCastOp::create(b, loc, fields[index], v).getResult(0)
                : v;
        Value at = LLVM::GEPOp::create(b, loc, ptrType, structType, slot,
                                       ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(index)});
        LLVM::StoreOp::create(b, loc, field, at);
      }
      Value body =
          func::ConstantOp::create(b, loc, bodyType, FlatSymbolRefAttr::get(ctx, name));
      Value lo = arith::IndexCastOp::create(b, loc, i64, loop.getLowerBound()[0]);
      Value hi = arith::IndexCastOp::create(b, loc, i64, loop.getUpperBound()[0]);
      Value work = arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(workPerStep(loop)));
      func::CallOp::create(b, loc, runtimeFn, ValueRange{body, slot, lo, hi, work});
      loop.erase();
    }
  }
};
} // namespace

//===- FuseProjections.cpp - one GEMM for projections of the same rows ----===//
//
// Llama's query and key projections read the same normalized rows, and so do
// the MLP's gate and up projections. Two GEMMs over the same input become one
// over a stacked weight (`llm.fused_weight`, the parts back to back in the
// weight arena, so nothing is copied): fewer, wider GEMMs, each of which
// reads the input once (PyTorch's Llama implementations stack them the same
// way). Each projection is then a column slice of the product, which only
// compiler-generated kernels read (RoPE, SwiGLU): they take the row stride
// as it comes. Projections read by a runtime kernel (the value projection,
// which the attention reads as a row-major array) are left alone. Parts of a
// matrix the file stores fused (Phi-3's qkv and gate_up: `llm.weight {rows}`)
// whose rows are adjacent become one view of their rows instead.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialects/llm/LLMOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"

namespace lazyc {
#define GEN_PASS_DEF_LAZYCFUSEPROJECTIONS
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;
using namespace lazyc;

namespace {
/// Ops whose lowering reads their operands in compiler-generated loops,
/// which accept any row stride.
bool readsInGeneratedCode(Operation *op) {
  return isa<llm::RoPEOp, llm::SwiGLUOp, llm::SiLUOp, llm::GeLUOp, llm::ScaleOp, llm::SigmoidGateOp,
             llm::ClampOp,
             llm::AddOp, llm::AddBiasOp, llm::RMSNormOp, llm::LayerNormOp, llm::HeadRMSNormOp,
             tensor::DimOp>(op);
}

struct LazycFuseProjectionsPass
    : public lazyc::impl::LazycFuseProjectionsBase<LazycFuseProjectionsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // A stacked weight must be the only view of its parts.
    llvm::StringMap<int> uses;
    module.walk([&](Operation *op) {
      if (auto w = dyn_cast<llm::WeightOp>(op))
        ++uses[w.getName()];
      else if (auto f = dyn_cast<llm::FusedWeightOp>(op))
        for (StringRef name : f.getNames().getAsValueRange<StringAttr>())
          ++uses[name];
    });
    // Candidates grouped by input and by what the stacked GEMM would be.
    using Key = std::tuple<Value, Type, Type, int64_t>;
    llvm::MapVector<Key, SmallVector<llm::LinearOp>> groups;
    module.walk([&](llm::LinearOp op) {
      auto weight = op.getWeight().getDefiningOp<llm::WeightOp>();
      auto wType = cast<RankedTensorType>(op.getWeight().getType());
      auto type = op.getType();
      // (A row range is an arena entry of its own: other views of its
      // tensor do not matter.)
      if (op.getAccumulate() || !weight || weight.hasFileLayout() || !weight->hasOneUse() ||
          (!weight.getRows() && uses[weight.getName()] != 1) || wType.getRank() != 2 ||
          type.getRank() != 2 || weight->getBlock() != op->getBlock())
        return;
      if (!llvm::all_of(op->getUsers(), readsInGeneratedCode))
        return;
      groups[Key{op.getInput(), wType.getElementType(), type.getElementType(),
                 wType.getDimSize(1)}]
          .push_back(op);
    });
    for (auto &[key, members] : groups) {
      // Same block (the first one's); in program order.
      Block *block = members.front()->getBlock();
      llvm::erase_if(members, [&](llm::LinearOp op) { return op->getBlock() != block; });
      if (members.size() < 2)
        continue;
      llvm::sort(members, [](llm::LinearOp a, llm::LinearOp b) { return a->isBeforeInBlock(b); });
      Operation *earliest = members.front();
      if (!viewsInRowOrder(members))
        continue;
      fuse(members, earliest);
      ++numFused;
    }
  }

  static llm::WeightOp weightOf(llm::LinearOp op) {
    return op.getWeight().getDefiningOp<llm::WeightOp>();
  }

  /// Whether `members` can be stacked: none is a row range, or all are row
  /// ranges of one tensor that follow each other once sorted (then sorted so).
  static bool viewsInRowOrder(SmallVectorImpl<llm::LinearOp> &members) {
    auto isView = [](llm::LinearOp op) { return weightOf(op).getRows().has_value(); };
    if (llvm::none_of(members, isView))
      return true;
    if (!llvm::all_of(members, isView))
      return false;
    llvm::sort(members, [](llm::LinearOp a, llm::LinearOp b) {
      return (*weightOf(a).getRows())[0] < (*weightOf(b).getRows())[0];
    });
    for (size_t i = 1; i < members.size(); ++i)
      if (weightOf(members[i]).getName() != weightOf(members[0]).getName() ||
          (*weightOf(members[i]).getRows())[0] != (*weightOf(members[i - 1]).getRows())[1])
        return false;
    return true;
  }

  /// One GEMM on the stacked weight before `earliest` (the first member in
  /// program order); each member's result becomes its column slice of the
  /// product, in the order of `members`.
  void fuse(ArrayRef<llm::LinearOp> members, Operation *earliest) {
    MLIRContext *ctx = &getContext();
    llm::LinearOp first = members.front();
    OpBuilder b(earliest);
    Location loc = FusedLoc::get(ctx, llvm::map_to_vector(members, [](llm::LinearOp op) {
                                   return op.getLoc();
                                 }));
    SmallVector<Attribute> names;
    SmallVector<int64_t> rows;
    for (llm::LinearOp op : members) {
      auto weight = op.getWeight().getDefiningOp<llm::WeightOp>();
      names.push_back(weight.getNameAttr());
      rows.push_back(cast<RankedTensorType>(weight.getType()).getDimSize(0));
    }
    int64_t total = 0;
    for (int64_t n : rows)
      total += n;
    auto wType = cast<RankedTensorType>(first.getWeight().getType());
    auto stackedType = RankedTensorType::get({total, wType.getDimSize(1)}, wType.getElementType());
    Value stacked;
    if (std::optional<ArrayRef<int64_t>> range = weightOf(first).getRows()) {
      // Adjacent rows of one tensor: the view of them all.
      auto view = llm::WeightOp::create(b, loc, stackedType, weightOf(first).getName());
      view.setRowsAttr(b.getDenseI64ArrayAttr({(*range)[0], (*range)[0] + total}));
      stacked = view;
    } else {
      stacked = llm::FusedWeightOp::create(b, loc, stackedType, b.getArrayAttr(names),
                                           b.getDenseI64ArrayAttr(rows));
    }
    auto type = first.getType();
    auto productType = RankedTensorType::get({type.getDimSize(0), total}, type.getElementType());
    Value product = llm::LinearOp::create(b, loc, productType, first.getInput(), stacked);
    OpFoldResult rowCount = type.isDynamicDim(0)
                                ? OpFoldResult(tensor::DimOp::create(b, loc, product, 0).getResult())
                                : OpFoldResult(b.getIndexAttr(type.getDimSize(0)));
    int64_t column = 0;
    for (auto [member, n] : llvm::zip(members, rows)) {
      llm::LinearOp op = member;
      Value slice = tensor::ExtractSliceOp::create(
          b, op.getLoc(), op.getType(), product,
          ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(column)},
          ArrayRef<OpFoldResult>{rowCount, b.getIndexAttr(n)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
      column += n;
      op.getResult().replaceAllUsesWith(slice);
    }
    // (The builder inserts before the earliest member: erased last.)
    for (llm::LinearOp op : members) {
      Operation *weight = op.getWeight().getDefiningOp();
      op.erase();
      weight->erase();
    }
  }
};
} // namespace

//===- DialectTest.cpp - building and parsing llm / lazy IR from C++ -------===//

#include "compiler/InitAll.h"
#include "dialects/lazy/LazyOps.h"
#include "dialects/llm/LLMOps.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace lazyc;

namespace {

class DialectTest : public ::testing::Test {
protected:
  DialectTest() {
    DialectRegistry registry;
    registerAllDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
  }

  /// Parses `source`, collecting diagnostics instead of printing them.
  OwningOpRef<ModuleOp> parse(StringRef source) {
    diagnostics.clear();
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      diagnostics.push_back(diag.str());
      return success();
    });
    return parseSourceString<ModuleOp>(source, &context);
  }

  MLIRContext context;
  std::vector<std::string> diagnostics;
};

TEST_F(DialectTest, BuildsAndVerifiesAttentionBlock) {
  OpBuilder b(&context);
  Location loc = b.getUnknownLoc();
  auto module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module.getBody());

  const int64_t dyn = ShapedType::kDynamic;
  Type f32 = b.getF32Type();
  auto rows = [&](int64_t cols) { return RankedTensorType::get({dyn, cols}, f32); };
  auto ids = RankedTensorType::get({dyn}, b.getI32Type());
  auto cache = llm::KVCacheType::get(&context, /*layers=*/2, /*kvHeads=*/2,
                                     /*headDim=*/16, f32);
  auto fnType = b.getFunctionType({rows(64), ids, cache}, {rows(64)});
  auto fn = func::FuncOp::create(b, loc, "block", fnType);
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  Value x = entry->getArgument(0), pos = entry->getArgument(1),
        kv = entry->getArgument(2);

  auto weight = [&](StringRef name, ArrayRef<int64_t> shape) {
    return llm::WeightOp::create(b, loc, RankedTensorType::get(shape, f32),
                                 name);
  };
  Value norm = llm::RMSNormOp::create(b, loc, rows(64), x,
                                      weight("attn_norm", {64}),
                                      b.getF64FloatAttr(1e-5), b.getF64FloatAttr(0.0));
  Value q = llm::LinearOp::create(b, loc, rows(64), norm, weight("wq", {64, 64}));
  Value k = llm::LinearOp::create(b, loc, rows(32), norm, weight("wk", {32, 64}));
  Value v = llm::LinearOp::create(b, loc, rows(32), norm, weight("wv", {32, 64}));
  q = llm::RoPEOp::create(b, loc, rows(64), q, pos, b.getI64IntegerAttr(16),
                          b.getF64FloatAttr(10000.0), nullptr, nullptr, nullptr, nullptr);
  k = llm::RoPEOp::create(b, loc, rows(32), k, pos, b.getI64IntegerAttr(16),
                          b.getF64FloatAttr(10000.0), nullptr, nullptr, nullptr, nullptr);
  Value attn = llm::AttentionOp::create(
      b, loc, rows(64), q, k, v, pos, kv, /*keys=*/Value(), /*sinks=*/Value(),
      b.getI64IntegerAttr(1),
      b.getI64IntegerAttr(4), b.getI64IntegerAttr(2), b.getI64IntegerAttr(16),
      b.getF64FloatAttr(0.25), /*sliding_window=*/b.getI64IntegerAttr(0),
      /*logit_softcap=*/b.getF64FloatAttr(0.0));
  Value out = llm::AddOp::create(b, loc, x, attn);
  func::ReturnOp::create(b, loc, out);

  EXPECT_TRUE(succeeded(verify(module)));

  // Break one rule: a layer outside the cache.
  auto attention = *fn.getOps<llm::AttentionOp>().begin();
  attention.setLayer(2);
  std::string message;
  {
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      message = diag.str();
      return success();
    });
    EXPECT_TRUE(failed(verify(module)));
  }
  EXPECT_NE(message.find("layer 2 is out of range for a cache of 2 layers"),
            std::string::npos)
      << message;
  module->erase();
}

TEST_F(DialectTest, ParsesPruningIRAndReadsSchedule) {
  auto module = parse(R"mlir(
    module attributes {lazy.schedule = #lazy.schedule<layers = 4, [1 : 0.5, 2 : 0.8]>} {
      func.func @prune(%h: tensor<?x64xf32>, %pos: tensor<?xi32>, %q: tensor<?x64xf32>,
                       %cache: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>)
          -> (tensor<?x64xf32>, tensor<?xi32>) {
        %s = lazy.scores %q, %cache, %pos {layer = 1 : i64, num_heads = 4 : i64,
            num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 2.500000e-01 : f64}
            : (tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>,
               tensor<?xi32>) -> tensor<?xf32>
        %idx = lazy.select %s {keep = 5.000000e-01 : f64} : tensor<?xf32> -> tensor<?xi32>
        %h2 = lazy.gather %h[%idx] : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
        %p2 = lazy.gather %pos[%idx] : tensor<?xi32>, tensor<?xi32> -> tensor<?xi32>
        return %h2, %p2 : tensor<?x64xf32>, tensor<?xi32>
      }
    })mlir");
  ASSERT_TRUE(module) << (diagnostics.empty() ? "" : diagnostics.front());
  auto schedule = (*module)->getAttrOfType<lazy::ScheduleAttr>("lazy.schedule");
  ASSERT_TRUE(schedule);
  EXPECT_EQ(schedule.getNumLayers(), 4u);
  EXPECT_DOUBLE_EQ(schedule.getKeepAfter(1), 0.5);
  EXPECT_DOUBLE_EQ(schedule.getKeepAfter(0), 1.0);
  // Layers 0, 1 see everything; layer 2 sees 0.5; layer 3 sees 0.4.
  EXPECT_DOUBLE_EQ(schedule.getComputedShare(), (1.0 + 1.0 + 0.5 + 0.4) / 4);
  int selects = 0;
  module->walk([&](lazy::SelectOp op) {
    ++selects;
    EXPECT_DOUBLE_EQ(op.getKeep().convertToDouble(), 0.5);
  });
  EXPECT_EQ(selects, 1);
}

TEST_F(DialectTest, RejectsScheduleForAnotherModel) {
  auto module = parse(R"mlir(
    module attributes {lazy.schedule = #lazy.schedule<layers = 8, [1 : 0.5]>} {
      func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %pos: tensor<?xi32>,
                   %cache: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>)
          -> tensor<?x64xf32> {
        %o = llm.attention %q, %k, %k, %pos, %cache {layer = 0 : i64, num_heads = 4 : i64,
            num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 2.500000e-01 : f64}
            : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>,
               !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32>
        return %o : tensor<?x64xf32>
      }
    })mlir");
  EXPECT_FALSE(module);
  ASSERT_FALSE(diagnostics.empty());
  EXPECT_NE(diagnostics.front().find("schedule is for 8 layers but the model's "
                                     "KV cache has 4"),
            std::string::npos)
      << diagnostics.front();
}

TEST_F(DialectTest, ParsesSchedulesAndPresets) {
  std::string error;
  auto explicitSchedule = parseSchedule(&context, "8:0.7, 16:0.5", 30, error);
  ASSERT_TRUE(explicitSchedule) << error;
  EXPECT_EQ(explicitSchedule.getLayers().size(), 2u);
  EXPECT_EQ(explicitSchedule.getLayers()[1], 16);

  auto preset = parseSchedule(&context, "fast", 32, error);
  ASSERT_TRUE(preset) << error;
  EXPECT_EQ(SmallVector<int64_t>(preset.getLayers()),
            (SmallVector<int64_t>{8, 16, 24}));
  // default: late and steep, at 57% and 74% of the depth.
  auto late = parseSchedule(&context, "default", 32, error);
  ASSERT_TRUE(late) << error;
  EXPECT_EQ(SmallVector<int64_t>(late.getLayers()), (SmallVector<int64_t>{18, 23}));

  EXPECT_FALSE(parseSchedule(&context, "8:1.5", 30, error));
  EXPECT_NE(error.find("outside (0, 1]"), std::string::npos) << error;
  EXPECT_FALSE(parseSchedule(&context, "8-0.5", 30, error));
  EXPECT_NE(error.find("malformed schedule entry '8-0.5'"), std::string::npos)
      << error;
  EXPECT_FALSE(parseSchedule(&context, "40:0.5", 30, error));
  EXPECT_NE(error.find("out of range"), std::string::npos) << error;
}

} // namespace

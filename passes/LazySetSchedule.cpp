//===- LazySetSchedule.cpp - attach a pruning schedule ---------------------===//

#include "passes/Passes.h"

#include "dialects/lazy/LazyDialect.h"
#include "dialects/llm/LLMTypes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringExtras.h"

namespace lazyc {
#define GEN_PASS_DEF_LAZYSETSCHEDULE
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;
using namespace lazyc;

lazy::ScheduleAttr lazyc::parseSchedule(MLIRContext *context, StringRef spec,
                                        unsigned numLayers,
                                        std::string &error, int64_t minKeep) {
  SmallVector<int64_t> layers;
  SmallVector<double> keep;
  auto at = [&](double fraction) {
    return static_cast<int64_t>(fraction * numLayers);
  };
  spec = spec.trim();
  if (spec == "gentle" || spec == "default" || spec == "fast" || spec == "quarters" ||
      spec == "aggressive") {
    if (numLayers < 4) {
      error = "preset '" + spec.str() + "' needs a model of at least 4 layers";
      return {};
    }
    if (spec == "gentle") {
      layers = {at(0.25), at(0.5), at(0.75)};
      keep = {0.85, 0.85, 0.85};
    } else if (spec == "default") {
      // Measured on SmolLM2-135M (README): the last token's attention finds
      // a pass key only from ~57% of the depth on, so pruning starts there;
      // then it can be steep.
      layers = {at(0.57), at(0.74)};
      keep = {0.1, 0.5};
    } else if (spec == "fast") {
      layers = {at(0.25), at(0.5), at(0.75)};
      keep = {0.7, 0.7, 0.6};
    } else if (spec == "quarters") {
      // 40% of the set after each quarter of the depth. Measured on
      // SmolLM2-135M (README) with --score-window=32 --score-pool=11: 2x
      // TTFT at 4k tokens and the pass key found at every depth.
      layers = {at(0.25), at(0.5), at(0.75)};
      keep = {0.6, 0.6, 0.6};
    } else {
      layers = {at(0.125), at(0.25), at(0.5), at(0.75)};
      keep = {0.7, 0.6, 0.6, 0.5};
    }
    // Very shallow models may map two fractions to one layer: keep the first.
    for (size_t i = 1; i < layers.size();) {
      if (layers[i] <= layers[i - 1]) {
        layers.erase(layers.begin() + i);
        keep.erase(keep.begin() + i);
      } else {
        ++i;
      }
    }
  } else {
    SmallVector<StringRef> entries;
    spec.split(entries, ',', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
    if (entries.empty()) {
      error = "empty schedule: give layer:keep pairs (e.g. \"8:0.7,16:0.5\") "
              "or a preset (gentle, default, fast, quarters, aggressive)";
      return {};
    }
    for (StringRef entry : entries) {
      auto [layerText, keepText] = entry.trim().split(':');
      int64_t layer;
      double ratio;
      if (layerText.trim().getAsInteger(10, layer) ||
          keepText.trim().getAsDouble(ratio)) {
        error = "malformed schedule entry '" + entry.trim().str() +
                "': expected layer:keep, e.g. 8:0.7";
        return {};
      }
      layers.push_back(layer);
      keep.push_back(ratio);
    }
  }
  // Capture the attribute verifier's message instead of printing it with an
  // unknown location: the caller reports it in context.
  std::string reason;
  lazy::ScheduleAttr attr;
  {
    ScopedDiagnosticHandler capture(context, [&](Diagnostic &diag) {
      reason = diag.str();
      return success();
    });
    attr = lazy::ScheduleAttr::getChecked(
        [&] { return mlir::emitError(UnknownLoc::get(context)); }, context,
        numLayers, ArrayRef<int64_t>(layers), ArrayRef<double>(keep), minKeep);
  }
  if (!attr)
    error = "invalid schedule '" + spec.str() + "': " + reason;
  return attr;
}

namespace {
struct LazySetSchedulePass
    : public lazyc::impl::LazySetScheduleBase<LazySetSchedulePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // The model's depth is the layer count of the KV cache it threads through.
    std::optional<unsigned> numLayers;
    module.walk([&](Operation *op) {
      for (Type type : op->getOperandTypes())
        if (auto cache = dyn_cast<llm::KVCacheType>(type))
          numLayers = cache.getNumLayers();
      for (Region &region : op->getRegions())
        for (Block &block : region)
          for (BlockArgument arg : block.getArguments())
            if (auto cache = dyn_cast<llm::KVCacheType>(arg.getType()))
              numLayers = cache.getNumLayers();
    });
    if (!numLayers) {
      module.emitError() << "cannot set a pruning schedule: the module uses "
                            "no !llm.kv_cache, so its depth is unknown";
      return signalPassFailure();
    }
    std::string error;
    lazy::ScheduleAttr attr =
        parseSchedule(&getContext(), schedule, *numLayers, error, minKeep);
    if (!attr) {
      module.emitError() << error;
      return signalPassFailure();
    }
    module->setAttr(lazy::LazyDialect::kScheduleAttrName, attr);
  }
};
} // namespace

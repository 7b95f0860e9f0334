//===- LazyDialect.cpp - lazy dialect, types and attributes ----------------===//

#include "dialects/lazy/LazyDialect.h"
#include "dialects/lazy/LazyOps.h"
#include "dialects/lazy/LazyTypes.h"
#include "dialects/llm/LLMOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

using namespace mlir;
using namespace lazyc::lazy;

#include "dialects/lazy/LazyDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/lazy/LazyTypes.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/lazy/LazyAttrs.cpp.inc"

void LazyDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/lazy/LazyOps.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialects/lazy/LazyTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/lazy/LazyAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// AuxCacheType
//===----------------------------------------------------------------------===//

LogicalResult AuxCacheType::verify(function_ref<InFlightDiagnostic()> emitError,
                                   unsigned numLayers, unsigned hidden,
                                   Type elementType) {
  if (numLayers == 0)
    return emitError() << "aux_cache must have at least one layer";
  if (hidden == 0)
    return emitError() << "aux_cache hidden size must be positive";
  if (!isa<FloatType>(elementType))
    return emitError() << "aux_cache element type must be a float type, got "
                       << elementType;
  return success();
}

//===----------------------------------------------------------------------===//
// ScheduleAttr
//===----------------------------------------------------------------------===//

// #lazy.schedule<layers = 30, [8 : 0.7, 16 : 0.5]>
// #lazy.schedule<layers = 30, [8 : 0.7, 16 : 0.5], min_keep = 32>
Attribute ScheduleAttr::parse(AsmParser &parser, Type) {
  unsigned numLayers = 0;
  int64_t minKeep = 0;
  SmallVector<int64_t> layers;
  SmallVector<double> keep;
  auto parseEntry = [&]() -> ParseResult {
    int64_t layer;
    double ratio;
    if (parser.parseInteger(layer) || parser.parseColon() ||
        parser.parseFloat(ratio))
      return failure();
    layers.push_back(layer);
    keep.push_back(ratio);
    return success();
  };
  if (parser.parseLess() || parser.parseKeyword("layers") ||
      parser.parseEqual() || parser.parseInteger(numLayers) ||
      parser.parseComma() ||
      parser.parseCommaSeparatedList(AsmParser::Delimiter::Square,
                                     parseEntry))
    return {};
  if (succeeded(parser.parseOptionalComma()) &&
      (parser.parseKeyword("min_keep") || parser.parseEqual() ||
       parser.parseInteger(minKeep)))
    return {};
  if (parser.parseGreater())
    return {};
  return ScheduleAttr::getChecked(
      [&] { return parser.emitError(parser.getNameLoc()); },
      parser.getContext(), numLayers, layers,
      DenseF64ArrayAttr::get(parser.getContext(), keep), minKeep);
}

void ScheduleAttr::print(AsmPrinter &printer) const {
  printer << "<layers = " << getNumLayers() << ", [";
  for (size_t i = 0, e = getLayers().size(); i < e; ++i) {
    if (i)
      printer << ", ";
    printer << getLayers()[i] << " : ";
    std::string text = lazyc::formatDouble(getKeep()[i]);
    // Keep it a float literal for the parser.
    if (text.find_first_of(".e") == std::string::npos)
      text += ".0";
    printer << text;
  }
  printer << "]";
  if (getMinKeep() != 0)
    printer << ", min_keep = " << getMinKeep();
  printer << ">";
}

LogicalResult ScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   unsigned numLayers,
                                   ArrayRef<int64_t> layers,
                                   DenseF64ArrayAttr keepAttr, int64_t minKeep) {
  if (!keepAttr)
    return emitError() << "schedule needs keep ratios";
  if (minKeep < 0 || minKeep > std::numeric_limits<int32_t>::max())
    return emitError() << "min_keep " << minKeep
                       << " is outside [0, 2^31): it counts tokens";
  ArrayRef<double> keep = keepAttr.asArrayRef();
  if (numLayers == 0)
    return emitError() << "schedule must be for a model with at least one "
                          "layer";
  if (layers.size() != keep.size())
    return emitError() << "schedule has " << layers.size() << " layers but "
                       << keep.size() << " keep ratios";
  for (size_t i = 0, e = layers.size(); i < e; ++i) {
    if (layers[i] < 0 || layers[i] + 1 >= static_cast<int64_t>(numLayers))
      return emitError() << "schedule prunes after layer " << layers[i]
                         << ", out of range [0, " << numLayers - 1
                         << ") for a model of " << numLayers << " layers";
    if (i > 0 && layers[i] <= layers[i - 1])
      return emitError() << "schedule layers must be strictly increasing, got "
                         << layers[i - 1] << " then " << layers[i];
    if (!(keep[i] > 0.0 && keep[i] <= 1.0))
      return emitError() << "keep ratio " << lazyc::formatDouble(keep[i])
                         << " after layer "
                         << layers[i] << " is outside (0, 1]";
  }
  return success();
}

double ScheduleAttr::getKeepAfter(int64_t layer) const {
  for (auto [l, k] : llvm::zip(getLayers(), getKeep().asArrayRef()))
    if (l == layer)
      return k;
  return 1.0;
}

double ScheduleAttr::getComputedShare() const {
  double kept = 1.0, total = 0.0;
  for (unsigned layer = 0; layer < getNumLayers(); ++layer) {
    total += kept;
    kept *= getKeepAfter(layer);
  }
  return total / getNumLayers();
}

//===----------------------------------------------------------------------===//
// Dialect attribute verification
//===----------------------------------------------------------------------===//

LogicalResult LazyDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attr) {
  if (attr.getName() == kPolicyAttrName) {
    if (!isa<StringAttr>(attr.getValue()) || !isa<ModuleOp>(op))
      return op->emitError() << "'" << kPolicyAttrName
                             << "' must be a string on a builtin.module";
    return success();
  }
  if (attr.getName() == kScoreWindowAttrName || attr.getName() == kScorePoolAttrName) {
    auto value = dyn_cast<IntegerAttr>(attr.getValue());
    if (!value || value.getInt() < 1 || !isa<ModuleOp>(op))
      return op->emitError() << "'" << attr.getName().getValue()
                             << "' must be a positive integer on a builtin.module";
    return success();
  }
  if (attr.getName() == kReuseBiasAttrName) {
    auto value = dyn_cast<FloatAttr>(attr.getValue());
    if (!value || !std::isfinite(value.getValueAsDouble()) || value.getValueAsDouble() < 1.0 ||
        !isa<ModuleOp>(op))
      return op->emitError() << "'" << attr.getName().getValue()
                             << "' must be a finite float >= 1 on a builtin.module";
    return success();
  }
  if (attr.getName() != kScheduleAttrName)
    return op->emitError() << "unknown lazy dialect attribute '"
                           << attr.getName().getValue() << "'";
  auto schedule = dyn_cast<ScheduleAttr>(attr.getValue());
  if (!schedule)
    return op->emitError() << "'" << kScheduleAttrName
                           << "' must be a #lazy.schedule, got "
                           << attr.getValue();
  if (!isa<ModuleOp>(op))
    return op->emitError() << "'" << kScheduleAttrName
                           << "' belongs on a builtin.module, not on '"
                           << op->getName() << "'";
  // The schedule must describe the model in the module: every KV cache in it
  // has as many layers as the schedule.
  LogicalResult result = success();
  op->walk([&](lazyc::llm::AttentionOp attention) {
    unsigned cacheLayers = attention.getCache().getType().getNumLayers();
    if (cacheLayers != schedule.getNumLayers()) {
      result = op->emitError()
               << "schedule is for " << schedule.getNumLayers()
               << " layers but the model's KV cache has " << cacheLayers;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return result;
}

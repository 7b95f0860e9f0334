//===- PruningPolicy.h - building blocks for pruning-policy passes -*- C++ -*-===//
//
// A pruning policy is a pass that expands the `lazy.prune` ops naming it.
// The policy decides *which* tokens of `S_l` survive: it computes one score
// per key (or a selection directly); these helpers emit everything else the
// LazyLLM step needs, identically for every policy: percentile selection
// with the last token kept, the next key set, Aux Cache saves of dropped
// rows, the rows the next layer computes (missing from its KV cache) and
// their inputs (fresh rows or revived from the Aux Cache).
//
// See docs/writing-a-pruning-pass.md and passes/LazyStreamingPolicy.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_PASSES_PRUNINGPOLICY_H
#define LAZYC_PASSES_PRUNINGPOLICY_H

#include "dialects/lazy/LazyOps.h"

#include "mlir/IR/Builders.h"

namespace lazyc {

/// Expands `prune` given `scores` (tensor<?xf32>, one per key of
/// `prune.getKeys()`, higher = keep): keeps ceil(keep * |S_l|) keys with the
/// highest scores plus the last one. Replaces and erases `prune`.
void expandPruneWithScores(mlir::OpBuilder &b, lazy::PruneOp prune, mlir::Value scores);

/// Expands `prune` given `indices` (tensor<?xi32>, ascending indices into
/// `prune.getKeys()` that form S_{l+1}; must include the last key).
/// Replaces and erases `prune`.
void expandPruneWithSelection(mlir::OpBuilder &b, lazy::PruneOp prune, mlir::Value indices);

/// Max-pools `scores` (tensor<?xf32>) over `width` (odd) neighbouring keys:
/// out[j] = max(scores[j - width/2 .. j + width/2]) within bounds, as a
/// linalg.generic. Policies use it so a kept token keeps its neighbours
/// (e.g. the digits after "the pass key is").
mlir::Value maxPoolScores(mlir::OpBuilder &b, mlir::Location loc, mlir::Value scores,
                          int64_t width);

/// The type of a score tensor for `prune`'s keys.
mlir::RankedTensorType scoresTypeFor(lazy::PruneOp prune);

} // namespace lazyc

#endif // LAZYC_PASSES_PRUNINGPOLICY_H

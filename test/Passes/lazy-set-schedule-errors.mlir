// RUN: lazy-opt %s --lazy-set-schedule --verify-diagnostics

// A module without a KV cache has no known depth.
// expected-error @+1 {{cannot set a pruning schedule: the module uses no !llm.kv_cache, so its depth is unknown}}
module {
  func.func @empty() {
    return
  }
}

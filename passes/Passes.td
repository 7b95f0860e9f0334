//===- Passes.td - lazyc passes ----------------------------*- tablegen -*-===//
//
// Passes grouped under banners, alphabetical within a group.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_PASSES_PASSES_TD
#define LAZYC_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Pruning schedule
//===----------------------------------------------------------------------===//

def LazySetSchedule : Pass<"lazy-set-schedule", "::mlir::ModuleOp"> {
  let summary = "Attach a LazyLLM pruning schedule to the module";
  let description = [{
    Sets the module's `lazy.schedule` attribute from an explicit list of
    `layer:keep` pairs or from a named preset scaled to the model's depth.
    The depth is read from the `!llm.kv_cache` type the model uses.

    Presets (for a model of `L` layers; keep ratios are per pruning layer and
    compose multiplicatively):
      * `gentle`:     after layers L/4, L/2, 3L/4 keep 0.85 each
      * `default`:    after layers L/4, L/2, 3L/4 keep 0.7, 0.7, 0.6
                      (≈ the public 70% / 50% / 30% cumulative schedule)
      * `aggressive`: after layers L/8, L/4, L/2, 3L/4 keep 0.7, 0.6, 0.6, 0.5

    Before (`--lazy-set-schedule="schedule=8:0.7,16:0.5"`):
    ```mlir
    module {
      func.func @step(..., %cache: !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>, ...)
    }
    ```
    After:
    ```mlir
    module attributes {lazy.schedule = #lazy.schedule<layers = 30, [8 : 0.7, 16 : 0.5]>} {
      ...
    }
    ```
  }];
  let options = [
    Option<"schedule", "schedule", "std::string", /*default=*/"\"default\"",
           "Comma-separated layer:keep pairs (e.g. \"8:0.7,16:0.5\") or a "
           "preset name: gentle, default, aggressive">,
  ];
  let dependentDialects = ["::lazyc::lazy::LazyDialect"];
}

#endif // LAZYC_PASSES_PASSES_TD

// RUN: lazy-opt %s --lazy-set-schedule="schedule=8:0.7,16:0.5" | FileCheck %s --check-prefix=EXPLICIT
// RUN: lazy-opt %s --lazy-set-schedule | FileCheck %s --check-prefix=DEFAULT
// RUN: lazy-opt %s --lazy-set-schedule="schedule=aggressive" | FileCheck %s --check-prefix=AGGRESSIVE
// RUN: lazy-opt %s --lazy-set-schedule="schedule=gentle" | FileCheck %s --check-prefix=GENTLE
// RUN: lazy-opt %s --lazy-set-schedule="schedule=fast" | FileCheck %s --check-prefix=FAST
// RUN: lazy-opt %s --lazy-set-schedule="schedule=quarters" | FileCheck %s --check-prefix=QUARTERS
// RUN: lazy-opt %s --lazy-set-schedule="schedule=default min-keep=32" | FileCheck %s --check-prefix=FLOOR
// RUN: not lazy-opt %s --lazy-set-schedule="schedule=default min-keep=-2" 2>&1 | FileCheck %s --check-prefix=BADFLOOR
// RUN: not lazy-opt %s --lazy-set-schedule="schedule=8:0.7,40:0.5" 2>&1 | FileCheck %s --check-prefix=RANGE
// RUN: not lazy-opt %s --lazy-set-schedule="schedule=8=0.7" 2>&1 | FileCheck %s --check-prefix=SYNTAX

// EXPLICIT: module attributes {lazy.schedule = #lazy.schedule<layers = 30, [8 : 0.7, 16 : 0.5]>}
// DEFAULT: module attributes {lazy.schedule = #lazy.schedule<layers = 30, [17 : 0.1, 22 : 0.5]>}
// FAST: module attributes {lazy.schedule = #lazy.schedule<layers = 30, [7 : 0.7, 15 : 0.7, 22 : 0.6]>}
// QUARTERS: module attributes {lazy.schedule = #lazy.schedule<layers = 30, [7 : 0.6, 15 : 0.6, 22 : 0.6]>}
// AGGRESSIVE: module attributes {lazy.schedule = #lazy.schedule<layers = 30, [3 : 0.7, 7 : 0.6, 15 : 0.6, 22 : 0.5]>}
// GENTLE: module attributes {lazy.schedule = #lazy.schedule<layers = 30, [7 : 0.85, 15 : 0.85, 22 : 0.85]>}
// FLOOR: module attributes {lazy.schedule = #lazy.schedule<layers = 30, [17 : 0.1, 22 : 0.5], min_keep = 32>}
// BADFLOOR: error: invalid schedule 'default': min_keep -2 is outside [0, 2^31): it counts tokens
// RANGE: error: invalid schedule '8:0.7,40:0.5': schedule prunes after layer 40, out of range [0, 29) for a model of 30 layers
// SYNTAX: error: malformed schedule entry '8=0.7': expected layer:keep, e.g. 8:0.7
func.func @step(%cache: !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>) {
  return
}

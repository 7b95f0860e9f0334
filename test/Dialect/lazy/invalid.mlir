// RUN: lazy-opt %s --split-input-file --verify-diagnostics

// One case per verifier rule of the lazy dialect.

func.func @f(%q: tensor<?x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{expects num_heads (4) to be a multiple of num_kv_heads (3)}}
  %s = lazy.scores %q, %c, %p {layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 3 : i64, head_dim = 16 : i64, scale = 0.25 : f64} : (tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>, tensor<?xi32>) -> tensor<?xf32>
  return
}

// -----

func.func @f(%q: tensor<?x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{layer 4 is out of range for a cache of 4 layers}}
  %s = lazy.scores %q, %c, %p {layer = 4 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64} : (tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>, tensor<?xi32>) -> tensor<?xf32>
  return
}

// -----

func.func @f(%q: tensor<?x32xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{expects query columns (32) to equal num_heads * head_dim (64)}}
  %s = lazy.scores %q, %c, %p {layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64} : (tensor<?x32xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>, tensor<?xi32>) -> tensor<?xf32>
  return
}

// -----

func.func @f(%q: tensor<?x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>, %p: tensor<5xi32>) {
  // expected-error @+1 {{expects score count (4) to equal key position count (5)}}
  %s = lazy.scores %q, %c, %p {layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64} : (tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>, tensor<5xi32>) -> tensor<4xf32>
  return
}

// -----

func.func @f(%q: tensor<?x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{expects a window of at least 1 query row, got 0}}
  %s = lazy.scores %q, %c, %p window %p {layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64, window = 0 : i64} : (tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>, tensor<?xi32>, tensor<?xi32>) -> tensor<?xf32>
  return
}

// -----

func.func @f(%q: tensor<?x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{with window = 8 needs the query rows' positions (`window %positions`)}}
  %s = lazy.scores %q, %c, %p {layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64, window = 8 : i64} : (tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>, tensor<?xi32>) -> tensor<?xf32>
  return
}

// -----

func.func @f(%q: tensor<3x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>, %p: tensor<?xi32>, %r: tensor<2xi32>) {
  // expected-error @+1 {{expects query position count (2) to equal query row count (3)}}
  %s = lazy.scores %q, %c, %p window %r {layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64, window = 8 : i64} : (tensor<3x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>, tensor<?xi32>, tensor<2xi32>) -> tensor<?xf32>
  return
}

// -----

// expected-error @+1 {{'lazy.score_pool' must be a positive integer on a builtin.module}}
module attributes {lazy.score_pool = 0 : i64} {
}

// -----

// expected-error @+1 {{'lazy.reuse_bias' must be a finite float >= 1 on a builtin.module}}
module attributes {lazy.reuse_bias = 0.5 : f64} {
}

// -----

func.func @f(%s: tensor<?xf32>, %k: tensor<?xi32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects a finite bias >= 1, got 0.5}}
  %b = lazy.reuse_bias %s, %k, %c {bias = 0.5 : f64, layer = 1 : i64} : tensor<?xf32>, tensor<?xi32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32> -> tensor<?xf32>
  return
}

// -----

func.func @f(%s: tensor<?xf32>, %k: tensor<?xi32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{cannot bias the selection after layer 3 of a 4-layer KV cache}}
  %b = lazy.reuse_bias %s, %k, %c {bias = 2.0 : f64, layer = 3 : i64} : tensor<?xf32>, tensor<?xi32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32> -> tensor<?xf32>
  return
}

// -----

func.func @f(%s: tensor<4xf32>, %k: tensor<5xi32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{score count}}
  %b = lazy.reuse_bias %s, %k, %c {bias = 2.0 : f64, layer = 1 : i64} : tensor<4xf32>, tensor<5xi32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32> -> tensor<4xf32>
  return
}

// -----

func.func @f(%s: tensor<?xf32>) {
  // expected-error @+1 {{expects keep ratio in (0, 1], got 0}}
  %i = lazy.select %s {keep = 0.0 : f64} : tensor<?xf32> -> tensor<?xi32>
  return
}

// -----

func.func @f(%s: tensor<?xf32>) {
  // expected-error @+1 {{expects keep ratio in (0, 1], got 1.5}}
  %i = lazy.select %s {keep = 1.5 : f64} : tensor<?xf32> -> tensor<?xi32>
  return
}

// -----

func.func @f(%s: tensor<?xf32>) {
  // expected-error @+1 {{expects min_keep in [0, 2^31), got -1}}
  %i = lazy.select %s {keep = 0.5 : f64, min_keep = -1 : i64} : tensor<?xf32> -> tensor<?xi32>
  return
}

// -----

func.func @f(%s: tensor<?x2xf32>) {
  // expected-error @+1 {{operand #0 must be 1D tensor of floating-point values}}
  %i = lazy.select %s {keep = 0.5 : f64} : tensor<?x2xf32> -> tensor<?xi32>
  return
}

// -----

func.func @f(%h: tensor<?x64xf32>, %i: tensor<?xi32>) {
  // expected-error @+1 {{expects result element type 'f16' to match source element type 'f32'}}
  %g = lazy.gather %h[%i] : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf16>
  return
}

// -----

func.func @f(%h: tensor<?x64xf32>, %i: tensor<?xi32>) {
  // expected-error @+1 {{expects result and source of the same rank, got 'tensor<?xf32>' and 'tensor<?x64xf32>'}}
  %g = lazy.gather %h[%i] : tensor<?x64xf32>, tensor<?xi32> -> tensor<?xf32>
  return
}

// -----

func.func @f(%h: tensor<?x64xf32>, %i: tensor<?xi32>) {
  // expected-error @+1 {{expects result dim 1 (32) to equal source dim 1 (64)}}
  %g = lazy.gather %h[%i] : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x32xf32>
  return
}

// -----

func.func @f(%h: tensor<?x64xf32>, %i: tensor<3xi32>) {
  // expected-error @+1 {{expects result rows (2) to equal index count (3)}}
  %g = lazy.gather %h[%i] : tensor<?x64xf32>, tensor<3xi32> -> tensor<2x64xf32>
  return
}

// -----

func.func @f(%s: tensor<?x64xf32>, %d: tensor<?x64xf32>, %i: tensor<?xi32>) {
  // expected-error @+1 {{failed to verify that all of {dest, result} have same type}}
  %r = "lazy.scatter"(%s, %d, %i) : (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?xi32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @f(%s: tensor<?x32xf32>, %d: tensor<?x64xf32>, %i: tensor<?xi32>) {
  // expected-error @+1 {{expects source dim 1 (32) to equal dest dim 1 (64)}}
  %r = lazy.scatter %s into %d[%i] : tensor<?x32xf32>, tensor<?xi32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%s: tensor<2x64xf32>, %d: tensor<?x64xf32>, %i: tensor<3xi32>) {
  // expected-error @+1 {{expects source rows (2) to equal index count (3)}}
  %r = lazy.scatter %s into %d[%i] : tensor<2x64xf32>, tensor<3xi32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%h: tensor<?x64xf32>, %p: tensor<?xi32>, %a: !lazy.aux_cache<layers = 4, hidden = 64, f32>) {
  // expected-error @+1 {{layer 7 is out of range for an aux cache of 4 layers}}
  lazy.aux_save %h, %p except %p into %a {layer = 7 : i64} : tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, !lazy.aux_cache<layers = 4, hidden = 64, f32>
  return
}

// -----

func.func @f(%h: tensor<?x64xf16>, %p: tensor<?xi32>, %a: !lazy.aux_cache<layers = 4, hidden = 64, f32>) {
  // expected-error @+1 {{expects hidden element type 'f16' to match aux cache element type 'f32'}}
  lazy.aux_save %h, %p except %p into %a {layer = 1 : i64} : tensor<?x64xf16>, tensor<?xi32>, tensor<?xi32>, !lazy.aux_cache<layers = 4, hidden = 64, f32>
  return
}

// -----

func.func @f(%h: tensor<?x32xf32>, %p: tensor<?xi32>, %a: !lazy.aux_cache<layers = 4, hidden = 64, f32>) {
  // expected-error @+1 {{expects hidden columns (32) to equal aux cache hidden (64)}}
  lazy.aux_save %h, %p except %p into %a {layer = 1 : i64} : tensor<?x32xf32>, tensor<?xi32>, tensor<?xi32>, !lazy.aux_cache<layers = 4, hidden = 64, f32>
  return
}

// -----

func.func @f(%h: tensor<3x64xf32>, %p: tensor<2xi32>, %a: !lazy.aux_cache<layers = 4, hidden = 64, f32>) {
  // expected-error @+1 {{expects hidden rows (3) to equal position count (2)}}
  lazy.aux_save %h, %p except %p into %a {layer = 1 : i64} : tensor<3x64xf32>, tensor<2xi32>, tensor<2xi32>, !lazy.aux_cache<layers = 4, hidden = 64, f32>
  return
}

// -----

func.func @f(%h: tensor<64xf32>, %p: tensor<?xi32>, %a: !lazy.aux_cache<layers = 4, hidden = 64, f32>) {
  // expected-error @+1 {{expects hidden of rank 2, got 'tensor<64xf32>'}}
  lazy.aux_save %h, %p except %p into %a {layer = 1 : i64} : tensor<64xf32>, tensor<?xi32>, tensor<?xi32>, !lazy.aux_cache<layers = 4, hidden = 64, f32>
  return
}

// -----

func.func @f(%p: tensor<?xi32>, %f: tensor<?x64xf32>, %a: !lazy.aux_cache<layers = 4, hidden = 64, f32>) {
  // expected-error @+1 {{layer -1 is out of range for an aux cache of 4 layers}}
  %h = lazy.aux_load %a[%p] fresh %f, %p {layer = -1 : i64} : !lazy.aux_cache<layers = 4, hidden = 64, f32>, tensor<?xi32>, tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%p: tensor<?xi32>, %f: tensor<?x65xf32>, %a: !lazy.aux_cache<layers = 4, hidden = 64, f32>) {
  // expected-error @+1 {{expects hidden columns (65) to equal aux cache hidden (64)}}
  %h = lazy.aux_load %a[%p] fresh %f, %p {layer = 1 : i64} : !lazy.aux_cache<layers = 4, hidden = 64, f32>, tensor<?xi32>, tensor<?x65xf32>, tensor<?xi32> -> tensor<?x65xf32>

  return
}

// -----

func.func @f(%p: tensor<?xi32>, %f: tensor<?x32xf32>, %a: !lazy.aux_cache<layers = 4, hidden = 64, f32>) {
  // expected-error @+1 {{expects fresh rows 'tensor<?x32xf32>' of the result's row type 'tensor<?x64xf32>'}}
  %h = lazy.aux_load %a[%p] fresh %f, %p {layer = 1 : i64} : !lazy.aux_cache<layers = 4, hidden = 64, f32>, tensor<?xi32>, tensor<?x32xf32>, tensor<?xi32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%h: tensor<?x64xf32>, %p: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects keep ratio in (0, 1], got 1.25}}
  %h2, %p2, %k2 = lazy.prune %h, %p, %p using %q, %c {layer = 1 : i64, keep = 1.25 : f64, policy = "lazyllm", num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64} : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
  return
}

// -----

func.func @f(%h: tensor<?x64xf32>, %p: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects policy to be an identifier (e.g. "lazyllm"), got ""}}
  %h2, %p2, %k2 = lazy.prune %h, %p, %p using %q, %c {layer = 1 : i64, keep = 0.5 : f64, policy = "", num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64} : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
  return
}

// -----

func.func @f(%h: tensor<?x64xf32>, %p: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects policy to be an identifier (e.g. "lazyllm"), got "9lives"}}
  %h2, %p2, %k2 = lazy.prune %h, %p, %p using %q, %c {layer = 1 : i64, keep = 0.5 : f64, policy = "9lives", num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64} : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
  return
}

// -----

func.func @f(%h: tensor<?x64xf32>, %p: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects num_heads (4) to be a multiple of num_kv_heads (3)}}
  %h2, %p2, %k2 = lazy.prune %h, %p, %p using %q, %c {layer = 1 : i64, keep = 0.5 : f64, policy = "lazyllm", num_heads = 4 : i64, num_kv_heads = 3 : i64, head_dim = 16 : i64, scale = 0.25 : f64} : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
  return
}

// -----

func.func @f(%h: tensor<?x64xf32>, %p: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{cannot prune after the last layer (3)}}
  %h2, %p2, %k2 = lazy.prune %h, %p, %p using %q, %c {layer = 3 : i64, keep = 0.5 : f64, policy = "lazyllm", num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64} : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
  return
}

// -----

func.func @f(%h: tensor<64xf32>, %p: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects hidden of rank 2, got 'tensor<64xf32>'}}
  %h2, %p2, %k2 = lazy.prune %h, %p, %p using %q, %c {layer = 1 : i64, keep = 0.5 : f64, policy = "lazyllm", num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64} : (tensor<64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) -> (tensor<64xf32>, tensor<?xi32>, tensor<?xi32>)
  return
}

// -----

func.func @f(%h: tensor<?x64xf32>, %p: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects next hidden type 'tensor<?x64xf16>' to equal hidden type 'tensor<?x64xf32>'}}
  %h2, %p2, %k2 = lazy.prune %h, %p, %p using %q, %c {layer = 1 : i64, keep = 0.5 : f64, policy = "lazyllm", num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64} : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) -> (tensor<?x64xf16>, tensor<?xi32>, tensor<?xi32>)
  return
}

// -----

func.func @f(%h: tensor<?x64xf32>, %p: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects every position list of type 'tensor<?xi32>', got 'tensor<?xi64>'}}
  %h2, %p2, %k2 = lazy.prune %h, %p, %p using %q, %c {layer = 1 : i64, keep = 0.5 : f64, policy = "lazyllm", num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64} : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) -> (tensor<?x64xf32>, tensor<?xi64>, tensor<?xi32>)
  return
}

// -----

func.func @f(%h: tensor<4x64xf32>, %p: tensor<5xi32>, %q: tensor<?x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects position count (5) to equal hidden rows (4)}}
  %h2, %p2, %k2 = lazy.prune %h, %p, %p using %q, %c {layer = 1 : i64, keep = 0.5 : f64, policy = "lazyllm", num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64} : (tensor<4x64xf32>, tensor<5xi32>, tensor<5xi32>, tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) -> (tensor<4x64xf32>, tensor<5xi32>, tensor<5xi32>)
  return
}

// -----

func.func @f(%h: tensor<4x64xf32>, %p: tensor<4xi32>, %q: tensor<3x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects query rows (3) to equal hidden rows (4)}}
  %h2, %p2, %k2 = lazy.prune %h, %p, %p using %q, %c {layer = 1 : i64, keep = 0.5 : f64, policy = "lazyllm", num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64} : (tensor<4x64xf32>, tensor<4xi32>, tensor<4xi32>, tensor<3x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) -> (tensor<4x64xf32>, tensor<4xi32>, tensor<4xi32>)
  return
}

// -----

// expected-error @+1 {{aux_cache must have at least one layer}}
func.func @f(%a: !lazy.aux_cache<layers = 0, hidden = 64, f32>)

// -----

// expected-error @+1 {{aux_cache hidden size must be positive}}
func.func @f(%a: !lazy.aux_cache<layers = 2, hidden = 0, f32>)

// -----

// expected-error @+1 {{aux_cache element type must be a float type, got 'i8'}}
func.func @f(%a: !lazy.aux_cache<layers = 2, hidden = 64, i8>)

// -----

// expected-error @+1 {{schedule prunes after layer 3, out of range [0, 3) for a model of 4 layers}}
module attributes {lazy.schedule = #lazy.schedule<layers = 4, [3 : 0.5]>} {}

// -----

// expected-error @+1 {{schedule layers must be strictly increasing, got 2 then 1}}
module attributes {lazy.schedule = #lazy.schedule<layers = 4, [2 : 0.5, 1 : 0.5]>} {}

// -----

// expected-error @+1 {{keep ratio 0 after layer 1 is outside (0, 1]}}
module attributes {lazy.schedule = #lazy.schedule<layers = 4, [1 : 0.0]>} {}

// -----

// expected-error @+1 {{keep ratio 1.5 after layer 1 is outside (0, 1]}}
module attributes {lazy.schedule = #lazy.schedule<layers = 4, [1 : 1.5]>} {}

// -----

// expected-error @+1 {{min_keep -3 is outside [0, 2^31): it counts tokens}}
module attributes {lazy.schedule = #lazy.schedule<layers = 4, [1 : 0.5], min_keep = -3>} {}

// -----

// expected-error @+1 {{schedule must be for a model with at least one layer}}
module attributes {lazy.schedule = #lazy.schedule<layers = 0, []>} {}

// -----

// expected-error @+1 {{unknown lazy dialect attribute 'lazy.plan'}}
module attributes {lazy.plan = 3} {}

// -----

// expected-error @+1 {{'lazy.schedule' must be a #lazy.schedule, got 3 : i64}}
module attributes {lazy.schedule = 3} {}

// -----

// expected-error @+1 {{'lazy.schedule' belongs on a builtin.module, not on 'func.func'}}
func.func @f() attributes {lazy.schedule = #lazy.schedule<layers = 4, [1 : 0.5]>} {
  return
}

// -----

// expected-error @+1 {{schedule is for 8 layers but the model's KV cache has 4}}
module attributes {lazy.schedule = #lazy.schedule<layers = 8, [1 : 0.5]>} {
  func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %p: tensor<?xi32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32> {
    %o = llm.attention %q, %k, %k, %p, %c {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
        : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32>
    return %o : tensor<?x64xf32>
  }
}

// -----

func.func @f(%c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects an aux cache of 4 layers like its KV cache, got 3}}
  %a = lazy.aux_cache %c : !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32> -> !lazy.aux_cache<layers = 3, hidden = 64, f32>
  return
}

// -----

func.func @f(%k: tensor<?xi32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{layer 4 is out of range for a KV cache of 4 layers}}
  %m = lazy.missing %k, %c {layer = 4 : i64} : tensor<?xi32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32> -> tensor<?xi32>
  return
}

// -----

func.func @f(%k: tensor<4xi32>) {
  // expected-error @+1 {{expects score count (3) to equal key count (4)}}
  %s = lazy.random_scores %k {layer = 0 : i64, seed = 0 : i64} : tensor<4xi32> -> tensor<3xf32>
  return
}

// -----

func.func @f(%s: tensor<?xf32>, %k: tensor<?xi32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{cannot select after layer 3 of a 4-layer KV cache}}
  %i = lazy.select_once %s, %k, %k, %c {keep = 0.5 : f64, layer = 3 : i64} : tensor<?xf32>, tensor<?xi32>, tensor<?xi32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32> -> tensor<?xi32>
  return
}

// -----

func.func @f(%p: tensor<?xi32>) {
  // expected-error @+1 {{expects keys of the positions' element type 'i32'}}
  %k = lazy.context %p : tensor<?xi32> -> tensor<?xi64>
  return
}

// -----

func.func @f(%s: tensor<?xf32>, %k: tensor<?xi32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{cannot select after layer -1 of a 4-layer KV cache}}
  %i = lazy.select_once %s, %k, %k, %c {keep = 0.5 : f64, layer = -1 : i64} : tensor<?xf32>, tensor<?xi32>, tensor<?xi32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32> -> tensor<?xi32>
  return
}

// -----

func.func @f(%k: tensor<?xi32>) {
  // expected-error @+1 {{expects a non-negative layer, got -2}}
  %s = lazy.random_scores %k {layer = -2 : i64, seed = 0 : i64} : tensor<?xi32> -> tensor<?xf32>
  return
}

// -----

func.func @f(%c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{layer 4 is out of range for a KV cache of 4 layers}}
  %k = lazy.cache_keys %c {layer = 4 : i64} : !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32> -> memref<?x32xf32>
  return
}

// -----

func.func @f(%c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects key columns (16) to equal kv_heads * head_dim (32)}}
  %k = lazy.cache_keys %c {layer = 0 : i64} : !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32> -> memref<?x16xf32>
  return
}

// -----

func.func @f(%c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects a dynamic row count (the runtime's context length), got 8 rows}}
  %k = lazy.cache_keys %c {layer = 0 : i64} : !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32> -> memref<8x32xf32>
  return
}

// -----

func.func @f(%c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects a row-major buffer (identity layout)}}
  %k = lazy.cache_keys %c {layer = 0 : i64} : !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32> -> memref<?x32xf32, strided<[64, 1]>>
  return
}

// -----

func.func @f(%c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{must be 2D memref of 32-bit float or 16-bit float or bfloat16 type values}}
  %k = lazy.cache_keys %c {layer = 0 : i64} : !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32> -> memref<?x32xf64>
  return
}

// RUN: lazy-opt %s --split-input-file --verify-diagnostics

// One case per verifier rule of the llm dialect.
func.func @f() {
  // expected-error @+1 {{expects a non-empty weight name}}
  %w = llm.weight "" : tensor<4xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{expects a statically shaped result, got 'tensor<?x4xf32>'}}
  %w = llm.weight "w" : tensor<?x4xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{result #0 must be ranked tensor of floating-point or 8-bit signless integer or 8-bit unsigned integer values}}
  %w = llm.weight "w" : tensor<4xi32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{expects a matrix of 2 rows for rows = [0, 4] and row_step = 2, got 'tensor<4x8xf32>'}}
  %w = llm.weight "w" {rows = array<i64: 0, 4>, row_step = 2 : i64} : tensor<4x8xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{expects a positive row_step, got 0}}
  %w = llm.weight "w" {rows = array<i64: 0, 4>, row_step = 0 : i64} : tensor<4x8xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{expects rows = [begin, end] with row_step}}
  %w = llm.weight "w" {row_step = 2 : i64} : tensor<4x8xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{expects a matrix of 4 rows for rows = [0, 4], got 'tensor<4xf32>'}}
  %w = llm.weight "w" {rows = array<i64: 0, 4>} : tensor<4xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{expects a matrix for a transposed weight, got 'tensor<4xf32>'}}
  %w = llm.weight "w" {transposed} : tensor<4xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{expects a non-empty name for scales}}
  %w = llm.weight "w" {scales = ""} : tensor<4x17xui8>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{expects MXFP4 blocks with scales untransposed}}
  %w = llm.weight "w" {scales = "s", transposed} : tensor<4x17xui8>
  return
}

// -----

func.func @f(%t: tensor<8xf32>, %ids: tensor<?xi32>) {
  // expected-error @+1 {{expects table of rank 2, got 'tensor<8xf32>'}}
  %x = llm.embedding %t[%ids] : tensor<8xf32>, tensor<?xi32> -> tensor<?x8xf32>
  return
}

// -----

func.func @f(%t: tensor<8x4xf32>, %ids: tensor<?xi32>) {
  // expected-error @+1 {{expects result of rank 2, got 'tensor<?xf32>'}}
  %x = llm.embedding %t[%ids] : tensor<8x4xf32>, tensor<?xi32> -> tensor<?xf32>
  return
}

// -----

func.func @f(%t: tensor<8x4xf32>, %ids: tensor<3xi32>) {
  // expected-error @+1 {{expects result rows (2) to equal token count (3)}}
  %x = llm.embedding %t[%ids] : tensor<8x4xf32>, tensor<3xi32> -> tensor<2x4xf32>
  return
}

// -----

func.func @f(%t: tensor<8x4xf32>, %ids: tensor<?xi32>) {
  // expected-error @+1 {{expects result columns (5) to equal table columns (4)}}
  %x = llm.embedding %t[%ids] : tensor<8x4xf32>, tensor<?xi32> -> tensor<?x5xf32>
  return
}

// -----

func.func @f(%t: tensor<8x4xf32>, %ids: tensor<?xf32>) {
  // expected-error @+1 {{operand #1 must be 1D tensor of 32-bit signless integer or 64-bit signless integer values}}
  %x = llm.embedding %t[%ids] : tensor<8x4xf32>, tensor<?xf32> -> tensor<?x4xf32>
  return
}

// -----

func.func @f(%x: tensor<4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{expects input of rank 2, got 'tensor<4xf32>'}}
  %y = llm.rms_norm %x, %w {epsilon = 1.0e-5 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{expects result element type 'bf16' to match input element type 'f32'}}
  %y = llm.rms_norm %x, %w {epsilon = 1.0e-5 : f64} : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xbf16>
  return
}

// -----

func.func @f(%x: tensor<3x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{expects result rows (2) to equal input rows (3)}}
  %y = llm.rms_norm %x, %w {epsilon = 1.0e-5 : f64} : tensor<3x4xf32>, tensor<4xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4xf32>, %w: tensor<1x4xf32>) {
  // expected-error @+1 {{expects weight of rank 1, got 'tensor<1x4xf32>'}}
  %y = llm.rms_norm %x, %w {epsilon = 1.0e-5 : f64} : tensor<?x4xf32>, tensor<1x4xf32> -> tensor<?x4xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4xf32>, %w: tensor<5xf32>) {
  // expected-error @+1 {{expects weight size (5) to equal input columns (4)}}
  %y = llm.rms_norm %x, %w {epsilon = 1.0e-5 : f64} : tensor<?x4xf32>, tensor<5xf32> -> tensor<?x4xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4xf32>, %w: tensor<5xf32>) {
  // expected-error @+1 {{expects weight size (5) to equal input columns (4)}}
  %y = llm.layer_norm %x, %w {epsilon = 1.0e-5 : f64} : tensor<?x4xf32>, tensor<5xf32> -> tensor<?x4xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4xf32>, %w: tensor<4xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{expects bias size (3) to equal input columns (4)}}
  %y = llm.layer_norm %x, %w bias %b {epsilon = 1.0e-5 : f64} : tensor<?x4xf32>, tensor<4xf32>, tensor<3xf32> -> tensor<?x4xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{expects epsilon > 0, got 0}}
  %y = llm.layer_norm %x, %w {epsilon = 0.0 : f64} : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  return
}

// -----

func.func @f(%x: tensor<3x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{expects result rows (2) to equal input rows (3)}}
  %y = llm.layer_norm %x, %w {epsilon = 1.0e-5 : f64} : tensor<3x4xf32>, tensor<4xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{expects result columns (8) to equal input columns (4)}}
  %y = llm.rms_norm %x, %w {epsilon = 1.0e-5 : f64} : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{expects epsilon > 0, got 0}}
  %y = llm.rms_norm %x, %w {epsilon = 0.0 : f64} : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{expects weight of rank 2, got 'tensor<4xf32>'}}
  %y = llm.linear %x, %w : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4xf32>, %w: tensor<8x5xf32>) {
  // expected-error @+1 {{expects weight in_features (dim 1) (5) to equal input columns (4)}}
  %y = llm.linear %x, %w : tensor<?x4xf32>, tensor<8x5xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4xf32>, %w: tensor<8x4xf32>) {
  // expected-error @+1 {{expects result columns (6) to equal weight out_features (dim 0) (8)}}
  %y = llm.linear %x, %w : tensor<?x4xf32>, tensor<8x4xf32> -> tensor<?x6xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4xf32>, %w: tensor<8x4xf32>) {
  // expected-error @+1 {{expects result element type 'bf16' to match input element type 'f32' (only a GEMM on bf16 data may give f32 or bf16 results)}}
  %y = llm.linear %x, %w : tensor<?x4xf32>, tensor<8x4xf32> -> tensor<?x8xbf16>
  return
}

// -----

func.func @f(%x: tensor<?x4xf32>, %w: tensor<8x4xf32>, %r: tensor<?x6xf32>) {
  // expected-error @+1 {{expects accumulated columns (6) to equal result columns (8)}}
  %y = llm.linear %x, %w acc %r : tensor<?x4xf32>, tensor<8x4xf32>, tensor<?x6xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4xf16>, %w: tensor<8x4xf16>, %r: tensor<?x8xf16>) {
  // expected-error @+1 {{accumulates only into f32 or bf16, got result element type 'f16'}}
  %y = llm.linear %x, %w acc %r : tensor<?x4xf16>, tensor<8x4xf16>, tensor<?x8xf16> -> tensor<?x8xf16>
  return
}

// -----

func.func @f(%x: tensor<?x4xf32>, %w: tensor<8x4xf32>, %r: tensor<3x8xf32>) {
  // expected-error @+1 {{expects accumulated rows (3) to equal result rows (5)}}
  %y = llm.linear %x, %w acc %r : tensor<?x4xf32>, tensor<8x4xf32>, tensor<3x8xf32> -> tensor<5x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x32xf32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{expects result type 'tensor<3x32xf32>' to equal input type 'tensor<?x32xf32>'}}
  %y = llm.rope %x, %p {head_dim = 16 : i64, theta = 1.0e4 : f64} : tensor<?x32xf32>, tensor<?xi32> -> tensor<3x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x32xf32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{expects a positive, even head_dim, got 15}}
  %y = llm.rope %x, %p {head_dim = 15 : i64, theta = 1.0e4 : f64} : tensor<?x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x40xf32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{expects input columns (40) to be a multiple of head_dim (16)}}
  %y = llm.rope %x, %p {head_dim = 16 : i64, theta = 1.0e4 : f64} : tensor<?x40xf32>, tensor<?xi32> -> tensor<?x40xf32>
  return
}

// -----

func.func @f(%x: tensor<?x32xf32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{expects theta > 0, got -1}}
  %y = llm.rope %x, %p {head_dim = 16 : i64, theta = -1.0 : f64} : tensor<?x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x32xf32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{expects head_dim / 2 = 8 freq_factors, got 2}}
  %y = llm.rope %x, %p {head_dim = 16 : i64, theta = 1.0e4 : f64, freq_factors = array<f64: 1.0, 8.0>} : tensor<?x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x32xf32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{expects a positive, even rotary_dim of at most head_dim (16), got 18}}
  %y = llm.rope %x, %p {head_dim = 16 : i64, theta = 1.0e4 : f64, rotary_dim = 18 : i64} : tensor<?x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x32xf32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{expects a positive, even rotary_dim of at most head_dim (16), got 7}}
  %y = llm.rope %x, %p {head_dim = 16 : i64, theta = 1.0e4 : f64, rotary_dim = 7 : i64} : tensor<?x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x32xf32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{expects rotary_dim / 2 = 6 freq_factors, got 8}}
  %y = llm.rope %x, %p {head_dim = 16 : i64, theta = 1.0e4 : f64, rotary_dim = 12 : i64, freq_factors = array<f64: 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0>} : tensor<?x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x32xf32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{expects a positive, finite scale, got 0}}
  %y = llm.rope %x, %p {head_dim = 16 : i64, theta = 1.0e4 : f64, rotary_dim = 12 : i64, scale = 0.0 : f64} : tensor<?x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x8xf32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{expects positive, finite freq_factors, got 0 at 1}}
  %y = llm.rope %x, %p {head_dim = 4 : i64, theta = 1.0e4 : f64, freq_factors = array<f64: 1.0, 0.0>} : tensor<?x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<4x32xf32>, %p: tensor<3xi32>) {
  // expected-error @+1 {{expects position count (3) to equal input rows (4)}}
  %y = llm.rope %x, %p {head_dim = 16 : i64, theta = 1.0e4 : f64} : tensor<4x32xf32>, tensor<3xi32> -> tensor<4x32xf32>
  return
}

// -----

func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %pos: tensor<?xi32>, %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects positive num_heads, num_kv_heads and head_dim, got 0, 2, 16}}
  %o = llm.attention %q, %k, %v, %pos, %cache {layer = 0 : i64, num_heads = 0 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%q: tensor<?x48xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %pos: tensor<?xi32>, %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects num_heads (3) to be a multiple of num_kv_heads (2)}}
  %o = llm.attention %q, %k, %v, %pos, %cache {layer = 0 : i64, num_heads = 3 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x48xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x48xf32>
  return
}

// -----

func.func @f(%q: tensor<?x60xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %pos: tensor<?xi32>, %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects query columns (60) to equal num_heads * head_dim (64)}}
  %o = llm.attention %q, %k, %v, %pos, %cache {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x60xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x60xf32>
  return
}

// -----

func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %pos: tensor<?xi32>, %cache: !llm.kv_cache<layers = 2, kv_heads = 1, head_dim = 16, f32>) {
  // expected-error @+1 {{expects the cache (kv_heads = 1, head_dim = 16) to match num_kv_heads = 2, head_dim = 16}}
  %o = llm.attention %q, %k, %v, %pos, %cache {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 2, kv_heads = 1, head_dim = 16, f32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %pos: tensor<?xi32>, %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{layer 2 is out of range for a cache of 2 layers}}
  %o = llm.attention %q, %k, %v, %pos, %cache {layer = 2 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %pos: tensor<?xi32>, %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects scale > 0, got 0}}
  %o = llm.attention %q, %k, %v, %pos, %cache {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.0 : f64}
      : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %pos: tensor<?xi32>, %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects result type 'tensor<3x64xf32>' to have the query's shape 'tensor<?x64xf32>'}}
  %o = llm.attention %q, %k, %v, %pos, %cache {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) -> tensor<3x64xf32>
  return
}

// -----

func.func @f(%q: tensor<?x64xf32>, %k: tensor<32xf32>, %v: tensor<?x32xf32>, %pos: tensor<?xi32>, %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects key of rank 2, got 'tensor<32xf32>'}}
  %o = llm.attention %q, %k, %v, %pos, %cache {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<32xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%q: tensor<?x64xf16>, %k: tensor<?x32xbf16>, %v: tensor<?x32xbf16>, %pos: tensor<?xi32>, %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects query, key/value and result element types to be equal or each f32 or bf16, got 'f16', 'bf16', 'f32'}}
  %o = llm.attention %q, %k, %v, %pos, %cache {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf16>, tensor<?x32xbf16>, tensor<?x32xbf16>, tensor<?xi32>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf16>, %pos: tensor<?xi32>, %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects value element type 'f16' to match key element type 'f32'}}
  %o = llm.attention %q, %k, %v, %pos, %cache {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf16>, tensor<?xi32>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x48xf32>, %v: tensor<?x32xf32>, %pos: tensor<?xi32>, %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects key columns (48) to equal num_kv_heads * head_dim (32)}}
  %o = llm.attention %q, %k, %v, %pos, %cache {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?x48xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%q: tensor<4x64xf32>, %k: tensor<?x32xf32>, %v: tensor<5x32xf32>, %pos: tensor<?xi32>, %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects value rows (5) to equal query rows (4)}}
  %o = llm.attention %q, %k, %v, %pos, %cache {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<4x64xf32>, tensor<?x32xf32>, tensor<5x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @f(%q: tensor<4x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %pos: tensor<5xi32>, %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects position count (5) to equal query rows (4)}}
  %o = llm.attention %q, %k, %v, %pos, %cache {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<4x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<5xi32>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @f(%h: tensor<64xf32>, %r: tensor<?xi32>, %w: tensor<8x64xf32>) {
  // expected-error @+1 {{expects hidden of rank 2, got 'tensor<64xf32>'}}
  %l = llm.logits %h[%r], %w : tensor<64xf32>, tensor<?xi32>, tensor<8x64xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @f(%h: tensor<?x64xf32>, %r: tensor<?xi32>, %w: tensor<8x64xf32>) {
  // expected-error @+1 {{expects result element type 'f16' to match hidden element type 'f32'}}
  %l = llm.logits %h[%r], %w : tensor<?x64xf32>, tensor<?xi32>, tensor<8x64xf32> -> tensor<?x8xf16>
  return
}

// -----

func.func @f(%h: tensor<?x64xf32>, %r: tensor<?xi32>, %w: tensor<8x32xf32>) {
  // expected-error @+1 {{expects lm_head columns (32) to equal hidden columns (64)}}
  %l = llm.logits %h[%r], %w : tensor<?x64xf32>, tensor<?xi32>, tensor<8x32xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @f(%h: tensor<?x64xf32>, %r: tensor<?xi32>, %w: tensor<8x64xf32>) {
  // expected-error @+1 {{expects result columns (9) to equal vocabulary size (8)}}
  %l = llm.logits %h[%r], %w : tensor<?x64xf32>, tensor<?xi32>, tensor<8x64xf32> -> tensor<?x9xf32>
  return
}

// -----

func.func @f(%h: tensor<?x64xf32>, %r: tensor<2xi32>, %w: tensor<8x64xf32>) {
  // expected-error @+1 {{expects result rows (1) to equal row count (2)}}
  %l = llm.logits %h[%r], %w : tensor<?x64xf32>, tensor<2xi32>, tensor<8x64xf32> -> tensor<1x8xf32>
  return
}

// -----

// expected-error @+1 {{kv_cache must have at least one layer}}
func.func @f(%c: !llm.kv_cache<layers = 0, kv_heads = 2, head_dim = 16, f32>)

// -----

// expected-error @+1 {{kv_cache must have at least one kv head}}
func.func @f(%c: !llm.kv_cache<layers = 1, kv_heads = 0, head_dim = 16, f32>)

// -----

// expected-error @+1 {{kv_cache head_dim must be positive}}
func.func @f(%c: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 0, f32>)

// -----

// expected-error @+1 {{kv_cache element type must be a float type, got 'i32'}}
func.func @f(%c: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, i32>)

// -----

func.func @f() {
  // expected-error @+1 {{expects at least two weight names}}
  %w = llm.fused_weight ["a"] rows [4] : tensor<4x4xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{has 2 names but 1 row counts}}
  %w = llm.fused_weight ["a", "b"] rows [4] : tensor<4x4xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{names weight 'a' twice}}
  %w = llm.fused_weight ["a", "a"] rows [2, 2] : tensor<4x4xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{expects positive row counts, got 0 for 'b'}}
  %w = llm.fused_weight ["a", "b"] rows [4, 0] : tensor<4x4xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{row counts add up to 5 but the result has 4 rows}}
  %w = llm.fused_weight ["a", "b"] rows [2, 3] : tensor<4x4xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{expects a statically shaped 2-D result, got 'tensor<?x4xf32>'}}
  %w = llm.fused_weight ["a", "b"] rows [2, 2] : tensor<?x4xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{expects non-empty weight names}}
  %w = llm.fused_weight ["a", ""] rows [2, 2] : tensor<4x4xf32>
  return
}

// -----

func.func @f(%x: tensor<?x32xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{expects bias length (16) to equal input columns (32)}}
  %y = llm.add_bias %x, %b : tensor<?x32xf32>, tensor<16xf32> -> tensor<?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x40xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{expects input columns (40) to be a multiple of head_dim (16)}}
  %y = llm.head_rms_norm %x, %w {head_dim = 16 : i64, epsilon = 1.0e-6 : f64} : tensor<?x40xf32>, tensor<16xf32> -> tensor<?x40xf32>
  return
}

// -----

func.func @f(%x: tensor<?x32xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{expects weight size (32) to equal head_dim (16)}}
  %y = llm.head_rms_norm %x, %w {head_dim = 16 : i64, epsilon = 1.0e-6 : f64} : tensor<?x32xf32>, tensor<32xf32> -> tensor<?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{factor must be finite and non-zero, got 0}}
  %y = llm.scale %x {factor = 0.0 : f64} : tensor<?x32xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{expects the rows of a Q8_0 weight (i8) to be whole 34-byte blocks, got 35 bytes}}
  %w = llm.weight "w" : tensor<4x35xi8>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{expects a Q8_0 weight (i8) to be a matrix, got 'tensor<68xi8>'}}
  %w = llm.weight "w" : tensor<68xi8>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{expects the rows of a Q8_0 weight (i8) to be whole 34-byte blocks, got 40 bytes}}
  %w = llm.fused_weight ["a", "b"] rows [2, 2] : tensor<4x40xi8>
  return
}

// -----

// A Q8_0 weight's in_features are its values per row: 2 blocks = 64.
func.func @f(%x: tensor<?x32xf32>, %w: tensor<8x68xi8>) {
  // expected-error @+1 {{expects weight in_features (dim 1) (64) to equal input columns (32)}}
  %y = llm.linear %x, %w : tensor<?x32xf32>, tensor<8x68xi8> -> tensor<?x8xf32>
  return
}

// -----

func.func @f(%t: tensor<10x34xi8>, %ids: tensor<?xi32>) {
  // expected-error @+1 {{expects result columns (64) to equal table columns (32)}}
  %x = llm.embedding %t[%ids] : tensor<10x34xi8>, tensor<?xi32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%h: tensor<?x64xf32>, %rows: tensor<?xi32>, %head: tensor<10x34xi8>) {
  // expected-error @+1 {{expects lm_head columns (32) to equal hidden columns (64)}}
  %l = llm.logits %h[%rows], %head : tensor<?x64xf32>, tensor<?xi32>, tensor<10x34xi8> -> tensor<?x10xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %r: tensor<4x64xf32>, %g: tensor<384x64xf32>, %d: tensor<256x96xf32>) {
  // expected-error @+1 {{expects 1 <= top_k <= num_experts, got top_k 5 of 4 experts}}
  %y = llm.moe %x, %r, %g, %g, %d {num_experts = 4, top_k = 5, expert_ffn = 96} : tensor<?x64xf32>, tensor<4x64xf32>, tensor<384x64xf32>, tensor<384x64xf32>, tensor<256x96xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %r: tensor<4x64xf32>, %g: tensor<384x64xf32>, %d: tensor<256x96xf32>) {
  // expected-error @+1 {{expects the gate weight to hold 256 rows of 64 values, got 'tensor<384x64xf32>'}}
  %y = llm.moe %x, %r, %g, %g, %d {num_experts = 4, top_k = 2, expert_ffn = 64} : tensor<?x64xf32>, tensor<4x64xf32>, tensor<384x64xf32>, tensor<384x64xf32>, tensor<256x96xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %r: tensor<3x64xf32>, %g: tensor<384x64xf32>, %d: tensor<256x96xf32>) {
  // expected-error @+1 {{expects the router weight to hold 4 rows of 64 values, got 'tensor<3x64xf32>'}}
  %y = llm.moe %x, %r, %g, %g, %d {num_experts = 4, top_k = 2, expert_ffn = 96} : tensor<?x64xf32>, tensor<3x64xf32>, tensor<384x64xf32>, tensor<384x64xf32>, tensor<256x96xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %r: tensor<4x64xf32>, %g: tensor<384x64xf32>, %u: tensor<384x64xbf16>, %d: tensor<256x96xf32>) {
  // expected-error @+1 {{expects the expert weights to share one element type, got 'f32' and 'bf16'}}
  %y = llm.moe %x, %r, %g, %u, %d {num_experts = 4, top_k = 2, expert_ffn = 96} : tensor<?x64xf32>, tensor<4x64xf32>, tensor<384x64xf32>, tensor<384x64xbf16>, tensor<256x96xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xbf16>, %r: tensor<4x64xf32>, %g: tensor<384x64xf32>, %d: tensor<256x96xf32>) {
  // expected-error @+1 {{expects f32 activations, got 'bf16'}}
  %y = llm.moe %x, %r, %g, %g, %d {num_experts = 4, top_k = 2, expert_ffn = 96} : tensor<?x64xbf16>, tensor<4x64xf32>, tensor<384x64xf32>, tensor<384x64xf32>, tensor<256x96xf32> -> tensor<?x64xbf16>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %r: tensor<4x64xf32>, %g: tensor<384x64xf32>, %d: tensor<256x96xf32>, %b: tensor<1x3xf32>) {
  // expected-error @+1 {{expects the selection bias to hold 4 f32 values (one per expert), got 'tensor<1x3xf32>'}}
  %y = llm.moe %x, %r, %g, %g, %d bias %b {num_experts = 4, top_k = 2, expert_ffn = 96} : tensor<?x64xf32>, tensor<4x64xf32>, tensor<384x64xf32>, tensor<384x64xf32>, tensor<256x96xf32>, tensor<1x3xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %r: tensor<4x64xf32>, %g: tensor<384x64xf32>, %d: tensor<256x96xf32>) {
  // expected-error @+1 {{expects norm_min in [0, 1), got -1}}
  %y = llm.moe %x, %r, %g, %g, %d {num_experts = 4, top_k = 2, expert_ffn = 96, norm_min = -1.0} : tensor<?x64xf32>, tensor<4x64xf32>, tensor<384x64xf32>, tensor<384x64xf32>, tensor<256x96xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %r: tensor<4x64xf32>, %g: tensor<128x64xf32>, %d: tensor<256x32xf32>) {
  // expected-error @+1 {{expects activation "silu" or "swiglu_oai", got "gelu"}}
  %y = llm.moe %x, %r, %g, %g, %d {num_experts = 4, top_k = 2, expert_ffn = 32, activation = "gelu"} : tensor<?x64xf32>, tensor<4x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<256x32xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %r: tensor<4x64xf32>, %g: tensor<128x64xf32>, %d: tensor<256x32xf32>) {
  // expected-error @+1 {{expects a positive finite swiglu_limit, got 0}}
  %y = llm.moe %x, %r, %g, %g, %d {num_experts = 4, top_k = 2, expert_ffn = 32, activation = "swiglu_oai", swiglu_limit = 0.0} : tensor<?x64xf32>, tensor<4x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<256x32xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %r: tensor<4x64xf32>, %g: tensor<128x64xf32>, %d: tensor<256x32xf32>) {
  // expected-error @+1 {{expects scoring "softmax" or "sigmoid", got "tanh"}}
  %y = llm.moe %x, %r, %g, %g, %d {num_experts = 4, top_k = 2, expert_ffn = 32, scoring = "tanh"} : tensor<?x64xf32>, tensor<4x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<256x32xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %r: tensor<4x64xf32>, %g: tensor<128x64xf32>, %d: tensor<256x32xf32>) {
  // expected-error @+1 {{expects a positive finite routed_scale, got -2.5}}
  %y = llm.moe %x, %r, %g, %g, %d {num_experts = 4, top_k = 2, expert_ffn = 32, scoring = "sigmoid", routed_scale = -2.5} : tensor<?x64xf32>, tensor<4x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<256x32xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %r: tensor<4x64xf32>, %g: tensor<128x64xf32>, %d: tensor<256x32xf32>, %rb: tensor<5xf32>) {
  // expected-error @+1 {{expects the router bias to hold 4 f32 values (one per expert), got 'tensor<5xf32>'}}
  %y = llm.moe %x, %r, %g, %g, %d router_bias(%rb : tensor<5xf32>) {num_experts = 4, top_k = 2, expert_ffn = 32} : tensor<?x64xf32>, tensor<4x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<256x32xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %r: tensor<4x64xf32>, %g: tensor<128x64xf32>, %d: tensor<256x32xf32>, %gb: tensor<128xf32>) {
  // expected-error @+1 {{expects the down bias to hold 256 f32 values (num_experts x hidden), got 'tensor<128xf32>'}}
  %y = llm.moe %x, %r, %g, %g, %d expert_bias(%gb, %gb, %gb : tensor<128xf32>, tensor<128xf32>, tensor<128xf32>) {num_experts = 4, top_k = 2, expert_ffn = 32} : tensor<?x64xf32>, tensor<4x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<256x32xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %pos: tensor<?xi32>, %s: tensor<2xf32>,
             %cache: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>) {
  // expected-error @+1 {{expects the sinks to be tensor<4xf32> (one per query head), got 'tensor<2xf32>'}}
  %o = llm.attention %q, %k, %k, %pos, %cache sinks(%s) {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>, tensor<2xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{expects the rows of an MXFP4 weight (ui8) to be whole 17-byte blocks, got 33 bytes}}
  %w = llm.weight "w" : tensor<4x33xui8>
  return
}

// -----

func.func @f(%t: tensor<?xi32>) {
  %w = llm.weight "w" : tensor<600x34xui8>
  // expected-error @+1 {{reads no MXFP4 table (ui8): llm.linear and llm.moe read MXFP4 weights}}
  %e = llm.embedding %w[%t] : tensor<600x34xui8>, tensor<?xi32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%y: tensor<?x64xf32>, %g: tensor<?x2xf32>) {
  // expected-error @+1 {{expects a gate of one column per row, got 'tensor<?x2xf32>'}}
  %r = llm.sigmoid_gate %y, %g : tensor<?x64xf32>, tensor<?x2xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%y: tensor<4x64xf32>, %g: tensor<3x1xf32>) {
  // expected-error @+1 {{expects gate rows (3) to equal input rows (4)}}
  %r = llm.sigmoid_gate %y, %g : tensor<4x64xf32>, tensor<3x1xf32> -> tensor<4x64xf32>
  return
}

// -----

func.func @f(%y: tensor<?x64xf32>, %g: tensor<?x1xf32>) {
  // expected-error @+1 {{expects result type 'tensor<?x32xf32>' to equal input type 'tensor<?x64xf32>'}}
  %r = llm.sigmoid_gate %y, %g : tensor<?x64xf32>, tensor<?x1xf32> -> tensor<?x32xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{expects row_block in [1, row_step] with a row_step, got 4}}
  %w = llm.weight "w" {rows = array<i64: 0, 8>, row_step = 2 : i64, row_block = 4 : i64} : tensor<8x8xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{expects a matrix of 12 rows for rows = [0, 20] and row_step = 8 and row_block = 4, got 'tensor<10x8xf32>'}}
  %w = llm.weight "w" {rows = array<i64: 0, 20>, row_step = 8 : i64, row_block = 4 : i64} : tensor<10x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @+1 {{expects approximate "tanh" or "none", got "erf"}}
  %y = llm.gelu %x {approximate = "erf"} : tensor<?x64xf32>
  return
}

// -----

func.func @f() {
  // A vector's elements head by head (GPT-NeoX's query_key_value bias): 3
  // blocks of 4 every 12 from 4 to 36 are 12 elements, not 16.
  // expected-error @+1 {{expects a matrix of 12 rows for rows = [4, 36] and row_step = 12 and row_block = 4, got 'tensor<16xf32>'}}
  %w = llm.weight "b" {rows = array<i64: 4, 36>, row_step = 12 : i64, row_block = 4 : i64} : tensor<16xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @+1 {{expects a finite limit > 0, got 0}}
  %y = llm.clamp %x {limit = 0.0 : f64} : tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>) {
  // Without a weight the result still has the input's columns.
  // expected-error @+1 {{expects result columns}}
  %y = llm.layer_norm %x {epsilon = 1.0e-05 : f64} : tensor<?x64xf32> -> tensor<?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %b: tensor<64xf32>) {
  // (The generic form: the custom one reads a lone second operand as the weight.)
  // expected-error @+1 {{expects a weight with a bias}}
  %y = "llm.layer_norm"(%x, %b) <{epsilon = 1.0e-05 : f64, operandSegmentSizes = array<i32: 1, 0, 1>}> : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  return
}

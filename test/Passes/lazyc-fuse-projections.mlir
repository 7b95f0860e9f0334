// RUN: lazy-opt %s --split-input-file --lazyc-fuse-projections | FileCheck %s
// RUN: lazy-opt %s --split-input-file --lazyc-fuse-projections --convert-llm-to-linalg | FileCheck %s --check-prefix=ARENA
// RUN: lazy-opt %s --split-input-file --convert-llm-to-linalg | FileCheck %s --check-prefix=UNFUSED
// bf16 GEMM outputs see through the slices: the stacked GEMM writes bf16 and
// RoPE / SwiGLU widen what they read.
// RUN: lazy-opt %s --split-input-file --lazyc-fuse-projections --convert-llm-to-linalg --canonicalize --lazyc-gpu-bf16-gemm-outputs --canonicalize | FileCheck %s --check-prefix=BF16

// A Llama layer: Q with K (both read by RoPE), up with gate (read by SwiGLU,
// stacked in program order); V, read by the attention, keeps its own GEMM.
// CHECK-LABEL: func.func @layer
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: tensor<?x64xf32>
// CHECK:         %[[WQK:.*]] = llm.fused_weight ["q", "k"] rows [64, 32] : tensor<96x64xbf16>
// CHECK:         %[[QK:.*]] = llm.linear %[[X]], %[[WQK]] : tensor<?x64xf32>, tensor<96x64xbf16> -> tensor<?x96xf32>
// CHECK:         %[[N:.*]] = tensor.dim %[[QK]], %{{.*}} : tensor<?x96xf32>
// CHECK:         %[[Q:.*]] = tensor.extract_slice %[[QK]][0, 0] [%[[N]], 64] [1, 1] : tensor<?x96xf32> to tensor<?x64xf32>
// CHECK:         %[[K:.*]] = tensor.extract_slice %[[QK]][0, 64] [%[[N]], 32] [1, 1] : tensor<?x96xf32> to tensor<?x32xf32>
// CHECK:         %[[WV:.*]] = llm.weight "v" : tensor<32x64xbf16>
// CHECK:         %[[V:.*]] = llm.linear %[[X]], %[[WV]] : tensor<?x64xf32>, tensor<32x64xbf16> -> tensor<?x32xf32>
// CHECK:         llm.rope %[[Q]]
// CHECK:         llm.rope %[[K]]
// CHECK:         llm.attention %{{.*}}, %{{.*}}, %[[V]]
// CHECK:         llm.fused_weight ["up", "gate"] rows [128, 128] : tensor<256x64xbf16>
// CHECK:         %[[GU:.*]] = llm.linear %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<256x64xbf16> -> tensor<?x256xf32>
// CHECK:         %[[UP:.*]] = tensor.extract_slice %[[GU]][0, 0] [%{{.*}}, 128] [1, 1]
// CHECK:         %[[GATE:.*]] = tensor.extract_slice %[[GU]][0, 128] [%{{.*}}, 128] [1, 1]
// CHECK:         llm.swiglu %[[GATE]], %[[UP]]
// CHECK-NOT:     llm.fused_weight
// The arena holds the parts back to back, by name (the runtime loads each):
// q at 0 (64 x 64 bf16 = 8192 bytes), k right after it; the stacked GEMM
// reads a view of both.
// ARENA:       llm.weight_table = [{bytes = 8192 : i64, dtype = "bf16", name = "q", offset = 0 : i64, shape = [64, 64]}, {bytes = 4096 : i64, dtype = "bf16", name = "k", offset = 8192 : i64, shape = [32, 64]}, {bytes = 4096 : i64, dtype = "bf16", name = "v", offset = 12288 : i64, shape = [32, 64]}, {bytes = 8192 : i64, dtype = "bf16", name = "o", offset = 16384 : i64, shape = [64, 64]}, {bytes = 256 : i64, dtype = "f32", name = "n2", offset = 24576 : i64, shape = [64]}, {bytes = 16384 : i64, dtype = "bf16", name = "up", offset = 24832 : i64, shape = [128, 64]}, {bytes = 16384 : i64, dtype = "bf16", name = "gate", offset = 41216 : i64, shape = [128, 64]}, {bytes = 16384 : i64, dtype = "bf16", name = "down", offset = 57600 : i64, shape = [64, 128]}]
// ARENA:       memref.view %{{.*}}[%c0{{.*}}][] : memref<?xi8> to memref<96x64xbf16>
// ARENA:       memref.view %{{.*}}[%c24832{{.*}}][] : memref<?xi8> to memref<256x64xbf16>
// Without the pass: the same table (same names and order: model files and
// random weights bind the same way; here the same offsets too).
// UNFUSED:     llm.weight_table = [{bytes = 8192 : i64, dtype = "bf16", name = "q", offset = 0 : i64, shape = [64, 64]}, {bytes = 4096 : i64, dtype = "bf16", name = "k", offset = 8192 : i64, shape = [32, 64]}, {bytes = 4096 : i64, dtype = "bf16", name = "v", offset = 12288 : i64, shape = [32, 64]}, {bytes = 8192 : i64, dtype = "bf16", name = "o", offset = 16384 : i64, shape = [64, 64]}, {bytes = 256 : i64, dtype = "f32", name = "n2", offset = 24576 : i64, shape = [64]}, {bytes = 16384 : i64, dtype = "bf16", name = "up", offset = 24832 : i64, shape = [128, 64]}, {bytes = 16384 : i64, dtype = "bf16", name = "gate", offset = 41216 : i64, shape = [128, 64]}, {bytes = 16384 : i64, dtype = "bf16", name = "down", offset = 57600 : i64, shape = [64, 128]}]
// BF16-LABEL: func.func @layer
// BF16:         llm.linear %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<96x64xbf16> -> tensor<?x96xbf16>
// BF16:         tensor.extract_slice %{{.*}} : tensor<?x96xbf16> to tensor<?x64xbf16>
// BF16:         tensor.extract_slice %{{.*}} : tensor<?x96xbf16> to tensor<?x32xbf16>
// BF16:         llm.linear %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<256x64xbf16> -> tensor<?x256xbf16>
// BF16:         linalg.generic
// BF16:           arith.extf %{{.*}} : bf16 to f32
// BF16:           arith.extf %{{.*}} : bf16 to f32
// BF16:           math.exp
func.func @layer(%x: tensor<?x64xf32>, %pos: tensor<?xi32>, %c: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32> {
  %wq = llm.weight "q" : tensor<64x64xbf16>
  %q = llm.linear %x, %wq : tensor<?x64xf32>, tensor<64x64xbf16> -> tensor<?x64xf32>
  %wk = llm.weight "k" : tensor<32x64xbf16>
  %k = llm.linear %x, %wk : tensor<?x64xf32>, tensor<32x64xbf16> -> tensor<?x32xf32>
  %wv = llm.weight "v" : tensor<32x64xbf16>
  %v = llm.linear %x, %wv : tensor<?x64xf32>, tensor<32x64xbf16> -> tensor<?x32xf32>
  %qr = llm.rope %q, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64} : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %kr = llm.rope %k, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64} : tensor<?x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  %a = llm.attention %qr, %kr, %v, %pos, %c {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32>
  %wo = llm.weight "o" : tensor<64x64xbf16>
  %h = llm.linear %a, %wo acc %x : tensor<?x64xf32>, tensor<64x64xbf16>, tensor<?x64xf32> -> tensor<?x64xf32>
  %wn = llm.weight "n2" : tensor<64xf32>
  %n = llm.rms_norm %h, %wn {epsilon = 1.0e-05 : f64} : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  %wu = llm.weight "up" : tensor<128x64xbf16>
  %u = llm.linear %n, %wu : tensor<?x64xf32>, tensor<128x64xbf16> -> tensor<?x128xf32>
  %wg = llm.weight "gate" : tensor<128x64xbf16>
  %g = llm.linear %n, %wg : tensor<?x64xf32>, tensor<128x64xbf16> -> tensor<?x128xf32>
  %s = llm.swiglu %g, %u : tensor<?x128xf32>
  %wd = llm.weight "down" : tensor<64x128xbf16>
  %y = llm.linear %s, %wd acc %h : tensor<?x128xf32>, tensor<64x128xbf16>, tensor<?x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Left alone: a projection something else than a generated kernel reads (a
// function result), one whose weight is also used elsewhere, accumulating
// GEMMs, and weights of different element types.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT:     llm.fused_weight
// CHECK:         return
func.func @left_alone(%x: tensor<?x64xf32>, %r: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  %wa = llm.weight "a" : tensor<64x64xf32>
  %a = llm.linear %x, %wa : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
  %wb = llm.weight "b" : tensor<64x64xf32>
  %b = llm.linear %x, %wb : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
  %bs = llm.silu %b : tensor<?x64xf32>
  %wb2 = llm.weight "b" : tensor<64x64xf32>
  %b2 = llm.linear %r, %wb2 : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
  %b2s = llm.silu %b2 : tensor<?x64xf32>
  %wc = llm.weight "c" : tensor<64x64xbf16>
  %c = llm.linear %x, %wc : tensor<?x64xf32>, tensor<64x64xbf16> -> tensor<?x64xf32>
  %cs = llm.silu %c : tensor<?x64xf32>
  %wd = llm.weight "d" : tensor<64x64xf32>
  %d = llm.linear %x, %wd acc %r : tensor<?x64xf32>, tensor<64x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %ds = llm.silu %d : tensor<?x64xf32>
  %sum = llm.add %bs, %cs : tensor<?x64xf32>
  %sum2 = llm.add %sum, %b2s : tensor<?x64xf32>
  return %a, %sum2, %ds : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

// Static row counts: static slices. Three members stack in program order.
// CHECK-LABEL: func.func @static_rows
// CHECK:         llm.fused_weight ["a", "b", "c"] rows [16, 8, 8] : tensor<32x64xf32>
// CHECK:         %[[P:.*]] = llm.linear %{{.*}}, %{{.*}} : tensor<4x64xf32>, tensor<32x64xf32> -> tensor<4x32xf32>
// CHECK:         tensor.extract_slice %[[P]][0, 0] [4, 16] [1, 1] : tensor<4x32xf32> to tensor<4x16xf32>
// CHECK:         tensor.extract_slice %[[P]][0, 16] [4, 8] [1, 1] : tensor<4x32xf32> to tensor<4x8xf32>
// CHECK:         tensor.extract_slice %[[P]][0, 24] [4, 8] [1, 1] : tensor<4x32xf32> to tensor<4x8xf32>
func.func @static_rows(%x: tensor<4x64xf32>) -> (tensor<4x16xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %wa = llm.weight "a" : tensor<16x64xf32>
  %a = llm.linear %x, %wa : tensor<4x64xf32>, tensor<16x64xf32> -> tensor<4x16xf32>
  %as = llm.silu %a : tensor<4x16xf32>
  %wb = llm.weight "b" : tensor<8x64xf32>
  %b = llm.linear %x, %wb : tensor<4x64xf32>, tensor<8x64xf32> -> tensor<4x8xf32>
  %bs = llm.silu %b : tensor<4x8xf32>
  %wc = llm.weight "c" : tensor<8x64xf32>
  %c = llm.linear %x, %wc : tensor<4x64xf32>, tensor<8x64xf32> -> tensor<4x8xf32>
  %cs = llm.silu %c : tensor<4x8xf32>
  return %as, %bs, %cs : tensor<4x16xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Row ranges of one fused tensor (Phi-3's gate_up, up first in program
// order): one view of their rows, the columns in row order (gate's first);
// the view is placed before the earliest member. Ranges that are not
// adjacent, or mixed with a whole weight, are left alone.
// CHECK-LABEL: func.func @row_ranges
// CHECK:         %[[W:.*]] = llm.weight "gate_up" {rows = array<i64: 0, 256>} : tensor<256x64xf32>
// CHECK:         %[[P:.*]] = llm.linear %{{.*}}, %[[W]] : tensor<4x64xf32>, tensor<256x64xf32> -> tensor<4x256xf32>
// CHECK:         %[[GATE:.*]] = tensor.extract_slice %[[P]][0, 0] [4, 128] [1, 1]
// CHECK:         %[[UP:.*]] = tensor.extract_slice %[[P]][0, 128] [4, 128] [1, 1]
// CHECK:         llm.swiglu %[[GATE]], %[[UP]]
// CHECK:         llm.weight "qkv" {rows = array<i64: 0, 16>}
// CHECK:         llm.weight "qkv" {rows = array<i64: 32, 48>}
// CHECK:         llm.weight "other"
// CHECK:         llm.weight "qkv" {rows = array<i64: 48, 64>}
// CHECK-NOT:     llm.fused_weight
// The arena: a view is an entry of its own, with its rows.
// ARENA:       llm.weight_table = [{bytes = 65536 : i64, dtype = "f32", name = "gate_up", offset = 0 : i64, rows = [0, 256], shape = [256, 64]},
func.func @row_ranges(%x: tensor<4x64xf32>, %y: tensor<4x64xf32>, %z: tensor<4x64xf32>) -> (tensor<4x128xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %wu = llm.weight "gate_up" {rows = array<i64: 128, 256>} : tensor<128x64xf32>
  %u = llm.linear %x, %wu : tensor<4x64xf32>, tensor<128x64xf32> -> tensor<4x128xf32>
  %wg = llm.weight "gate_up" {rows = array<i64: 0, 128>} : tensor<128x64xf32>
  %g = llm.linear %x, %wg : tensor<4x64xf32>, tensor<128x64xf32> -> tensor<4x128xf32>
  %act = llm.swiglu %g, %u : tensor<4x128xf32>
  %wa = llm.weight "qkv" {rows = array<i64: 0, 16>} : tensor<16x64xf32>
  %a = llm.linear %y, %wa : tensor<4x64xf32>, tensor<16x64xf32> -> tensor<4x16xf32>
  %as = llm.silu %a : tensor<4x16xf32>
  %wb = llm.weight "qkv" {rows = array<i64: 32, 48>} : tensor<16x64xf32>
  %b = llm.linear %y, %wb : tensor<4x64xf32>, tensor<16x64xf32> -> tensor<4x16xf32>
  %bs = llm.silu %b : tensor<4x16xf32>
  %wc = llm.weight "other" : tensor<16x64xf32>
  %c = llm.linear %z, %wc : tensor<4x64xf32>, tensor<16x64xf32> -> tensor<4x16xf32>
  %cs = llm.silu %c : tensor<4x16xf32>
  %wd = llm.weight "qkv" {rows = array<i64: 48, 64>} : tensor<16x64xf32>
  %d = llm.linear %z, %wd : tensor<4x64xf32>, tensor<16x64xf32> -> tensor<4x16xf32>
  %ds = llm.silu %d : tensor<4x16xf32>
  return %act, %as, %bs, %cs, %ds : tensor<4x128xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
}

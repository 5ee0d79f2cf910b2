// Matrix-vector product for few rows: y(M, N) = x(M, K) · w(N, K)ᵀ [+ r(M, N)].
// With NORM (the fused RMSNorm), each row of the product is scaled by 1 / sqrt(mean_k x² + eps):
// y = rmsnorm(x) · wᵀ when the norm's weight g is folded into w (w[n, k] · g[k]). Each column's
// TPC lanes see all of K, so they sum the row's squares beside the dot products and reduce both.
// Bindings: x (M*K) f32; w (N*K) f32, rows are output features (llama2.c order); r (M*N) f32,
//   read only when params.residual != 0 (bind any read-only buffer otherwise); y (M*N) f32; params.
// A workgroup of TPC·COLS threads computes COLS output columns for ROWS rows: each column gets TPC
// threads that stride over K (entry point main_vec4 reads vec4s and needs K % 4 == 0; main reads
// scalars), each weight element being loaded once for all ROWS rows; then a tree reduction in
// workgroup memory over the TPC partial sums (TPC must be a power of two, ROWS <= MAX_ROWS).
// Dispatch: ceil(N/COLS)·ceil(M/ROWS) workgroups numbered linearly, id = wid.x + wid.y·groups_x
// (the y dimension is used only past 65535); id → (row block id / col_tiles, col block id % col_tiles).
override TPC: u32 = 64;
override COLS: u32 = 4;
override ROWS: u32 = 1;
override WG: u32 = TPC * COLS;
override NORM: bool = false;

const MAX_ROWS = 8u;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  col_tiles: u32, // ceil(N / COLS)
  tiles: u32,     // ceil(M / ROWS) * col_tiles
  groups_x: u32,  // workgroups along x in the dispatch
  residual: u32,  // 1: add r
  eps: f32,       // the fused RMSNorm's epsilon (NORM)
}

// main reads x and w as f32, main_vec4 as vec4<f32>: each entry point uses one pair.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> r: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> red: array<f32, ROWS * WG>; // red[row * WG + thread]
var<workgroup> red_ss: array<f32, ROWS * WG>; // the same for the sums of squares (NORM)
var<private> acc: array<f32, MAX_ROWS>;
var<private> ss: array<f32, MAX_ROWS>;

// This thread's first row, output column and lane (index among the column's TPC threads).
struct Work { m0: u32, n: u32, lane: u32 }

fn locate(tile: u32, li: u32) -> Work {
  return Work((tile / params.col_tiles) * ROWS, (tile % params.col_tiles) * COLS + li / TPC, li % TPC);
}

// Reduces acc over the TPC threads of each column and writes the column's outputs.
fn reduce_and_store(li: u32, work: Work) {
  for (var i = 0u; i < ROWS; i++) { red[i * WG + li] = acc[i]; }
  if (NORM) { for (var i = 0u; i < ROWS; i++) { red_ss[i * WG + li] = ss[i]; } }
  workgroupBarrier();
  for (var s = TPC / 2u; s > 0u; s >>= 1u) {
    if (work.lane < s) {
      for (var i = 0u; i < ROWS; i++) { red[i * WG + li] += red[i * WG + li + s]; }
      if (NORM) { for (var i = 0u; i < ROWS; i++) { red_ss[i * WG + li] += red_ss[i * WG + li + s]; } }
    }
    workgroupBarrier();
  }
  if (work.lane == 0u && work.n < params.N) {
    for (var i = 0u; i < ROWS; i++) {
      let m = work.m0 + i;
      if (m >= params.M) { break; }
      let o = m * params.N + work.n;
      var v = red[i * WG + li];
      if (NORM) { v *= 1.0 / sqrt(red_ss[i * WG + li] / f32(params.K) + params.eps); }
      if (params.residual != 0u) { v += r[o]; }
      y[o] = v;
    }
  }
}

@compute @workgroup_size(WG)
fn main_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let tile = wid.x + wid.y * params.groups_x;
  if (tile >= params.tiles) { return; } // uniform: the whole workgroup leaves
  let work = locate(tile, li);
  let K4 = params.K / 4u;
  if (work.n < params.N) {
    let wo = work.n * K4;
    for (var k = work.lane; k < K4; k += TPC) {
      let wv = w4[wo + k];
      for (var i = 0u; i < ROWS; i++) {
        let m = work.m0 + i;
        if (m < params.M) {
          let xv = x4[m * K4 + k];
          acc[i] += dot(xv, wv);
          if (NORM) { ss[i] += dot(xv, xv); }
        }
      }
    }
  }
  reduce_and_store(li, work);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let tile = wid.x + wid.y * params.groups_x;
  if (tile >= params.tiles) { return; }
  let work = locate(tile, li);
  let K = params.K;
  if (work.n < params.N) {
    let wo = work.n * K;
    for (var k = work.lane; k < K; k += TPC) {
      let wv = w[wo + k];
      for (var i = 0u; i < ROWS; i++) {
        let m = work.m0 + i;
        if (m < params.M) {
          let xv = x[m * K + k];
          acc[i] = fma(xv, wv, acc[i]);
          if (NORM) { ss[i] = fma(xv, xv, ss[i]); }
        }
      }
    }
  }
  reduce_and_store(li, work);
}

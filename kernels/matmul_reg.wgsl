// Register-blocked GEMM without workgroup memory, for skinny problems (a few to a few dozen
// rows: batched decode): y(M, N) = x(M, K) · w(N, K)ᵀ [+ r(M, N)].
// Each weight row is reused only M times, so staging tiles in workgroup memory (matmul.wgsl) buys
// little; instead each thread keeps a TM×TN block of outputs in registers and streams its TM rows
// of x and TN rows of w straight from memory (caches serve the reuse across threads), vec4 at a
// time when K % 4 == 0 (entry main_vec4) and scalar otherwise (main). No barriers.
// Bindings: x (M*K) f32; w (N*K) f32, rows are output features (llama2.c order); r (M*N) f32,
//   read only when params.residual != 0; y (M*N) f32; params (same layout as matmul.wgsl).
// Thread (tx, ty) of a WGX×WGY workgroup owns rows m0 + ty + i·WGY (i < TM) and columns
// n0 + tx + j·WGX (j < TN): neighbouring threads write neighbouring columns.
// Dispatch: ceil(M/BM)·ceil(N/BN) workgroups numbered linearly (id = wid.x + wid.y·groups_x),
// BM = WGY·TM, BN = WGX·TN. TM, TN <= 4.
// With NORM (the fused RMSNorm) each row of the product is scaled by 1 / sqrt(mean_k x² + eps):
// y = rmsnorm(x) · wᵀ when the norm's weight is folded into w. Each thread streams all of K for its
// rows, so it sums their squares itself.
override WGX: u32 = 16;
override WGY: u32 = 4;
override TM: u32 = 4;
override TN: u32 = 4;
override BM: u32 = WGY * TM;
override BN: u32 = WGX * TN;
override NORM: bool = false;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  tiles_n: u32,
  tiles: u32,
  groups_x: u32,
  residual: u32,
  eps: f32,
}

// main reads x and w as f32, main_vec4 as vec4<f32>: each entry point uses one pair.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> r: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

struct Block { m0: u32, n0: u32 }

fn locate(wid: vec3<u32>, lid: vec3<u32>) -> Block {
  let tile = wid.x + wid.y * params.groups_x;
  return Block((tile / params.tiles_n) * BM + lid.y, (tile % params.tiles_n) * BN + lid.x);
}

fn store(b: Block, acc: ptr<function, array<f32, 16>>, ss: ptr<function, array<f32, 4>>) {
  for (var i = 0u; i < TM; i++) {
    let m = b.m0 + i * WGY;
    if (m >= params.M) { break; }
    var scale = 1.0;
    if (NORM) { scale = 1.0 / sqrt((*ss)[i] / f32(params.K) + params.eps); }
    for (var j = 0u; j < TN; j++) {
      let n = b.n0 + j * WGX;
      if (n >= params.N) { break; }
      let o = m * params.N + n;
      var v = (*acc)[i * 4u + j] * scale;
      if (params.residual != 0u) { v += r[o]; }
      y[o] = v;
    }
  }
}

@compute @workgroup_size(WGX, WGY)
fn main_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  if (wid.x + wid.y * params.groups_x >= params.tiles) { return; }
  let b = locate(wid, lid);
  let K4 = params.K / 4u;
  // Rows and columns past the edge read the last valid one and are not stored.
  var xo: array<u32, 4>;
  var wo: array<u32, 4>;
  for (var i = 0u; i < TM; i++) { xo[i] = min(b.m0 + i * WGY, params.M - 1u) * K4; }
  for (var j = 0u; j < TN; j++) { wo[j] = min(b.n0 + j * WGX, params.N - 1u) * K4; }
  var acc: array<f32, 16>;
  var ss: array<f32, 4>;
  var xv: array<vec4<f32>, 4>;
  for (var k = 0u; k < K4; k++) {
    for (var i = 0u; i < TM; i++) { xv[i] = x4[xo[i] + k]; }
    if (NORM) { for (var i = 0u; i < TM; i++) { ss[i] += dot(xv[i], xv[i]); } }
    for (var j = 0u; j < TN; j++) {
      let wv = w4[wo[j] + k];
      for (var i = 0u; i < TM; i++) { acc[i * 4u + j] += dot(xv[i], wv); }
    }
  }
  store(b, &acc, &ss);
}

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  if (wid.x + wid.y * params.groups_x >= params.tiles) { return; }
  let b = locate(wid, lid);
  let K = params.K;
  var xo: array<u32, 4>;
  var wo: array<u32, 4>;
  for (var i = 0u; i < TM; i++) { xo[i] = min(b.m0 + i * WGY, params.M - 1u) * K; }
  for (var j = 0u; j < TN; j++) { wo[j] = min(b.n0 + j * WGX, params.N - 1u) * K; }
  var acc: array<f32, 16>;
  var ss: array<f32, 4>;
  var xv: array<f32, 4>;
  for (var k = 0u; k < K; k++) {
    for (var i = 0u; i < TM; i++) { xv[i] = x[xo[i] + k]; }
    if (NORM) { for (var i = 0u; i < TM; i++) { ss[i] = fma(xv[i], xv[i], ss[i]); } }
    for (var j = 0u; j < TN; j++) {
      let wv = w[wo[j] + k];
      for (var i = 0u; i < TM; i++) { acc[i * 4u + j] = fma(xv[i], wv, acc[i * 4u + j]); }
    }
  }
  store(b, &acc, &ss);
}

// Tiled, register-blocked matmul: y(M, N) = x(M, K) · w(N, K)ᵀ [+ r(M, N)].
// Bindings: x (M*K) f32; w (N*K) f32, rows are output features (llama2.c order); r (M*N) f32,
//   read only when params.residual != 0 (bind any read-only buffer otherwise); y (M*N) f32; params.
// Each workgroup of WGX×WGY threads computes one BM×BN tile of y, BM = WGY·TM and BN = WGX·TN,
// walking K in steps of TK through workgroup-memory tiles of x and w (zero-padded at the edges).
// Thread (tx, ty) owns TM×TN outputs at tile rows ty + i·WGY and columns tx + j·WGX: strided so
// neighbouring threads read neighbouring workgroup-memory words and write neighbouring columns.
// Dispatch: ceil(M/BM)·ceil(N/BN) workgroups numbered linearly, id = wid.x + wid.y·params.groups_x
// (the y dimension is used only past 65535); tile id → (row tile id / tiles_n, col tile id % tiles_n).
// With NORM (the fused RMSNorm) each row of the product is scaled by 1 / sqrt(mean_k x² + eps):
// y = rmsnorm(x) · wᵀ when the norm's weight is folded into w; each thread sums the squares of
// its rows from the x tiles it already reads.
// Limits: TM, TN <= MAX_T (the register arrays' size); (BM + BN)·TK·4 bytes of workgroup memory.
override WGX: u32 = 16;
override WGY: u32 = 16;
override TM: u32 = 4;
override TN: u32 = 4;
override TK: u32 = 16;
override BM: u32 = WGY * TM;
override BN: u32 = WGX * TN;
override NORM: bool = false;

const MAX_T = 8u;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  tiles_n: u32,   // ceil(N / BN)
  tiles: u32,     // ceil(M / BM) * tiles_n
  groups_x: u32,  // workgroups along x in the dispatch
  residual: u32,  // 1: add r
  eps: f32,       // the fused RMSNorm's epsilon (NORM)
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> r: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> xs: array<f32, BM * TK>; // xs[kk * BM + row]
var<workgroup> ws: array<f32, BN * TK>; // ws[kk * BN + col]

@compute @workgroup_size(WGX, WGY)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let tile = wid.x + wid.y * params.groups_x;
  if (tile >= params.tiles) { return; }
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let m0 = (tile / params.tiles_n) * BM;
  let n0 = (tile % params.tiles_n) * BN;
  let threads = WGX * WGY;

  var acc: array<f32, MAX_T * MAX_T>; // acc[i * MAX_T + j], zero-initialised
  var a: array<f32, MAX_T>;
  var b: array<f32, MAX_T>;
  var ss: array<f32, MAX_T>;

  for (var k0 = 0u; k0 < K; k0 += TK) {
    // Cooperative loads; consecutive threads read consecutive k of one row.
    for (var e = li; e < BM * TK; e += threads) {
      let row = e / TK;
      let kk = e % TK;
      let gm = m0 + row;
      let gk = k0 + kk;
      var v = 0.0;
      if (gm < M && gk < K) { v = x[gm * K + gk]; }
      xs[kk * BM + row] = v;
    }
    for (var e = li; e < BN * TK; e += threads) {
      let col = e / TK;
      let kk = e % TK;
      let gn = n0 + col;
      let gk = k0 + kk;
      var v = 0.0;
      if (gn < N && gk < K) { v = w[gn * K + gk]; }
      ws[kk * BN + col] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      for (var i = 0u; i < TM; i++) { a[i] = xs[kk * BM + lid.y + i * WGY]; }
      for (var j = 0u; j < TN; j++) { b[j] = ws[kk * BN + lid.x + j * WGX]; }
      if (NORM) { for (var i = 0u; i < TM; i++) { ss[i] = fma(a[i], a[i], ss[i]); } }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) {
          acc[i * MAX_T + j] = fma(a[i], b[j], acc[i * MAX_T + j]);
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < TM; i++) {
    let m = m0 + lid.y + i * WGY;
    if (m >= M) { break; }
    var scale = 1.0;
    if (NORM) { scale = 1.0 / sqrt(ss[i] / f32(K) + params.eps); }
    for (var j = 0u; j < TN; j++) {
      let n = n0 + lid.x + j * WGX;
      if (n >= N) { break; }
      var v = acc[i * MAX_T + j] * scale;
      if (params.residual != 0u) { v += r[m * N + n]; }
      y[m * N + n] = v;
    }
  }
}

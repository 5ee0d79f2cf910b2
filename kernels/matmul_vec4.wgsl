// Register-blocked matmul with every register named, for decode and small batches:
// y(M, N) = x(M, K) · w(N, K)ᵀ [+ r(M, N)], K % 4 == 0 (x and w read as vec4 along K).
// Bindings: x (M*K) f32; w (N*K) f32, rows are output features (llama2.c order); r (M*N) f32,
//   read only when params.residual != 0; y (M*N) f32; params (same layout as matmul.wgsl).
// Each thread of a WGX×WGY workgroup owns R rows × 4 columns (entry points main_r1, main_r2,
// main_r4, main_r8 for R = 1, 2, 4, 8; R × C with C = 8 or 16 in the mat4x4 entries at the end,
// main_r4c16 .. main_r16c16): rows m0 + i·WGY, columns n0 + j·WGX, so neighbouring threads write
// neighbouring columns. Per vec4 step of K it loads R vec4 of x and 4 of w and accumulates R·4 dot
// products into R vec4 accumulators (the mat4x4 entries: C vec4 of w, R·C products).
// Why named registers rather than arrays indexed in loops (matmul_reg.wgsl): a compiler that does
// not unroll those loops keeps such arrays in memory and indexes them per step. SwiftShader (the
// CPU WebGPU of the test machines) does not, and runs this kernel 3-4x faster than matmul_reg on
// the same tiles; GPU compilers unroll both, so they see the same code.
// With NORM (the fused RMSNorm) each row's product is scaled by 1 / sqrt(mean_k x² + eps): y =
// rmsnorm(x) · wᵀ when the norm's weight is folded into w. Each thread streams all of K for its
// rows, so it sums their squares itself.
// Dispatch: ceil(M/BM)·ceil(N/BN) workgroups numbered linearly (id = wid.x + wid.y·groups_x),
// BM = WGY·R, BN = WGX·4 (WGX·C for the mat4x4 entries).
override WGX: u32 = 16;
override WGY: u32 = 4;
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

@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> r: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

// The thread's first row and column; rows and columns past the edge read the last valid one
// (and are not stored).
struct Block { m0: u32, n0: u32, w0: u32, w1: u32, w2: u32, w3: u32 }

fn locate(wid: vec3<u32>, lid: vec3<u32>, rows: u32) -> Block {
  let tile = wid.x + wid.y * params.groups_x;
  let m0 = (tile / params.tiles_n) * (WGY * rows) + lid.y;
  let n0 = (tile % params.tiles_n) * (WGX * 4u) + lid.x;
  let K4 = params.K / 4u;
  let last = params.N - 1u;
  return Block(m0, n0, min(n0, last) * K4, min(n0 + WGX, last) * K4, min(n0 + 2u * WGX, last) * K4, min(n0 + 3u * WGX, last) * K4);
}

fn xrow(m: u32) -> u32 {
  return min(m, params.M - 1u) * (params.K / 4u);
}

fn scale(ss: f32) -> f32 {
  if (NORM) { return 1.0 / sqrt(ss / f32(params.K) + params.eps); }
  return 1.0;
}

// Stores one row's 4 columns (a row past M is skipped).
fn store_row(b: Block, m: u32, acc: vec4<f32>) {
  if (m >= params.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    let n = b.n0 + j * WGX;
    if (n >= params.N) { return; }
    let o = m * params.N + n;
    var v = acc[j];
    if (params.residual != 0u) { v += r[o]; }
    y[o] = v;
  }
}

// The thread's 4 weight columns at vec4 step k (a struct, not an array: every member named).
struct WCols { c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>, c3: vec4<f32> }

fn wcols(b: Block, k: u32) -> WCols {
  return WCols(w4[b.w0 + k], w4[b.w1 + k], w4[b.w2 + k], w4[b.w3 + k]);
}

// One row's 4 dot products with the thread's columns.
fn dot4(v: vec4<f32>, c: WCols) -> vec4<f32> {
  return vec4<f32>(dot(v, c.c0), dot(v, c.c1), dot(v, c.c2), dot(v, c.c3));
}

@compute @workgroup_size(WGX, WGY)
fn main_r1(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  if (wid.x + wid.y * params.groups_x >= params.tiles) { return; }
  let b = locate(wid, lid, 1u);
  let x0 = xrow(b.m0);
  var a0 = vec4<f32>(0.0);
  var s0 = 0.0;
  for (var k = 0u; k < params.K / 4u; k++) {
    let v0 = x4[x0 + k];
    a0 += dot4(v0, wcols(b, k));
    if (NORM) { s0 += dot(v0, v0); }
  }
  store_row(b, b.m0, a0 * scale(s0));
}

@compute @workgroup_size(WGX, WGY)
fn main_r2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  if (wid.x + wid.y * params.groups_x >= params.tiles) { return; }
  let b = locate(wid, lid, 2u);
  let x0 = xrow(b.m0);
  let x1 = xrow(b.m0 + WGY);
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var s0 = 0.0;
  var s1 = 0.0;
  for (var k = 0u; k < params.K / 4u; k++) {
    let c = wcols(b, k);
    let v0 = x4[x0 + k];
    let v1 = x4[x1 + k];
    a0 += dot4(v0, c);
    a1 += dot4(v1, c);
    if (NORM) {
      s0 += dot(v0, v0);
      s1 += dot(v1, v1);
    }
  }
  store_row(b, b.m0, a0 * scale(s0));
  store_row(b, b.m0 + WGY, a1 * scale(s1));
}

@compute @workgroup_size(WGX, WGY)
fn main_r4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  if (wid.x + wid.y * params.groups_x >= params.tiles) { return; }
  let b = locate(wid, lid, 4u);
  let x0 = xrow(b.m0);
  let x1 = xrow(b.m0 + WGY);
  let x2 = xrow(b.m0 + 2u * WGY);
  let x3 = xrow(b.m0 + 3u * WGY);
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  var ss = vec4<f32>(0.0);
  for (var k = 0u; k < params.K / 4u; k++) {
    let c = wcols(b, k);
    let v0 = x4[x0 + k];
    let v1 = x4[x1 + k];
    let v2 = x4[x2 + k];
    let v3 = x4[x3 + k];
    a0 += dot4(v0, c);
    a1 += dot4(v1, c);
    a2 += dot4(v2, c);
    a3 += dot4(v3, c);
    if (NORM) { ss += vec4<f32>(dot(v0, v0), dot(v1, v1), dot(v2, v2), dot(v3, v3)); }
  }
  store_row(b, b.m0, a0 * scale(ss.x));
  store_row(b, b.m0 + WGY, a1 * scale(ss.y));
  store_row(b, b.m0 + 2u * WGY, a2 * scale(ss.z));
  store_row(b, b.m0 + 3u * WGY, a3 * scale(ss.w));
}

@compute @workgroup_size(WGX, WGY)
fn main_r8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  if (wid.x + wid.y * params.groups_x >= params.tiles) { return; }
  let b = locate(wid, lid, 8u);
  let r0 = xrow(b.m0 + 0u * WGY);
  let r1 = xrow(b.m0 + 1u * WGY);
  let r2 = xrow(b.m0 + 2u * WGY);
  let r3 = xrow(b.m0 + 3u * WGY);
  let r4 = xrow(b.m0 + 4u * WGY);
  let r5 = xrow(b.m0 + 5u * WGY);
  let r6 = xrow(b.m0 + 6u * WGY);
  let r7 = xrow(b.m0 + 7u * WGY);
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  var a4 = vec4<f32>(0.0);
  var a5 = vec4<f32>(0.0);
  var a6 = vec4<f32>(0.0);
  var a7 = vec4<f32>(0.0);
  var ss0 = vec4<f32>(0.0); // rows 0-3's sums of squares (NORM)
  var ss1 = vec4<f32>(0.0); // rows 4-7's
  for (var k = 0u; k < params.K / 4u; k++) {
    let c = wcols(b, k);
    let v0 = x4[r0 + k];
    let v1 = x4[r1 + k];
    let v2 = x4[r2 + k];
    let v3 = x4[r3 + k];
    let v4 = x4[r4 + k];
    let v5 = x4[r5 + k];
    let v6 = x4[r6 + k];
    let v7 = x4[r7 + k];
    a0 += dot4(v0, c);
    a1 += dot4(v1, c);
    a2 += dot4(v2, c);
    a3 += dot4(v3, c);
    a4 += dot4(v4, c);
    a5 += dot4(v5, c);
    a6 += dot4(v6, c);
    a7 += dot4(v7, c);
    if (NORM) {
      ss0 += vec4<f32>(dot(v0, v0), dot(v1, v1), dot(v2, v2), dot(v3, v3));
      ss1 += vec4<f32>(dot(v4, v4), dot(v5, v5), dot(v6, v6), dot(v7, v7));
    }
  }
  store_row(b, b.m0, a0 * scale(ss0.x));
  store_row(b, b.m0 + 1u * WGY, a1 * scale(ss0.y));
  store_row(b, b.m0 + 2u * WGY, a2 * scale(ss0.z));
  store_row(b, b.m0 + 3u * WGY, a3 * scale(ss0.w));
  store_row(b, b.m0 + 4u * WGY, a4 * scale(ss1.x));
  store_row(b, b.m0 + 5u * WGY, a5 * scale(ss1.y));
  store_row(b, b.m0 + 6u * WGY, a6 * scale(ss1.z));
  store_row(b, b.m0 + 7u * WGY, a7 * scale(ss1.w));
}

// ---- Wider blocks: 4x4 register blocks held in mat4x4 accumulators ----
// Entry points main_r{R}c{C} (R rows × C columns a thread, R and C multiples of 4): rows
// m0 + i·WGY, columns n0 + j·WGX as above. Per vec4 step of K a thread loads R vec4 of x and C of
// w and updates R·C dot products, so each value loaded feeds more arithmetic than with 4 columns:
// on SwiftShader every load a thread makes is a separate gather, and the loads, not the
// arithmetic, set the speed (1.5-1.9x over main_r8 at M = 16, measured). A block of 4 rows is
// transposed into X (X[c] = component c of the 4 rows), so X * W is the 4×4 block of dot
// products: (X * W)[j][i] = dot(row i, column j). In the loop over K the matrices are indexed
// by constants only, so their columns stay in registers like the named vec4s above (store_block,
// once a thread, indexes its block with loop variables).

// Offsets into x4 of the thread's 4 rows i0 .. i0+3 (rows past M read the last row).
fn xrows4(m0: u32, i0: u32) -> vec4<u32> {
  return vec4<u32>(xrow(m0 + i0 * WGY), xrow(m0 + (i0 + 1u) * WGY), xrow(m0 + (i0 + 2u) * WGY), xrow(m0 + (i0 + 3u) * WGY));
}

// Offsets into w4 of the thread's 4 columns j0 .. j0+3 (columns past N read the last one).
fn wcols4(n0: u32, j0: u32) -> vec4<u32> {
  let K4 = params.K / 4u;
  let last = params.N - 1u;
  return vec4<u32>(min(n0 + j0 * WGX, last), min(n0 + (j0 + 1u) * WGX, last), min(n0 + (j0 + 2u) * WGX, last), min(n0 + (j0 + 3u) * WGX, last)) * K4;
}

fn xblock(r: vec4<u32>, k: u32) -> mat4x4<f32> {
  return transpose(mat4x4<f32>(x4[r.x + k], x4[r.y + k], x4[r.z + k], x4[r.w + k]));
}

fn wblock(c: vec4<u32>, k: u32) -> mat4x4<f32> {
  return mat4x4<f32>(w4[c.x + k], w4[c.y + k], w4[c.z + k], w4[c.w + k]);
}

// The 4 rows' sums of squares over this step's 4 values of K (X transposed: X[c] spans the rows).
fn sumsq(X: mat4x4<f32>) -> vec4<f32> {
  return X[0] * X[0] + X[1] * X[1] + X[2] * X[2] + X[3] * X[3];
}

fn scale4(ss: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(scale(ss.x), scale(ss.y), scale(ss.z), scale(ss.w));
}

// The thread's first row and column for R rows × C columns.
fn origin(wid: vec3<u32>, lid: vec3<u32>, rows: u32, cols: u32) -> vec2<u32> {
  let tile = wid.x + wid.y * params.groups_x;
  let tiles_n = params.tiles_n;
  return vec2<u32>((tile / tiles_n) * (WGY * rows) + lid.y, (tile % tiles_n) * (WGX * cols) + lid.x);
}

// Stores block a (a[j][i]: row i0+i, column j0+j), row i scaled by s[i]; rows past M and columns
// past N are skipped.
fn store_block(o: vec2<u32>, i0: u32, j0: u32, a: mat4x4<f32>, s: vec4<f32>) {
  for (var j = 0u; j < 4u; j++) {
    let n = o.y + (j0 + j) * WGX;
    if (n >= params.N) { return; }
    for (var i = 0u; i < 4u; i++) {
      let m = o.x + (i0 + i) * WGY;
      if (m >= params.M) { break; }
      let at = m * params.N + n;
      var v = a[j][i] * s[i];
      if (params.residual != 0u) { v += r[at]; }
      y[at] = v;
    }
  }
}

@compute @workgroup_size(WGX, WGY)
fn main_r4c16(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  if (wid.x + wid.y * params.groups_x >= params.tiles) { return; }
  let o = origin(wid, lid, 4u, 16u);
  let r0 = xrows4(o.x, 0u);
  let c0 = wcols4(o.y, 0u);
  let c1 = wcols4(o.y, 4u);
  let c2 = wcols4(o.y, 8u);
  let c3 = wcols4(o.y, 12u);
  var a00 = mat4x4<f32>();
  var a01 = mat4x4<f32>();
  var a02 = mat4x4<f32>();
  var a03 = mat4x4<f32>();
  var s0 = vec4<f32>(0.0);
  for (var k = 0u; k < params.K / 4u; k++) {
    let X0 = xblock(r0, k);
    a00 += X0 * wblock(c0, k);
    a01 += X0 * wblock(c1, k);
    a02 += X0 * wblock(c2, k);
    a03 += X0 * wblock(c3, k);
    if (NORM) { s0 += sumsq(X0); }
  }
  let t0 = scale4(s0);
  store_block(o, 0u, 0u, a00, t0);
  store_block(o, 0u, 4u, a01, t0);
  store_block(o, 0u, 8u, a02, t0);
  store_block(o, 0u, 12u, a03, t0);
}

@compute @workgroup_size(WGX, WGY)
fn main_r8c8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  if (wid.x + wid.y * params.groups_x >= params.tiles) { return; }
  let o = origin(wid, lid, 8u, 8u);
  let r0 = xrows4(o.x, 0u);
  let r1 = xrows4(o.x, 4u);
  let c0 = wcols4(o.y, 0u);
  let c1 = wcols4(o.y, 4u);
  var a00 = mat4x4<f32>();
  var a01 = mat4x4<f32>();
  var a10 = mat4x4<f32>();
  var a11 = mat4x4<f32>();
  var s0 = vec4<f32>(0.0);
  var s1 = vec4<f32>(0.0);
  for (var k = 0u; k < params.K / 4u; k++) {
    let X0 = xblock(r0, k);
    let X1 = xblock(r1, k);
    let W0 = wblock(c0, k);
    let W1 = wblock(c1, k);
    a00 += X0 * W0;
    a01 += X0 * W1;
    a10 += X1 * W0;
    a11 += X1 * W1;
    if (NORM) {
      s0 += sumsq(X0);
      s1 += sumsq(X1);
    }
  }
  let t0 = scale4(s0);
  let t1 = scale4(s1);
  store_block(o, 0u, 0u, a00, t0);
  store_block(o, 0u, 4u, a01, t0);
  store_block(o, 4u, 0u, a10, t1);
  store_block(o, 4u, 4u, a11, t1);
}

@compute @workgroup_size(WGX, WGY)
fn main_r8c16(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  if (wid.x + wid.y * params.groups_x >= params.tiles) { return; }
  let o = origin(wid, lid, 8u, 16u);
  let r0 = xrows4(o.x, 0u);
  let r1 = xrows4(o.x, 4u);
  let c0 = wcols4(o.y, 0u);
  let c1 = wcols4(o.y, 4u);
  let c2 = wcols4(o.y, 8u);
  let c3 = wcols4(o.y, 12u);
  var a00 = mat4x4<f32>();
  var a01 = mat4x4<f32>();
  var a02 = mat4x4<f32>();
  var a03 = mat4x4<f32>();
  var a10 = mat4x4<f32>();
  var a11 = mat4x4<f32>();
  var a12 = mat4x4<f32>();
  var a13 = mat4x4<f32>();
  var s0 = vec4<f32>(0.0);
  var s1 = vec4<f32>(0.0);
  for (var k = 0u; k < params.K / 4u; k++) {
    let X0 = xblock(r0, k);
    let X1 = xblock(r1, k);
    let W0 = wblock(c0, k);
    let W1 = wblock(c1, k);
    let W2 = wblock(c2, k);
    let W3 = wblock(c3, k);
    a00 += X0 * W0;
    a01 += X0 * W1;
    a02 += X0 * W2;
    a03 += X0 * W3;
    a10 += X1 * W0;
    a11 += X1 * W1;
    a12 += X1 * W2;
    a13 += X1 * W3;
    if (NORM) {
      s0 += sumsq(X0);
      s1 += sumsq(X1);
    }
  }
  let t0 = scale4(s0);
  let t1 = scale4(s1);
  store_block(o, 0u, 0u, a00, t0);
  store_block(o, 0u, 4u, a01, t0);
  store_block(o, 0u, 8u, a02, t0);
  store_block(o, 0u, 12u, a03, t0);
  store_block(o, 4u, 0u, a10, t1);
  store_block(o, 4u, 4u, a11, t1);
  store_block(o, 4u, 8u, a12, t1);
  store_block(o, 4u, 12u, a13, t1);
}

@compute @workgroup_size(WGX, WGY)
fn main_r16c8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  if (wid.x + wid.y * params.groups_x >= params.tiles) { return; }
  let o = origin(wid, lid, 16u, 8u);
  let r0 = xrows4(o.x, 0u);
  let r1 = xrows4(o.x, 4u);
  let r2 = xrows4(o.x, 8u);
  let r3 = xrows4(o.x, 12u);
  let c0 = wcols4(o.y, 0u);
  let c1 = wcols4(o.y, 4u);
  var a00 = mat4x4<f32>();
  var a01 = mat4x4<f32>();
  var a10 = mat4x4<f32>();
  var a11 = mat4x4<f32>();
  var a20 = mat4x4<f32>();
  var a21 = mat4x4<f32>();
  var a30 = mat4x4<f32>();
  var a31 = mat4x4<f32>();
  var s0 = vec4<f32>(0.0);
  var s1 = vec4<f32>(0.0);
  var s2 = vec4<f32>(0.0);
  var s3 = vec4<f32>(0.0);
  for (var k = 0u; k < params.K / 4u; k++) {
    let X0 = xblock(r0, k);
    let X1 = xblock(r1, k);
    let X2 = xblock(r2, k);
    let X3 = xblock(r3, k);
    let W0 = wblock(c0, k);
    let W1 = wblock(c1, k);
    a00 += X0 * W0;
    a01 += X0 * W1;
    a10 += X1 * W0;
    a11 += X1 * W1;
    a20 += X2 * W0;
    a21 += X2 * W1;
    a30 += X3 * W0;
    a31 += X3 * W1;
    if (NORM) {
      s0 += sumsq(X0);
      s1 += sumsq(X1);
      s2 += sumsq(X2);
      s3 += sumsq(X3);
    }
  }
  let t0 = scale4(s0);
  let t1 = scale4(s1);
  let t2 = scale4(s2);
  let t3 = scale4(s3);
  store_block(o, 0u, 0u, a00, t0);
  store_block(o, 0u, 4u, a01, t0);
  store_block(o, 4u, 0u, a10, t1);
  store_block(o, 4u, 4u, a11, t1);
  store_block(o, 8u, 0u, a20, t2);
  store_block(o, 8u, 4u, a21, t2);
  store_block(o, 12u, 0u, a30, t3);
  store_block(o, 12u, 4u, a31, t3);
}

@compute @workgroup_size(WGX, WGY)
fn main_r16c16(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  if (wid.x + wid.y * params.groups_x >= params.tiles) { return; }
  let o = origin(wid, lid, 16u, 16u);
  let r0 = xrows4(o.x, 0u);
  let r1 = xrows4(o.x, 4u);
  let r2 = xrows4(o.x, 8u);
  let r3 = xrows4(o.x, 12u);
  let c0 = wcols4(o.y, 0u);
  let c1 = wcols4(o.y, 4u);
  let c2 = wcols4(o.y, 8u);
  let c3 = wcols4(o.y, 12u);
  var a00 = mat4x4<f32>();
  var a01 = mat4x4<f32>();
  var a02 = mat4x4<f32>();
  var a03 = mat4x4<f32>();
  var a10 = mat4x4<f32>();
  var a11 = mat4x4<f32>();
  var a12 = mat4x4<f32>();
  var a13 = mat4x4<f32>();
  var a20 = mat4x4<f32>();
  var a21 = mat4x4<f32>();
  var a22 = mat4x4<f32>();
  var a23 = mat4x4<f32>();
  var a30 = mat4x4<f32>();
  var a31 = mat4x4<f32>();
  var a32 = mat4x4<f32>();
  var a33 = mat4x4<f32>();
  var s0 = vec4<f32>(0.0);
  var s1 = vec4<f32>(0.0);
  var s2 = vec4<f32>(0.0);
  var s3 = vec4<f32>(0.0);
  for (var k = 0u; k < params.K / 4u; k++) {
    let X0 = xblock(r0, k);
    let X1 = xblock(r1, k);
    let X2 = xblock(r2, k);
    let X3 = xblock(r3, k);
    let W0 = wblock(c0, k);
    let W1 = wblock(c1, k);
    let W2 = wblock(c2, k);
    let W3 = wblock(c3, k);
    a00 += X0 * W0;
    a01 += X0 * W1;
    a02 += X0 * W2;
    a03 += X0 * W3;
    a10 += X1 * W0;
    a11 += X1 * W1;
    a12 += X1 * W2;
    a13 += X1 * W3;
    a20 += X2 * W0;
    a21 += X2 * W1;
    a22 += X2 * W2;
    a23 += X2 * W3;
    a30 += X3 * W0;
    a31 += X3 * W1;
    a32 += X3 * W2;
    a33 += X3 * W3;
    if (NORM) {
      s0 += sumsq(X0);
      s1 += sumsq(X1);
      s2 += sumsq(X2);
      s3 += sumsq(X3);
    }
  }
  let t0 = scale4(s0);
  let t1 = scale4(s1);
  let t2 = scale4(s2);
  let t3 = scale4(s3);
  store_block(o, 0u, 0u, a00, t0);
  store_block(o, 0u, 4u, a01, t0);
  store_block(o, 0u, 8u, a02, t0);
  store_block(o, 0u, 12u, a03, t0);
  store_block(o, 4u, 0u, a10, t1);
  store_block(o, 4u, 4u, a11, t1);
  store_block(o, 4u, 8u, a12, t1);
  store_block(o, 4u, 12u, a13, t1);
  store_block(o, 8u, 0u, a20, t2);
  store_block(o, 8u, 4u, a21, t2);
  store_block(o, 8u, 8u, a22, t2);
  store_block(o, 8u, 12u, a23, t2);
  store_block(o, 12u, 0u, a30, t3);
  store_block(o, 12u, 4u, a31, t3);
  store_block(o, 12u, 8u, a32, t3);
  store_block(o, 12u, 12u, a33, t3);
}

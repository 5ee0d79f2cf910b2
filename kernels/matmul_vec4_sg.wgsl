// Subgroup entry points of the named-register matmul: compiled as `enable subgroups;`, then
// matmul_vec4.wgsl, then this file (kernel-sources.ts, kernel "matmul_vec4_sg"), and only on a
// device with the 'subgroups' feature. The 8x8, 8x16 and 16x16 tiles of main_r{R}c{C} (R rows × C
// columns a thread, 4x4 blocks in mat4x4 accumulators; the smaller ones load too little x for the
// sharing to count), with WGY = 1: every thread of a workgroup then works on the same rows,
// so the 4 lanes of a quad (subgroup lanes 4i .. 4i+3, in one workgroup since subgroups never span
// two, and all active: a WebGPU subgroup has at least 4 lanes and the workgroup is a multiple of 4)
// need the same x and share its loads: at each vec4 step of K, lane q loads row q of every 4-row
// block and reads the other three rows from its neighbours with subgroupShuffle. A thread loads
// R/4 vec4 of x a step instead of R, and its C vec4 of w as before: for 16 × 16, 20 loads instead
// of 32 for the same 1,024 products. Where a load costs more than a shuffle (SwiftShader: every
// load a lane makes is a gather; a GPU: fewer requests to L1) that is the gain.

// The 4 rows of a block at vec4 step k, transposed as xblock() returns them: this lane loads row
// (its quad lane) at offset `mine`, and `quad` is the subgroup lane of its quad's first lane.
fn xblock_sg(mine: u32, quad: u32, k: u32) -> mat4x4<f32> {
  let v = x4[mine + k];
  return transpose(mat4x4<f32>(subgroupShuffle(v, quad), subgroupShuffle(v, quad + 1u), subgroupShuffle(v, quad + 2u), subgroupShuffle(v, quad + 3u)));
}

// Offset into x4 of the row this lane loads for the 4-row block starting at row i0 of its tile.
fn xmine(m0: u32, i0: u32, lane: u32) -> u32 {
  return xrow(m0 + i0 + (lane & 3u));
}

@compute @workgroup_size(WGX, 1)
fn main_sg_r8c8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  if (wid.x + wid.y * params.groups_x >= params.tiles) { return; }
  let o = origin(wid, lid, 8u, 8u);
  let quad = lane & ~3u;
  let x0 = xmine(o.x, 0u, lane);
  let x1 = xmine(o.x, 4u, lane);
  let c0 = wcols4(o.y, 0u);
  let c1 = wcols4(o.y, 4u);
  var a00 = mat4x4<f32>();
  var a01 = mat4x4<f32>();
  var a10 = mat4x4<f32>();
  var a11 = mat4x4<f32>();
  var s0 = vec4<f32>(0.0);
  var s1 = vec4<f32>(0.0);
  for (var k = 0u; k < params.K / 4u; k++) {
    let X0 = xblock_sg(x0, quad, k);
    let X1 = xblock_sg(x1, quad, k);
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

@compute @workgroup_size(WGX, 1)
fn main_sg_r8c16(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  if (wid.x + wid.y * params.groups_x >= params.tiles) { return; }
  let o = origin(wid, lid, 8u, 16u);
  let quad = lane & ~3u;
  let x0 = xmine(o.x, 0u, lane);
  let x1 = xmine(o.x, 4u, lane);
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
    let X0 = xblock_sg(x0, quad, k);
    let X1 = xblock_sg(x1, quad, k);
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

@compute @workgroup_size(WGX, 1)
fn main_sg_r16c16(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  if (wid.x + wid.y * params.groups_x >= params.tiles) { return; }
  let o = origin(wid, lid, 16u, 16u);
  let quad = lane & ~3u;
  let x0 = xmine(o.x, 0u, lane);
  let x1 = xmine(o.x, 4u, lane);
  let x2 = xmine(o.x, 8u, lane);
  let x3 = xmine(o.x, 12u, lane);
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
    let X0 = xblock_sg(x0, quad, k);
    let X1 = xblock_sg(x1, quad, k);
    let X2 = xblock_sg(x2, quad, k);
    let X3 = xblock_sg(x3, quad, k);
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

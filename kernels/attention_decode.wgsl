// Paged decode attention: one query row per token, each token at its own (slot, pos), attending
// to positions 0..pos of its slot (causal), with an online softmax over key tiles.
//   out[t, h, :] = softmax_p(scale · q[t, h, :] · K[slot, p, kvh, :]) · V[slot, p, kvh, :],
//   p in [0, pos], kvh = h / group (GQA), K/V read through the block table.
// Bindings: q, out: (T, nHeads·HD) f32; k_cache, v_cache: (numBlocks, blockSize, nKvHeads, HD)
//   f32; block_table: (maxSeqs, maxBlocksPerSeq) u32; tok_meta: (T) vec2<u32> = (slot, pos);
//   params (uniform). Only tokens [token_offset, token_offset + n_tokens) are computed.
// Workgroup (h, t): WG threads. Keys go in tiles of WG, one key per thread for the score; the
// tile max and sum are workgroup reductions; for P·V the threads form WG/HD groups of HD lanes
// (lane = head dim), each group taking every (WG/HD)-th key of the tile. Needs HD <= WG.
// Dispatch: (nHeads, n_tokens) workgroups.
override WG: u32 = 64; // threads per workgroup = keys per tile; a power of two >= HD
override HD: u32 = 64; // head dim

struct Params {
  token_offset: u32,
  n_heads: u32,
  n_kv_heads: u32,
  group: u32, // nHeads / nKvHeads
  block_size: u32,
  max_blocks: u32,
  scale: f32, // 1 / sqrt(HD)
  n_tokens: u32, // tokens computed from token_offset (main_serial's bound)
  q_stride: u32, // floats from one row of q to the next (n_heads * HD when packed)
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k_cache: array<f32>;
@group(0) @binding(2) var<storage, read> v_cache: array<f32>;
@group(0) @binding(3) var<storage, read> block_table: array<u32>;
@group(0) @binding(4) var<storage, read> tok_meta: array<vec2<u32>>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

const NEG: f32 = -3.0e38; // stands in for -inf (WGSL need not support infinities)

var<workgroup> q_sh: array<f32, HD>;
var<workgroup> p_sh: array<f32, WG>;
var<workgroup> red: array<f32, WG>;

/** Float offset of (slot, pos, kvh, 0) in a paged cache. */
fn cache_offset(slot: u32, pos: u32, kvh: u32) -> u32 {
  let block = block_table[slot * params.max_blocks + pos / params.block_size];
  return ((block * params.block_size + pos % params.block_size) * params.n_kv_heads + kvh) * HD;
}

fn reduce_max(lid: u32, x: f32) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn reduce_sum(lid: u32, x: f32) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t = params.token_offset + wid.y;
  let tm = tok_meta[t];
  let slot = tm.x;
  let n_keys = tm.y + 1u;
  let kvh = h / params.group;
  let qo = (t * params.n_heads + h) * HD;
  let qi = t * params.q_stride + h * HD;
  for (var d = lid; d < HD; d += WG) { q_sh[d] = q[qi + d]; }
  workgroupBarrier();

  let groups = WG / HD; // P·V: key groups of HD lanes
  let g = lid / HD;
  let d = lid % HD;
  var m = NEG; // running max
  var l = 0.0; // running sum of exp(score - m)
  var acc = 0.0; // this lane's partial P·V for dim d over its keys
  let n_tiles = (n_keys + WG - 1u) / WG;
  for (var tile = 0u; tile < n_tiles; tile++) {
    let k0 = tile * WG;
    let j = k0 + lid;
    var s = NEG;
    if (j < n_keys) {
      let ko = cache_offset(slot, j, kvh);
      var dot = 0.0;
      for (var e = 0u; e < HD; e++) { dot += q_sh[e] * k_cache[ko + e]; }
      s = dot * params.scale;
    }
    let m_new = max(m, reduce_max(lid, s)); // finite: key k0 is always valid
    let alpha = exp(m - m_new);
    var p = 0.0;
    if (j < n_keys) { p = exp(s - m_new); }
    p_sh[lid] = p;
    l = l * alpha + reduce_sum(lid, p); // its barriers also publish p_sh
    m = m_new;
    if (g < groups) {
      var a = acc * alpha;
      let tile_keys = min(WG, n_keys - k0);
      for (var jj = g; jj < tile_keys; jj += groups) {
        a += p_sh[jj] * v_cache[cache_offset(slot, k0 + jj, kvh) + d];
      }
      acc = a;
    }
    workgroupBarrier(); // p_sh is rewritten by the next tile
  }

  red[lid] = select(0.0, acc, g < groups);
  workgroupBarrier();
  if (lid < HD) {
    var o = 0.0;
    for (var gg = 0u; gg < groups; gg++) { o += red[gg * HD + lid]; }
    out[qo + lid] = o / l;
  }
}

// Variant main_serial (short contexts): one thread per (token, head) walks keys 0..pos with a
// running (online) softmax and keeps the output row in registers: no workgroup memory and no
// barriers. Parallelism comes from tokens × heads, so it suits batched decode with contexts of a
// few hundred positions; long contexts at small batch want the tiled `main` above.
// Needs HD <= SERIAL_MAX_HD. Dispatch: ceil(n_tokens · n_heads / SWG) workgroups along x
// (wrapped into y past 65535: each y row covers nwg.x · SWG threads).
override SWG: u32 = 64;
const SERIAL_MAX_HD = 64u;

// One serial thread's (token, head): its slot, keys, KV head, and output / query offsets (floats).
struct SerialWork { valid: bool, slot: u32, n_keys: u32, kvh: u32, qo: u32, qi: u32 }

fn serial_work(gid: vec3<u32>, nwg: vec3<u32>) -> SerialWork {
  let i = gid.x + gid.y * nwg.x * SWG;
  if (i / params.n_heads >= params.n_tokens) { return SerialWork(false, 0u, 0u, 0u, 0u, 0u); }
  let t = params.token_offset + i / params.n_heads;
  let h = i % params.n_heads;
  let tm = tok_meta[t];
  return SerialWork(true, tm.x, tm.y + 1u, h / params.group, (t * params.n_heads + h) * HD, t * params.q_stride + h * HD);
}

@compute @workgroup_size(SWG)
fn main_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = serial_work(gid, nwg);
  if (!w.valid) { return; }
  var qv: array<f32, SERIAL_MAX_HD>;
  var acc: array<f32, SERIAL_MAX_HD>;
  for (var d = 0u; d < HD; d++) { qv[d] = q[w.qi + d] * params.scale; }
  var m = NEG;
  var l = 0.0;
  for (var j = 0u; j < w.n_keys; j++) {
    let ko = cache_offset(w.slot, j, w.kvh);
    var s = 0.0;
    for (var d = 0u; d < HD; d++) { s = fma(qv[d], k_cache[ko + d], s); }
    let m_new = max(m, s);
    let corr = exp(m - m_new);
    let p = exp(s - m_new);
    l = l * corr + p;
    for (var d = 0u; d < HD; d++) { acc[d] = fma(p, v_cache[ko + d], acc[d] * corr); }
    m = m_new;
  }
  let inv = 1.0 / l;
  for (var d = 0u; d < HD; d++) { out[w.qo + d] = acc[d] * inv; }
}

// Variant main_serial_vec4: main_serial with the head's query and output in named vec4 registers
// (q0..q15, a0..a15; those past HD/4 are dead code once HD is fixed), for HD % 4 == 0 and a q
// row stride that keeps rows vec4-aligned. A compiler that does not unroll main_serial's loops
// over HD keeps its arrays in memory, indexed per key (SwiftShader does); here nothing is
// indexed. Same dispatch as main_serial.
@group(0) @binding(0) var<storage, read> q_v4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k_v4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v_v4: array<vec4<f32>>;

@compute @workgroup_size(SWG)
fn main_serial_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = serial_work(gid, nwg);
  if (!w.valid) { return; }
  let qi = w.qi / 4u;
  let H4 = HD / 4u;
  let sc = params.scale;
  var q0 = vec4<f32>(0.0);
  var q1 = vec4<f32>(0.0);
  var q2 = vec4<f32>(0.0);
  var q3 = vec4<f32>(0.0);
  var q4 = vec4<f32>(0.0);
  var q5 = vec4<f32>(0.0);
  var q6 = vec4<f32>(0.0);
  var q7 = vec4<f32>(0.0);
  var q8 = vec4<f32>(0.0);
  var q9 = vec4<f32>(0.0);
  var q10 = vec4<f32>(0.0);
  var q11 = vec4<f32>(0.0);
  var q12 = vec4<f32>(0.0);
  var q13 = vec4<f32>(0.0);
  var q14 = vec4<f32>(0.0);
  var q15 = vec4<f32>(0.0);
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  var a4 = vec4<f32>(0.0);
  var a5 = vec4<f32>(0.0);
  var a6 = vec4<f32>(0.0);
  var a7 = vec4<f32>(0.0);
  var a8 = vec4<f32>(0.0);
  var a9 = vec4<f32>(0.0);
  var a10 = vec4<f32>(0.0);
  var a11 = vec4<f32>(0.0);
  var a12 = vec4<f32>(0.0);
  var a13 = vec4<f32>(0.0);
  var a14 = vec4<f32>(0.0);
  var a15 = vec4<f32>(0.0);
  q0 = q_v4[qi] * sc;
  if (H4 > 1u) { q1 = q_v4[qi + 1u] * sc; }
  if (H4 > 2u) { q2 = q_v4[qi + 2u] * sc; }
  if (H4 > 3u) { q3 = q_v4[qi + 3u] * sc; }
  if (H4 > 4u) { q4 = q_v4[qi + 4u] * sc; }
  if (H4 > 5u) { q5 = q_v4[qi + 5u] * sc; }
  if (H4 > 6u) { q6 = q_v4[qi + 6u] * sc; }
  if (H4 > 7u) { q7 = q_v4[qi + 7u] * sc; }
  if (H4 > 8u) { q8 = q_v4[qi + 8u] * sc; }
  if (H4 > 9u) { q9 = q_v4[qi + 9u] * sc; }
  if (H4 > 10u) { q10 = q_v4[qi + 10u] * sc; }
  if (H4 > 11u) { q11 = q_v4[qi + 11u] * sc; }
  if (H4 > 12u) { q12 = q_v4[qi + 12u] * sc; }
  if (H4 > 13u) { q13 = q_v4[qi + 13u] * sc; }
  if (H4 > 14u) { q14 = q_v4[qi + 14u] * sc; }
  if (H4 > 15u) { q15 = q_v4[qi + 15u] * sc; }
  var m = NEG;
  var l = 0.0;
  for (var j = 0u; j < w.n_keys; j++) {
    let ko = cache_offset(w.slot, j, w.kvh) / 4u;
    var s = dot(q0, k_v4[ko]);
    if (H4 > 1u) { s += dot(q1, k_v4[ko + 1u]); }
    if (H4 > 2u) { s += dot(q2, k_v4[ko + 2u]); }
    if (H4 > 3u) { s += dot(q3, k_v4[ko + 3u]); }
    if (H4 > 4u) { s += dot(q4, k_v4[ko + 4u]); }
    if (H4 > 5u) { s += dot(q5, k_v4[ko + 5u]); }
    if (H4 > 6u) { s += dot(q6, k_v4[ko + 6u]); }
    if (H4 > 7u) { s += dot(q7, k_v4[ko + 7u]); }
    if (H4 > 8u) { s += dot(q8, k_v4[ko + 8u]); }
    if (H4 > 9u) { s += dot(q9, k_v4[ko + 9u]); }
    if (H4 > 10u) { s += dot(q10, k_v4[ko + 10u]); }
    if (H4 > 11u) { s += dot(q11, k_v4[ko + 11u]); }
    if (H4 > 12u) { s += dot(q12, k_v4[ko + 12u]); }
    if (H4 > 13u) { s += dot(q13, k_v4[ko + 13u]); }
    if (H4 > 14u) { s += dot(q14, k_v4[ko + 14u]); }
    if (H4 > 15u) { s += dot(q15, k_v4[ko + 15u]); }
    let m_new = max(m, s);
    let corr = exp(m - m_new);
    let p = exp(s - m_new);
    l = l * corr + p;
    a0 = fma(vec4<f32>(p), v_v4[ko], a0 * corr);
    if (H4 > 1u) { a1 = fma(vec4<f32>(p), v_v4[ko + 1u], a1 * corr); }
    if (H4 > 2u) { a2 = fma(vec4<f32>(p), v_v4[ko + 2u], a2 * corr); }
    if (H4 > 3u) { a3 = fma(vec4<f32>(p), v_v4[ko + 3u], a3 * corr); }
    if (H4 > 4u) { a4 = fma(vec4<f32>(p), v_v4[ko + 4u], a4 * corr); }
    if (H4 > 5u) { a5 = fma(vec4<f32>(p), v_v4[ko + 5u], a5 * corr); }
    if (H4 > 6u) { a6 = fma(vec4<f32>(p), v_v4[ko + 6u], a6 * corr); }
    if (H4 > 7u) { a7 = fma(vec4<f32>(p), v_v4[ko + 7u], a7 * corr); }
    if (H4 > 8u) { a8 = fma(vec4<f32>(p), v_v4[ko + 8u], a8 * corr); }
    if (H4 > 9u) { a9 = fma(vec4<f32>(p), v_v4[ko + 9u], a9 * corr); }
    if (H4 > 10u) { a10 = fma(vec4<f32>(p), v_v4[ko + 10u], a10 * corr); }
    if (H4 > 11u) { a11 = fma(vec4<f32>(p), v_v4[ko + 11u], a11 * corr); }
    if (H4 > 12u) { a12 = fma(vec4<f32>(p), v_v4[ko + 12u], a12 * corr); }
    if (H4 > 13u) { a13 = fma(vec4<f32>(p), v_v4[ko + 13u], a13 * corr); }
    if (H4 > 14u) { a14 = fma(vec4<f32>(p), v_v4[ko + 14u], a14 * corr); }
    if (H4 > 15u) { a15 = fma(vec4<f32>(p), v_v4[ko + 15u], a15 * corr); }
    m = m_new;
  }
  let inv = 1.0 / l;
  store4(w.qo, a0 * inv);
  if (H4 > 1u) { store4(w.qo + 4u, a1 * inv); }
  if (H4 > 2u) { store4(w.qo + 8u, a2 * inv); }
  if (H4 > 3u) { store4(w.qo + 12u, a3 * inv); }
  if (H4 > 4u) { store4(w.qo + 16u, a4 * inv); }
  if (H4 > 5u) { store4(w.qo + 20u, a5 * inv); }
  if (H4 > 6u) { store4(w.qo + 24u, a6 * inv); }
  if (H4 > 7u) { store4(w.qo + 28u, a7 * inv); }
  if (H4 > 8u) { store4(w.qo + 32u, a8 * inv); }
  if (H4 > 9u) { store4(w.qo + 36u, a9 * inv); }
  if (H4 > 10u) { store4(w.qo + 40u, a10 * inv); }
  if (H4 > 11u) { store4(w.qo + 44u, a11 * inv); }
  if (H4 > 12u) { store4(w.qo + 48u, a12 * inv); }
  if (H4 > 13u) { store4(w.qo + 52u, a13 * inv); }
  if (H4 > 14u) { store4(w.qo + 56u, a14 * inv); }
  if (H4 > 15u) { store4(w.qo + 60u, a15 * inv); }
}

fn store4(o: u32, v: vec4<f32>) {
  out[o] = v.x;
  out[o + 1u] = v.y;
  out[o + 2u] = v.z;
  out[o + 3u] = v.w;
}

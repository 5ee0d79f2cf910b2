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

@compute @workgroup_size(SWG)
fn main_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * SWG;
  let t = params.token_offset + i / params.n_heads;
  let h = i % params.n_heads;
  if (i / params.n_heads >= params.n_tokens) { return; }
  let tm = tok_meta[t];
  let slot = tm.x;
  let n_keys = tm.y + 1u;
  let kvh = h / params.group;
  let qo = (t * params.n_heads + h) * HD;
  let qi = t * params.q_stride + h * HD;
  var qv: array<f32, SERIAL_MAX_HD>;
  var acc: array<f32, SERIAL_MAX_HD>;
  for (var d = 0u; d < HD; d++) { qv[d] = q[qi + d] * params.scale; }
  var m = NEG;
  var l = 0.0;
  for (var j = 0u; j < n_keys; j++) {
    let ko = cache_offset(slot, j, kvh);
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
  for (var d = 0u; d < HD; d++) { out[qo + d] = acc[d] * inv; }
}

// Paged causal attention for prefill chunks, flash-style (online softmax over key tiles).
// A chunk is n consecutive query tokens of one sequence: chunks[c] = (tok_start, n, slot,
// start_pos) means token rows tok_start + i (i < n) sit at position start_pos + i of `slot`
// (their K/V, and those of positions 0..start_pos-1, already in the cache). Each query attends
// to positions 0..its own position:
//   out[t, h, :] = softmax_p(scale · q[t, h, :] · K[slot, p, kvh, :]) · V[slot, p, kvh, :],
//   kvh = h / group (GQA).
// Bindings: q, out: (T, nHeads·HD) f32; k_cache, v_cache: (numBlocks, blockSize, nKvHeads, HD)
//   f32; block_table: (maxSeqs, maxBlocksPerSeq) u32; chunks: (nChunks) vec4<u32>; params.
// Workgroup (qt, h, c) handles queries qt·BQ .. qt·BQ+BQ-1 of chunk c, head h: it keeps the
// scaled Q tile, the output tile and each row's running max and sum in workgroup memory, and
// walks K/V tiles of BK keys up to the tile's last query position.
// Dispatch: (ceil(maxChunkLen / BQ), nHeads, nChunks); tiles past a chunk's end exit at once.
override WG: u32 = 64; // threads per workgroup
override HD: u32 = 32; // head dim
override BQ: u32 = 16; // queries per workgroup
override BK: u32 = 16; // keys per tile

struct Params {
  n_heads: u32,
  n_kv_heads: u32,
  group: u32, // nHeads / nKvHeads
  block_size: u32,
  max_blocks: u32,
  scale: f32, // 1 / sqrt(HD)
  q_stride: u32, // floats from one row of q to the next (n_heads * HD when packed)
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k_cache: array<f32>;
@group(0) @binding(2) var<storage, read> v_cache: array<f32>;
@group(0) @binding(3) var<storage, read> block_table: array<u32>;
@group(0) @binding(4) var<storage, read> chunks: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

const NEG: f32 = -3.0e38; // stands in for -inf (WGSL need not support infinities)

var<workgroup> q_sh: array<f32, BQ * HD>; // scaled queries (BQ, HD)
var<workgroup> o_sh: array<f32, BQ * HD>; // unnormalized outputs (BQ, HD)
var<workgroup> k_sh: array<f32, BK * HD>; // (BK, HD)
var<workgroup> v_sh: array<f32, BK * HD>; // (BK, HD)
var<workgroup> s_sh: array<f32, BQ * BK>; // scores, then probabilities (BQ, BK)
var<workgroup> m_sh: array<f32, BQ>; // running max per query
var<workgroup> l_sh: array<f32, BQ>; // running sum per query
var<workgroup> a_sh: array<f32, BQ>; // this tile's rescale factor per query

/** Float offset of (slot, pos, kvh, 0) in a paged cache. */
fn cache_offset(slot: u32, pos: u32, kvh: u32) -> u32 {
  let block = block_table[slot * params.max_blocks + pos / params.block_size];
  return ((block * params.block_size + pos % params.block_size) * params.n_kv_heads + kvh) * HD;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let chunk = chunks[wid.z];
  let tok_start = chunk.x;
  let n = chunk.y;
  let slot = chunk.z;
  let start_pos = chunk.w;
  let q0 = wid.x * BQ; // first query of this tile, relative to the chunk
  if (q0 >= n) { return; }
  let h = wid.y;
  let kvh = h / params.group;
  let nq = min(BQ, n - q0);
  let row_stride = params.n_heads * HD;

  for (var e = lid; e < BQ * HD; e += WG) {
    let qi = e / HD;
    var x = 0.0;
    if (qi < nq) { x = q[(tok_start + q0 + qi) * params.q_stride + h * HD + e % HD] * params.scale; }
    q_sh[e] = x;
    o_sh[e] = 0.0;
  }
  for (var i = lid; i < BQ; i += WG) {
    m_sh[i] = NEG;
    l_sh[i] = 0.0;
  }

  let n_keys = start_pos + q0 + nq; // keys 0 .. position of the tile's last query
  let n_tiles = (n_keys + BK - 1u) / BK;
  for (var tile = 0u; tile < n_tiles; tile++) {
    let k0 = tile * BK;
    workgroupBarrier(); // previous tile's readers of k_sh, v_sh, s_sh are done
    for (var e = lid; e < BK * HD; e += WG) {
      let kp = k0 + e / HD;
      var kx = 0.0;
      var vx = 0.0;
      if (kp < n_keys) {
        let o = cache_offset(slot, kp, kvh) + e % HD;
        kx = k_cache[o];
        vx = v_cache[o];
      }
      k_sh[e] = kx;
      v_sh[e] = vx;
    }
    workgroupBarrier();
    for (var e = lid; e < BQ * BK; e += WG) {
      let qi = e / BK;
      let kj = e % BK;
      var s = NEG;
      if (qi < nq && k0 + kj <= start_pos + q0 + qi) {
        var dot = 0.0;
        for (var x = 0u; x < HD; x++) { dot += q_sh[qi * HD + x] * k_sh[kj * HD + x]; }
        s = dot;
      }
      s_sh[e] = s;
    }
    workgroupBarrier();
    for (var qi = lid; qi < BQ; qi += WG) {
      let m_old = m_sh[qi];
      var m_new = m_old;
      for (var kj = 0u; kj < BK; kj++) { m_new = max(m_new, s_sh[qi * BK + kj]); }
      var sum = 0.0;
      for (var kj = 0u; kj < BK; kj++) {
        let s = s_sh[qi * BK + kj];
        let p = select(0.0, exp(s - m_new), s > 0.5 * NEG); // masked keys weigh exactly 0
        s_sh[qi * BK + kj] = p;
        sum += p;
      }
      let alpha = exp(m_old - m_new);
      a_sh[qi] = alpha;
      l_sh[qi] = l_sh[qi] * alpha + sum;
      m_sh[qi] = m_new;
    }
    workgroupBarrier();
    for (var e = lid; e < BQ * HD; e += WG) {
      let qi = e / HD;
      let d = e % HD;
      var o = o_sh[e] * a_sh[qi];
      for (var kj = 0u; kj < BK; kj++) { o += s_sh[qi * BK + kj] * v_sh[kj * HD + d]; }
      o_sh[e] = o;
    }
  }
  workgroupBarrier();
  for (var e = lid; e < nq * HD; e += WG) {
    let qi = e / HD;
    out[(tok_start + q0 + qi) * row_stride + h * HD + e % HD] = o_sh[e] / l_sh[qi];
  }
}

// Paged KV write: copies each token's k and v rows into the paged caches at its (slot, pos).
//   for t in [token_offset, token_offset + n_tokens), c in [0, kvDim):
//     block = block_table[slot * max_blocks + pos / block_size]
//     cache[(block * block_size + pos % block_size) * kvDim + c] = row[t * kvDim + c]
// Bindings: k, v: (T, kvDim) f32 with kvDim = nKvHeads·headDim; k_cache, v_cache:
//   (numBlocks, blockSize, nKvHeads, headDim) f32; block_table: (maxSeqs, maxBlocksPerSeq) u32;
//   tok_meta: (T) vec2<u32> = (slot, pos); params (uniform).
// Positions beyond the block table (pos / block_size >= max_blocks) are skipped.
// Dispatch: ceil(n_tokens·kvDim / WG) workgroups along x (wrapped into y above 65535).
override WG: u32 = 256;

struct Params {
  token_offset: u32,
  n_tokens: u32,
  kv_dim: u32,
  block_size: u32,
  max_blocks: u32,
  row_stride: u32, // invocations per dispatch row: x workgroups · WG
  src_stride: u32, // floats from one row of k (and v) to the next (kv_dim when packed)
  k_offset: u32, // column of k's first element within its row (0 when packed)
  v_offset: u32, // column of v's first element within its row
}

@group(0) @binding(0) var<storage, read> k: array<f32>;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(3) var<storage, read_write> v_cache: array<f32>;
@group(0) @binding(4) var<storage, read> block_table: array<u32>;
@group(0) @binding(5) var<storage, read> tok_meta: array<vec2<u32>>;
@group(0) @binding(6) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.n_tokens * params.kv_dim) { return; }
  let t = params.token_offset + i / params.kv_dim;
  let c = i % params.kv_dim;
  let tm = tok_meta[t];
  let logical = tm.y / params.block_size;
  if (logical >= params.max_blocks) { return; }
  let block = block_table[tm.x * params.max_blocks + logical];
  let dst = (block * params.block_size + tm.y % params.block_size) * params.kv_dim + c;
  let src = t * params.src_stride + c;
  k_cache[dst] = k[src + params.k_offset];
  v_cache[dst] = v[src + params.v_offset];
}

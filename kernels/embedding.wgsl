// Embedding lookup: out[t, d] = table[tokens[t], d]; a token >= vocab gives a row of zeros.
// Bindings: table (vocab*dim) f32; tokens (T) u32; out (T*dim) f32; params (T*dim, dim, vocab).
// One thread per output element: T·dim threads in workgroups of WG.
// Dispatch: ceil(T·dim / WG) workgroups, element i = gid.x + gid.y·params.row_stride (y past 65535).
override WG: u32 = 256;

struct Params { n: u32, dim: u32, vocab: u32, row_stride: u32 }

@group(0) @binding(0) var<storage, read> table: array<f32>;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.n) { return; }
  let t = i / params.dim;
  let d = i % params.dim;
  let tok = tokens[t];
  var v = 0.0;
  if (tok < params.vocab) { v = table[tok * params.dim + d]; }
  out[i] = v;
}

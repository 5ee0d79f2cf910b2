// RMS norm: out[r, i] = x[r, i] · (1 / sqrt(mean_i(x[r, i]²) + eps)) · weight[i].
// Bindings: x (rows*dim) f32; weight (dim) f32; out (rows*dim) f32; params (rows, dim, eps).
// One workgroup of WG threads per row: each thread sums squares over a stride of WG, then a tree
// reduction in workgroup memory (WG must be a power of two).
// Dispatch: rows workgroups, numbered row = wid.x + wid.y·params.groups_x (y used only past 65535).
override WG: u32 = 256;

struct Params { rows: u32, dim: u32, eps: f32, groups_x: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = wid.x + wid.y * params.groups_x;
  if (row >= params.rows) { return; } // uniform: the whole workgroup leaves
  let dim = params.dim;
  let o = row * dim;
  var ss = 0.0;
  for (var i = li; i < dim; i += WG) {
    let v = x[o + i];
    ss = fma(v, v, ss);
  }
  red[li] = ss;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { red[li] += red[li + s]; }
    workgroupBarrier();
  }
  let inv = 1.0 / sqrt(red[0] / f32(dim) + params.eps);
  for (var i = li; i < dim; i += WG) {
    out[o + i] = x[o + i] * inv * weight[i];
  }
}

// Residual add: out[i] = a[i] + b[i] for i < n.
// Bindings: a, b, out: (n) f32; params.n.
// Dispatch: ceil(n / WG) workgroups along x (wrapped into y when above 65535).
override WG: u32 = 256;

struct Params { n: u32, row_stride: u32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.n) { return; }
  out[i] = a[i] + b[i];
}

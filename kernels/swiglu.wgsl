// SwiGLU gate: out[i] = silu(gate[i]) · up[i], silu(g) = g / (1 + e^-g), for i < n.
// Bindings: gate, up, out: (n) f32; params.n.
// Dispatch: ceil(n / WG) workgroups, element i = gid.x + gid.y·params.row_stride (y past 65535).
override WG: u32 = 256;

struct Params { n: u32, row_stride: u32 }

@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.n) { return; }
  let g = gate[i];
  out[i] = g / (1.0 + exp(-g)) * up[i];
}

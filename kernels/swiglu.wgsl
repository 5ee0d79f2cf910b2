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

// Fused variant main_pairs: gate and up come interleaved from one matmul whose weight rows
// alternate w1 and w3 (gate_up[2i] = gate_i, gate_up[2i+1] = up_i), so the two FFN input
// projections are one dispatch: out[i] = silu(gate_up[2i]) · gate_up[2i+1].
// Bindings: gate_up (2n) f32 as vec2 pairs; out (n) f32; params. Dispatch as for main.
@group(0) @binding(0) var<storage, read> gate_up: array<vec2<f32>>;

@compute @workgroup_size(WG)
fn main_pairs(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.n) { return; }
  let gu = gate_up[i];
  out[i] = gu.x / (1.0 + exp(-gu.x)) * gu.y;
}

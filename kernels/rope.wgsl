// Rotary position embedding, in place, llama2.c convention: in each head of row r, the pair
// (2i, 2i+1) is rotated by the angle positions[r] · theta^(-2i/headDim).
// Bindings: x (rows*nHeads*headDim) f32, read-write; positions (rows) u32; params, where
//   neg_log2_theta_over_hd = -log2(theta) / headDim (computed on the CPU in double precision),
//   so the frequency is exp2(2i · neg_log2_theta_over_hd).
// sin and cos are computed here (sincos below) rather than with WGSL's builtins, whose 2^-11
// absolute error showed in the logits (SwiftShader: ~2e-4 per value).
// One thread per pair: rows·nHeads·headDim/2 threads in workgroups of WG.
// Dispatch: ceil(pairs / WG) workgroups, thread id = gid.x + gid.y·params.row_stride (y past 65535).
override WG: u32 = 256;

struct Params {
  pairs: u32,          // rows * nHeads * headDim / 2
  row_pairs: u32,      // nHeads * headDim / 2
  half_head: u32,      // headDim / 2
  row_stride: u32,     // threads along x in the dispatch
  neg_log2_theta_over_hd: f32,
  x_stride: u32,       // floats from one row of x to the next (>= nHeads * headDim)
}

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> positions: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

// π/2 in three parts (Cody-Waite): k · PIO2_1 is exact in f32 for |k| < 2^15, so the reduced angle
// keeps its precision for positions into the tens of thousands.
const PIO2_1 = 1.5703125;
const PIO2_2 = 4.837512969970703125e-4;
const PIO2_3 = 7.54978995489188216e-8;
const TWO_OVER_PI = 0.636619772367581343;

// sin and cos of a to ~1 ulp after reduction (Cephes sinf/cosf polynomials on [-π/4, π/4]).
// WGSL's own sin and cos only promise 2^-11 absolute error, too coarse for long contexts.
fn sincos(a: f32) -> vec2<f32> {
  let k = round(a * TWO_OVER_PI);
  let r = ((a - k * PIO2_1) - k * PIO2_2) - k * PIO2_3;
  let z = r * r;
  let s = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
  let c = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  switch (i32(k) & 3) {
    case 0: { return vec2(s, c); }
    case 1: { return vec2(c, -s); }
    case 2: { return vec2(-s, -c); }
    default: { return vec2(-c, s); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let p = gid.x + gid.y * params.row_stride;
  if (p >= params.pairs) { return; }
  let row = p / params.row_pairs;
  let i = p % params.half_head; // pair index within the head: elements 2i, 2i+1
  let freq = exp2(f32(2u * i) * params.neg_log2_theta_over_hd);
  let sc = sincos(f32(positions[row]) * freq);
  let s = sc.x;
  let c = sc.y;
  let o = row * params.x_stride + 2u * (p % params.row_pairs);
  let v0 = x[o];
  let v1 = x[o + 1u];
  x[o] = v0 * c - v1 * s;
  x[o + 1u] = v0 * s + v1 * c;
}

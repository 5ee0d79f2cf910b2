// Rotary position embedding, in place, llama2.c convention: in each head of row r, the pair
// (2i, 2i+1) is rotated by the angle positions[r] · theta^(-2i/headDim).
// Bindings: x (rows*nHeads*headDim) f32, read-write; positions (rows) u32; params, where
//   neg_log2_theta_over_hd = -log2(theta) / headDim (computed on the CPU in double precision),
//   so the frequency is exp2(2i · neg_log2_theta_over_hd).
// One thread per pair: rows·nHeads·headDim/2 threads in workgroups of WG.
// Dispatch: ceil(pairs / WG) workgroups, thread id = gid.x + gid.y·params.row_stride (y past 65535).
override WG: u32 = 256;

struct Params {
  pairs: u32,          // rows * nHeads * headDim / 2
  row_pairs: u32,      // nHeads * headDim / 2
  half_head: u32,      // headDim / 2
  row_stride: u32,     // threads along x in the dispatch
  neg_log2_theta_over_hd: f32,
}

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> positions: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

const TWO_PI_HI = 6.28125;                 // 2π split so that k · TWO_PI_HI is exact in f32
const TWO_PI_LO = 0.0019353071795864769;   // 2π - TWO_PI_HI
const INV_TWO_PI = 0.15915494309189535;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let p = gid.x + gid.y * params.row_stride;
  if (p >= params.pairs) { return; }
  let row = p / params.row_pairs;
  let i = p % params.half_head; // pair index within the head: elements 2i, 2i+1
  let freq = exp2(f32(2u * i) * params.neg_log2_theta_over_hd);
  let a = f32(positions[row]) * freq;
  // Reduce the angle to [-π, π], where WGSL's sin and cos have their stated accuracy.
  let k = round(a * INV_TWO_PI);
  let ar = (a - k * TWO_PI_HI) - k * TWO_PI_LO;
  let c = cos(ar);
  let s = sin(ar);
  let o = 2u * p;
  let v0 = x[o];
  let v1 = x[o + 1u];
  x[o] = v0 * c - v1 * s;
  x[o + 1u] = v0 * s + v1 * c;
}

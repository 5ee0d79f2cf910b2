// Peak FMA throughput: the device's measured compute ceiling (GFLOPS) for the kernel view's
// roofline. Each thread runs 8 independent vec4 chains c = fma(c, a, b), two steps per loop
// iteration, params.iterations iterations: 8 chains · 2 steps · 4 lanes · 2 FLOPs = 128 FLOPs per
// thread per iteration, with enough independent work to hide FMA latency. a and b come from the
// uniform block (a < 1, so values converge and stay finite) and every thread stores its sum, so
// no compiler can fold the loop away.
// Bindings: out: (threads) vec4<f32>, written; params.
// Dispatch: groups workgroups of WG threads, numbered linearly, thread i = gid.x + gid.y·row_stride
// (the y dimension is used only past 65535 workgroups); out must hold every thread's vec4.
override WG: u32 = 256;

struct Params {
  iterations: u32,
  row_stride: u32, // threads per row of the dispatch: groups_x · WG
  a: f32,
  b: f32,
}

@group(0) @binding(0) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(1) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  let s = f32(i & 1023u) * 1e-4;
  let a = vec4<f32>(params.a);
  let b = vec4<f32>(params.b);
  var c0 = vec4<f32>(s, s + 0.01, s + 0.02, s + 0.03);
  var c1 = c0 + vec4<f32>(0.1);
  var c2 = c0 + vec4<f32>(0.2);
  var c3 = c0 + vec4<f32>(0.3);
  var c4 = c0 + vec4<f32>(0.4);
  var c5 = c0 + vec4<f32>(0.5);
  var c6 = c0 + vec4<f32>(0.6);
  var c7 = c0 + vec4<f32>(0.7);
  for (var it = 0u; it < params.iterations; it++) {
    c0 = fma(c0, a, b); c1 = fma(c1, a, b); c2 = fma(c2, a, b); c3 = fma(c3, a, b);
    c4 = fma(c4, a, b); c5 = fma(c5, a, b); c6 = fma(c6, a, b); c7 = fma(c7, a, b);
    c0 = fma(c0, a, b); c1 = fma(c1, a, b); c2 = fma(c2, a, b); c3 = fma(c3, a, b);
    c4 = fma(c4, a, b); c5 = fma(c5, a, b); c6 = fma(c6, a, b); c7 = fma(c7, a, b);
  }
  out[i] = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7));
}

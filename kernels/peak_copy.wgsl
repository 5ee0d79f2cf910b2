// Peak memory bandwidth: the device's measured bandwidth ceiling (GB/s) for the kernel view's
// roofline. Two entry points over n4 vec4s, each thread striding over the array by the whole
// dispatch's thread count (consecutive threads touch consecutive vec4s):
//   copy_main: dst[j] = src[j]                         moves 2 · n4 · 16 bytes
//   read_main: out[i] = sum of src[j] for its j's      moves n4 · 16 + threads · 16 bytes
// Bindings: src: (n4) vec4<f32>; dst: (n4) vec4<f32> for copy_main, (threads) vec4<f32> for read_main; params.
// Dispatch: groups workgroups of WG threads numbered linearly, thread i = gid.x + gid.y·row_stride
// (the y dimension only past 65535 workgroups); stride = groups · WG, the total thread count.
override WG: u32 = 256;

struct Params {
  n4: u32,
  stride: u32,
  row_stride: u32,
}

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn copy_main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  for (var j = i; j < params.n4; j += params.stride) {
    dst[j] = src[j];
  }
}

@compute @workgroup_size(WG)
fn read_main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.stride) { return; }
  var acc = vec4<f32>(0.0);
  for (var j = i; j < params.n4; j += params.stride) {
    acc += src[j];
  }
  dst[i] = acc;
}

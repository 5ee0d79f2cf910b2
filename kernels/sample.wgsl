// Token sampling, one workgroup per sequence, reproducing `sample` in src/ops/reference.ts:
// - temperature <= 0: argmax of the logits row (the lowest index wins ties).
// - else p = softmax(logits / temperature). With 0 < topP < 1 the nucleus is S = {i : p_i >= tau},
//   tau the largest value with mass(S) >= topP, found exactly by bisection over the bit patterns
//   of non-negative f32 (their u32 order is their value order; ~30 passes, each a workgroup sum);
//   otherwise S is every token. The token is the first i of S, in index order, whose running sum
//   over S exceeds u · mass(S): each thread sums a contiguous segment of the row, an exclusive
//   scan over threads gives each segment's starting sum, and the thread whose segment crosses the
//   target walks it (the last index of S if rounding leaves the target unreached).
// Entry `main`: logits (S, vocab) f32; out (S) u32; params (uniform); seq_params (S) vec4<f32> =
//   (temperature, topP, u, unused).  Entry `argmax_main`: the first three bindings only.
// Dispatch: (S) workgroups, one per sequence (row).
override WG: u32 = 256; // threads per workgroup, a power of two

struct Params {
  n_seqs: u32,
  vocab: u32,
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read> seq_params: array<vec4<f32>>;

const NONE: u32 = 0xffffffffu;
const NEG: f32 = -3.0e38;

var<workgroup> red_f: array<f32, WG>;
var<workgroup> red_u: array<u32, WG>;

fn sum_all(lid: u32, x: f32) -> f32 {
  red_f[lid] = x;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_f[lid] = red_f[lid] + red_f[lid + s]; }
    workgroupBarrier();
  }
  let r = workgroupUniformLoad(&red_f[0]);
  workgroupBarrier();
  return r;
}

fn max_all(lid: u32, x: f32) -> f32 {
  red_f[lid] = x;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_f[lid] = max(red_f[lid], red_f[lid + s]); }
    workgroupBarrier();
  }
  let r = workgroupUniformLoad(&red_f[0]);
  workgroupBarrier();
  return r;
}

fn min_u32(lid: u32, x: u32) -> u32 {
  red_u[lid] = x;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_u[lid] = min(red_u[lid], red_u[lid + s]); }
    workgroupBarrier();
  }
  let r = workgroupUniformLoad(&red_u[0]);
  workgroupBarrier();
  return r;
}

fn max_u32(lid: u32, x: u32) -> u32 {
  red_u[lid] = x;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_u[lid] = max(red_u[lid], red_u[lid + s]); }
    workgroupBarrier();
  }
  let r = workgroupUniformLoad(&red_u[0]);
  workgroupBarrier();
  return r;
}

/** Argmax of row `base .. base + vocab`, lowest index on ties. */
fn argmax_row(lid: u32, base: u32) -> u32 {
  var best = NEG;
  var bi = NONE;
  for (var i = lid; i < params.vocab; i += WG) {
    let x = logits[base + i];
    if (x > best || (bi == NONE && x >= NEG)) {
      best = x;
      bi = i;
    }
  }
  red_f[lid] = best;
  red_u[lid] = bi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      let ob = red_f[lid + s];
      let oi = red_u[lid + s];
      let mi = red_u[lid];
      if (oi != NONE && (mi == NONE || ob > red_f[lid] || (ob == red_f[lid] && oi < mi))) {
        red_f[lid] = ob;
        red_u[lid] = oi;
      }
    }
    workgroupBarrier();
  }
  let r = workgroupUniformLoad(&red_u[0]);
  workgroupBarrier();
  return select(r, 0u, r == NONE);
}

@compute @workgroup_size(WG)
fn argmax_main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = argmax_row(lid, wid.x * params.vocab);
  if (lid == 0u) { out[wid.x] = r; }
}

/** p_i; every pass evaluates this same expression, so membership in S is consistent. */
fn prob(base: u32, i: u32, temperature: f32, m: f32, z: f32) -> f32 {
  return exp(logits[base + i] / temperature - m) / z;
}

/** Mass of {i : bits(p_i) >= tau_bits}. */
fn mass_at(lid: u32, base: u32, temperature: f32, m: f32, z: f32, tau_bits: u32) -> f32 {
  var acc = 0.0;
  for (var i = lid; i < params.vocab; i += WG) {
    let p = prob(base, i, temperature, m, z);
    if (bitcast<u32>(p) >= tau_bits) { acc += p; }
  }
  return sum_all(lid, acc);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x;
  let vocab = params.vocab;
  let base = row * vocab;
  let sp = seq_params[row];
  let temperature = sp.x;
  let top_p = sp.y;
  let u = sp.z;
  if (temperature <= 0.0) {
    let r = argmax_row(lid, base);
    if (lid == 0u) { out[row] = r; }
    return;
  }

  var mx = NEG;
  for (var i = lid; i < vocab; i += WG) { mx = max(mx, logits[base + i] / temperature); }
  let m = max_all(lid, mx);
  var zp = 0.0;
  for (var i = lid; i < vocab; i += WG) { zp += exp(logits[base + i] / temperature - m); }
  let z = sum_all(lid, zp);

  // Nucleus threshold: invariant mass(lo) >= topP > mass(hi); p <= 1 (plus rounding) < hi.
  var tau_bits = 0u;
  if (top_p > 0.0 && top_p < 1.0) {
    var lo = 0u;
    var hi = bitcast<u32>(1.0) + 64u;
    while (hi - lo > 1u) {
      let mid = lo + (hi - lo) / 2u;
      if (mass_at(lid, base, temperature, m, z, mid) >= top_p) { lo = mid; } else { hi = mid; }
    }
    tau_bits = lo;
  }

  // Segment sums, exclusive scan over threads, then the crossing segment's walk.
  let seg = (vocab + WG - 1u) / WG;
  let i0 = min(lid * seg, vocab);
  let i1 = min(i0 + seg, vocab);
  var own = 0.0;
  var last = 0u;
  for (var i = i0; i < i1; i++) {
    let p = prob(base, i, temperature, m, z);
    if (bitcast<u32>(p) >= tau_bits) {
      own += p;
      last = i;
    }
  }
  red_f[lid] = own;
  workgroupBarrier();
  for (var s = 1u; s < WG; s = s * 2u) { // Hillis-Steele inclusive scan
    var x = red_f[lid];
    if (lid >= s) { x += red_f[lid - s]; }
    workgroupBarrier();
    red_f[lid] = x;
    workgroupBarrier();
  }
  let total = workgroupUniformLoad(&red_f[WG - 1u]);
  var run = 0.0; // exclusive prefix: mass of S before this segment
  if (lid > 0u) { run = red_f[lid - 1u]; }
  workgroupBarrier();
  let goal = u * total;
  var found = NONE;
  for (var i = i0; i < i1; i++) {
    let p = prob(base, i, temperature, m, z);
    if (bitcast<u32>(p) >= tau_bits) {
      run += p;
      if (run > goal) {
        found = i;
        break;
      }
    }
  }
  let first = min_u32(lid, found);
  let last_all = max_u32(lid, last);
  if (lid == 0u) { out[row] = select(first, last_all, first == NONE); }
}

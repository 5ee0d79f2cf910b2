// Token sampling on the GPU, one workgroup per sequence (kernels/sample.wgsl), reproducing
// `sample` and `argmax` of src/ops/reference.ts:
//   logits:    (nSeqs, vocab) f32
//   seqParams: (nSeqs) quads of f32 (temperature, topP, u, unused) — WGSL array<vec4<f32>>;
//              build with packSampleParams
//   out:       (nSeqs) u32 token ids
import { bindBuffers, getPipeline } from '../pipelines.js';
import type { UniformArena } from '../uniforms.js';
import { checkBuffer, checkDims, checkDistinct } from './checks.js';
import { deviceProfile, type DeviceProfile } from '../profile.js';

/**
 * Threads per workgroup on a software rasterizer: one 4-lane group, so the reductions' barriers
 * never switch between groups (SwiftShader runs a workgroup's 4-lane groups one after another and
 * switches at every barrier); each thread scans vocab / 4 logits, which a CPU does fast.
 */
export const SOFTWARE_SAMPLE_WG = 4;

/**
 * Threads per workgroup (one workgroup per sequence): the smallest power of two giving each thread
 * at most 64 logits, between 16 and 256. Small vocabularies get small workgroups, so the
 * reductions need fewer barrier rounds: on SwiftShader, where a barrier switches between every
 * 4-lane group of the workgroup, 16 threads instead of 64 made greedy sampling of 64 rows of 512
 * logits ~10x faster, and 16 instead of 32 halved it for 768 (bench:decode, sample's share at
 * batch 64); vocabularies of 16K and more still get 256. On a software adapter ('software'
 * profile) always SOFTWARE_SAMPLE_WG: one 4-lane group and no switching at all (greedy sampling of
 * 16 rows of 768 logits 0.87 -> 0.38 ms, bench:decode in Node; the sampling test's 32,000-token
 * top-p cases ran in 463 ms against ~600 ms with the GPU rule's 256 threads: a CPU runs a
 * workgroup's lanes one group after another either way).
 */
export function sampleWorkgroupSize(vocab: number, profile: DeviceProfile = 'gpu'): number {
  if (profile === 'software') return SOFTWARE_SAMPLE_WG;
  let wg = 16;
  while (wg < 256 && wg * 64 < vocab) wg *= 2;
  return wg;
}

/** Per-sequence sampling parameters; u in [0, 1) is the caller's uniform random number. */
export interface SampleParams {
  temperature: number;
  topP: number;
  u: number;
}

/** seqParams contents: (nSeqs, 4) f32, row s = (temperature, topP, u, 0). */
export function packSampleParams(params: readonly SampleParams[]): Float32Array {
  const m = new Float32Array(params.length * 4);
  params.forEach((p, i) => m.set([p.temperature, p.topP, p.u, 0], i * 4));
  return m;
}

function checkCommon(device: GPUDevice, op: string, logits: GPUBuffer, out: GPUBuffer, nSeqs: number, vocab: number): void {
  checkDims(op, { nSeqs, vocab });
  checkBuffer(op, 'logits', logits, nSeqs * vocab, `(${nSeqs}, ${vocab}) f32`);
  checkBuffer(op, 'out', out, nSeqs, `(${nSeqs}) u32`);
  checkDistinct(op, ['out', out], ['logits', logits]);
  if (nSeqs > device.limits.maxComputeWorkgroupsPerDimension) {
    throw new Error(`${op}: nSeqs ${nSeqs} above ${device.limits.maxComputeWorkgroupsPerDimension} workgroups`);
  }
}

/**
 * Records sampling of one token per sequence: out[s] = sample(logits[s], temperature, topP, u)
 * with (temperature, topP, u) = seqParams[s]. Dispatch: (nSeqs) workgroups of sampleWorkgroupSize threads.
 */
export function encodeSample(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  arena: UniformArena,
  logits: GPUBuffer,
  seqParams: GPUBuffer,
  out: GPUBuffer,
  nSeqs: number,
  vocab: number,
): void {
  const op = 'sample';
  checkCommon(device, op, logits, out, nSeqs, vocab);
  checkBuffer(op, 'seqParams', seqParams, nSeqs * 4, `(${nSeqs}) (temperature, topP, u, _) f32 quads`);
  checkDistinct(op, ['out', out], ['seqParams', seqParams]);
  const p = getPipeline(device, 'sample', { WG: sampleWorkgroupSize(vocab, deviceProfile(device)) });
  const params = arena.alloc('uu', [nSeqs, vocab]);
  pass.setPipeline(p);
  pass.setBindGroup(0, bindBuffers(device, p, [logits, out, params, seqParams], op));
  pass.dispatchWorkgroups(nSeqs);
}

/** Records greedy decoding: out[s] = argmax(logits[s]), lowest index on ties. */
export function encodeArgmax(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  arena: UniformArena,
  logits: GPUBuffer,
  out: GPUBuffer,
  nSeqs: number,
  vocab: number,
): void {
  const op = 'argmax';
  checkCommon(device, op, logits, out, nSeqs, vocab);
  const p = getPipeline(device, 'sample', { WG: sampleWorkgroupSize(vocab, deviceProfile(device)) }, 'argmax_main');
  const params = arena.alloc('uu', [nSeqs, vocab]);
  pass.setPipeline(p);
  pass.setBindGroup(0, bindBuffers(device, p, [logits, out, params], op));
  pass.dispatchWorkgroups(nSeqs);
}

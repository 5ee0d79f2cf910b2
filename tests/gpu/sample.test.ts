// Sampling kernel against the CPU reference `sample` (and `argmax`) of src/ops/reference.ts.
// Greedy (temperature <= 0) must match exactly, ties included (the lowest index wins).
// Temperature sampling is compared with the same u: the token must be equal, except where the
// result hinges on f32 rounding, that is where the CPU's numbers come within TOL = 1e-5 of a
// decision boundary:
//   - the running sum over S just before or at the CPU's token is within TOL of u · mass(S);
//   - (0 < topP < 1) the sorted cumulative mass just before or at the nucleus boundary is within
//     TOL of topP, or the boundary probability is within a relative 1e-5 of the next smaller one.
// Such cases are counted, and must stay a small minority (at most 15% of cases).
import { describe, expect, it } from 'vitest';
import { gpuTest, type Resources } from '../helpers/gpu.js';
import { bufferFrom, readUint32 } from '../../src/gpu/buffers.js';
import { UniformArena } from '../../src/gpu/uniforms.js';
import { encodeArgmax, encodeSample, packSampleParams, sampleWorkgroupSize, SOFTWARE_SAMPLE_WG, type SampleParams } from '../../src/gpu/ops/sample.js';
import { deviceProfile, setDeviceProfile, type DeviceProfile } from '../../src/gpu/profile.js';
import { argmax, sample, softmaxInPlace } from '../../src/ops/reference.js';
import { Rng } from '../../src/ops/random.js';

const TOL = 1e-5;
const MAX_EXEMPT_FRACTION = 0.15;

function outBuffer(device: GPUDevice, res: Resources, n: number): GPUBuffer {
  return res.track(
    device.createBuffer({ size: Math.max(16, n * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }),
  );
}

async function runSample(
  device: GPUDevice,
  res: Resources,
  logits: Float32Array,
  params: SampleParams[] | null, // null: encodeArgmax
  vocab: number,
): Promise<Uint32Array> {
  const nSeqs = logits.length / vocab;
  const gl = res.track(bufferFrom(device, logits));
  const go = outBuffer(device, res, nSeqs);
  const arena = res.track(new UniformArena(device, 2));
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  if (params) {
    const gp = res.track(bufferFrom(device, packSampleParams(params)));
    encodeSample(device, pass, arena, gl, gp, go, nSeqs, vocab);
  } else {
    encodeArgmax(device, pass, arena, gl, go, nSeqs, vocab);
  }
  pass.end();
  arena.flush();
  device.queue.submit([enc.finish()]);
  return readUint32(device, go, nSeqs);
}

/** True when the CPU's decision is within TOL of a boundary (see the header). */
function nearBoundary(logits: Float32Array, temperature: number, topP: number, u: number): boolean {
  const n = logits.length;
  const p = new Float32Array(n);
  for (let i = 0; i < n; i++) p[i] = logits[i]! / temperature;
  softmaxInPlace(p);
  let tau = 0;
  if (topP > 0 && topP < 1) {
    const sorted = Float32Array.from(p).sort().reverse();
    let cum = 0;
    let k = n - 1;
    let before = 0;
    for (let i = 0; i < n; i++) {
      before = cum;
      cum += sorted[i]!;
      if (cum >= topP) {
        k = i;
        break;
      }
    }
    tau = sorted[k]!;
    if (before > topP - TOL || cum < topP + TOL) return true;
    const gap = k + 1 < n ? sorted[k]! - sorted[k + 1]! : Infinity;
    if (gap > 0 && gap < 1e-5 * sorted[k]!) return true;
  }
  let mass = 0;
  for (let i = 0; i < n; i++) if (p[i]! >= tau) mass += p[i]!;
  const target = u * mass;
  let cum = 0;
  for (let i = 0; i < n; i++) {
    if (p[i]! < tau) continue;
    const before = cum;
    cum += p[i]!;
    if (cum > target) return Math.abs(before - target) < TOL || Math.abs(cum - target) < TOL;
  }
  return true; // target not reached on the CPU: the fallback itself is a rounding case
}

// Both workgroup rules run here whatever the adapter: a GPU's (16-256 threads) and a software
// rasterizer's (SOFTWARE_SAMPLE_WG).
const PROFILES: DeviceProfile[] = ['gpu', 'software'];

async function asProfile<T>(device: GPUDevice, profile: DeviceProfile, fn: () => Promise<T>): Promise<T> {
  const was = deviceProfile(device);
  setDeviceProfile(device, profile);
  try {
    return await fn();
  } finally {
    setDeviceProfile(device, was);
  }
}

it('workgroup sizes: 16-256 threads on a GPU by vocabulary, SOFTWARE_SAMPLE_WG on a software adapter', () => {
  expect([512, 768, 1024, 1025, 32000].map((v) => sampleWorkgroupSize(v))).toEqual([16, 16, 16, 32, 256]);
  expect(sampleWorkgroupSize(32000, 'software')).toBe(SOFTWARE_SAMPLE_WG);
});

describe.each(PROFILES)('argmax / greedy sampling (%s workgroups)', (profile) => {
  gpuTest('picks the lowest index among tied maxima (exact), by encodeArgmax and temperature <= 0', ({ device }, res) => asProfile(device, profile, async () => {
    const rng = new Rng(5);
    for (const vocab of [512, 1000, 32000]) {
      const rows: Float32Array[] = [];
      // Random rows with the maximum planted at several indices, including 0, the last index,
      // and workgroup-stride neighbours (i and i + 256 land on the same thread).
      for (let s = 0; s < 6; s++) {
        const row = rng.floats(vocab, -5, 5);
        const top = 7 + s;
        const spots = [rng.int(0, vocab - 1), rng.int(0, vocab - 1)];
        if (s === 1) spots.push(0);
        if (s === 2) spots.push(vocab - 1);
        if (s === 3) spots.push(300, 44);
        if (s === 4) spots.push(257, 1);
        for (const i of spots) row[i] = top;
        rows.push(row);
      }
      rows.push(new Float32Array(vocab).fill(-3)); // all equal: index 0
      const allNeg = rng.floats(vocab, -100, -50); // all negative
      rows.push(allNeg);
      const logits = new Float32Array(rows.length * vocab);
      rows.forEach((r, i) => logits.set(r, i * vocab));
      const want = rows.map((r) => argmax(r));
      expect(Array.from(await runSample(device, res, logits, null, vocab))).toEqual(want);
      const greedy = rows.map((_, i) => ({ temperature: i % 2 === 0 ? 0 : -1, topP: 0.9, u: rng.next() }));
      expect(Array.from(await runSample(device, res, logits, greedy, vocab))).toEqual(want);
      expect(rows.map((r, i) => sample(r, greedy[i]!.temperature, 0.9, greedy[i]!.u))).toEqual(want);
    }
  }));
});

describe.each(PROFILES)('temperature / top-p sampling (%s workgroups)', (profile) => {
  const cases: [number, number, number, string][] = [
    // vocab, sequences, rounds, logits kind
    [512, 48, 2, 'spread'],
    [1000, 48, 2, 'spread'],
    [1000, 48, 1, 'tied'],
    [32000, 16, 2, 'spread'],
  ];
  for (const [vocab, nSeqs, rounds, kind] of cases) {
    gpuTest(`vocab ${vocab} (${kind}): ${nSeqs * rounds} cases equal to the CPU outside TOL ${TOL} of a boundary`, ({ device }, res) => asProfile(device, profile, async () => {
      const rng = new Rng(vocab * 7 + rounds + (kind === 'tied' ? 1 : 0));
      let compared = 0;
      let exempt = 0;
      for (let round = 0; round < rounds; round++) {
        const logits = new Float32Array(nSeqs * vocab);
        const params: SampleParams[] = [];
        for (let s = 0; s < nSeqs; s++) {
          const scale = [2, 6, 12][s % 3]!;
          for (let i = 0; i < vocab; i++) {
            logits[s * vocab + i] = kind === 'tied' ? 0.75 * rng.int(0, 7) : scale * (rng.next() * 2 - 1);
          }
          const topP = [0.5, 0.9, 1][Math.floor(s / 3) % 3]!;
          const temperature = Math.fround([0.5, 0.8, 1, 1.3][rng.int(0, 3)]!);
          // Include the ends of [0, 1) for u.
          const u = Math.fround(s === 0 ? 0 : s === 1 ? 0.99999 : rng.next());
          params.push({ temperature, topP: Math.fround(topP), u });
        }
        const got = await runSample(device, res, logits, params, vocab);
        for (let s = 0; s < nSeqs; s++) {
          const row = logits.subarray(s * vocab, (s + 1) * vocab);
          const { temperature, topP, u } = params[s]!;
          const want = sample(row, temperature, topP, u);
          if (got[s] === want) {
            compared++;
            continue;
          }
          if (nearBoundary(row, temperature, topP, u)) {
            exempt++;
            continue;
          }
          throw new Error(
            `seq ${s} round ${round} (T ${temperature}, topP ${topP}, u ${u}): got ${got[s]}, expected ${want}`,
          );
        }
      }
      expect(exempt).toBeLessThanOrEqual(MAX_EXEMPT_FRACTION * nSeqs * rounds);
      expect(compared + exempt).toBe(nSeqs * rounds);
    }));
  }
});

describe('sample argument checks', () => {
  gpuTest('throws clear errors on bad shapes', async ({ device }, res) => {
    const small = outBuffer(device, res, 4);
    const big = outBuffer(device, res, 4096);
    const arena = res.track(new UniformArena(device, 2));
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    expect(() => encodeSample(device, pass, arena, small, big, outBuffer(device, res, 8), 2, 512)).toThrow(/logits is 16 bytes/);
    expect(() => encodeSample(device, pass, arena, big, small, outBuffer(device, res, 8), 2, 512)).toThrow(/seqParams is 16 bytes/);
    expect(() => encodeArgmax(device, pass, arena, big, big, 2, 512)).toThrow(/different buffers/);
    expect(() => encodeArgmax(device, pass, arena, big, small, 0, 512)).toThrow(/nSeqs must be a positive integer/);
    pass.end();
    enc.finish();
  });
});

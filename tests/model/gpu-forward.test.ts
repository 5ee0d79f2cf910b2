// The GPU forward on seeded random models (no ../shared/data needed): with the RMSNorms fused into
// the matmuls that follow them (the default) and run as their own kernel (fuseNorm: false), with a
// classifier shared with the embedding and a separate one, the logits of a chunked prefill and of
// batched decode steps match the CPU reference, and the fused step has fewer dispatches.
import { describe, expect } from 'vitest';
import { gpuTest, type Resources } from '../helpers/gpu.js';
import type { GpuContext } from '../../src/gpu/device.js';
import { Profiler } from '../../src/gpu/profiler.js';
import { CpuBackend } from '../../src/model/cpu-forward.js';
import { GpuBackend, type GpuBackendOptions } from '../../src/model/gpu-forward.js';
import { randomModel } from './helpers.js';

// f32 on both sides, summed in different orders; these models' logits are O(1).
const ATOL = 1e-4;

describe('GpuBackend on random models', () => {
  for (const sharedClassifier of [true, false]) {
    for (const fuseNorm of [true, false]) {
      gpuTest(`fuseNorm ${fuseNorm}, ${sharedClassifier ? 'shared' : 'separate'} classifier: prefill and batched decode logits match the CPU`, async (gpu, res) => {
        const model = randomModel(21, { dim: 48, hiddenDim: 100, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 70, seqLen: 64, sharedClassifier });
        const gpuB = res.track(new GpuBackend(gpu, model, { maxSequences: 3, maxTokensPerStep: 8, fuseNorm }));
        expect(gpuB.fusedNorms).toEqual({ layers: fuseNorm, final: fuseNorm });
        const cpuB = new CpuBackend(model);
        const prompts = [
          [1, 5, 9, 33, 2, 61, 7, 7, 12, 40, 3],
          [1, 44, 18],
        ];
        const g = prompts.map(() => gpuB.newSequence());
        const c = prompts.map(() => cpuB.newSequence());
        let worst = 0;
        const compare = (a: Float32Array, b: Float32Array) => {
          expect(a.length).toBe(b.length);
          for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
        };
        // Prefill both prompts in one step: 14 tokens, split by the backend into submissions of 8.
        const entries = (seqs: number[], toks: number[][]) => seqs.map((seq, i) => ({ seq, tokens: toks[i]!, temperature: 0, topP: 1, u: 0 }));
        let rg = await gpuB.step(entries(g, prompts), { wantLogits: true });
        let rc = await cpuB.step(entries(c, prompts), { wantLogits: true });
        compare(rg.logits!, rc.logits!);
        for (let step = 0; step < 6; step++) {
          const next = Array.from(rc.next, (t) => [t]);
          rg = await gpuB.step(entries(g, next), { wantLogits: true });
          rc = await cpuB.step(entries(c, next), { wantLogits: true });
          expect(Array.from(rg.next)).toEqual(Array.from(rc.next));
          compare(rg.logits!, rc.logits!);
        }
        expect(worst, `max |logit difference| ${worst}`).toBeLessThan(ATOL);
      });
    }
  }

  gpuTest('fusing the norms removes one dispatch per norm (2 per layer + the final one)', async (gpu, res) => {
    const model = randomModel(22, { dim: 32, hiddenDim: 64, nLayers: 3, nHeads: 4, nKvHeads: 2, vocabSize: 50, seqLen: 32 });
    const counts: number[] = [];
    for (const fuseNorm of [false, true]) {
      const b = res.track(new GpuBackend(gpu, model, { maxSequences: 1, fuseNorm }));
      const seq = b.newSequence();
      await b.step([{ seq, tokens: [1], temperature: 0, topP: 1, u: 0 }]);
      counts.push(b.lastDispatches);
    }
    expect(counts[0]! - counts[1]!).toBe(2 * 3 + 1);
  });
});

// Settling (GpuBackendOptions.settleFraction): where the context can block (Node) and steps are
// timed on the GPU, a submission of a shape seen twice before sleeps through part of its expected
// GPU time before it waits; the results are the same as without.
describe('GpuBackend settling before it waits', () => {
  const model = () => randomModel(23, { dim: 32, hiddenDim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 50, seqLen: 64 });
  const run = async (ctx: GpuContext, res: Resources, options: GpuBackendOptions) => {
    const b = res.track(new GpuBackend(ctx, model(), { maxSequences: 2, ...options }));
    const seqs = [b.newSequence(), b.newSequence()];
    const out: number[] = [];
    const busy: number[] = [];
    let r = await b.step(seqs.map((seq, i) => ({ seq, tokens: [1, 7 + i, 9], temperature: 0, topP: 1, u: 0 })));
    for (let i = 0; i < 6; i++) {
      r = await b.step(seqs.map((seq, j) => ({ seq, tokens: [r.next[j]!], temperature: 0, topP: 1, u: 0 })));
      out.push(...r.next);
      busy.push(b.lastStepMeasure!.busy * 1e3);
    }
    return { out, busy };
  };

  gpuTest('sleeps only for shapes seen twice, for at most the fraction of their expected time, with the same tokens', async (gpu, res, t) => {
    if (!gpu.timestamps) {
      t.skip('this adapter has no timestamp queries, and settling needs them');
      return;
    }
    const sleeps: number[] = [];
    const ctx = { ...gpu, sleepSync: (ms: number) => void sleeps.push(ms) };
    const plain = await run(ctx, res, { settleFraction: 0 });
    expect(sleeps).toEqual([]);
    const settled = await run(ctx, res, { settleFraction: 0.5 });
    expect(settled.out).toEqual(plain.out);
    // The prefill is one shape, the decode steps another: decode steps 3 to 6 sleep.
    expect(sleeps.length).toBe(4);
    for (let j = 0; j < 4; j++) {
      const k = j + 2; // the decode step that slept
      expect(sleeps[j]!).toBeGreaterThan(0);
      // Half the envelope of the decode steps before it, the first one left out (it may compile).
      expect(sleeps[j]!).toBeLessThanOrEqual(0.5 * Math.min(...settled.busy.slice(1, k)) * 1.05 ** (k - 1) + 1e-9);
    }
    // With a per-kernel profiler, never.
    sleeps.length = 0;
    await run(ctx, res, { settleFraction: 0.5, profiler: res.track(new Profiler(gpu.device, gpu.timestamps)) });
    expect(sleeps).toEqual([]);
  });

  gpuTest('never sleeps where steps are timed by the wall clock (the sleep would be in the time it learns from)', async (gpu, res) => {
    const sleeps: number[] = [];
    const wall = await run({ ...gpu, timestamps: false, sleepSync: (ms: number) => void sleeps.push(ms) }, res, { settleFraction: 0.5 });
    expect(sleeps).toEqual([]);
    expect(wall.out.length).toBe(12);
  });

  gpuTest('rejects a fraction outside [0, 1)', async (gpu) => {
    const small = randomModel(24, { dim: 16, hiddenDim: 32, nLayers: 1, nHeads: 2, nKvHeads: 2, vocabSize: 20, seqLen: 16 });
    for (const f of [1, -0.1, Number.NaN]) expect(() => new GpuBackend(gpu, small, { settleFraction: f })).toThrow(/settleFraction must be in \[0, 1\)/);
  });
});

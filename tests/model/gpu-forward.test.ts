// The GPU forward on seeded random models (no ../shared/data needed): with the RMSNorms fused into
// the matmuls that follow them (the default) and run as their own kernel (fuseNorm: false), with a
// classifier shared with the embedding and a separate one, the logits of a chunked prefill and of
// batched decode steps match the CPU reference, and the fused step has fewer dispatches.
import { describe, expect } from 'vitest';
import { gpuTest } from '../helpers/gpu.js';
import { CpuBackend } from '../../src/model/cpu-forward.js';
import { GpuBackend } from '../../src/model/gpu-forward.js';
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

// Settling (GpuBackendOptions.settleFraction): where the context can block (Node), a submission of
// a shape seen before sleeps through part of its expected GPU time before it waits; the results
// are the same as without.
describe('GpuBackend settling before it waits', () => {
  gpuTest('sleeps only for shapes it has seen, for at most the fraction of their fastest time, with the same tokens', async (gpu, res) => {
    const model = randomModel(23, { dim: 32, hiddenDim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 50, seqLen: 64 });
    const sleeps: number[] = [];
    const ctx = { ...gpu, sleepSync: (ms: number) => void sleeps.push(ms) };
    const run = async (settleFraction: number) => {
      const b = res.track(new GpuBackend(ctx, model, { maxSequences: 2, settleFraction }));
      const seqs = [b.newSequence(), b.newSequence()];
      const out: number[] = [];
      const busy: number[] = [];
      let r = await b.step(seqs.map((seq, i) => ({ seq, tokens: [1, 7 + i, 9], temperature: 0, topP: 1, u: 0 })));
      for (let i = 0; i < 5; i++) {
        r = await b.step(seqs.map((seq, j) => ({ seq, tokens: [r.next[j]!], temperature: 0, topP: 1, u: 0 })));
        out.push(...r.next);
        busy.push(b.lastStepMeasure!.busy * 1e3);
      }
      return { out, busy };
    };
    const plain = await run(0);
    expect(sleeps).toEqual([]);
    const settled = await run(0.5);
    expect(settled.out).toEqual(plain.out);
    // The prefill and the first decode step are new shapes; the next four decode steps sleep.
    expect(sleeps.length).toBe(4);
    for (let i = 0; i < 4; i++) {
      expect(sleeps[i]!).toBeGreaterThan(0);
      // Half the low envelope of the earlier decode steps (which may rise 5% a step).
      expect(sleeps[i]!).toBeLessThanOrEqual(0.5 * Math.min(...settled.busy.slice(0, i + 1)) * 1.05 ** (i + 1) + 1e-9);
    }
  });

  gpuTest('rejects a fraction outside [0, 1)', async (gpu) => {
    const model = randomModel(24, { dim: 16, hiddenDim: 32, nLayers: 1, nHeads: 2, nKvHeads: 2, vocabSize: 20, seqLen: 16 });
    for (const f of [1, -0.1, Number.NaN]) expect(() => new GpuBackend(gpu, model, { settleFraction: f })).toThrow(/settleFraction must be in \[0, 1\)/);
  });
});

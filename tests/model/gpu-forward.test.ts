// The GPU forward on seeded random models (no ../shared/data needed): with the RMSNorms fused into
// the matmuls that follow them (the default) and run as their own kernel (fuseNorm: false), with a
// classifier shared with the embedding and a separate one, the logits of a chunked prefill and of
// batched decode steps match the CPU reference, and the fused step has fewer dispatches.
import { describe, expect } from 'vitest';
import { gpuTest, type Resources } from '../helpers/gpu.js';
import type { GpuContext } from '../../src/gpu/device.js';
import { Profiler } from '../../src/gpu/profiler.js';
import { CpuBackend, SequenceKv, forward } from '../../src/model/cpu-forward.js';
import { GpuBackend, type GpuBackendOptions } from '../../src/model/gpu-forward.js';
import { expectClose, randomModel } from './helpers.js';

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

// The caller owns the block tables (the scheduler, through Engine): each step entry names the
// physical blocks of its sequence, and the backend writes K/V only there.
describe('GpuBackend with caller-owned block tables', () => {
  const BS = 4;
  const model = () => randomModel(25, { dim: 32, hiddenDim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 50, seqLen: 32 });
  // (numBlocks, blockSize, kvDim) rows of one layer; CPU reference rows are (positions, kvDim).
  const kvd = 16;
  const blockBytes = BS * kvd * 4 * 2 * 2; // K and V, 2 layers

  /** Expected cache contents: the CPU reference's K/V rows placed at each sequence's table. */
  function expected(m: ReturnType<typeof model>, numBlocks: number, seqs: { tokens: number[]; table: number[] }[]) {
    const want = Array.from({ length: 2 }, () => ({ k: new Float32Array(numBlocks * BS * kvd), v: new Float32Array(numBlocks * BS * kvd) }));
    for (const s of seqs) {
      const kv = new SequenceKv(m.config);
      forward(m, kv, s.tokens);
      for (let l = 0; l < 2; l++) {
        for (let p = 0; p < s.tokens.length; p++) {
          const row = (s.table[Math.floor(p / BS)]! * BS + (p % BS)) * kvd;
          want[l]!.k.set(kv.k[l]!.subarray(p * kvd, (p + 1) * kvd), row);
          want[l]!.v.set(kv.v[l]!.subarray(p * kvd, (p + 1) * kvd), row);
        }
      }
    }
    return want;
  }

  gpuTest('writes K/V only into the blocks each entry names, and rejects a bad table before writing anything', async (gpu, res) => {
    const m = model();
    const numBlocks = 10;
    const b = res.track(new GpuBackend(gpu, m, { maxSequences: 2, blockSize: BS, kvBudgetBytes: numBlocks * blockBytes }));
    expect(b.numBlocks).toBe(numBlocks);
    const cpu = new CpuBackend(m);
    const A = { tokens: [1, 5, 9, 33, 2, 40, 7, 7, 12, 41], table: [7, 2, 9] };
    const B = { tokens: [1, 44, 18, 3, 3], table: [0, 5] };
    const sa = b.newSequence();
    const sb = b.newSequence();
    const ca = cpu.newSequence();
    const cb = cpu.newSequence();
    const g = (x: number[]) => ({ tokens: x, temperature: 0, topP: 1, u: 0 });
    let rg = await b.step([
      { seq: sa, ...g(A.tokens), blocks: A.table },
      { seq: sb, ...g(B.tokens), blocks: B.table },
    ]);
    let rc = await cpu.step([{ seq: ca, ...g(A.tokens) }, { seq: cb, ...g(B.tokens) }]);
    expect(Array.from(rg.next)).toEqual(Array.from(rc.next));
    // One decode each: A's position 10 lands in block 9 (row 2), B's position 5 in block 5 (row 1).
    A.tokens.push(rc.next[0]!);
    B.tokens.push(rc.next[1]!);
    rg = await b.step([
      { seq: sa, ...g([rc.next[0]!]), blocks: A.table },
      { seq: sb, ...g([rc.next[1]!]), blocks: B.table },
    ]);
    rc = await cpu.step([{ seq: ca, ...g([rc.next[0]!]) }, { seq: cb, ...g([rc.next[1]!]) }]);
    expect(Array.from(rg.next)).toEqual(Array.from(rc.next));
    const want = expected(m, numBlocks, [A, B]);
    const check = async () => {
      for (let l = 0; l < 2; l++) {
        const got = await b.readKvCache(l);
        // Blocks 1, 3, 4, 6 and 8 are named by no table: they stay zero (WebGPU zero-fills buffers).
        expectClose(got.k, want[l]!.k, 1e-4);
        expectClose(got.v, want[l]!.v, 1e-4);
      }
    };
    await check();

    // A holds positions 0..10 (blocks 7, 2, 9), B 0..5 (blocks 0, 5). Each bad step is rejected whole.
    const t = rc.next[0]!;
    const bad: [string, number[], number[], number[], RegExp][] = [
      ['too short', [t, t], [7, 2, 9], B.table, /table of 3 blocks covers 12 positions, the entry needs 13/],
      ['out of range', [t], [7, 2, 10], B.table, /block id 10 is outside the cache \(0\.\.9\)/],
      ['shared', [t], [7, 2, 9, 5], B.table, /block 5 is named twice in one step/],
      ['moved', [t], [7, 3, 9], B.table, /block 1 of its table is 3, but its KV for positions 4\.\.7 is in block 2/],
    ];
    for (const [why, tokens, ta, tb, msg] of bad) {
      const step = b.step([
        { seq: sa, ...g(tokens), blocks: ta },
        { seq: sb, ...g([rc.next[1]!]), blocks: tb },
      ]);
      await expect(step, why).rejects.toThrow(msg);
    }
    await check();
    // Caller tables and the fixed per-slot blocks never mix, within a step or among live sequences.
    await expect(b.step([{ seq: sa, ...g([t]), blocks: A.table }, { seq: sb, ...g([t]) }])).rejects.toThrow(/either all carry block tables \(StepEntry\.blocks\) or none do/);
    await expect(b.step([{ seq: sa, ...g([t]) }])).rejects.toThrow(/no block table given, but 2 live sequence\(s\) use caller-given tables/);
    await check();
    // Freed, the slots start afresh: the fixed per-slot blocks (slot 0: blocks 0..7) are usable again.
    b.freeSequence(sa);
    b.freeSequence(sb);
    const s0 = b.newSequence();
    const r = await b.step([{ seq: s0, ...g([1, 5, 9]) }]);
    const c0 = cpu.newSequence();
    expect(Array.from(r.next)).toEqual(Array.from((await cpu.step([{ seq: c0, ...g([1, 5, 9]) }])).next));
    await expect(b.step([{ seq: s0, ...g([t]), blocks: [4] }])).rejects.toThrow(/a block table was given, but 1 live sequence\(s\) use the backend's fixed per-slot blocks/);
  });
});

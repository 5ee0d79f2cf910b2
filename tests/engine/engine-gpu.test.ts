// The live engine on the GPU backend (Dawn; SwiftShader where there is no GPU): its KV cache
// sized from the scheduler's budget, continuous batching with chunked prefill and preemption,
// greedy outputs equal to each prompt generated alone on the same backend, and K/V written into
// exactly the blocks of the scheduler's tables (the backend keeps no allocator of its own).
import { describe, expect } from 'vitest';
import { gpuTest } from '../helpers/gpu.js';
import { GpuBackend } from '../../src/model/gpu-forward.js';
import { generateBatch } from '../../src/model/generate.js';
import { Rng } from '../../src/ops/random.js';
import { Engine, gpuKvOptions, type LiveResult } from '../../src/engine/engine.js';
import { CpuBackend, SequenceKv, forward } from '../../src/model/cpu-forward.js';
import { kvDim } from '../../src/model/config.js';
import { randomModel } from '../model/helpers.js';

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

describe('Engine on the GPU backend', () => {
  gpuTest('batches, chunks and preempts without changing greedy outputs', async (gpu, res) => {
    const model = randomModel(9, { dim: 32, hiddenDim: 64, nHeads: 4, nKvHeads: 2, seqLen: 32, vocabSize: 61 });
    const kv = { numBlocks: 12, blockSize: 4 }; // 48 positions for up to 4 sequences of up to 32
    const backend = res.track(new GpuBackend(gpu, model, { maxSequences: 4, maxTokensPerStep: 16, ...gpuKvOptions(model.config, kv) }));
    expect(backend.numBlocks).toBe(kv.numBlocks);
    const rng = new Rng(3);
    const jobs = Array.from({ length: 6 }, () => {
      const len = rng.int(2, 14);
      return { prompt: [1, ...Array.from({ length: len - 1 }, () => rng.int(3, 60))], maxOutputTokens: rng.int(4, 32 - len + 1) };
    });
    const want: number[][] = [];
    for (const j of jobs) want.push((await generateBatch(backend, [j.prompt], { maxTokens: j.maxOutputTokens })).tokens[0]!);

    const engine = new Engine(backend, {
      scheduler: { maxBatch: 4, tokenBudget: 16, maxPrefillChunk: 7, kv, admission: { watermark: 0 } },
      stopAtEos: false,
    });
    const done: Promise<LiveResult>[] = [];
    for (let k = 0; done.length < jobs.length || engine.pending > 0; k++) {
      if (k % 2 === 0 && done.length < jobs.length) {
        const r = engine.submit({ prompt: jobs[done.length]!.prompt, maxOutputTokens: jobs[done.length]!.maxOutputTokens });
        if (!r.accepted) throw new Error(r.message);
        done.push(r.done);
      }
      await engine.step();
    }
    const results = await Promise.all(done);
    results.forEach((r, i) => expect(r.tokens, `request ${i}`).toEqual(want[i]));
    expect(results.reduce((n, r) => n + r.record.preemptions, 0)).toBeGreaterThan(0);
    expect(engine.scheduler.kv.usedBlocks).toBe(0);
  });

  gpuTest("after preemptions fragment the block pool, each running sequence's KV is in exactly the scheduler's blocks", async (gpu, res) => {
    const model = randomModel(9, { dim: 32, hiddenDim: 64, nHeads: 4, nKvHeads: 2, seqLen: 32, vocabSize: 61 });
    const kv = { numBlocks: 10, blockSize: 4 };
    const backend = res.track(new GpuBackend(gpu, model, { maxSequences: 4, maxTokensPerStep: 16, ...gpuKvOptions(model.config, kv) }));
    const rng = new Rng(11);
    const jobs = Array.from({ length: 7 }, () => {
      const len = rng.int(3, 12);
      return { prompt: [1, ...Array.from({ length: len - 1 }, () => rng.int(3, 60))], maxOutputTokens: rng.int(6, 32 - len + 1) };
    });
    const out = new Map<number, number[]>();
    const engine = new Engine(backend, {
      scheduler: { maxBatch: 4, tokenBudget: 16, maxPrefillChunk: 6, kv, admission: { watermark: 0 } },
      stopAtEos: false,
      onToken: (id, token) => out.get(id)!.push(token),
    });
    const kvd = kvDim(model.config);
    const bs = kv.blockSize;
    let checked = 0;
    let fragmented = 0;
    const done: Promise<LiveResult>[] = [];
    for (let k = 0; done.length < jobs.length || engine.pending > 0; k++) {
      if (k % 2 === 0 && done.length < jobs.length) {
        const j = jobs[done.length]!;
        const r = engine.submit({ prompt: j.prompt, maxOutputTokens: j.maxOutputTokens });
        if (!r.accepted) throw new Error(r.message);
        out.set(r.id, []);
        done.push(r.done);
      }
      await engine.step();
      // Every running sequence's positions [0, computed) hold, in the blocks of its scheduler
      // table, the K/V the CPU reference computes for its tokens.
      const caches = await Promise.all([0, 1].map((l) => backend.readKvCache(l)));
      for (const s of engine.scheduler.runningSequences()) {
        if (s.computed === 0) continue;
        const table = engine.scheduler.kv.blockIds(s.id);
        if (table.some((b, i) => i > 0 && b !== table[i - 1]! + 1)) fragmented++;
        const tokens = [...jobs[s.id]!.prompt, ...out.get(s.id)!].slice(0, s.computed);
        const ref = new SequenceKv(model.config);
        forward(model, ref, tokens);
        for (let l = 0; l < 2; l++) {
          for (let p = 0; p < s.computed; p++) {
            const row = (table[Math.floor(p / bs)]! * bs + (p % bs)) * kvd;
            const label = `step ${k}, request ${s.id}, layer ${l}, position ${p} (block ${table[Math.floor(p / bs)]})`;
            const d = Math.max(
              maxAbsDiff(caches[l]!.k.subarray(row, row + kvd), ref.k[l]!.subarray(p * kvd, (p + 1) * kvd)),
              maxAbsDiff(caches[l]!.v.subarray(row, row + kvd), ref.v[l]!.subarray(p * kvd, (p + 1) * kvd)),
            );
            if (!(d <= 1e-4)) throw new Error(`${label}: K/V differ from the CPU reference by ${d}`);
          }
        }
        checked++;
      }
    }
    const results = await Promise.all(done);
    // The scheduler did recycle blocks out of order, under preemption.
    expect(results.reduce((n, r) => n + r.record.preemptions, 0)).toBeGreaterThan(0);
    expect(fragmented).toBeGreaterThan(0);
    expect(checked).toBeGreaterThan(20);
    for (const [i, r] of results.entries()) {
      const alone = await generateBatch(new CpuBackend(model), [jobs[i]!.prompt], { maxTokens: jobs[i]!.maxOutputTokens });
      expect(r.tokens, `request ${i}`).toEqual(alone.tokens[0]);
    }
  });
});

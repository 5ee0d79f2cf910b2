// The live engine on the GPU backend (Dawn; SwiftShader where there is no GPU): its KV cache
// sized from the scheduler's budget, continuous batching with chunked prefill and preemption,
// greedy outputs equal to each prompt generated alone on the same backend.
import { describe, expect } from 'vitest';
import { gpuTest } from '../helpers/gpu.js';
import { GpuBackend } from '../../src/model/gpu-forward.js';
import { generateBatch } from '../../src/model/generate.js';
import { Rng } from '../../src/ops/random.js';
import { Engine, gpuKvOptions, type LiveResult } from '../../src/engine/engine.js';
import { randomModel } from '../model/helpers.js';

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
    expect(backend.freeBlocks).toBe(kv.numBlocks);
  });
});

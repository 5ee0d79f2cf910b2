// The live engine over the CPU reference backend and a tiny random model: continuous batching,
// chunked prefill and preemption must not change what each request generates.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { RequestRecord, StepRecord } from '../../src/metrics/records.js';
import type { Model } from '../../src/model/config.js';
import { CpuBackend } from '../../src/model/cpu-forward.js';
import { generateBatch } from '../../src/model/generate.js';
import { Rng } from '../../src/ops/random.js';
import { Engine, gpuKvOptions, kvBlocksForBytes, kvBytesPerBlock, type EngineOptions, type LiveResult } from '../../src/engine/engine.js';
import { randomModel } from '../model/helpers.js';

const model: Model = randomModel(5); // seqLen 24, vocab 37

class FakeClock {
  t = 0;
  now(): number {
    return this.t;
  }
}

interface Job {
  prompt: number[];
  maxOutputTokens: number;
  /** Engine step before which it is submitted. */
  at: number;
  tenant: number;
}

function jobs(seed: number, n: number): Job[] {
  const rng = new Rng(seed);
  const out: Job[] = [];
  for (let i = 0; i < n; i++) {
    const len = rng.int(1, 12);
    const prompt = [1, ...Array.from({ length: len - 1 }, () => rng.int(3, 36))];
    out.push({ prompt, maxOutputTokens: rng.int(1, model.config.seqLen - len + 1), at: rng.int(0, 12), tenant: i % 2 });
  }
  return out;
}

/** Each prompt generated alone, in lock step with nothing else (the reference). */
async function alone(job: Job, options: { temperature?: number; topP?: number; seed?: number; stopAtEos?: boolean } = {}): Promise<number[]> {
  const r = await generateBatch(new CpuBackend(model), [job.prompt], { maxTokens: job.maxOutputTokens, temperature: 0, ...options });
  return r.tokens[0]!;
}

/** Runs `list` through an engine stepped by hand: job j is submitted before step j.at. */
async function runJobs(
  list: Job[],
  options: Partial<EngineOptions> & Pick<EngineOptions, 'scheduler'>,
  sampling: (i: number) => { temperature?: number; topP?: number; seed?: number } = () => ({}),
): Promise<{ results: LiveResult[]; steps: StepRecord[]; engine: Engine }> {
  const clock = new FakeClock();
  const steps: StepRecord[] = [];
  const engine = new Engine(new CpuBackend(model, { maxSequences: options.scheduler.maxBatch }), {
    clock,
    ...options,
    onStep: (r) => steps.push(r),
  });
  const done: Promise<LiveResult>[] = [];
  for (let k = 0; done.length < list.length || engine.pending > 0; k++) {
    if (k > 10_000) throw new Error('engine did not finish');
    list.forEach((j, i) => {
      if (j.at !== k) return;
      const r = engine.submit({ id: i, tenant: j.tenant, prompt: j.prompt, maxOutputTokens: j.maxOutputTokens, ...sampling(i) });
      if (!r.accepted) throw new Error(r.message);
      done.push(r.done);
    });
    clock.t = k * 0.01;
    await engine.step();
  }
  const results = await Promise.all(done);
  results.sort((a, b) => a.id - b.id);
  return { results, steps, engine };
}

describe('Engine on the CPU backend', () => {
  const list = jobs(7, 8);

  it('generates for each greedy request what it generates alone, with arrivals at different times', async () => {
    const { results, steps } = await runJobs(list, {
      scheduler: { maxBatch: 3, tokenBudget: 8, maxPrefillChunk: 5, kv: { numBlocks: 64, blockSize: 4 } },
      stopAtEos: false,
    });
    for (const [i, j] of list.entries()) {
      expect(results[i]!.tokens, `request ${i}`).toEqual(await alone(j));
      expect(results[i]!.record).toMatchObject({ status: 'finished', outputTokens: j.maxOutputTokens, promptTokens: j.prompt.length });
      expect(results[i]!.stopReason).toBe('length');
    }
    // Steps really were shared, and chunked.
    expect(Math.max(...steps.map((s) => s.batchSize))).toBe(3);
    expect(steps.some((s) => s.decodeTokens > 0 && s.prefillTokens > 0)).toBe(true);
    expect(steps.every((s) => s.decodeTokens + s.prefillTokens <= 8)).toBe(true);
    expect(steps.reduce((n, s) => n + s.prefillTokens, 0)).toBe(list.reduce((n, j) => n + j.prompt.length, 0));
  });

  it('still does when a small KV cache forces preemption and recomputation', async () => {
    const { results, engine } = await runJobs(list, {
      scheduler: { maxBatch: 4, tokenBudget: 16, kv: { numBlocks: 10, blockSize: 4 }, admission: { watermark: 0 } },
      stopAtEos: false,
    });
    expect(results.reduce((n, r) => n + r.record.preemptions, 0)).toBeGreaterThan(0);
    for (const [i, j] of list.entries()) expect(results[i]!.tokens, `request ${i}`).toEqual(await alone(j));
    expect(engine.scheduler.kv.usedBlocks).toBe(0);
  });

  it('samples each request from its own seed, independently of the batch', async () => {
    const { results } = await runJobs(
      list,
      { scheduler: { maxBatch: 4, tokenBudget: 6, kv: { numBlocks: 12, blockSize: 2 } }, stopAtEos: false },
      (i) => ({ temperature: 0.8, topP: 0.9, seed: 100 + i }),
    );
    for (const [i, j] of list.entries()) {
      expect(results[i]!.tokens, `request ${i}`).toEqual(await alone(j, { temperature: 0.8, topP: 0.9, seed: 100 + i }));
    }
  });

  it('stops a request at EOS', async () => {
    const job: Job = { prompt: [1, 5, 9], maxOutputTokens: 12, at: 0, tenant: 0 };
    const ref = await alone(job);
    const eos = ref[3]!; // pretend this token is EOS
    const stopAt = ref.indexOf(eos);
    const { results } = await runJobs([job, { ...job, prompt: [1, 7] }], {
      scheduler: { maxBatch: 2, tokenBudget: 8, kv: { numBlocks: 16, blockSize: 4 } },
      eosToken: eos,
    });
    expect(results[0]!.tokens).toEqual(ref.slice(0, stopAt));
    expect(results[0]!.stopReason).toBe('eos');
    // The EOS was produced by a step: it counts as an output token.
    expect(results[0]!.record).toMatchObject({ status: 'finished', outputTokens: stopAt + 1 });
    expect(await alone(job, { stopAtEos: true })).toEqual(ref); // (the model's real EOS, 2, does not occur here)
  });

  it('runs on its own with a real clock, waits for work, streams records and stops', async () => {
    const steps: StepRecord[] = [];
    const finals: RequestRecord[] = [];
    const tokens: [number, number, number][] = [];
    const engine = new Engine(new CpuBackend(model, { maxSequences: 4 }), {
      scheduler: { maxBatch: 4, tokenBudget: 16, kv: { numBlocks: 32, blockSize: 4 } },
      stopAtEos: false,
      measure: () => ({ busy: 0.001, timing: 'timestamp' }),
      onStep: (r) => steps.push(r),
      onRequest: (r) => finals.push(r),
      onToken: (id, token, index) => tokens.push([id, token, index]),
    });
    const loop = engine.run();
    await expect(engine.run()).rejects.toThrow(/already running/);
    const a = engine.submit({ prompt: list[0]!.prompt, maxOutputTokens: list[0]!.maxOutputTokens });
    await new Promise((r) => setTimeout(r, 20));
    const b = engine.submit({ prompt: list[1]!.prompt, maxOutputTokens: list[1]!.maxOutputTokens });
    const rejected = engine.submit({ prompt: Array(20).fill(3), maxOutputTokens: 10 });
    expect(rejected).toMatchObject({ accepted: false, reason: 'context' });
    if (!a.accepted || !b.accepted) throw new Error('not accepted');
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.tokens).toEqual(await alone(list[0]!));
    expect(rb.tokens).toEqual(await alone(list[1]!));
    expect(ra.record.arrival).toBeLessThan(rb.record.arrival);
    expect(ra.record.firstToken!).toBeGreaterThanOrEqual(ra.record.arrival);
    engine.stop();
    await loop;
    expect(finals.map((r) => [r.id, r.status]).sort()).toEqual([
      [0, 'finished'],
      [1, 'finished'],
      [2, 'rejected'],
    ]);
    expect(tokens.filter((t) => t[0] === 0).map((t) => t[1])).toEqual(ra.tokens);
    expect(tokens.filter((t) => t[0] === 0).map((t) => t[2])).toEqual(ra.tokens.map((_, i) => i));
    expect(steps.every((s) => s.busy === 0.001 && s.timing === 'timestamp' && s.end >= s.start)).toBe(true);
    expect(steps.map((s) => s.index)).toEqual(steps.map((_, i) => i));
  });

  it('aborts a request and frees its backend sequence', async () => {
    const backend = new CpuBackend(model, { maxSequences: 2 });
    const engine = new Engine(backend, { clock: new FakeClock(), scheduler: { maxBatch: 2, tokenBudget: 8, kv: { numBlocks: 16, blockSize: 4 } } });
    const a = engine.submit({ prompt: [1, 2, 3], maxOutputTokens: 10 });
    const b = engine.submit({ prompt: [1, 4], maxOutputTokens: 3 });
    if (!a.accepted || !b.accepted) throw new Error('not accepted');
    await engine.step();
    await engine.step();
    expect(engine.abort(a.id)).toBe(true);
    const ra = await a.done;
    expect(ra.stopReason).toBe('aborted');
    expect(ra.record.status).toBe('aborted');
    expect(ra.tokens).toHaveLength(2);
    while (await engine.step());
    expect((await b.done).tokens).toHaveLength(3);
    expect(engine.abort(a.id)).toBe(false);
    // Both backend sequences are free again.
    backend.newSequence();
    backend.newSequence();
  });

  describe('holds nothing of a finished request', () => {
    // A collection on demand (--expose-gc set at run time), to see which records are still reachable.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;

    /** Runs `n` requests to the end through an engine, keeping only weak references to their records. */
    async function run(n: number, keepRecords?: boolean): Promise<{ engine: Engine; alive: () => number }> {
      const engine = new Engine(new CpuBackend(model, { maxSequences: 3 }), {
        clock: new FakeClock(),
        scheduler: { maxBatch: 3, tokenBudget: 8, kv: { numBlocks: 10, blockSize: 4 }, admission: { watermark: 0 }, keepRecords },
        stopAtEos: false,
      });
      const refs: WeakRef<object>[] = [];
      let finished = 0;
      for (let i = 0; i < n; i++) {
        const j = list[i % list.length]!;
        const r = engine.submit({ prompt: j.prompt, maxOutputTokens: j.maxOutputTokens, tenant: i % 2 });
        if (!r.accepted) throw new Error(r.message);
        void r.done.then((res) => {
          refs.push(new WeakRef(res.record));
          finished++;
        });
        if (i % 2 === 1) await engine.step();
      }
      while (engine.pending > 0) await engine.step();
      await engine.step(); // an idle step: the scheduler's reused plan lets go of the last batch
      await new Promise((r) => setTimeout(r, 0)); // weak references made in a job hold until it ends
      expect(finished).toBe(n);
      return {
        engine,
        alive: () => {
          gc();
          return refs.filter((r) => r.deref() !== undefined).length;
        },
      };
    }

    it('by default: after 40 requests (preempted ones among them) no record, table or sequence remains', async () => {
      const { engine, alive } = await run(40);
      expect(engine.scheduler.totals).toMatchObject({ finished: 40 });
      expect(engine.scheduler.totals.preemptions).toBeGreaterThan(0);
      expect(engine.pending).toBe(0);
      expect(engine.scheduler.records()).toHaveLength(0);
      expect(engine.scheduler.kv.sequences).toBe(0);
      expect(alive()).toBe(0);
    });

    it('keeps every record when asked (keepRecords: true), and the count above would see them', async () => {
      const { engine, alive } = await run(40, true);
      expect(engine.scheduler.records()).toHaveLength(40);
      expect(alive()).toBe(40);
    });
  });

  it('checks that the backend can hold what the scheduler plans', () => {
    const kv = { numBlocks: 16, blockSize: 4 };
    expect(() => new Engine(new CpuBackend(model, { maxSequences: 2 }), { scheduler: { maxBatch: 4, tokenBudget: 8, kv } })).toThrow(
      /maxBatch 4 exceeds the backend's 2 sequences/,
    );
    expect(() => new Engine(new CpuBackend(model), { scheduler: { maxBatch: 4, tokenBudget: 8, kv, maxContext: 25 } })).toThrow(
      /maxContext 25 exceeds the model's context of 24/,
    );
    // A paged backend (like GpuBackend), whose cache must hold the blocks of the scheduler's tables.
    const paged = (numBlocks: number, blockSize: number, maxTokensPerStep = 512) =>
      Object.assign(new CpuBackend(model), { numBlocks, blockSize, maxTokensPerStep });
    expect(() => new Engine(paged(16, 8), { scheduler: { maxBatch: 4, tokenBudget: 8, kv } })).toThrow(
      /KV blockSize \(4\) differs from the backend's \(8\)/,
    );
    expect(() => new Engine(paged(15, 4), { scheduler: { maxBatch: 4, tokenBudget: 8, kv } })).toThrow(
      /KV budget \(16 blocks\) exceeds the backend's cache \(15 blocks\)/,
    );
    expect(() => new Engine(paged(16, 4, 6), { scheduler: { maxBatch: 4, tokenBudget: 8, kv } })).toThrow(
      /tokenBudget 8 exceeds the backend's maxTokensPerStep 6/,
    );
    expect(() => new Engine(paged(16, 4), { scheduler: { maxBatch: 4, tokenBudget: 8, kv } })).not.toThrow();
  });

  it('sizes a GPU backend KV budget to the scheduler (the GpuBackend block formula)', () => {
    const c = model.config; // kvDim 8, 2 layers
    expect(kvBytesPerBlock(c, 4)).toBe(4 * 8 * 4 * 2 * 2);
    const opts = gpuKvOptions(c, { numBlocks: 37, blockSize: 4 });
    expect(opts.blockSize).toBe(4);
    // GpuBackend: numBlocks = floor(budget / (blockSize · kvDim · 4 · 2 · nLayers)).
    expect(Math.floor(opts.kvBudgetBytes / (4 * 8 * 4 * 2 * c.nLayers))).toBe(37);
    expect(kvBlocksForBytes(c, opts.kvBudgetBytes + 100, 4)).toBe(37);
  });
});

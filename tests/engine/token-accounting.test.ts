// Exact output-token accounting in the live Engine under preemption (CPU backend, a tiny random
// model, a KV cache small enough that requests are preempted and recomputed). Three counts of the
// tokens produced must agree: Σ StepRecord.outputTokens (what a step sampled, recompute included),
// the tokens delivered through onToken, and Σ final RequestRecord.outputTokens. The old lab count,
// decodeTokens + first tokens, misses the token a recompute prefill samples: one per preemption of
// a request that already had output.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RequestRecord, StepRecord } from '../../src/metrics/records.js';
import type { Backend, StepEntry } from '../../src/model/backend.js';
import { CpuBackend } from '../../src/model/cpu-forward.js';
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import { randomModel } from '../model/helpers.js';

const model = randomModel(5); // seqLen 24, vocab 37

interface Job {
  prompt: number;
  output: number;
  /** Engine step before which it is submitted. */
  at: number;
  tenant: number;
}

/**
 * The CPU backend, checking the block tables Engine passes from the scheduler: every entry has
 * one, it covers the sequence's positions after the step, and no block is in two entries.
 */
function checkingBackend(blockSize: number, maxSequences: number): Backend {
  const cpu = new CpuBackend(model, { maxSequences });
  const step = cpu.step.bind(cpu);
  cpu.step = (entries: StepEntry[], options?: { wantLogits?: boolean }) => {
    const owner = new Map<number, number>();
    for (const e of entries) {
      const end = cpu.length(e.seq) + e.tokens.length;
      if (!e.blocks || e.blocks.length * blockSize < end) throw new Error(`sequence ${e.seq}: table of ${e.blocks?.length} blocks for ${end} positions`);
      for (const b of Array.from(e.blocks)) {
        if (owner.has(b)) throw new Error(`block ${b} is in the tables of sequences ${owner.get(b)} and ${e.seq}`);
        owner.set(b, e.seq);
      }
    }
    return step(entries, options);
  };
  return cpu;
}

interface Counts {
  stepOutput: number;
  delivered: number;
  recordOutput: number;
  /** Σ decodeTokens + requests with a first token: the old lab count. */
  oldCount: number;
  preemptions: number[];
  finals: RequestRecord[];
  tokens: Map<number, number[]>;
}

/** Runs `jobs` through an engine stepped by hand (job i submitted before step jobs[i].at). */
async function run(jobs: Job[], scheduler: EngineOptions['scheduler']): Promise<Counts> {
  const steps: StepRecord[] = [];
  const finals: RequestRecord[] = [];
  const tokens = new Map<number, number[]>();
  const engine = new Engine(checkingBackend(scheduler.kv.blockSize, scheduler.maxBatch), {
    scheduler,
    clock: { now: () => steps.length },
    stopAtEos: false,
    onStep: (r) => steps.push({ ...r }),
    onRequest: (r) => finals.push({ ...r }),
    onToken: (id, token, index) => {
      const list = tokens.get(id)!;
      if (index !== list.length) throw new Error(`request ${id}: token index ${index} after ${list.length} tokens`);
      list.push(token);
    },
  });
  let submitted = 0;
  for (let k = 0; submitted < jobs.length || engine.pending > 0; k++) {
    if (k > 5000) throw new Error('engine did not finish');
    for (const [i, j] of jobs.entries()) {
      if (j.at !== k) continue;
      const prompt = [1, ...Array.from({ length: j.prompt - 1 }, (_, p) => 3 + ((i * 7 + p * 5) % 33))];
      const r = engine.submit({ id: i, tenant: j.tenant, prompt, maxOutputTokens: j.output });
      if (!r.accepted) throw new Error(r.message);
      tokens.set(i, []);
      submitted++;
    }
    await engine.step();
  }
  const sum = (f: (s: StepRecord) => number) => steps.reduce((n, s) => n + f(s), 0);
  return {
    stepOutput: sum((s) => s.outputTokens),
    delivered: [...tokens.values()].reduce((n, t) => n + t.length, 0),
    recordOutput: finals.reduce((n, r) => n + r.outputTokens, 0),
    oldCount: sum((s) => s.decodeTokens) + finals.filter((r) => r.firstToken !== undefined).length,
    preemptions: finals.map((r) => r.preemptions),
    finals,
    tokens,
  };
}

describe('output tokens under preemption', () => {
  it('18 sampled, 18 counted: the old count (decodes + first tokens) says 16 after two preemptions of requests with output', async () => {
    // Three 4-token prompts, 6 outputs each, 6 blocks of 2 positions: request 2 is preempted after
    // its first token, request 1 after its third; each recompute prefill samples the next token.
    const jobs: Job[] = [0, 1, 2].map(() => ({ prompt: 4, output: 6, at: 0, tenant: 0 }));
    const c = await run(jobs, { maxBatch: 3, tokenBudget: 16, kv: { numBlocks: 6, blockSize: 2 }, admission: { watermark: 0 } });
    expect(c.preemptions).toEqual([0, 1, 1]);
    expect([c.stepOutput, c.delivered, c.recordOutput]).toEqual([18, 18, 18]);
    expect(c.oldCount).toBe(16);
  });

  it('Σ StepRecord.outputTokens = tokens delivered = Σ RequestRecord.outputTokens, for random mixes (fast-check)', async () => {
    const job = fc.record({
      prompt: fc.integer({ min: 1, max: 12 }),
      output: fc.integer({ min: 1, max: 12 }),
      at: fc.integer({ min: 0, max: 6 }),
      tenant: fc.integer({ min: 0, max: 2 }),
    });
    const setup = fc.record({
      jobs: fc.array(job, { minLength: 1, maxLength: 6 }),
      blockSize: fc.integer({ min: 1, max: 4 }),
      spareBlocks: fc.integer({ min: 0, max: 3 }),
      maxBatch: fc.integer({ min: 1, max: 4 }),
      chunk: fc.integer({ min: 1, max: 8 }),
      policy: fc.constantFrom('fcfs' as const, 'fair' as const),
    });
    const seen = { runs: 0, preempted: 0, undercounted: 0, repeated: 0, mostPreempted: 0 };
    await fc.assert(
      fc.asyncProperty(setup, async (s) => {
        // Just enough blocks for the longest request alone, plus a few: the rest must take turns.
        const longest = Math.max(...s.jobs.map((j) => j.prompt + j.output - 1));
        const kv = { numBlocks: Math.ceil(longest / s.blockSize) + s.spareBlocks, blockSize: s.blockSize };
        const c = await run(s.jobs, { maxBatch: s.maxBatch, tokenBudget: s.maxBatch + s.chunk, maxPrefillChunk: s.chunk, policy: s.policy, kv, admission: { watermark: 0 } });
        const want = s.jobs.reduce((n, j) => n + j.output, 0);
        expect([c.stepOutput, c.delivered, c.recordOutput]).toEqual([want, want, want]);
        expect(c.finals).toHaveLength(s.jobs.length);
        for (const r of c.finals) {
          expect(r.status).toBe('finished');
          expect(r.outputTokens).toBe(r.maxOutputTokens);
          expect(c.tokens.get(r.id)).toHaveLength(r.maxOutputTokens);
        }
        expect(c.oldCount).toBeLessThanOrEqual(want);
        seen.runs++;
        const preempted = c.preemptions.filter((p) => p > 0).length;
        if (preempted > 0) seen.preempted++;
        if (c.oldCount < want) seen.undercounted++;
        if (c.preemptions.some((p) => p > 1)) seen.repeated++;
        // Every request but the first admitted (never the victim: alone it always fits).
        if (s.jobs.length > 2 && preempted === s.jobs.length - 1) seen.mostPreempted++;
      }),
      { seed: 14, numRuns: 200 },
    );
    // The mixes did exercise preemption: often, repeatedly, and of requests that had output.
    expect(seen.preempted).toBeGreaterThan(seen.runs / 4);
    expect(seen.undercounted).toBeGreaterThan(0);
    expect(seen.repeated).toBeGreaterThan(0);
    expect(seen.mostPreempted).toBeGreaterThan(0);
  });
});

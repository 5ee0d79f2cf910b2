// The metrics store keeps its figures up to date batch by batch; they must equal a recomputation
// from the records (figures / labSeries) exactly, field by field, on random runs: random traffic,
// batch sizes, KV caches small enough to preempt, flush intervals, run lengths (so chart buckets
// of 1 to 6 s), SLOs, and checks after any batch.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RunStore, figures, labSeries, pendingRequests, WINDOW_S, type RunStoreOptions } from '../../src/lab/metrics.js';
import { simulatedBatches, type SimulatedRunOptions } from '../../src/lab/simulated-run.js';
import type { MetricsBatch } from '../../src/lab/protocol.js';
import { decodeRequests, encodeRequests } from '../../src/lab/protocol.js';
import type { RequestWorkModel } from '../../src/lab/capacity.js';
import { utilization } from '../../src/metrics/utilization.js';
import { percentile } from '../../src/metrics/percentiles.js';

/** A fake work model: prompt work linear in P, decode per token growing with context. */
export const fakeWork: RequestWorkModel = {
  prefillS: (p) => 0.002 + 0.0007 * p,
  decodeS: (p, m) => 0.003 + 0.00002 * (p + m / 2),
};

const runArb = fc.record({
  seconds: fc.double({ min: 1, max: 30, noNaN: true }),
  stepS: fc.constantFrom(1 / 200, 1 / 64, 1 / 32, 0.013, 0.05),
  /** A coarse clock: with stepS 1/64 or 1/32, steps end exactly at flush times. */
  clockS: fc.option(fc.constant(1 / 64), { nil: undefined }),
  arrivalRate: fc.double({ min: 0.5, max: 40, noNaN: true }),
  prompt: fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 40 })).map(([a, d]) => [a, a + d] as [number, number]),
  output: fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 40 })).map(([a, d]) => [a, a + d] as [number, number]),
  maxBatch: fc.integer({ min: 1, max: 8 }),
  kvBlocks: fc.option(fc.integer({ min: 8, max: 40 }), { nil: undefined }),
  policy: fc.constantFrom('fcfs' as const, 'fair' as const),
  tenants: fc.integer({ min: 1, max: 4 }),
  flushS: fc.constantFrom(0.1, 0.25, 0.5, 1, 2.5),
  seed: fc.integer({ min: 1, max: 1e6 }),
  /** Run duration as set (>= the records' span): sets the bucket width. */
  durationS: fc.constantFrom(0, 900, 1800, 3600),
  ttft: fc.option(fc.double({ min: 0.01, max: 5, noNaN: true }), { nil: undefined }),
  tpot: fc.option(fc.double({ min: 0.001, max: 0.1, noNaN: true }), { nil: undefined }),
  price: fc.double({ min: 0.1, max: 10, noNaN: true }),
  /** Check after every k-th batch. */
  every: fc.integer({ min: 1, max: 7 }),
  /** Merge batch i into the next when merge[i % length] (a flush that came late). */
  merge: fc.array(fc.boolean(), { minLength: 1, maxLength: 9 }),
});

type RunArb = typeof runArb extends fc.Arbitrary<infer T> ? T : never;

/** Batches b1 and b2 as one batch at b2's time (b2's record of a request replaces b1's). */
function mergeTwo(b1: MetricsBatch, b2: MetricsBatch): MetricsBatch {
  const cat = <T extends Record<string, unknown>>(x: T, y: T): T =>
    Object.fromEntries(Object.keys(x).map((k) => [k, ArrayBuffer.isView(x[k]) ? Float64Array.from([...(x[k] as Float64Array), ...(y[k] as Float64Array)]) : x[k]])) as T;
  const steps = cat(b1.steps as unknown as Record<string, unknown>, b2.steps as unknown as Record<string, unknown>) as unknown as MetricsBatch['steps'];
  steps.timing = Uint8Array.from([...b1.steps.timing, ...b2.steps.timing]);
  const reqs = new Map([...decodeRequests(b1.requests), ...decodeRequests(b2.requests)].map((r) => [r.id, r]));
  return { ...b2, steps, requests: encodeRequests([...reqs.values()]), gaps: cat(b1.gaps as unknown as Record<string, unknown>, b2.gaps as unknown as Record<string, unknown>) as unknown as MetricsBatch['gaps'] };
}

function batchesOf(a: RunArb): MetricsBatch[] {
  const o: SimulatedRunOptions = {
    seconds: a.seconds,
    stepS: a.stepS,
    clockS: a.clockS,
    arrivalRate: a.arrivalRate,
    prompt: a.prompt,
    output: a.output,
    maxBatch: a.maxBatch,
    maxContext: 128,
    kvBlocks: a.kvBlocks,
    policy: a.policy,
    tenants: a.tenants,
    flushS: a.flushS,
    seed: a.seed,
  };
  const out: MetricsBatch[] = [];
  let held: MetricsBatch | undefined;
  let i = 0;
  for (const b of simulatedBatches(o)) {
    const m = held ? mergeTwo(held, b) : b;
    held = undefined;
    if (!m.done && a.merge[i++ % a.merge.length]) held = m;
    else out.push(m);
  }
  return out;
}

function storeOptions(a: RunArb): RunStoreOptions {
  return { durationS: Math.max(a.seconds, a.durationS), work: fakeWork, price: a.price, slo: { ttft: a.ttft, tpot: a.tpot }, keepGaps: true };
}

function expectEqualToScratch(store: RunStore, where: string): void {
  const o = store.options;
  expect(store.runFigures(), `${where}: whole run`).toEqual(figures(store, o));
  expect(store.windowFigures(), `${where}: window`).toEqual(figures(store, o, WINDOW_S));
  expect(store.series(), `${where}: series`).toEqual(labSeries(store, o));
  expect(store.pendingRequests(), `${where}: pending`).toEqual(pendingRequests(store));
}

describe('incremental lab metrics', () => {
  it('equal a recomputation from the records after any batch (random runs)', () => {
    let preempted = 0;
    let waiting = 0;
    fc.assert(
      fc.property(runArb, (a) => {
        const store = new RunStore(1, storeOptions(a));
        const bs = batchesOf(a);
        bs.forEach((b, i) => {
          store.add(b);
          if (i % a.every === 0 || i === bs.length - 1) expectEqualToScratch(store, `batch ${i} of ${bs.length}`);
        });
        expect(store.rebuilds).toBe(0);
        expect(store.lateRecords).toBe(0);
        const run = store.runFigures();
        preempted += run.preempted;
        waiting += run.serve.pending;
      }),
      { numRuns: 60, seed: 14 },
    );
    // The runs did reach the cases that matter.
    expect(preempted).toBeGreaterThan(0);
    expect(waiting).toBeGreaterThan(0);
  });

  it('a changed SLO recounts attainment and goodput as a recomputation does', () => {
    fc.assert(
      fc.property(runArb, fc.double({ min: 0.01, max: 3, noNaN: true }), (a, ttft) => {
        const store = new RunStore(1, storeOptions(a));
        const bs = batchesOf(a);
        const half = Math.floor(bs.length / 2);
        bs.slice(0, half).forEach((b) => store.add(b));
        store.reprice({ price: a.price * 2, slo: { ttft } });
        bs.slice(half).forEach((b) => store.add(b));
        expectEqualToScratch(store, 'after reprice');
      }),
      { numRuns: 20, seed: 5 },
    );
  });

  it('rebuilds from its records when a batch rewrites what was counted, and equals the recomputation again', () => {
    fc.assert(
      fc.property(runArb, (a) => {
        const bs = batchesOf(a);
        // Hold back one request's first record by two batches: its arrival then comes after
        // figures were already taken past it.
        const i = bs.findIndex((b) => b.requests.id.length > 0);
        fc.pre(i >= 0 && i + 2 < bs.length);
        const held = decodeRequests(bs[i]!.requests);
        const first = held[0]!;
        const later = decodeRequests(bs[i + 2]!.requests);
        const rest = held.slice(1);
        // The held request's later updates, if any, stay where they were (after its first record).
        bs[i] = { ...bs[i]!, requests: encodeRequests(rest) };
        bs[i + 2] = { ...bs[i + 2]!, requests: encodeRequests([first, ...later.filter((r) => r.id !== first.id), ...later.filter((r) => r.id === first.id)]) };
        const store = new RunStore(1, storeOptions(a));
        bs.forEach((b) => store.add(b));
        expect(store.lateRecords).toBeGreaterThan(0);
        expect(store.rebuilds).toBeGreaterThan(0);
        expectEqualToScratch(store, 'after a late record');
      }),
      { numRuns: 15, seed: 8 },
    );
  });
});

describe('the recomputation itself', () => {
  it('agrees with metrics/utilization, metrics/latency and direct sums over the records', () => {
    fc.assert(
      fc.property(runArb, (a) => {
        const store = new RunStore(1, storeOptions(a));
        for (const b of batchesOf(a)) store.add(b);
        const now = store.now;
        const gaps = store.gapLog!;
        for (const [f, t0] of [
          [figures(store, store.options), 0],
          [figures(store, store.options, WINDOW_S), Math.max(0, now - WINDOW_S)],
        ] as const) {
          const u = utilization(store.steps, { t0, t1: now, gpus: 1 });
          const close = (x: number, y: number) => expect(Math.abs(x - y)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(y)));
          close(f.timeUtilization, u.timeUtilization);
          close(f.allTokensPerS, u.allTokensPerS);
          close(f.meanQueueDepth, u.meanQueueDepth);
          if (u.steps > 0) close(f.meanBatch, u.meanBatchSize.perStep);
          expect(f.outputTokens).toBe(store.steps.filter((s) => s.end >= t0 && s.end < now).reduce((x, s) => x + s.outputTokens, 0));
          // Work served: prompts at first tokens, decodeS per later token, in the span.
          let served = 0;
          let offered = 0;
          for (const r of store.requests.values()) {
            if (r.firstToken !== undefined && r.firstToken >= t0 && r.firstToken < now) served += fakeWork.prefillS(r.promptTokens);
            if (r.arrival >= t0 && r.arrival < now) offered += fakeWork.prefillS(r.promptTokens) + (r.maxOutputTokens - 1) * fakeWork.decodeS(r.promptTokens, r.maxOutputTokens);
          }
          for (let i = 0; i < gaps.id.length; i++) {
            const r = store.requests.get(gaps.id[i]!)!;
            if (gaps.t[i]! >= t0 && gaps.t[i]! < now) served += fakeWork.decodeS(r.promptTokens, r.maxOutputTokens);
          }
          close(f.capacityUtilization * (now - t0), served);
          close(f.offeredLoad * (now - t0), offered);
          // vLLM's TTFT over the requests completed in the span, numpy's linear percentile.
          const done = [...store.requests.values()].filter((r) => r.status === 'finished' && r.finish! >= t0 && r.finish! < now);
          expect(f.serve.completed).toBe(done.length);
          if (done.length) close(f.serve.p99_ttft_ms, 1000 * percentile(done.map((r) => r.firstToken! - r.arrival), 99, 'linear'));
          // Pending at now, by the records' times.
          const pending = [...store.requests.values()].filter((r) => r.arrival < now && !((r.status === 'rejected' ? (r.finish ?? r.arrival) : r.finish ?? Infinity) < now));
          expect(f.serve.pending).toBe(pending.length);
          if (done.length + pending.length) {
            const w = [...done.map((r) => r.firstToken! - r.arrival), ...pending.map((r) => (r.firstToken !== undefined && r.firstToken < now ? r.firstToken : now) - r.arrival)];
            close(f.serve.p99_ttft_ms_with_waiting, 1000 * percentile(w, 99, 'linear'));
          }
        }
        // The chart's columns add up to the whole-run figures.
        const s = labSeries(store, store.options);
        const f = figures(store, store.options);
        const width = (k: number) => (k + 1 < s.t.length ? s.interval : now - s.t[k]!);
        const total = (c: number[]) => c.reduce((x, v, k) => x + v * width(k), 0);
        expect(total(s.outputTokensPerS)).toBeCloseTo(f.outputTokens, 6);
        expect(total(s.timeUtilization) / 100).toBeCloseTo(f.timeUtilization * now, 6);
        expect(total(s.capacityUtilization) / 100).toBeCloseTo(f.capacityUtilization * now, 6);
        expect(total(s.offeredLoad) / 100).toBeCloseTo(f.offeredLoad * now, 6);
      }),
      { numRuns: 25, seed: 21 },
    );
  });
});

describe('offered load and capacity utilization', () => {
  // Fixed lengths: each request is 0.0076 s of prompt work + 15 tokens at 0.00332 s = 0.0574 s.
  const perRequest = fakeWork.prefillS(8) + 15 * fakeWork.decodeS(8, 16);
  const at = (rho: number) => {
    const store = new RunStore(1, { durationS: 40, work: fakeWork, price: 1, slo: {} });
    for (const b of simulatedBatches({ seconds: 40, arrivalRate: rho / perRequest, prompt: [8, 8], output: [16, 16], seed: 3 })) store.add(b);
    return store.runFigures();
  };

  it('offered load crosses 1 when arrivals cross the rate the work model says the GPU can serve', () => {
    const below = at(0.85);
    const above = at(1.15);
    expect(below.offeredLoad).toBeLessThan(1);
    expect(above.offeredLoad).toBeGreaterThan(1);
    // Within Poisson noise of the rate set (~800 arrivals).
    expect(Math.abs(below.offeredLoad / 0.85 - 1)).toBeLessThan(0.1);
    expect(Math.abs(above.offeredLoad / 1.15 - 1)).toBeLessThan(0.1);
    // This engine keeps up with both (it is faster than the fake model says): served work follows the offered.
    expect(Math.abs(below.capacityUtilization - below.offeredLoad)).toBeLessThan(0.02);
    expect(Math.abs(above.capacityUtilization - above.offeredLoad)).toBeLessThan(0.02);
  });
});

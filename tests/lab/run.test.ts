// The lab's worker-side code without workers: a tenant's replayer (fake timers) and a whole
// LabRun on the CPU reference backend with a tiny random model: fed by replayed tenants; counting
// every token the engine samples under preemption (finding 3); reporting the requests still
// waiting at the end, whose count is exactly what separates the two SLO attainments (finding 2).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/model/cpu-forward.js';
import { LabRun, PausableClock, type LabEngineConfig } from '../../src/lab/run.js';
import { Replayer, promptIds, tenantSchedule, type ReplayTimers, type TenantSpec } from '../../src/lab/tenant-traffic.js';
import { decodeRequests, type MetricsBatch, type TenantRequestMessage } from '../../src/lab/protocol.js';
import { RunStore, figures, labSeries, WINDOW_S, type FigureOptions } from '../../src/lab/metrics.js';
import { runJson, storeExport } from '../../src/lab/export.js';
import { generatedPlan } from '../../src/lab/traffic.js';
import { presetState } from '../../src/lab/state.js';
import { randomModel } from '../model/helpers.js';

/** Timers driven by hand: advance(ms) fires what is due. */
function fakeTimers(): ReplayTimers & { advance(ms: number): void } {
  let now = 0;
  let next = 1;
  const pending = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout(fn, ms) {
      pending.set(next, { at: now + ms, fn });
      return next++;
    },
    clearTimeout(h) {
      pending.delete(h as number);
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = [...pending.entries()].filter(([, p]) => p.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        pending.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
    },
  };
}

const spec = (arrival: number[], prompt: number[], output: number[], maxContext = 64): TenantSpec => ({
  tenant: 3,
  name: 't',
  seed: 5,
  vocabSize: 37,
  maxContext,
  source: { kind: 'trace', arrival: Float64Array.from(arrival), promptTokens: Int32Array.from(prompt), outputTokens: Int32Array.from(output) },
});

describe('tenant replay', () => {
  it('sends each request at its time, not during a pause, none lost to late timers', () => {
    const sent: [number, TenantRequestMessage][] = [];
    const timers = fakeTimers();
    const s = spec([0, 0.5, 1, 3], [4, 5, 6, 7], [2, 2, 2, 2]);
    const r = new Replayer(s, tenantSchedule(s), (m) => sent.push([timers.now(), m]), timers);
    r.start();
    expect(sent.map(([t]) => t)).toEqual([0]);
    timers.advance(700);
    expect(sent.map(([t]) => t)).toEqual([0, 500]);
    r.pause();
    timers.advance(5000); // paused: nothing
    expect(sent).toHaveLength(2);
    r.resume();
    timers.advance(300);
    expect(sent.map(([t]) => t)).toEqual([0, 500, 6000]);
    timers.advance(10_000);
    expect(sent).toHaveLength(4);
    const [, m] = sent[3]!;
    expect(m).toMatchObject({ type: 'request', tenant: 3, maxOutputTokens: 2 });
    expect(Array.from(m.prompt)).toEqual(Array.from(promptIds(s, 3, 7)));
    expect(m.prompt[0]).toBe(1);
    expect(Math.min(...m.prompt.subarray(1))).toBeGreaterThanOrEqual(3);
  });

  it('clips requests to the context (output first, keeping one token)', () => {
    const sch = tenantSchedule(spec([0, 1], [60, 100], [10, 10], 64));
    expect([sch.promptTokens[0], sch.outputTokens[0]]).toEqual([60, 5]);
    expect([sch.promptTokens[1], sch.outputTokens[1]]).toEqual([64, 1]);
  });
});

const model = randomModel(4, { dim: 16, hiddenDim: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 37, seqLen: 64 });
const work = { prefillS: (p: number) => 0.001 * p, decodeS: () => 0.004 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A LabRun on the CPU backend whose batches go to a store (keeping gaps) and a list. */
function labRun(config: LabEngineConfig, fo: FigureOptions, maxSequences = 4) {
  const backend = new CpuBackend(model, { maxSequences });
  const batches: MetricsBatch[] = [];
  const store = new RunStore(1, { ...fo, durationS: config.durationS, keepGaps: true });
  const run = new LabRun(backend, 1, config, (b) => {
    batches.push(b);
    store.add(b);
  });
  return { run, store, batches };
}

const prompt = (i: number, n: number) => Uint32Array.from({ length: n }, (_, k) => (k === 0 ? 1 : 3 + ((i * 7 + k) % 30)));

describe('a live run on the CPU reference backend', () => {
  it('serves replayed tenants, streams batches, pauses, and ends at its duration', async () => {
    const { run, store, batches } = labRun({ maxBatch: 4, policy: 'fair', preemption: 'recompute', durationS: 1.5, flushMs: 100 }, { work, price: 1, slo: {} });
    expect(run.info).toMatchObject({ maxBatch: 4, maxContext: 64, timing: 'wall' });
    const state = { ...presetState('pooled-8'), tenants: 3, traffic: 'poisson' as const, load: 0.5, prompt: 6, output: 6, duration: 1.5 };
    const plan = generatedPlan(state, work, { vocabSize: 37, seqLen: 64 });
    const reps = plan.specs.map((s) => new Replayer(s, tenantSchedule(s), (m) => run.submit(m)));
    run.start();
    reps.forEach((r) => r.start());
    await sleep(400);
    await run.pause();
    const frozen = run.clock.now();
    await sleep(200);
    expect(run.clock.now()).toBe(frozen);
    run.resume();
    run.submit({ type: 'nonsense' } as unknown as TenantRequestMessage);
    await run.finished;
    reps.forEach((r) => r.stop());
    expect(run.done).toBe(true);
    const last = batches[batches.length - 1]!;
    expect(last.done).toBe(true);
    expect(last.badMessages).toBe(1);
    expect(batches.filter((b) => b.done)).toHaveLength(1);
    expect(store.now).toBe(1.5);
    expect(store.steps.length).toBeGreaterThan(0);
    expect(store.requests.size).toBeGreaterThan(0);
    const f = store.runFigures();
    expect(f).toEqual(figures(store, store.options));
    expect(store.windowFigures()).toEqual(figures(store, store.options, WINDOW_S));
    expect(store.series()).toEqual(labSeries(store, store.options));
    expect(f.outputTokensPerS).toBeGreaterThan(0);
    expect(f.timeUtilization).toBeGreaterThan(0);
    expect(f.timeUtilization).toBeLessThanOrEqual(1.0001);
    // Nothing is left holding backend sequences for the next run.
    expect(run.engine.pending).toBe(0);
  });

  it('counts every token the engine samples, preemption and recompute included (finding 3)', async () => {
    let recomputedWithOutput = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ prompt: fc.integer({ min: 2, max: 20 }), output: fc.integer({ min: 6, max: 40 }) }), { minLength: 2, maxLength: 5 }),
        fc.integer({ min: 2, max: 4 }),
        async (reqs, maxBatch) => {
          // KV for one sequence at full context (4 blocks of 16): running several forces preemption.
          const { run, store, batches } = labRun({ maxBatch, policy: 'fcfs', preemption: 'recompute', kvFraction: 0.25, durationS: 30, flushMs: 15 }, { work, price: 1, slo: {} });
          run.start();
          reqs.forEach((r, i) => run.submit({ type: 'request', tenant: i % 2, prompt: prompt(i, r.prompt), maxOutputTokens: r.output }));
          while (run.engine.pending > 0) await sleep(5);
          await run.stop();
          const sampled = run.engine.scheduler.totals.outputTokens;
          const records = [...store.requests.values()];
          expect(records.every((r) => r.status === 'finished')).toBe(true);
          expect(records.reduce((a, r) => a + r.outputTokens, 0)).toBe(sampled);
          // What the store counts, where the steps sampled them.
          const f = store.runFigures();
          expect(f.outputTokens).toBe(sampled);
          expect(store.series().outputTokensPerS.reduce((a, v, k, all) => a + v * (k + 1 < all.length ? store.interval : store.now - k * store.interval), 0)).toBeCloseTo(sampled, 6);
          // The old count (decode tokens + first tokens) misses the token each recompute prefill samples.
          const oldCount = store.steps.reduce((a, s) => a + s.decodeTokens, 0) + records.length;
          recomputedWithOutput += sampled - oldCount;
          // Every token after a request's first went out as a gap; together they span first token to finish.
          const gaps = store.gapLog!.byRequest();
          for (const r of records) {
            const g = gaps.get(r.id) ?? [];
            expect(g.length).toBe(r.outputTokens - 1);
            expect(g.reduce((a, x) => a + x, 0)).toBeCloseTo(r.finish! - r.firstToken!, 9);
          }
          expect(batches.filter((b) => b.done)).toHaveLength(1);
        },
      ),
      { numRuns: 8, seed: 42 },
    );
    // The runs did preempt requests that had produced output (what the old count got wrong).
    expect(recomputedWithOutput).toBeGreaterThan(0);
  });

  it('takes no request that comes at or after the run\'s end, though the end is only noticed at the next flush', async () => {
    const { run, store } = labRun({ maxBatch: 2, policy: 'fcfs', preemption: 'recompute', durationS: 0.2, flushMs: 1000 }, { work, price: 1, slo: {} });
    run.start();
    run.submit({ type: 'request', tenant: 0, prompt: prompt(0, 4), maxOutputTokens: 2 });
    while (run.clock.now() < 0.2) await sleep(20);
    expect(run.done).toBe(false); // the flush tick has not come yet
    run.submit({ type: 'request', tenant: 0, prompt: prompt(1, 4), maxOutputTokens: 2 });
    await run.finished;
    expect(store.requestList()).toHaveLength(1);
  });

  it('reports the requests still waiting at the end; the attainments differ by exactly those past the TTFT SLO (finding 2)', async () => {
    const slo = { ttft: 0.25, tpot: 1 };
    // Overloaded: 40 requests of 40 tokens at once, two at a time (thousands of steps), for 1 s.
    const { run, store, batches } = labRun({ maxBatch: 2, policy: 'fcfs', preemption: 'recompute', durationS: 1, flushMs: 50 }, { work, price: 1, slo });
    run.start();
    for (let i = 0; i < 40; i++) run.submit({ type: 'request', tenant: i % 3, prompt: prompt(i, 8), maxOutputTokens: 40 });
    await run.finished;
    const last = batches[batches.length - 1]!;
    const m = store.runFigures().serve;
    const pending = store.pendingRequests();
    expect(m.pending).toBe(pending.length);
    expect(pending.length).toBeGreaterThan(0);
    // The last batch carries each of them as it was: queued or running, not aborted.
    const inLast = new Map(decodeRequests(last.requests).map((r) => [r.id, r]));
    for (const p of pending) {
      expect(['queued', 'running']).toContain(inLast.get(p.id)?.status);
      expect(p.age_ms).toBeCloseTo((store.now - p.arrival) * 1000, 9);
    }
    // Requests still waiting past the TTFT SLO, counted from the list: their TTFT, or their age without one.
    const past = pending.filter((p) => (p.ttft_ms ?? p.age_ms) > slo.ttft * 1000).length;
    expect(past).toBeGreaterThan(0);
    expect(m.slo_missed_pending).toBe(past);
    expect(m.slo_attainment).toBe(m.slo_met / m.slo_ended);
    expect(m.slo_attainment_with_waiting).toBe(m.slo_met / (m.slo_ended + past));
    expect(m.slo_met).toBeGreaterThan(0); // the first requests were served at once
    expect(m.slo_attainment_with_waiting).toBeLessThan(m.slo_attainment);
    expect(m.p99_ttft_ms_with_waiting).toBeGreaterThanOrEqual(m.p99_ttft_ms);
    expect(m.max_pending_age_ms).toBe(Math.max(...pending.map((p) => p.age_ms)));
    // The export says the same.
    const json = JSON.parse(runJson({ exportedAt: 'x', settings: {}, url: '', device: null, calibration: null, engine: null, notes: [], ...storeExport(store) }));
    expect(json.pending).toHaveLength(pending.length);
    expect(json.metrics.slo_missed_pending).toBe(past);
    expect(json.metrics.max_pending_age_ms).toBe(m.max_pending_age_ms);
    expect(run.engine.pending).toBe(0);
  });

  it('has a clock that stops while paused', async () => {
    const c = new PausableClock();
    c.pause();
    const t = c.now();
    await sleep(30);
    expect(c.now()).toBe(t);
    c.resume();
    await sleep(30);
    expect(c.now()).toBeGreaterThan(t + 0.02);
  });
});

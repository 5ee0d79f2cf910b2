// The lab's worker-side code without workers: a tenant's replayer (fake timers), calibration and a
// whole LabRun on the CPU reference backend with a tiny random model, fed by replayed tenants.
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/model/cpu-forward.js';
import { calibrate, calibrationBatches, capacityAt, tokensPerSAt } from '../../src/lab/calibrate.js';
import { LabRun, PausableClock } from '../../src/lab/run.js';
import { Replayer, promptIds, tenantSchedule, type ReplayTimers, type TenantSpec } from '../../src/lab/tenant-traffic.js';
import type { MetricsBatch, TenantRequestMessage } from '../../src/lab/protocol.js';
import { RunStore, figures } from '../../src/lab/metrics.js';
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

describe('calibration and a live run on the CPU reference backend', () => {
  const model = randomModel(4, { dim: 16, hiddenDim: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 37, seqLen: 64 });

  it('measures tokens/s per batch size and a prompt-token weight', async () => {
    const backend = new CpuBackend(model, { maxSequences: 4 });
    expect(calibrationBatches(4)).toEqual([1, 2, 4]);
    expect(calibrationBatches(6)).toEqual([1, 2, 4, 6]);
    const cal = await calibrate(backend, { maxBatch: 4, minSeconds: 0.02, minSteps: 2, prefillChunk: 8 });
    expect(cal.points.map((p) => p.batch)).toEqual([1, 2, 4]);
    for (const p of cal.points) expect(p.tokensPerS).toBeGreaterThan(0);
    expect(cal.capacityTokensPerS).toBe(cal.points[2]!.tokensPerS);
    expect(cal.prefillWeight).toBeGreaterThan(0);
    expect(capacityAt(cal, 4)).toMatchObject({ capacityTokensPerS: cal.capacityTokensPerS, interpolated: false });
    expect(capacityAt(cal, 3).interpolated).toBe(true);
    for (let k = 1; k < cal.points.length; k++) expect(cal.points[k]!.msPerStep).toBeGreaterThanOrEqual(cal.points[k - 1]!.msPerStep);
    const pt = (batch: number, tokensPerS: number) => ({ batch, tokensPerS, msPerStep: 1, measuredMsPerStep: 1, steps: 1 });
    expect(tokensPerSAt([pt(2, 10), pt(4, 20)], 3)).toBe(15);
  });

  it('serves replayed tenants, streams batches, pauses, and ends at its duration', async () => {
    const backend = new CpuBackend(model, { maxSequences: 4 });
    const batches: MetricsBatch[] = [];
    const store = new RunStore(1);
    const run = new LabRun(backend, 1, { maxBatch: 4, policy: 'fair', preemption: 'recompute', durationS: 1.5, flushMs: 100 }, (b) => {
      batches.push(b);
      store.add(b);
    });
    expect(run.info).toMatchObject({ maxBatch: 4, maxContext: 64, timing: 'wall' });
    const state = { ...presetState('pooled-8'), tenants: 3, traffic: 'poisson' as const, load: 0.5, prompt: 6, output: 6, duration: 1.5 };
    const plan = generatedPlan(state, { capacityTokensPerS: 60, prefillWeight: 0.2 }, { vocabSize: 37, seqLen: 64 });
    const reps = plan.specs.map((s) => new Replayer(s, tenantSchedule(s), (m) => run.submit(m)));
    run.start();
    reps.forEach((r) => r.start());
    await new Promise((r) => setTimeout(r, 400));
    await run.pause();
    const frozen = run.clock.now();
    await new Promise((r) => setTimeout(r, 200));
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
    expect(store.now).toBeCloseTo(1.5, 1);
    expect(store.steps.length).toBeGreaterThan(0);
    expect(store.requests.size).toBeGreaterThan(0);
    const f = figures(store, { capacityTokensPerS: 60, price: 1, slo: {} });
    expect(f.outputTokensPerS).toBeGreaterThan(0);
    expect(f.timeUtilization).toBeGreaterThan(0);
    expect(f.timeUtilization).toBeLessThanOrEqual(1.0001);
    // Nothing is left holding backend sequences for the next run.
    expect(run.engine.pending).toBe(0);
  });

  it('has a clock that stops while paused', async () => {
    const c = new PausableClock();
    c.pause();
    const t = c.now();
    await new Promise((r) => setTimeout(r, 30));
    expect(c.now()).toBe(t);
    c.resume();
    await new Promise((r) => setTimeout(r, 30));
    expect(c.now()).toBeGreaterThan(t + 0.02);
  });
});

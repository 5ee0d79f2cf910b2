// From settings and capacity to tenants' traffic: offered load as a fraction of capacity in work
// (the simulator's unit), the traffic shapes, and trace scaling (time compression to ρ, token
// scaling, context clip, offsets).
import { describe, expect, it } from 'vitest';
import { presetState, type LabState } from '../../src/lab/state.js';
import { arrivalFor, autoTokenScale, generatedPlan, lengthsFor, meanRequestWork, requestWorkS, sloSeconds, tracePlan, WORK_SAMPLES } from '../../src/lab/traffic.js';
import { tenantSchedule } from '../../src/lab/tenant-traffic.js';
import { meanRate } from '../../src/traffic/arrivals.js';
import type { Trace } from '../../src/traffic/types.js';

// Work: 1.25 ms per prompt token, 5 ms per output token after the first.
const basis = { prefillS: (p: number) => 0.00125 * p, decodeS: () => 0.005 };
const model = { vocabSize: 512, seqLen: 256 };

describe('lab traffic', () => {
  it('sets each tenant rate so that its offered work is ρ of capacity', () => {
    const s: LabState = { ...presetState('pooled-8'), traffic: 'poisson', load: 0.1, prompt: 16, output: 32 };
    const plan = generatedPlan(s, basis, model);
    // Mean work ≈ 1.25 ms × 16 + 5 ms × 31 = 175 ms (lognormal lengths, rounded and clamped).
    expect(plan.workPerRequestS).toBeGreaterThan(0.165);
    expect(plan.workPerRequestS).toBeLessThan(0.185);
    expect(plan.workPerRequestS).toBe(meanRequestWork(lengthsFor(s, 256), basis, 256));
    expect(plan.ratePerTenant).toBeCloseTo(0.1 / plan.workPerRequestS, 12);
    expect(plan.specs).toHaveLength(8);
    expect(plan).toMatchObject({ loadPerTenant: 0.1, loadTotal: 0.8 });
    expect(plan.description).toMatch(/ρ = 0.1 of capacity each, 0.8 in total/);
    // The generated schedules offer about that much work over a long horizon.
    const long = { ...s, duration: 4000 };
    let work = 0;
    for (const spec of generatedPlan(long, basis, model).specs) {
      const sch = tenantSchedule(spec);
      for (let i = 0; i < sch.arrival.length; i++) work += requestWorkS(basis, sch.promptTokens[i]!, sch.outputTokens[i]!);
    }
    expect(work / 4001 / 8).toBeGreaterThan(0.095);
    expect(work / 4001 / 8).toBeLessThan(0.105);
  });

  it('takes the mean work over a fixed sample, clipped to the context', () => {
    const lengths = lengthsFor({ prompt: 16, output: 32 }, 256);
    expect(WORK_SAMPLES).toBeGreaterThan(1000);
    expect(meanRequestWork(lengths, basis, 256)).toBe(meanRequestWork(lengths, basis, 256));
    // Fixed lengths that overflow a 20-position context: output trimmed to 5 (16 + 5 − 1 = 20).
    const fixed = { kind: 'parametric' as const, prompt: { kind: 'fixed' as const, value: 16 }, output: { kind: 'fixed' as const, value: 32 } };
    expect(meanRequestWork(fixed, basis, 20)).toBeCloseTo(requestWorkS(basis, 16, 5), 12);
    expect(meanRequestWork(fixed, basis, 256)).toBeCloseTo(requestWorkS(basis, 16, 32), 12);
  });

  it('sets the load against another batch when asked: no-batching offers pooled-8\'s traffic', () => {
    const b16 = { prefillS: (p: number) => 0.001 * p, decodeS: () => 0.001 };
    const pooled = generatedPlan(presetState('pooled-8'), b16, model);
    const nb = generatedPlan(presetState('no-batching'), b16, model);
    expect(nb.specs).toEqual(pooled.specs);
    expect(nb.ratePerTenant).toBe(pooled.ratePerTenant);
    expect(nb.description).toMatch(/of capacity at max batch 16 each/);
    expect(pooled.description).not.toMatch(/at max batch/);
  });

  it('keeps the mean rate for every shape and spreads diurnal peaks over tenants', () => {
    for (const traffic of ['poisson', 'gamma', 'diurnal', 'onoff'] as const) {
      expect(meanRate(arrivalFor({ traffic, cv: 3, speed: 2 }, 0.7, 0, 4))).toBeCloseTo(0.7);
    }
    const a = arrivalFor({ traffic: 'diurnal', cv: 1, speed: 2 }, 1, 1, 4);
    expect(a).toMatchObject({ kind: 'diurnal', periodS: 30, phase: 0 });
    const onoff = arrivalFor({ traffic: 'onoff', cv: 1, speed: 1 }, 1, 0, 4);
    expect(onoff).toMatchObject({ kind: 'onoff', onRate: 4, meanOnS: 2, meanOffS: 6 });
  });

  it('gives tenants different but reproducible streams', () => {
    const plan = generatedPlan({ ...presetState('pooled-8'), duration: 200 }, basis, model);
    const a = tenantSchedule(plan.specs[0]!);
    const b = tenantSchedule(plan.specs[1]!);
    expect(a.arrival.length).toBeGreaterThan(5);
    expect(Array.from(a.arrival)).not.toEqual(Array.from(b.arrival));
    expect(Array.from(tenantSchedule(plan.specs[0]!).arrival)).toEqual(Array.from(a.arrival));
  });

  it('scales a trace: tokens to the context, time so that each tenant offers ρ, offsets per tenant', () => {
    const requests = Array.from({ length: 100 }, (_, i) => ({ arrival: i * 36, promptTokens: 2000, outputTokens: i === 0 ? 900 : 200 }));
    const trace: Trace = { source: 'test.csv', format: 'azure', requests, badRows: [], durationS: 3600 };
    const s: LabState = { ...presetState('pooled-8'), traffic: 'trace', tenants: 4, load: 0.1, duration: 30, tokenScale: 0.01 };
    const plan = tracePlan(trace, s, basis, model);
    // tokens: 2000 -> 20, 200 -> 2 (900 -> 9); work 20 × 1.25 ms + 1 × 5 ms = 30 ms (the first: 65 ms).
    const workRate = (99 * 0.03 + 0.065) / 3600;
    expect(plan.scaling!.summary.timeScale).toBeCloseTo(0.1 / workRate, 6);
    expect(plan.workPerRequestS).toBeCloseTo((99 * 0.03 + 0.065) / 100, 12);
    expect(plan.scaling!.text).toMatch(/faster/);
    expect(plan.scaling!.text).toMatch(/token counts ×0.01/);
    expect(plan.specs).toHaveLength(4);
    const sch = plan.specs.map((sp) => tenantSchedule(sp));
    // Every tenant covers the run, its arrivals sorted, starting at a different point.
    for (const x of sch) {
      expect(x.arrival.length).toBeGreaterThan(0);
      for (let i = 1; i < x.arrival.length; i++) expect(x.arrival[i]!).toBeGreaterThanOrEqual(x.arrival[i - 1]!);
      expect(x.arrival[x.arrival.length - 1]!).toBeLessThan(31);
    }
    // Tenant 0 starts with the trace's first (long) request, tenant 1 a quarter of the way in.
    expect(sch[0]!.outputTokens[0]).toBe(9);
    expect(sch[1]!.outputTokens[0]).toBe(2);
    // Context clip: prompt + output - 1 fits 256 positions.
    const big: Trace = { ...trace, requests: [{ arrival: 0, promptTokens: 300, outputTokens: 100 }, { arrival: 10, promptTokens: 5, outputTokens: 5 }] };
    const clipped = tenantSchedule(tracePlan(big, { ...s, tokenScale: 1 }, basis, model).specs[0]!);
    for (let i = 0; i < clipped.arrival.length; i++) expect(clipped.promptTokens[i]! + clipped.outputTokens[i]! - 1).toBeLessThanOrEqual(256);
  });

  it('sizes an automatic token scale to the mean generated request', () => {
    const trace: Trace = { source: 't', format: 'azure', requests: [{ arrival: 0, promptTokens: 400, outputTokens: 80 }], badRows: [] };
    expect(autoTokenScale(trace, { prompt: 16, output: 32 })).toBe(0.1);
    expect(autoTokenScale(trace, { prompt: 400, output: 400 })).toBe(1);
  });

  it('derives automatic SLOs from the measured step time', () => {
    expect(sloSeconds({ ttft: 'auto', tpot: 'auto' }, 50, 2, 16)).toEqual({ ttft: 0.5 + 0.032, tpot: 0.1 });
    expect(sloSeconds({ ttft: 1, tpot: 0.2 }, 50, 2, 16)).toEqual({ ttft: 1, tpot: 0.2 });
  });
});

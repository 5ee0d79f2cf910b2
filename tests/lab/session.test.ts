// The session's pure steps, from a calibration (fake backend) to a prepared run: which capacity the
// load is set against (finding 8: no-batching offered ~6× less than pooled-8), the run's own
// capacity for its figures, SLOs, and the settings refused before a run starts.
import { beforeAll, describe, expect, it } from 'vitest';
import { calibrate, type Calibration } from '../../src/lab/calibrate.js';
import { calibrationAnchors, calibrationBatch, calibrationCovers, prepareRun, runNotes, startProblems } from '../../src/lab/session.js';
import { presetState } from '../../src/lab/state.js';
import type { Trace } from '../../src/traffic/types.js';
import { FakeBackend, SWIFTSHADER_LIKE } from './fake-backend.js';

const model = { vocabSize: 64, seqLen: 256 };
let cal: Calibration;

beforeAll(async () => {
  const fake = new FakeBackend(SWIFTSHADER_LIKE, { maxSequences: 32 });
  cal = await calibrate(fake, { maxBatch: 16, now: fake.now });
});

describe('lab session: prepare', () => {
  it('offers no-batching the traffic of pooled-8 and counts its work at batch 1', () => {
    const p8 = prepareRun(presetState('pooled-8'), cal, model);
    const nb = prepareRun(presetState('no-batching'), cal, model);
    expect(nb.plan.specs).toEqual(p8.plan.specs);
    expect(nb.plan.ratePerTenant).toBe(p8.plan.ratePerTenant);
    expect(nb.loadBasis.scheduler.maxBatch).toBe(16);
    expect(nb.capacity.scheduler.maxBatch).toBe(1);
    // Against its own capacity, no-batching's traffic is an overload.
    const own = nb.plan.workPerRequestS;
    const selfSet = prepareRun({ ...presetState('no-batching'), loadBatch: 'run' }, cal, model);
    const atBatch1 = selfSet.plan.workPerRequestS;
    expect(atBatch1 / own).toBeGreaterThan(2.5);
    expect(nb.plan.loadTotal * (atBatch1 / own)).toBeGreaterThan(1);
    // Set against its own capacity (the old way) it would offer that much less traffic.
    expect(selfSet.plan.ratePerTenant).toBeLessThan(nb.plan.ratePerTenant / 2.5);
    // The figures count work at the run's own settings, either way.
    expect(nb.capacity.workS(16, 32)).toBe(selfSet.capacity.workS(16, 32));
    expect(nb.capacity.workS(16, 32)).toBeGreaterThan(2.5 * p8.capacity.workS(16, 32));
  });

  it('calibrates up to the larger of the run\'s batch and the load\'s', () => {
    expect(calibrationBatch(presetState('no-batching'))).toBe(16);
    expect(calibrationBatch({ batch: 4, loadBatch: 'run' })).toBe(4);
    // no-batching runs at max batch 1 with its load set at 16: it needs a level measured at 1 too.
    expect(calibrationCovers(cal, presetState('no-batching'), 'cpu')).toBe(false);
    const withOne = { ...cal, anchors: [{ ...cal.anchor!, batch: 1, factor: 1.3 }] };
    expect(calibrationCovers(withOne, presetState('no-batching'), 'cpu')).toBe(true);
    expect(calibrationCovers(cal, { batch: 8, loadBatch: 'run' })).toBe(false);
    // One calibration serves every preset: it anchors max batch 1 besides the top batch.
    expect(calibrationAnchors(presetState('pooled-8'))).toEqual([1]);
    expect(calibrationAnchors(presetState('no-batching'))).toEqual([1]);
    expect(calibrationAnchors({ batch: 1, loadBatch: 'run' })).toEqual([]);
    expect(calibrationAnchors({ batch: 4, loadBatch: 8 })).toEqual([1, 4]);
    expect(calibrationCovers(cal, { batch: 32, loadBatch: 'run' })).toBe(false);
    expect(calibrationCovers(cal, presetState('pooled-8'), 'gpu')).toBe(false);
    expect(() => prepareRun({ ...presetState('pooled-8'), batch: 24 }, cal, model)).toThrow(/measured up to max batch 16; max batch 24 needs a new one/);
  });

  it('resolves auto SLOs on this device, keeps fixed ones', () => {
    const p = prepareRun(presetState('pooled-8'), cal, model);
    // The mean step at capacity: 16 sequences a step, each token costing work ÷ output.
    const step = (16 * p.capacity.workS(16, 32)) / 32;
    expect(step).toBeGreaterThan(p.capacity.decodeStep(32).seconds);
    expect(p.slo.tpot).toBeCloseTo(2 * step, 12);
    expect(p.slo.ttft).toBeCloseTo(10 * step + 16 * p.capacity.prefillPerToken(), 12);
    expect(prepareRun({ ...presetState('pooled-8'), ttft: 2, tpot: 0.5 }, cal, model).slo).toEqual({ ttft: 2, tpot: 0.5 });
    const notes = runNotes(p, cal, 'wall');
    expect(notes.join('\n')).toMatch(/Capacity is what this device serves flat out/);
    expect(notes.join('\n')).toMatch(/Calibration: 3 rounds/);
  });

  it('refuses what cannot run, naming the setting', () => {
    const s = presetState('pooled-8');
    expect(startProblems(s, { maxSequences: 32 })).toEqual([]);
    expect(startProblems({ ...s, batch: 20 }, { maxSequences: 16 })).toEqual(['batch 20 exceeds the 16 sequences this backend holds']);
    expect(startProblems({ ...s, duration: 4000 })).toEqual(['duration 4000 s is outside 5–3600 s']);
    expect(startProblems({ ...s, traffic: 'trace' })).toEqual(['traffic=trace needs a trace (trace=FILE or URL)']);
    const empty: Trace = { source: 'e.csv', format: 'azure', requests: [], badRows: [] };
    expect(startProblems({ ...s, traffic: 'trace', trace: 'e.csv' }, undefined, empty)).toEqual(['traffic=trace: e.csv has no requests']);
    expect(startProblems({ ...s, mode: 'compare', tenants: 1 })[0]).toMatch(/needs tenants ≥ 2/);
    expect(() => prepareRun({ ...s, traffic: 'trace' }, cal, model)).toThrow(/^cannot start: traffic=trace needs a trace/);
  });
});

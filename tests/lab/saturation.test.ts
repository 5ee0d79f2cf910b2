// The batching benchmark's checks (src/lab/saturation.ts): each verdict flips when its input
// crosses the threshold, and the closed loop keeps a LabRun saturated where the benchmark's old
// one-shot submission (64 requests once) let the engine idle. The live runs use the CPU
// reference backend and a tiny random model (under a second each).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { StepRecord } from '../../src/metrics/records.js';
import { CpuBackend } from '../../src/model/cpu-forward.js';
import { LabRun } from '../../src/lab/run.js';
import { RunStore } from '../../src/lab/metrics.js';
import type { TenantRequestMessage } from '../../src/lab/protocol.js';
import {
  FULL_BATCH_MIN_FRACTION,
  RATIO_TOLERANCE,
  closedLoop,
  decodePointMedian,
  fullStepPeriods,
  medianRate,
  mergeSaturation,
  ratioAgreement,
  saturation,
  saturationVerdict,
} from '../../src/lab/saturation.js';
import { randomModel } from '../model/helpers.js';

/** A step starting at `start` (10 ms long) with `batchSize` sequences and `queueDepth` waiting. */
const step = (index: number, start: number, batchSize: number, queueDepth: number): StepRecord => ({
  index,
  gpu: 0,
  start,
  end: start + 0.01,
  busy: 0.01,
  timing: 'wall',
  batchSize,
  decodeTokens: batchSize,
  outputTokens: batchSize,
  prefillTokens: 0,
  contextTokens: batchSize * 10,
  queueDepth,
  kvBlocksUsed: 1,
  kvBlocksTotal: 10,
});

/** 100 steps in [2, 3) at max batch 16: `short` of them with 15 sequences, `drained` with an empty queue. */
function window100(short: number, drained: number): StepRecord[] {
  return Array.from({ length: 100 }, (_, i) => step(i, 2 + i * 0.01, i < short ? 15 : 16, i >= 100 - drained ? 0 : 32));
}

describe('full-batch fraction', () => {
  it('counts only steps that began in the window, full and with requests waiting', () => {
    const steps = [
      step(0, 0.5, 16, 32), // before the window: not counted
      step(1, 2.0, 16, 32), // full, waiting
      step(2, 2.5, 16, 0), // full, nothing waiting
      step(3, 3.0, 12, 32), // waiting but not full
      step(4, 3.5, 16, 1), // full, waiting
      step(5, 4.0, 16, 32), // at t1: not counted
    ];
    // Context 10 per sequence in every step (step() sets contextTokens = 10 x batchSize).
    expect(saturation(steps, 16, { t0: 2, t1: 4 })).toEqual({ steps: 4, full: 2, fraction: 0.5, minQueueDepth: 0, meanContext: 10, sequences: 60 });
    // Per sequence, not per step: 2 sequences at 5 and one at 20 average 10.
    const mixed = [{ ...step(0, 0, 2, 1), contextTokens: 10 }, { ...step(1, 0.1, 1, 1), contextTokens: 20 }];
    expect(saturation(mixed, 2, { t0: 0, t1: 1 }).meanContext).toBe(10);
    const empty = saturation(steps, 16, { t0: 10, t1: 12 });
    expect(empty).toMatchObject({ steps: 0, full: 0 });
    expect(empty.fraction).toBeNaN();
    expect(empty.meanContext).toBeNaN();
    expect(saturationVerdict('max batch 16', empty, 16)).toMatchObject({ ok: false, sentence: expect.stringContaining('no step began') });
  });

  it('merges windows as if their steps were one window', () => {
    const a = window100(10, 0); // 90 of 100 full
    const b = window100(0, 0).map((s) => ({ ...s, start: s.start + 5, end: s.end + 5, contextTokens: 20 * s.batchSize, queueDepth: 40 }));
    const parts = [saturation(a, 16, { t0: 2, t1: 3 }), saturation(b, 16, { t0: 7, t1: 8 }), saturation(b, 16, { t0: 50, t1: 60 })];
    const merged = mergeSaturation(parts);
    expect(merged).toEqual(saturation([...a, ...b], 16, { t0: 2, t1: 8 }));
    expect(merged).toMatchObject({ steps: 200, full: 190, fraction: 0.95, minQueueDepth: 32 });
    expect(merged.meanContext).toBeCloseTo((10 * (90 * 16 + 10 * 15) + 20 * 1600) / (90 * 16 + 10 * 15 + 1600), 12);
    expect(saturationVerdict('merged', merged, 16).ok).toBe(true);
    expect(saturationVerdict('merged', mergeSaturation([parts[0]!, saturation(window100(1, 0), 16, { t0: 2, t1: 3 })]), 16).ok).toBe(false);
    expect(mergeSaturation([]).steps).toBe(0);
  });

  it('passes at 95% of steps full with requests waiting and fails just below, for either cause', () => {
    expect(FULL_BATCH_MIN_FRACTION).toBe(0.95);
    const at = saturation(window100(5, 0), 16, { t0: 2, t1: 3 });
    expect(at.fraction).toBe(0.95);
    expect(saturationVerdict('max batch 16', at, 16)).toEqual({
      ok: true,
      sentence: 'max batch 16: 95 of 100 steps (95.0%) ran a full batch of 16 with requests still waiting.',
    });
    const notFull = saturationVerdict('max batch 16', saturation(window100(6, 0), 16, { t0: 2, t1: 3 }), 16);
    expect(notFull.ok).toBe(false);
    expect(notFull.sentence).toContain('94 of 100 steps (94.0%)');
    expect(notFull.sentence).toContain('below the 95.0% a saturating phase needs');
    const drained = saturationVerdict('max batch 16', saturation(window100(0, 6), 16, { t0: 2, t1: 3 }), 16);
    expect(drained.ok).toBe(false);
    expect(saturationVerdict('max batch 16', saturation(window100(0, 5), 16, { t0: 2, t1: 3 }), 16).ok).toBe(true);
  });

  it('the verdict is ok exactly when the fraction is at least the minimum', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 }), fc.nat(), (n, k) => {
        const full = k % (n + 1);
        const steps = Array.from({ length: n }, (_, i) => step(i, i * 0.01, 4, i < full ? 8 : 0));
        const s = saturation(steps, 4, { t0: 0, t1: n });
        expect(s.full).toBe(full);
        expect(saturationVerdict('p', s, 4).ok).toBe(full / n >= FULL_BATCH_MIN_FRACTION);
      }),
    );
  });
});

describe('ratio agreement with the calibration', () => {
  it('passes within 15% of the calibration ratio and fails just outside, on either side', () => {
    expect(RATIO_TOLERANCE).toBe(0.15);
    const cal = 6.4;
    for (const f of [1, 1.149, 0.851]) expect(ratioAgreement(16, cal * f, cal).ok).toBe(true);
    for (const f of [1.151, 0.849]) expect(ratioAgreement(16, cal * f, cal).ok).toBe(false);
    const low = ratioAgreement(16, 0.78, 6.4);
    expect(low).toMatchObject({ ok: false, measured: 0.78, calibration: 6.4 });
    expect(low.relativeDifference).toBeCloseTo(0.78 / 6.4 - 1, 12);
    expect(low.sentence).toBe(
      "batch 16 / batch 1 measured 0.78x against the calibration's 6.40x (-87.8%), outside 15.0%: the saturated engine and the calibration disagree on what batching buys on this device.",
    );
    expect(ratioAgreement(16, 6.0, 6.4).sentence).toBe("batch 16 / batch 1 measured 6.00x against the calibration's 6.40x (-6.3%), within 15.0%.");
  });

  it('fails when a ratio is not a positive number', () => {
    for (const [m, c] of [
      [NaN, 6],
      [6, 0],
      [Infinity, 6],
      [6, -1],
    ] as const) {
      const a = ratioAgreement(16, m, c);
      expect(a.ok).toBe(false);
      expect(a.sentence).toContain('cannot be compared');
    }
  });

  it('the verdict is ok exactly when |measured / calibration - 1| <= 15% (away from rounding at the edge)', () => {
    fc.assert(
      fc.property(fc.double({ min: 1, max: 50, noNaN: true }), fc.double({ min: 0.3, max: 2, noNaN: true }), (cal, f) => {
        fc.pre(Math.abs(Math.abs(f - 1) - RATIO_TOLERANCE) > 1e-9);
        expect(ratioAgreement(16, cal * f, cal).ok).toBe(Math.abs(f - 1) <= RATIO_TOLERANCE);
      }),
    );
  });
});

describe('step periods and the median rate', () => {
  it('takes start-to-next-start of full steps in the window; the median ignores a slow tail the mean would count', () => {
    // Steps every 10 ms from t = 2, but every fifth one stalls 40 ms more (another process).
    const steps: StepRecord[] = [];
    let t = 2;
    for (let i = 0; i < 50; i++) {
      steps.push(step(i, t, i === 20 ? 8 : 16, 32));
      t += i % 5 === 4 ? 0.05 : 0.01;
    }
    const periods = fullStepPeriods(steps, 16, { t0: 2, t1: 10 });
    expect(periods).toHaveLength(48); // 49 steps have a next one; one of them is not full
    expect(periods.filter((p) => p > 0.04)).toHaveLength(9); // the stall after the last step has no next step
    expect(medianRate(periods, 16)).toBeCloseTo(1600, 6);
    const meanRate = (16 * periods.length) / periods.reduce((a, b) => a + b, 0);
    expect(meanRate).toBeLessThan(1600 * 0.75);
    // The window: steps that began before t0 or at/after t1 do not count.
    expect(fullStepPeriods(steps, 16, { t0: 2.005, t1: 2.025 })).toEqual([expect.closeTo(0.01, 9), expect.closeTo(0.01, 9)]);
    expect(medianRate([], 16)).toBeNaN();
  });
});

describe("the calibration's decode point over its rounds", () => {
  const pt = (batch: number, tokensPerS: number, context: number) => ({ batch, tokensPerS, context, msPerStep: 1, steps: 4 });
  const rounds = (...r: [number, number][][]) => ({ rounds: r.map((points) => ({ points: points.map(([b, t]) => pt(b, t, 10 + b)) })) }) as unknown as Parameters<typeof decodePointMedian>[0];

  it('takes the median of each batch size over the rounds, so one disturbed round does not move it', () => {
    const cal = rounds(
      [[1, 100], [16, 800]],
      [[1, 60], [16, 810]], // batch 1 caught a busy moment
      [[1, 104], [16, 300]], // batch 16 did
    );
    expect(decodePointMedian(cal, 1)).toEqual({ batch: 1, tokensPerS: 100, context: 11, rounds: 3 });
    expect(decodePointMedian(cal, 16)).toEqual({ batch: 16, tokensPerS: 800, context: 26, rounds: 3 });
    expect(decodePointMedian(rounds([[1, 100]], [[1, 110]]), 1).tokensPerS).toBe(105);
    expect(() => decodePointMedian(cal, 4)).toThrow('no round measured decode at batch 4');
  });
});

describe('closed loop on a live run (CPU backend)', () => {
  const model = randomModel(4, { dim: 16, hiddenDim: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 37, seqLen: 64 });
  const request = (i: number): TenantRequestMessage => ({ type: 'request', tenant: 0, prompt: Uint32Array.of(1, 3 + (i % 30)), maxOutputTokens: 8 });
  const MAX_BATCH = 4;

  /** Runs 0.6 s at max batch 4; `feed` sends requests. Saturation over the whole run. */
  async function live(feed: (run: LabRun) => () => void) {
    const backend = new CpuBackend(model, { maxSequences: MAX_BATCH });
    // Figures are not read here; the work model only has to exist.
    const store = new RunStore(1, { work: { prefillS: () => 1e-3, decodeS: () => 1e-3 }, price: 1, slo: {}, durationS: 0.6 });
    const run = new LabRun(backend, 1, { maxBatch: MAX_BATCH, policy: 'fcfs', preemption: 'recompute', durationS: 0.6, flushMs: 50 }, (b) => store.add(b));
    run.start();
    const stop = feed(run);
    await run.finished;
    stop();
    return { store, sat: saturation(store.steps, MAX_BATCH, { t0: 0, t1: store.now }) };
  }

  it('a one-shot submission drains and fails the check; the closed loop keeps 2 x max batch waiting and passes', async () => {
    // The benchmark's old feed: a fixed set of requests submitted once. Four cohorts of four run
    // in lockstep; the last cohort's steps find the queue empty, and then the engine idles.
    const once = await live((run) => {
      for (let i = 0; i < 16; i++) run.submit(request(i));
      return () => {};
    });
    expect(once.store.requests.size).toBe(16);
    expect(once.sat.steps).toBeGreaterThan(0);
    expect(once.sat.fraction).toBeLessThan(0.8);
    expect(saturationVerdict('one-shot', once.sat, MAX_BATCH).ok).toBe(false);

    let loop!: ReturnType<typeof closedLoop>;
    const closed = await live((run) => {
      loop = closedLoop(run, request, 2 * MAX_BATCH);
      return () => loop.stop();
    });
    expect(loop.error).toBeUndefined();
    expect(closed.sat.steps).toBeGreaterThan(20);
    expect(closed.sat.minQueueDepth).toBeGreaterThanOrEqual(2 * MAX_BATCH);
    expect(closed.sat.fraction).toBe(1);
    // Requests of a 2-token prompt and 8 output tokens step at contexts 2..9 (prefill, then 7
    // decodes), in lockstep cohorts: mean 5.5 per sequence, up to the cohort the run's end cut.
    expect(Math.abs(closed.sat.meanContext - 5.5)).toBeLessThan(0.5);
    expect(saturationVerdict('closed loop', closed.sat, MAX_BATCH).ok).toBe(true);
    // Every request it made was served or is still in the store as queued/running: none lost.
    expect(closed.store.requests.size).toBe(loop.submitted);
    expect(loop.submitted).toBeGreaterThan(2 * MAX_BATCH);
  });

  it('stops with a sentence when the engine does not queue a request', async () => {
    let loop!: ReturnType<typeof closedLoop>;
    const tooLong: TenantRequestMessage = { type: 'request', tenant: 0, prompt: new Uint32Array(80).fill(3), maxOutputTokens: 8 };
    const r = await live((run) => {
      loop = closedLoop(run, (i) => (i < 3 ? request(i) : tooLong), 2 * MAX_BATCH);
      return () => loop.stop();
    });
    expect(loop.submitted).toBe(4); // 8 waiting + 4 free slots asked for; the 4th was refused
    expect(loop.error).toBe('closed loop: request 3 was not queued (rejected or malformed), so the queue cannot be kept at 8 or more');
    expect(saturationVerdict('closed loop', r.sat, MAX_BATCH).ok).toBe(false);
  });
});

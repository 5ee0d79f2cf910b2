// Calibration on a fake backend whose step times the test sets (tests/lab/fake-backend.ts): the
// fit recovers the step-time model, and the stopping rule stops when rounds agree, runs to the
// time limit when they do not (and says so), and takes the slowest of the agreeing rounds; the
// anchor (a saturated run of the Engine) sets the fitted model's level to the engine's own steps.
import { describe, expect, it } from 'vitest';
import {
  CALIBRATION_DEFAULTS,
  actualAndPredicted,
  anchoredAt,
  calibrate,
  calibrationBatches,
  saturatedRun,
  scaleSpec,
  specAt,
  spreadOf,
  tokensPerSAt,
  type Calibration,
} from '../../src/lab/calibrate.js';
import { labCapacity } from '../../src/lab/capacity.js';
import { FakeBackend, SWIFTSHADER_LIKE } from './fake-backend.js';

/** Calibrates with round k (from 1) running `factors[k - 1]` times as slow (the last factor repeats). */
async function calibrateWith(factors: number[], options: { maxBatch?: number; maxSequences?: number; seqLen?: number; maxSeconds?: number } = {}): Promise<{ cal: Calibration; fake: FakeBackend }> {
  const fake = new FakeBackend(SWIFTSHADER_LIKE, { maxSequences: options.maxSequences ?? 16, seqLen: options.seqLen });
  const cal = await calibrate(fake, {
    maxBatch: options.maxBatch ?? 16,
    now: fake.now,
    maxSeconds: options.maxSeconds,
    onProgress: (_d, _t, what) => {
      const m = /^round (\d+):/.exec(what);
      if (m) fake.factor = factors[Math.min(factors.length, Number(m[1])) - 1]!;
    },
  });
  return { cal, fake };
}

describe('lab calibration', () => {
  it('fits the step-time model the steps follow, at every batch and context it measures', async () => {
    const { cal, fake } = await calibrateWith([1]);
    const s = cal.stepTime;
    const t = SWIFTSHADER_LIKE;
    expect(s.a).toBeCloseTo(t.a, 9);
    expect(s.b).toBeCloseTo(t.b, 9);
    expect(s.c).toBeCloseTo(t.c, 9);
    expect(s.d).toBeCloseTo(t.d, 9);
    expect(s.e).toBeCloseTo(t.e, 9);
    expect(cal.points.map((p) => p.batch)).toEqual(calibrationBatches(16));
    for (const p of cal.points) expect(p.msPerStep).toBeCloseTo(1000 * fake.shapeSeconds(p.batch, 0, p.batch * p.context), 6);
    const r = cal.rounds[0]!;
    // Long contexts: past half the model's context alone, and at maxBatch a longer mean context
    // than the short point's (the context term is told apart at the batch the lab runs).
    expect(r.longPoints[0]!.context).toBeGreaterThan(fake.config.seqLen / 2);
    expect(r.longPoints[1]!.batch).toBe(16);
    expect(r.longPoints[1]!.context).toBeGreaterThan(1.5 * cal.points[4]!.context);
    expect(r.mixed.map((m) => m.batch)).toEqual([16, 16, 16]);
    for (const [i, k] of [8, 16, 32].entries()) expect(r.mixed[i]!.msPerStep).toBeCloseTo(1000 * fake.shapeSeconds(15, k, 16 * r.mixed[i]!.context), 6);
    expect(cal.prefill.chunk).toBe(48);
    expect(cal.prefill.msPerStep).toBeCloseTo(1000 * fake.shapeSeconds(0, 48, 48), 6);
    expect(cal.device).toEqual({ seqLen: 256, maxSequences: 16, kv: { numBlocks: fake.numBlocks, blockSize: 16 } });
    expect(tokensPerSAt(cal.points, 3)).toBeCloseTo((cal.points[1]!.tokensPerS + cal.points[2]!.tokensPerS) / 2, 9);
  });

  it('stops after three rounds that agree', async () => {
    const { cal } = await calibrateWith([1]);
    expect(cal.stability).toMatchObject({ stable: true, rounds: 3, agree: 3, tolerance: 0.05 });
    expect(cal.stability.spread).toBeCloseTo(0, 9);
    expect(cal.stability.verdict).toMatch(/^3 rounds in .* s; the last 3 agreed within 5.0% \(spread 0.0%\)/);
    expect(cal.rounds).toHaveLength(3);
  });

  it('runs until the last three agree when the first is off (compiling), and the 5% threshold decides', async () => {
    const warm = await calibrateWith([1.5, 1]);
    expect(warm.cal.stability).toMatchObject({ stable: true, rounds: 4 });
    // One round 4% slow among three agrees; 6% slow does not, and two more rounds are needed.
    expect((await calibrateWith([1, 1.04, 1])).cal.stability).toMatchObject({ stable: true, rounds: 3 });
    const over = (await calibrateWith([1, 1.06, 1])).cal.stability;
    expect(over).toMatchObject({ stable: true, rounds: 5 });
  });

  it('takes the slowest of the agreeing rounds, and the anchor sets its level', async () => {
    const { cal } = await calibrateWith([1, 1.03, 1]);
    expect(cal.stability.chosen).toBe(1);
    const slow = cal.rounds[1]!;
    expect(Math.max(...cal.rounds.map((r) => r.referenceWorkMs))).toBe(slow.referenceWorkMs);
    expect(cal.stability.spread).toBeCloseTo(0.03, 6);
    expect(slow.referenceWorkMs / cal.rounds[0]!.referenceWorkMs).toBeCloseTo(1.03, 6);
    // The anchor ran at the device's speed (factor 1, as rounds 1 and 3): the slow round's fit
    // is scaled back to it, and the capacity is the device's, not the slow round's.
    expect(cal.anchor!.factor).toBeCloseTo(1 / 1.03, 9);
    expect(cal.stepTime).toEqual(scaleSpec(slow.stepTime, cal.anchor!.factor));
    expect(cal.rounds.map((r) => r.anchorFactor)).toEqual([expect.closeTo(1, 9), expect.closeTo(1 / 1.03, 9), expect.closeTo(1, 9)]);
    const cap = labCapacity(cal, 16);
    expect(1000 * cap.workS(16, 32)).toBeCloseTo(cal.rounds[0]!.referenceWorkMs, 6);
    // Anchored, the rounds agree exactly on the shape (it is the same here).
    expect(cal.stability.anchoredSpread).toBeCloseTo(0, 9);
  });

  it('on a noisy device runs to the time limit, says so, and takes the median round', async () => {
    // Rounds alternate between two speeds 20% apart.
    const noisy = new FakeBackend(SWIFTSHADER_LIKE, { maxSequences: 16 });
    const c2 = await calibrate(noisy, {
      maxBatch: 16,
      now: noisy.now,
      onProgress: (_d, _t, what) => {
        const m = /^round (\d+):/.exec(what);
        if (m) noisy.factor = Number(m[1]) % 2 ? 1 : 1.2;
      },
    });
    const st = c2.stability;
    expect(st.stable).toBe(false);
    expect(st.maxSeconds).toBe(CALIBRATION_DEFAULTS.maxSeconds);
    // The anchor's last step may end past the limit, by that one step at most.
    expect(c2.seconds).toBeLessThanOrEqual(CALIBRATION_DEFAULTS.maxSeconds + c2.anchor!.meanStepMs / 1000);
    // One more round, with the anchor after it, would have passed the limit.
    const anchorS = CALIBRATION_DEFAULTS.anchorWarmupSeconds + CALIBRATION_DEFAULTS.anchorSeconds;
    expect(c2.seconds - c2.anchor!.wallSeconds + Math.max(...c2.rounds.map((r) => r.seconds)) + anchorS).toBeGreaterThan(CALIBRATION_DEFAULTS.maxSeconds);
    expect(st.rounds).toBeGreaterThan(3);
    expect(st.spread).toBeCloseTo(0.2, 6);
    expect(st.verdict).toMatch(/^Not stable: \d+ rounds in .* s reached the 30 s limit without 3 agreeing within 5.0% \(the last 3 spread 20.0%\)/);
    expect(st.verdict).toMatch(/the model's shape from the median round/);
    // Not the slowest (a stall would be taken for capacity): the upper median of all rounds, here
    // one of the slow ones since they are half.
    const works = c2.rounds.map((r) => r.referenceWorkMs).sort((x, y) => x - y);
    expect(c2.rounds[st.chosen]!.referenceWorkMs).toBe(works[Math.floor(works.length / 2)]);
  });

  it('does not take a stall for capacity when rounds never agree', async () => {
    // Every third round stalls at half speed: no three rounds agree, and the slowest is a stall.
    const stalls = new FakeBackend(SWIFTSHADER_LIKE, { maxSequences: 16 });
    const c = await calibrate(stalls, {
      maxBatch: 16,
      now: stalls.now,
      onProgress: (_d, _t, what) => {
        const m = /^round (\d+):/.exec(what);
        if (m) stalls.factor = Number(m[1]) % 3 === 0 ? 2 : 1;
      },
    });
    expect(c.stability.stable).toBe(false);
    const works = c.rounds.map((r) => r.referenceWorkMs);
    const fast = Math.min(...works);
    expect(Math.max(...works)).toBeCloseTo(2 * fast, 6);
    expect(c.rounds[c.stability.chosen]!.referenceWorkMs).toBeCloseTo(fast, 6);
  });

  it('stays within the backend: as many sequences as maxBatch, short contexts, max batch 1', async () => {
    // The fake throws past maxSequences or the context.
    const tight = await calibrateWith([1], { maxBatch: 8, maxSequences: 8, seqLen: 64 });
    expect(tight.cal.stability.stable).toBe(true);
    expect(tight.cal.points.map((p) => p.batch)).toEqual([1, 2, 4, 8]);
    const one = await calibrateWith([1], { maxBatch: 1, maxSequences: 1, seqLen: 32 });
    expect(one.cal.rounds[0]!.mixed).toEqual([]);
    expect(one.cal.points).toHaveLength(1);
    await expect(calibrate(new FakeBackend(SWIFTSHADER_LIKE, { maxSequences: 4 }), { maxBatch: 5 })).rejects.toThrow(/maxBatch must be an integer in 1..4, got 5/);
  });

  it('measures spread as max ÷ min − 1', () => {
    expect(spreadOf([1])).toBe(0);
    expect(spreadOf([2, 2.1, 2.05])).toBeCloseTo(0.05, 12);
  });
});

describe('anchor: the engine saturated', () => {
  it('sets the level so the model predicts a saturated closed loop within 3%, where the rounds\' fit does not', async () => {
    // Mixed steps (decodes beside a prompt) cost 1.6× the linear model: the rounds measure only a
    // few of them, the saturated engine runs one every other step or so.
    const fake = new FakeBackend(SWIFTSHADER_LIKE, { maxSequences: 16 });
    fake.mixedFactor = 1.6;
    const cal = await calibrate(fake, { maxBatch: 16, now: fake.now });
    const a = cal.anchor!;
    expect(a.steps).toBeGreaterThan(30);
    expect(a.meanBatch).toBeGreaterThan(15.5);
    expect(a.fullFraction).toBeGreaterThanOrEqual(0.95);
    expect(a.prefillSteps).toBeGreaterThan(0.2 * a.steps);
    expect(a.factor).toBeCloseTo(a.seconds / a.predicted, 12);
    expect(a.meanStepMs).toBeCloseTo((1000 * a.seconds) / a.steps, 9);
    expect(fake.sequences).toBe(0); // every sequence freed
    expect(cal.stability.verdict).toMatch(new RegExp(`Level from the engine saturated at max batch 16: ${a.steps} steps \\(mean batch \\d+\\.\\d, [\\d.]+ ms each\\) took ${a.factor.toFixed(2)}× the round's prediction`));

    // A fresh closed loop (other request lengths): the anchored model predicts its total within
    // 3%, the chosen round's fit alone under-predicts it by more.
    const fresh = await saturatedRun(fake, { maxBatch: 16, seconds: 3, warmupSeconds: 0.5, now: fake.now, seed: 7 });
    const anchored = actualAndPredicted(fresh.steps, cal.stepTime);
    const fitted = actualAndPredicted(fresh.steps, cal.rounds[cal.stability.chosen]!.stepTime);
    expect(Math.abs(anchored.actual / anchored.predicted - 1)).toBeLessThan(0.03);
    expect(fitted.actual / fitted.predicted).toBeGreaterThan(1.03);
    expect(a.factor).toBeGreaterThan(1.03);
    // Without the extra cost the fit is already right and the anchor leaves it alone.
    const plain = new FakeBackend(SWIFTSHADER_LIKE, { maxSequences: 16 });
    expect((await calibrate(plain, { maxBatch: 16, now: plain.now })).anchor!.factor).toBeCloseTo(1, 9);
  });

  it('anchors each other max batch a session runs at its own level (anchorBatches), so a run at batch 1 is not priced at batch 16\'s', async () => {
    const fake = new FakeBackend(SWIFTSHADER_LIKE, { maxSequences: 16 });
    fake.mixedFactor = 1.6;
    const cal = await calibrate(fake, { maxBatch: 16, anchorBatches: [1], now: fake.now });
    expect(anchoredAt(cal, 16) && anchoredAt(cal, 1)).toBe(true);
    expect(anchoredAt(cal, 8)).toBe(false);
    const one = cal.anchors![0]!;
    expect(one.batch).toBe(1);
    expect(one.fullFraction).toBeGreaterThanOrEqual(0.95);
    expect(cal.stability.verdict).toMatch(/At max batch 1: \d+ saturated steps took [\d.]+× that model/);
    const fresh = await saturatedRun(fake, { maxBatch: 1, seconds: 3, warmupSeconds: 0.5, now: fake.now, seed: 9 });
    const own = actualAndPredicted(fresh.steps, specAt(cal, 1));
    const carried = actualAndPredicted(fresh.steps, cal.stepTime);
    // batch 16's level (set by its mixed steps) misprices batch 1's steps; batch 1's own does not.
    expect(Math.abs(own.actual / own.predicted - 1)).toBeLessThan(0.03);
    expect(Math.abs(carried.actual / carried.predicted - 1)).toBeGreaterThan(0.03);
    expect(labCapacity(cal, 1).spec.b).toBeCloseTo(specAt(cal, 1).b, 15);
    expect(labCapacity(cal, 1).spec.b).toBeCloseTo(cal.stepTime.b * one.factor, 15);
    expect(specAt(cal, 16)).toBe(cal.stepTime);
    await expect(calibrate(fake, { maxBatch: 16, anchorBatches: [0], now: fake.now })).rejects.toThrow(/anchorBatches must be integers in 1..15, got 0/);
  });

  it('keeps 2 × max batch waiting, times only after the warm-up, and frees the sequences', async () => {
    const fake = new FakeBackend(SWIFTSHADER_LIKE, { maxSequences: 8 });
    const r = await saturatedRun(fake, { maxBatch: 8, seconds: 1, warmupSeconds: 0.25, now: fake.now });
    expect(r.steps.length).toBeGreaterThan(10);
    expect(Math.min(...r.steps.map((s) => s.start))).toBeGreaterThanOrEqual(0.25);
    expect(Math.max(...r.steps.map((s) => s.start))).toBeLessThan(1.25);
    for (const s of r.steps) {
      expect(s.batchSize).toBe(8);
      expect(s.queueDepth).toBeGreaterThanOrEqual(16);
    }
    expect(r.wallSeconds).toBeGreaterThanOrEqual(1.25);
    expect(fake.sequences).toBe(0);
  });

  it('reserves the anchor\'s time inside the limit', async () => {
    // Rounds alternate speeds so they never agree: calibration runs to the limit, anchor included.
    const fake = new FakeBackend(SWIFTSHADER_LIKE, { maxSequences: 16 });
    const cal = await calibrate(fake, {
      maxBatch: 16,
      now: fake.now,
      maxSeconds: 12,
      anchorSeconds: 3,
      onProgress: (_d, _t, what) => {
        const m = /^round (\d+):/.exec(what);
        if (m) fake.factor = Number(m[1]) % 2 ? 1 : 1.3;
      },
    });
    expect(cal.stability.stable).toBe(false);
    expect(cal.anchor!.wallSeconds).toBeGreaterThanOrEqual(3.5);
    expect(cal.seconds).toBeLessThanOrEqual(12 + cal.anchor!.meanStepMs / 1000);
    await expect(calibrate(fake, { maxBatch: 16, now: fake.now, anchorSeconds: 0 })).rejects.toThrow(/anchorSeconds must be > 0/);
  });
});

// StepDrift (src/lab/drift.ts): actual ÷ predicted step time over the run and a recent window, and
// its verdict, which flips as the ratio crosses either end of [0.87, 1.15].
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DRIFT_HIGH, DRIFT_LOW, StepDrift, type DriftStep } from '../../src/lab/drift.js';
import type { CalibratedSpec } from '../../src/sim/step-time.js';

const spec: CalibratedSpec = { kind: 'calibrated', a: 0.005, b: 0.0004, c: 0.0008, d: 1e-5, e: 0.02 };
/** Predicted seconds of a shape under `spec` (written out, not through the model). */
const predicted = (decode: number, prefill: number, context: number) => spec.a + spec.b * decode + spec.c * prefill + spec.d * context + (prefill > 0 ? spec.e! : 0);

/** Steps back to back from `t0`, alternating decode-only (16 at context 400) and mixed (15 + a 16-token prompt), each `ratio` × its prediction. */
function steps(n: number, ratio: number, t0 = 0): DriftStep[] {
  const out: DriftStep[] = [];
  let t = t0;
  for (let i = 0; i < n; i++) {
    const mixed = i % 2 === 1;
    const shape = mixed ? { batchSize: 16, decodeTokens: 15, prefillTokens: 16, contextTokens: 416 } : { batchSize: 16, decodeTokens: 16, prefillTokens: 0, contextTokens: 400 };
    const dt = ratio * predicted(shape.decodeTokens, shape.prefillTokens, shape.contextTokens);
    out.push({ ...shape, start: t, end: t + dt });
    t += dt;
  }
  return out;
}

describe('StepDrift', () => {
  it('sums actual and predicted time per step: the ratio of steps taking 1.3× their prediction is 1.3', () => {
    const d = new StepDrift(spec);
    expect(d.ratio).toBeNaN();
    expect(d.verdict()).toMatchObject({ ok: true, sentence: 'No steps yet to compare with the calibration.' });
    const s = steps(20, 1.3);
    expect(d.predict(s[1]!)).toBeCloseTo(predicted(15, 16, 416), 12);
    d.add(s);
    expect(d.steps).toBe(20);
    expect(d.ratio).toBeCloseTo(1.3, 12);
    const v = d.verdict();
    expect(v.ok).toBe(false);
    expect(v.sentence).toBe(
      "Steps are taking 1.30× the calibrated time over the run's 20 steps: this device serves ~23% less than calibrated, so capacity utilization and offered load read low by that much.",
    );
  });

  it('the verdict flips as the ratio crosses 1.15 and 0.87', () => {
    expect([DRIFT_LOW, DRIFT_HIGH]).toEqual([0.87, 1.15]);
    const at = (r: number) => {
      const d = new StepDrift(spec);
      d.add(steps(10, r));
      return d.verdict();
    };
    expect(at(1.149).ok).toBe(true);
    expect(at(1.151).ok).toBe(false);
    expect(at(0.871).ok).toBe(true);
    expect(at(0.869).ok).toBe(false);
    expect(at(1).sentence).toMatch(/^Steps are taking 1\.00× the calibrated time over the run's 10 steps, within 0\.87–1\.15×: the calibration holds\.$/);
    expect(at(0.8).sentence).toMatch(/taking 0\.80× .*serves ~25% more than calibrated, so capacity utilization and offered load read high by that much\./);
    fc.assert(
      fc.property(fc.double({ min: 0.5, max: 2, noNaN: true }), (r) => {
        const v = at(r);
        expect(v.ratio).toBeCloseTo(r, 9);
        expect(v.ok).toBe(v.ratio >= DRIFT_LOW && v.ratio <= DRIFT_HIGH);
      }),
    );
  });

  it('the window follows the last seconds while the run ratio keeps every step', () => {
    const d = new StepDrift(spec, { windowS: 2 });
    const calm = steps(200, 1); // ~ 5.3 s of steps as calibrated
    const t1 = calm[calm.length - 1]!.end;
    d.add(calm);
    expect(d.windowRatio).toBeCloseTo(1, 12);
    expect(d.verdict('window').ok).toBe(true);
    // The device slows to 1.4×: the window sees it within its 2 s, the run ratio only partly.
    const slow = steps(80, 1.4, t1); // ~ 3 s
    for (const s of slow) d.add([s]);
    expect(d.windowRatio).toBeCloseTo(1.4, 9);
    expect(d.windowSteps).toBeLessThan(80);
    const w = d.verdict('window');
    expect(w).toMatchObject({ ok: false, over: 'window' });
    expect(w.sentence).toMatch(/^Steps are taking 1\.40× the calibrated time over the last 2 s \(\d+ steps\): this device serves ~29% less/);
    expect(d.ratio).toBeGreaterThan(1.05);
    expect(d.ratio).toBeLessThan(1.25);
    expect(d.steps).toBe(280);
    // Back to normal: the window recovers first.
    const again = steps(200, 1, slow[slow.length - 1]!.end);
    d.add(again);
    expect(d.windowRatio).toBeCloseTo(1, 9);
    expect(d.verdict('window').ok).toBe(true);
  });

  it('keeps the window exact over many steps (its storage is compacted)', () => {
    const d = new StepDrift(spec, { windowS: 1 });
    const all = steps(5000, 1.2);
    d.add(all);
    const last = all[all.length - 1]!.end;
    const inWin = all.filter((s) => s.end > last - 1);
    expect(d.windowSteps).toBe(inWin.length);
    expect(d.windowRatio).toBeCloseTo(1.2, 9);
    expect(() => new StepDrift(spec, { low: 1.1 })).toThrow(/need 0 < low < 1 < high/);
  });
});

// The calibrated model's optional step-time spread: the calibration keeps the measured actual ÷
// fitted ratios (or actual − fitted residuals) as equal-count group means, the model draws one
// per step (seeded), the mean is kept, a seed reproduces a run, and the config validator checks
// the factors and residuals.
import { describe, expect, it } from 'vitest';
import type { StepRecord } from '../../src/metrics/records.js';
import { Rng } from '../../src/ops/random.js';
import type { StepPlan } from '../../src/engine/scheduler.js';
import { CalibratedModel, calibrateStepTime, ConfigError, runSimulation, validateConfig, type SimConfig } from '../../src/sim/index.js';

/** Steps with busy = (2 ms + 0.1 ms·decode) × a noise factor of mean 1 (0.5 or 1.5, alternately, with some 3×). */
function noisySteps(n: number): StepRecord[] {
  const rng = new Rng(4);
  return Array.from({ length: n }, (_, i) => {
    const decode = rng.int(1, 32);
    const f = i % 10 === 0 ? 3 : i % 2 === 0 ? 0.5 : 1.5;
    const busy = (0.002 + 0.0001 * decode) * f;
    return { index: i, gpu: 0, start: i, end: i + busy, busy, timing: 'wall', batchSize: decode, decodeTokens: decode, outputTokens: decode, prefillTokens: 0, contextTokens: 100 * decode, queueDepth: 0, kvBlocksUsed: 0, kvBlocksTotal: 1 };
  });
}

const plan = (decode: number): StepPlan => ({ index: 0, time: 0, entries: [], decodeTokens: decode, prefillTokens: 0, sampledTokens: decode, contextTokens: 0, queueDepth: 0, preempted: [], finished: [] });

describe('calibrated step-time spread', () => {
  it('keeps equal-count group means of actual ÷ fitted, ascending, with the ratios\' mean', () => {
    const steps = noisySteps(2000);
    const plain = calibrateStepTime(steps);
    expect(plain.noise).toBeUndefined();
    const fit = calibrateStepTime(steps, { noise: 10 });
    const f = fit.noise!.factors!;
    expect(f).toHaveLength(10);
    for (let i = 1; i < f.length; i++) expect(f[i]!).toBeGreaterThanOrEqual(f[i - 1]!);
    const ratios = steps.map((s) => s.busy / (fit.a + fit.b * s.decodeTokens + fit.c * s.prefillTokens + fit.d * s.contextTokens));
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
    expect(f.reduce((a, b) => a + b, 0) / f.length).toBeCloseTo(mean, 6);
    expect(f[0]!).toBeLessThan(0.7);
    expect(f[f.length - 1]!).toBeGreaterThan(2);
  });

  it('keeps actual − fitted as residuals when asked (additive: a stall costs the same on any step), their mean ≈ 0', () => {
    const steps = noisySteps(2000);
    const fit = calibrateStepTime(steps, { noise: 10, noiseKind: 'residual' });
    expect(fit.noise!.factors).toBeUndefined();
    const r = fit.noise!.residuals!;
    expect(r).toHaveLength(10);
    for (let i = 1; i < r.length; i++) expect(r[i]!).toBeGreaterThanOrEqual(r[i - 1]!);
    // Least squares with an intercept: the residuals average 0 (none of the terms was clamped).
    expect(fit.clamped).toEqual([]);
    expect(Math.abs(r.reduce((a, b) => a + b, 0) / r.length)).toBeLessThan(1e-9);
    expect(r[0]!).toBeLessThan(0);
    expect(r[r.length - 1]!).toBeGreaterThan(0.002);
    // The model adds one per step: a stall of +50 ms is +50 ms on a 3 ms step and on a 30 ms one.
    const spec = { kind: 'calibrated' as const, a: 0.002, b: 0.0001, c: 0, d: 0, noise: { residuals: [-0.001, 0.05] } };
    const m = new CalibratedModel(spec, 7);
    const short = new Set(Array.from({ length: 200 }, () => m.stepTime(plan(10)).toFixed(6)));
    const long = new Set(Array.from({ length: 200 }, () => m.stepTime(plan(280)).toFixed(6)));
    expect(short).toEqual(new Set(['0.002000', '0.053000']));
    expect(long).toEqual(new Set(['0.029000', '0.080000']));
    expect(m.describe()).toMatch(/step times vary as measured \(2 residuals, -1 to \+50 ms\)/);
  });

  it('draws one factor per step, seeded; without noise every step takes the fitted time', () => {
    const spec = { kind: 'calibrated' as const, a: 0.002, b: 0.0001, c: 0, d: 0, noise: { factors: [0.5, 1, 1.5] } };
    const a = new CalibratedModel(spec, 7);
    const b = new CalibratedModel(spec, 7);
    const c = new CalibratedModel(spec, 8);
    const xs = Array.from({ length: 300 }, () => a.stepTime(plan(10)));
    expect(Array.from({ length: 300 }, () => b.stepTime(plan(10)))).toEqual(xs);
    expect(Array.from({ length: 300 }, () => c.stepTime(plan(10)))).not.toEqual(xs);
    expect(new Set(xs.map((x) => x.toFixed(6)))).toEqual(new Set(['0.001500', '0.003000', '0.004500']));
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeCloseTo(0.003, 3);
    const { noise: _n, ...det } = spec;
    expect(new CalibratedModel(det, 7).stepTime(plan(10))).toBeCloseTo(0.003, 12);
    expect(a.describe()).toMatch(/step times vary as measured \(3 factors, 0\.5–1\.5×\)/);
  });

  it('runs deterministically in a simulation, and the validator checks the factors', () => {
    const cfg: SimConfig = {
      seed: 3,
      durationS: 120,
      stepTime: { kind: 'calibrated', a: 0.004, b: 0.0002, c: 0.0001, d: 0, noise: { factors: [0.6, 0.9, 1.1, 1.4] } },
      scheduler: { maxBatch: 8, kvBlocks: 256, maxContext: 512 },
      tenants: [{ name: 'x', arrival: { kind: 'poisson', rate: 4 }, lengths: { kind: 'parametric', prompt: { kind: 'fixed', value: 20 }, output: { kind: 'fixed', value: 10 } } }],
      deployment: { kind: 'pooled', servers: 1 },
    };
    const a = runSimulation(cfg);
    expect(JSON.stringify(runSimulation(cfg))).toBe(JSON.stringify(a));
    expect(JSON.stringify(runSimulation({ ...cfg, seed: 4 }))).not.toBe(JSON.stringify(a));
    expect(a.pools[0]!.stepTime).toMatch(/step times vary as measured/);
    const bad = { ...cfg, stepTime: { ...cfg.stepTime, noise: { factors: [1, -2] } } };
    expect(() => validateConfig(bad)).toThrow(ConfigError);
    expect(() => validateConfig(bad)).toThrow(/config\.stepTime\.noise\.factors: must be a non-empty array of numbers ≥ 0/);
    expect(() => validateConfig({ ...cfg, stepTime: { ...cfg.stepTime, noise: { cv: 1 } } })).toThrow(/config\.stepTime\.noise\.cv: unknown field/);
    expect(() => validateConfig({ ...cfg, stepTime: { ...cfg.stepTime, noise: { factors: [1], residuals: [0] } } })).toThrow(
      /config\.stepTime\.noise: needs exactly one of factors \(multiplied\) or residuals \(added, seconds\)/,
    );
    expect(() => validateConfig({ ...cfg, stepTime: { ...cfg.stepTime, noise: { residuals: [0, 'x'] } } })).toThrow(
      /config\.stepTime\.noise\.residuals: must be a non-empty array of finite numbers/,
    );
    expect(() => validateConfig({ ...cfg, stepTime: { ...cfg.stepTime, e: -1 } })).toThrow(/config\.stepTime\.e: must be ≥ 0/);
    const additive = { ...cfg, stepTime: { ...cfg.stepTime, e: 0.001, noise: { residuals: [-0.001, 0, 0.004] } } };
    expect(JSON.stringify(runSimulation(additive))).toBe(JSON.stringify(runSimulation(additive)));
  });

  it('replays residuals in runs of consecutive steps when asked (a block bootstrap), seeded', () => {
    // Residuals 0..9 ms in step order, runs of 4: each run climbs by 1 ms a step (wrapping 9 -> 0).
    const residuals = Array.from({ length: 10 }, (_, i) => i / 1000);
    const model = (seed: number) => new CalibratedModel({ kind: 'calibrated', a: 1, b: 0, c: 0, d: 0, noise: { residuals, run: 4 } }, seed);
    const draws = (m: CalibratedModel) => Array.from({ length: 400 }, () => Math.round((m.stepTime(plan(1)) - 1) * 1000));
    const d = draws(model(7));
    const starts = new Set<number>();
    for (let k = 0; k < d.length; k += 4) {
      starts.add(d[k]!);
      for (let j = 1; j < 4; j++) expect(d[k + j]).toBe((d[k + j - 1]! + 1) % 10);
    }
    expect(starts.size).toBe(10); // every step can start a run
    expect(draws(model(7))).toEqual(d);
    expect(draws(model(8))).not.toEqual(d);
    // Each server has its own runs: two servers stepping in turn both climb within their runs.
    const shared = model(7);
    const both = Array.from({ length: 400 }, (_, i) => [i % 2, Math.round((shared.stepTime(plan(1), i % 2) - 1) * 1000)] as const);
    for (const server of [0, 1]) {
      const mine = both.filter(([s]) => s === server).map(([, v]) => v);
      for (let k = 0; k < mine.length; k += 4) for (let j = 1; j < 4; j++) expect(mine[k + j]).toBe((mine[k + j - 1]! + 1) % 10);
    }
    // Without run the same residuals are drawn one at a time: runs of 4 climbing by 1 are rare.
    const single = draws(new CalibratedModel({ kind: 'calibrated', a: 1, b: 0, c: 0, d: 0, noise: { residuals } }, 7));
    let climbs = 0;
    for (let k = 0; k + 3 < single.length; k += 4) if ([1, 2, 3].every((j) => single[k + j] === (single[k + j - 1]! + 1) % 10)) climbs++;
    expect(climbs).toBeLessThan(5);
  });

  it('calibrates residuals in step order for runs, and checks the options and the config', () => {
    const steps = noisySteps(500);
    const fit = calibrateStepTime(steps, { noise: Infinity, noiseKind: 'residual', residualRun: 25 });
    expect(fit.noise!.run).toBe(25);
    const r = fit.noise!.residuals!;
    expect(r).toHaveLength(500);
    steps.forEach((s, i) => expect(r[i]!).toBeCloseTo(s.busy - (fit.a + fit.b * s.decodeTokens + fit.c * s.prefillTokens + fit.d * s.contextTokens), 12));
    expect(() => calibrateStepTime(steps, { noise: 20, noiseKind: 'residual', residualRun: 25 })).toThrow(/residualRun replays every step's own residual in order/);
    expect(() => calibrateStepTime(steps, { noise: Infinity, residualRun: 25 })).toThrow(/noiseKind: 'residual'/);
    expect(() => calibrateStepTime(steps, { noise: Infinity, noiseKind: 'residual', residualRun: 0 })).toThrow(/residualRun must be an integer >= 1, got 0/);
    const cfg: SimConfig = {
      seed: 3,
      durationS: 60,
      stepTime: { kind: 'calibrated', a: 0.004, b: 0.0002, c: 0.0001, d: 0, noise: { residuals: [0, 0.001, 0.05, -0.001], run: 3 } },
      scheduler: { maxBatch: 8, kvBlocks: 256, maxContext: 512 },
      tenants: [{ name: 'x', arrival: { kind: 'poisson', rate: 4 }, lengths: { kind: 'parametric', prompt: { kind: 'fixed', value: 20 }, output: { kind: 'fixed', value: 10 } } }],
      deployment: { kind: 'pooled', servers: 1 },
    };
    const a = runSimulation(cfg);
    expect(JSON.stringify(runSimulation(cfg))).toBe(JSON.stringify(a));
    expect(a.pools[0]!.stepTime).toMatch(/in runs of 3 steps/);
    const withNoise = (noise: unknown) => ({ ...cfg, stepTime: { ...cfg.stepTime, noise } });
    expect(() => validateConfig(withNoise({ residuals: [0], run: 0 }))).toThrow(/config\.stepTime\.noise\.run: must be ≥ 1/);
    expect(() => validateConfig(withNoise({ residuals: [0], run: 2.5 }))).toThrow(/config\.stepTime\.noise\.run: must be a whole number/);
    expect(() => validateConfig(withNoise({ factors: [1], run: 3 }))).toThrow(/config\.stepTime\.noise\.run: replays residuals in runs/);
  });
});

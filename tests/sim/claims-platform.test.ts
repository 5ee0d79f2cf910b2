// Claim checks of the platform scenarios (platform-pooling, multi-model, fast-vs-slow): each
// check's verdict flips when the input the claim turns on crosses the threshold it predicts.
// Every run is a reduced size (seconds); the verdict logic is the scenario's own (makeCheck
// ranges), the tests only choose inputs on each side. Full-size figures: `npm run lab -- sim <name>`.
import { describe, expect, it } from 'vitest';
import '../../src/sim/scenarios/index.js';
import { findScenario, runScenario, type ClaimCheck, type ScenarioOutcome } from '../../src/sim/index.js';
import { reservedSubset, tenantSteps } from '../../src/sim/scenarios/pooling.js';
import { equalCounts, zipfCounts } from '../../src/sim/scenarios/multi-model.js';
import { batchForSpeed } from '../../src/sim/scenarios/fast-slow.js';

const cache = new Map<string, ScenarioOutcome>();

/** The scenario at its reduced size with these params (memoized: several tests read one run). */
function run(name: string, params: Record<string, number | string> = {}): ScenarioOutcome {
  const key = `${name} ${JSON.stringify(params)}`;
  let o = cache.get(key);
  if (!o) {
    o = runScenario(findScenario(name)!, { reduced: true, seed: 1, params });
    cache.set(key, o);
    console.log(`${key}: ${o.checks.map((c) => `${c.id} ${+c.simulated.toPrecision(3)} (${c.agrees ? 'agrees' : c.verdict})`).join('; ')}`);
  }
  return o;
}

function check(o: ScenarioOutcome, id: string): ClaimCheck {
  const c = o.checks.find((x) => x.id === id);
  if (!c) throw new Error(`${o.scenario}: no check ${id}`);
  return c;
}

describe('platform-pooling', () => {
  it('pooled utilization reaches 60–85% when the customers\' peaks are spread, not when they share one time zone', () => {
    // On H100s (prefill interference leaves the TPOT SLO room) 20 customers across the zones pool
    // into a fleet near their mean; in one zone their business-day peaks (2× the mean) coincide.
    const spread = check(run('platform-pooling', { gpu: 'h100-sxm', tenants: 20 }), 'pooled-utilization');
    const oneZone = check(run('platform-pooling', { gpu: 'h100-sxm', tenants: 20, zones: 'one-zone' }), 'pooled-utilization');
    expect(spread.agrees).toBe(true);
    expect(oneZone.agrees).toBe(false);
    expect(oneZone.verdict).toMatch(/below/);
    expect(oneZone.simulated).toBeLessThan(spread.simulated);
  });

  it('reserved ÷ pooled cost is above 2× for customers whose peaks are spread, inside 1.5–2.0× when they share one time zone', () => {
    const spread = check(run('platform-pooling'), 'effective-cost');
    const oneZone = check(run('platform-pooling', { zones: 'one-zone' }), 'effective-cost');
    expect(spread.agrees).toBe(false);
    expect(spread.verdict).toMatch(/above/);
    expect(oneZone.agrees).toBe(true);
  });

  it('both sides are simulated: the sweep\'s reserved rows are the reserved run\'s own fleets, and pooling never needs more', () => {
    const o = run('platform-pooling');
    const [pooled, reserved] = [o.runs[0]!.result, o.runs[1]!.result];
    expect(pooled.deployment).toBe('pooled');
    expect(reserved.deployment).toBe('reserved');
    expect(pooled.pools[0]!.sizing?.method).toBe('slo');
    for (const p of reserved.pools) expect(p.sizing?.method).toBe('slo');
    // Realistic customers: every one needs a server of its own, and its own fleet meets the SLO.
    for (const p of reserved.pools) expect(p.servers.initial).toBeGreaterThanOrEqual(1);
    expect(reserved.tenants.sloAttainment!.min).toBeGreaterThan(0.97);
    expect(pooled.workload.requests).toBe(reserved.workload.requests);
    const all = reservedSubset(reserved, reserved.pools.length);
    expect(all.servers).toBe(reserved.fleet.servers.mean);
    expect(all.capacityUtilization).toBeCloseTo(reserved.fleet.capacityUtilization, 6);
    expect(Math.abs(all.perMillionOutputTokens / reserved.fleet.cost.perMillionOutputTokens - 1)).toBeLessThan(0.01);
    const sweep = o.sweeps[0]!.sweep;
    if (sweep.kind !== 'tenants') throw new Error('tenants sweep expected');
    expect(sweep.rows.map((r) => r.tenants)).toEqual(tenantSteps(12));
    expect(tenantSteps(12)).toEqual([1, 12]);
    expect(tenantSteps(100)).toEqual([1, 10, 100]);
    // One customer pooled is that customer reserved.
    expect(sweep.rows[0]!.pooled.servers).toBe(sweep.rows[0]!.reserved.servers);
    const last = sweep.rows[sweep.rows.length - 1]!;
    expect(last.pooled.servers).toBeLessThan(last.reserved.servers);
    expect(last.pooled.capacityUtilization).toBeGreaterThan(last.reserved.capacityUtilization);
  });
});

describe('multi-model', () => {
  it('per-variant pools need more servers and run less utilized than one shared pool, until there is one variant', () => {
    const many = run('multi-model');
    const one = run('multi-model', { models: 1 });
    expect(check(many, 'servers').agrees).toBe(true);
    expect(check(many, 'utilization').agrees).toBe(true);
    // One variant: the per-variant deployment is the shared pool, so the ratios are exactly 1.
    expect(check(one, 'servers').simulated).toBe(1);
    expect(check(one, 'servers').agrees).toBe(false);
    expect(check(one, 'utilization').agrees).toBe(false);
    for (const r of many.runs) expect(r.result.pools.every((p) => p.sizing?.method === 'slo')).toBe(true);
  });

  it('splits customers over variants by Zipf popularity or equally, every variant with one', () => {
    expect(zipfCounts(10, 4)).toEqual([5, 3, 1, 1]);
    expect(zipfCounts(4, 4)).toEqual([1, 1, 1, 1]);
    expect(() => zipfCounts(3, 4)).toThrow(/tenants=3/);
    expect(equalCounts(10, 4)).toEqual([3, 3, 2, 2]);
    expect(() => equalCounts(3, 4)).toThrow(/tenants=3/);
  });
});

describe('fast-vs-slow', () => {
  it('the speeds are inputs: each batch cap is the largest batch whose decode step meets 1 ÷ speed', () => {
    const fp8 = { kind: 'roofline', gpu: 'h200', model: 'llama-3.1-8b', weights: 'fp8', kvCache: 'fp8' } as const;
    const b = batchForSpeed(fp8, 245, 1100);
    expect(b).toBeGreaterThan(1);
    expect(batchForSpeed(fp8, 200, 1100)).toBeGreaterThan(b);
    expect(batchForSpeed({ ...fp8, weights: 'bf16', kvCache: 'bf16' }, 245, 1100)).toBe(0); // out of reach of bf16
    expect(() => runScenario(findScenario('fast-vs-slow')!, { reduced: true, params: { fastSpeed: 900 } })).toThrow(/fastSpeed=900/);
  });

  it('the slow, busy API sells a token for less when it aggregates more traffic, not when both serve the same customers', () => {
    const apart = check(run('fast-vs-slow'), 'cost');
    const same = check(run('fast-vs-slow', { fastCustomers: 40, slowCustomers: 40 }), 'cost');
    expect(apart.agrees).toBe(true);
    expect(same.agrees).toBe(false);
    expect(same.simulated).toBeGreaterThan(1);
  });

  it('the fast API\'s utilization is inside 40–50% with 12 customers, below it with 4', () => {
    const few = check(run('fast-vs-slow'), 'fast-utilization');
    const more = check(run('fast-vs-slow', { fastCustomers: 12 }), 'fast-utilization');
    expect(few.agrees).toBe(false);
    expect(few.verdict).toMatch(/below/);
    expect(more.agrees).toBe(true);
  });

  it('the slow API reaches 70–85% when it aggregates 150 requests/s, not 20', () => {
    const small = check(run('fast-vs-slow'), 'slow-utilization');
    const large = check(run('fast-vs-slow', { fastCustomers: 1, slowCustomers: 50, rate: 3 }), 'slow-utilization');
    expect(small.agrees).toBe(false);
    expect(small.verdict).toMatch(/below/);
    expect(large.agrees).toBe(true);
  });

  it('premises: the streams run at the quoted speeds under load; lightly loaded the fast one runs faster, heavily loaded the slow one slower', () => {
    const base = run('fast-vs-slow');
    const fastLoaded = run('fast-vs-slow', { fastCustomers: 20 });
    const slowLoaded = run('fast-vs-slow', { fastCustomers: 1, slowCustomers: 50, rate: 3 });
    expect(check(base, 'premise-fast-speed').verdict).toMatch(/above/);
    expect(check(fastLoaded, 'premise-fast-speed').agrees).toBe(true);
    expect(check(base, 'premise-slow-speed').agrees).toBe(true);
    expect(check(slowLoaded, 'premise-slow-speed').verdict).toMatch(/below/);
  });
});

// The report's scenarios at their reduced size: each runs, checks its claim against the report's
// range (the check's verdict must match its numbers), and the direction of every claim holds.
// The full-size figures (and whether they agree with the report) are printed by
// `npm run lab -- sim <scenario>`; the reduced runs here are small fleets where rounding to whole
// servers matters, so the tests assert directions and mechanisms, not the report's ranges.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { runSim } from '../../src/cli/sim.js';
import '../../src/sim/scenarios/index.js';
import {
  findScenario,
  formatOutcome,
  listScenarios,
  resolveParams,
  runScenario,
  ScenarioParamError,
  type ClaimCheck,
  type ScenarioOutcome,
} from '../../src/sim/index.js';

const NAMES = ['startup-reserved', 'mature-tenant', 'platform-pooling', 'ceiling-85', 'peak-5x', 'peak-8h-16h', 'multi-model', 'fast-vs-slow'];
const outcomes = new Map<string, ScenarioOutcome>();

function run(name: string): ScenarioOutcome {
  let o = outcomes.get(name);
  if (!o) {
    o = runScenario(findScenario(name)!, { reduced: true, seed: 1 });
    outcomes.set(name, o);
    console.log(`${name}: ${o.checks.map((c) => `${c.id} ${+c.simulated.toPrecision(3)} (${c.agrees ? 'agrees' : c.verdict})`).join('; ')}`);
  }
  return o;
}

function check(o: ScenarioOutcome, id: string): ClaimCheck {
  const c = o.checks.find((x) => x.id === id);
  if (!c) throw new Error(`${o.scenario}: no check ${id}`);
  return c;
}

describe('report scenarios (reduced size)', () => {
  beforeAll(() => {
    for (const n of NAMES) run(n);
  });

  it('registers every scenario of the report, each with a claim and params', () => {
    const names = listScenarios().map((s) => s.name);
    for (const n of NAMES) expect(names).toContain(n);
    for (const n of NAMES) {
      const s = findScenario(n)!;
      expect(s.claim, n).toBeTruthy();
      expect(s.run, n).toBeTypeOf('function');
      expect(s.config({ reduced: true })).toHaveProperty('deployment');
    }
  });

  it('every verdict matches its figure and range', () => {
    for (const o of outcomes.values()) {
      expect(o.checks.length, o.scenario).toBeGreaterThan(0);
      for (const c of o.checks) {
        const inside = Number.isFinite(c.simulated) && (c.lowOpen ? c.simulated > c.low : c.simulated >= c.low) && (c.highOpen ? c.simulated < c.high : c.simulated <= c.high);
        expect(c.agrees, `${o.scenario}/${c.id}`).toBe(inside);
        expect(c.verdict.startsWith(inside ? 'agrees' : 'disagrees'), `${o.scenario}/${c.id}`).toBe(true);
      }
      const text = formatOutcome(o);
      expect(text).toMatch(/claim check: \d+ of \d+ checks? agrees? with the report/);
      for (const c of o.checks) expect(text).toContain(c.figure);
    }
  });

  it('one customer alone: the startup is less utilized than the mature tenant, both below a full fleet', () => {
    const startup = run('startup-reserved').runs[0]!.result.fleet;
    const mature = run('mature-tenant').runs[0]!.result.fleet;
    expect(startup.capacityUtilization).toBeLessThan(mature.capacityUtilization);
    // Both sized by SLO: each meets the 99% target on its own traffic.
    expect(mature.slo!.attainment).toBeGreaterThanOrEqual(0.99);
    // Busy time overstates use: the startup's GPUs run steps most of the time at small batches.
    expect(startup.timeUtilization).toBeGreaterThan(2 * startup.capacityUtilization);
    expect(startup.slo!.attainment).toBeGreaterThan(0.99);
  });

  it('the ceiling: p99 TTFT rises with load, faster at high load, yet meets 2 s up to 95%; TPOT carries the load', () => {
    const o = run('ceiling-85');
    const sweep = o.sweeps.find((s) => s.sweep.kind === 'load')!.sweep;
    if (sweep.kind !== 'load') throw new Error('load sweep expected');
    const p99 = sweep.rows.map((r) => r.ttftP99S);
    for (let i = 1; i < p99.length; i++) expect(p99[i]!).toBeGreaterThan(p99[i - 1]!);
    const at = (t: number) => sweep.rows.find((r) => r.target === t)!;
    const slopeLow = (at(0.7).ttftP99S - at(0.5).ttftP99S) / 0.2;
    const slopeHigh = (at(0.95).ttftP99S - at(0.85).ttftP99S) / 0.1;
    expect(slopeHigh).toBeGreaterThan(slopeLow);
    // Below the rate a saturated server serves (100% of work), no queue for batch slots forms:
    // p99 TTFT stays within the SLO and under 3× its value at 70% (the explosion check disagrees),
    // while the decode batch grows and with it TPOT.
    for (const r of sweep.rows) expect(r.ttftP99S).toBeLessThanOrEqual(2);
    expect(check(o, 'ceiling').simulated).toBe(sweep.rows[sweep.rows.length - 1]!.offeredLoad);
    expect(check(o, 'explosion').simulated).toBeCloseTo(at(0.95).ttftP99S / at(0.7).ttftP99S, 12);
    expect(check(o, 'explosion').simulated).toBeLessThan(3);
    expect(at(0.95).tpotP99S).toBeGreaterThan(2 * at(0.5).tpotP99S);
    for (const r of sweep.rows) expect(Math.abs(r.offeredLoad - r.target)).toBeLessThan(0.03);
    const servers = o.sweeps.find((s) => s.sweep.kind === 'servers')!.sweep;
    if (servers.kind !== 'servers') throw new Error('servers sweep expected');
    expect(servers.rows.length).toBeGreaterThan(0);
  });

  it('peaks: each fleet is sized by SLO for its day (N meets the target, N − 1 does not); 2× peak-to-average beats 5×', () => {
    const five = run('peak-5x');
    const eight = run('peak-8h-16h');
    expect(check(five, 'premise').simulated).toBeGreaterThan(4.3);
    expect(check(eight, 'premise').simulated).toBeGreaterThan(1.8);
    expect(check(eight, 'premise').simulated).toBeLessThan(2.4);
    for (const o of [five, eight]) {
      const z = o.runs[0]!.result.pools[0]!.sizing;
      if (z?.method !== 'slo') throw new Error('SLO sizing expected');
      expect(z.search.attainment).toBeGreaterThanOrEqual(0.99);
      if (z.search.below) expect(z.search.below.attainment).toBeLessThan(0.99);
    }
    expect(check(eight, 'utilization').simulated).toBeGreaterThan(check(five, 'utilization').simulated);
  });
});

describe('scenario parameters', () => {
  it('checks values and names the parameter at fault', () => {
    const s = findScenario('platform-pooling')!;
    const r = resolveParams(s, { tenants: 'many', zones: 'mars', rate: '0.1', nope: 1 });
    expect(r.params.rate).toBe(0.1);
    expect(r.params.tenants).toBe(100);
    expect(r.errors.join('\n')).toMatch(/parameter "tenants=many" is invalid: expected an integer from 2 to 5000; using 100/);
    expect(r.errors.join('\n')).toMatch(/parameter "zones=mars" is invalid: expected one of americas-europe-asia, global, one-zone/);
    expect(r.errors.join('\n')).toMatch(/parameter "nope" is unknown to scenario platform-pooling/);
    expect(resolveParams(s, {}, true).params.tenants).toBe(12);
    expect(() => runScenario(s, { reduced: true, params: { dayH: '0' } })).toThrow(ScenarioParamError);
    expect(() => runScenario(s, { reduced: true, params: { dayH: '0' } })).toThrow(/dayH=0/);
  });

  it('reports progress over all of an experiment\'s simulations, and the same seed gives the same outcome', () => {
    const s = findScenario('fast-vs-slow')!;
    const seen: number[] = [];
    const a = runScenario(s, { reduced: true, seed: 4, onProgress: (f) => seen.push(f) });
    expect(seen.length).toBeGreaterThan(2);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);
    expect(seen[seen.length - 1]).toBe(1);
    const b = runScenario(s, { reduced: true, seed: 4 });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(JSON.stringify(runScenario(s, { reduced: true, seed: 5 }))).not.toBe(JSON.stringify(a));
  });
});

describe('lab sim <scenario>', () => {
  it('prints the runs, the claim check and writes the outcome; rejects a bad --set by name', async () => {
    let stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((x) => ((stdout += String(x)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const out = join(mkdtempSync(join(tmpdir(), 'multiplex-scn-')), 'o.json');
      expect(await runSim(['peak-8h-16h', '--reduced', '--set', 'rate=6', '--seed', '3', '--out', out])).toBe(0);
      expect(stdout).toMatch(/8 h peak \+ 16 h low/);
      expect(stdout).toMatch(/scenario peak-8h-16h, seed 3, reduced size; rate=6/);
      expect(stdout).toMatch(/── claim check: \d of 2 checks? agrees? with the report ──/);
      expect(stdout).toMatch(/capacity utilization, own fleet sized by SLO +[\d.]+% +45–55% +(agrees|DISAGREES)/);
      const json = JSON.parse(readFileSync(out, 'utf8'));
      expect(json.format).toBe('multiplex-sim-scenario');
      expect(json.params.rate).toBe(6);
      expect(json.checks).toHaveLength(2);
      stdout = '';
      expect(await runSim(['--list'])).toBe(0);
      for (const n of NAMES) expect(stdout).toContain(n);
      expect(stdout).toMatch(/--set tenants=… \(an integer from 2 to 5000; default 100\)/);
      await expect(runSim(['peak-5x', '--reduced', '--set', 'rate=lots'])).rejects.toThrow(/parameter "rate=lots" is invalid/);
      await expect(runSim(['peak-5x', '--set', 'rate'])).rejects.toThrow(/--set takes key=value/);
    } finally {
      vi.restoreAllMocks();
    }
  });
});

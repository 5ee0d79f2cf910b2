// ceiling-85's two checks flip when their key input crosses the threshold they predict (reduced
// size: 2 servers, 8 minutes a load). The ceiling: the TTFT SLO moved so the load where p99 TTFT
// crosses it falls below, inside and above 80–90%. The explosion: judged at 95% (below the rate
// a saturated server serves, where p99 TTFT has barely moved) and at 120% (past it).
import { describe, expect, it } from 'vitest';
import '../../src/sim/scenarios/index.js';
import { findScenario, runScenario, type ClaimCheck, type ScenarioOutcome } from '../../src/sim/index.js';
import { ceilingOf } from '../../src/sim/scenarios/ceiling.js';
import type { LoadRow } from '../../src/sim/sweep.js';

const runs = new Map<string, ScenarioOutcome>();
function run(params: Record<string, number> = {}): ScenarioOutcome {
  const key = JSON.stringify(params);
  let o = runs.get(key);
  if (!o) {
    o = runScenario(findScenario('ceiling-85')!, { reduced: true, seed: 1, params });
    runs.set(key, o);
    console.log(`ceiling-85 ${key}: ${o.checks.map((c) => `${c.id} ${+c.simulated.toPrecision(3)} (${c.agrees ? 'agrees' : c.verdict})`).join('; ')}`);
  }
  return o;
}
const check = (o: ScenarioOutcome, id: string): ClaimCheck => o.checks.find((c) => c.id === id)!;
function loadRows(o: ScenarioOutcome): LoadRow[] {
  const s = o.sweeps.find((x) => x.sweep.kind === 'load')!.sweep;
  if (s.kind !== 'load') throw new Error('load sweep expected');
  return s.rows;
}

describe('ceiling-85 verdicts flip across their thresholds', () => {
  it('the ceiling: a TTFT SLO met only below 80%, one crossed within 80–90%, and one met at every swept load', () => {
    const rows = loadRows(run());
    const at = (t: number) => rows.find((r) => r.target === t)!.ttftP99S;
    // SLOs placed by the default run's own p99 TTFT: just above the 70% row, between the 85% and
    // 95% rows, and the scenario's 2 s (above every row). The SLO does not change the simulation.
    const below = +(at(0.7) + 0.2 * (at(0.85) - at(0.7))).toFixed(3);
    const inside = +(at(0.85) + 0.3 * (at(0.95) - at(0.85))).toFixed(3);
    const lo = check(run({ ttftSlo: below }), 'ceiling');
    const mid = check(run({ ttftSlo: inside }), 'ceiling');
    const hi = check(run(), 'ceiling');
    expect(lo.simulated).toBeLessThan(0.8);
    expect(lo.verdict).toBe("disagrees: below the report's range");
    expect(mid.agrees).toBe(true);
    expect(hi.simulated).toBeGreaterThan(0.9);
    expect(hi.verdict).toBe("disagrees: above the report's range");
    expect(hi.note).toMatch(/Every swept load met the SLO: the ceiling is at least/);
  });

  it('the explosion: below 3× at 95% load, far above it past the saturated rate', () => {
    const at95 = check(run(), 'explosion');
    const at120 = check(run({ explosionLoad: 1.2 }), 'explosion');
    expect(at95.agrees).toBe(false);
    expect(at120.agrees).toBe(true);
    expect(at120.simulated).toBeGreaterThan(10);
    // The queue that makes it: requests wait seconds for a batch slot at 120%, milliseconds at 95%.
    const rows = loadRows(run({ explosionLoad: 1.2 }));
    const r95 = rows.find((r) => r.target === 0.95)!;
    const r120 = rows.find((r) => r.target === 1.2)!;
    expect(r120.meanWaitS).toBeGreaterThan(10 * r95.meanWaitS);
  });

  it('ceilingOf interpolates the crossing and censors at the sweep ends', () => {
    const row = (offeredLoad: number, ttftP99S: number) => ({ offeredLoad, ttftP99S }) as LoadRow;
    const rows = [row(0.5, 0.2), row(0.7, 0.4), row(0.9, 1.4), row(0.95, 0.5)];
    // The first row over the SLO sets the crossing, whatever a later row reads.
    expect(ceilingOf(rows, 0.9).load).toBeCloseTo(0.8, 12);
    expect(ceilingOf(rows, 5).load).toBe(0.95);
    expect(ceilingOf(rows, 5).how).toMatch(/at least 95\.0%/);
    expect(ceilingOf(rows, 0.1).load).toBe(0.5);
    expect(ceilingOf(rows, 0.1).how).toMatch(/below 50\.0%/);
  });
});

// azure-two-customers on the real Azure traces (../shared/data; skipped where absent): the reduced
// run prints the reserved-vs-pooled table and its checks; the checks' verdicts flip when the two
// customers' bursts go from independent to perfectly aligned (the same trace twice), and the
// multiplexing check's flips when the same two copies are moved apart (rotated by half the run).
// Without the data the scenario says so in one sentence and `lab sim` exits 0.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runSim } from '../../src/cli/sim.js';
import '../../src/sim/scenarios/index.js';
import { findScenario, formatOutcome, runScenario, type ClaimCheck, type ScenarioOutcome } from '../../src/sim/index.js';
import { AZURE_TRACES } from '../helpers/data.js';

const HAVE_AZURE = existsSync(`${AZURE_TRACES}AzureLLMInferenceTrace_code.csv`) && existsSync(`${AZURE_TRACES}AzureLLMInferenceTrace_conv.csv`);
const MISSING_AZURE = 'skipped: ../shared/data/traces/azure-llm-2023 is absent';
const scenario = () => findScenario('azure-two-customers')!;

function check(o: ScenarioOutcome, id: string): ClaimCheck {
  const c = o.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id}`);
  return c;
}

const runs = new Map<string, ScenarioOutcome>();
function run(customers: string, minutes?: number): ScenarioOutcome {
  const key = `${customers}/${minutes ?? 'reduced'}`;
  let o = runs.get(key);
  if (!o) {
    o = runScenario(scenario(), { reduced: true, seed: 1, params: { customers, ...(minutes ? { minutes } : {}) } });
    runs.set(key, o);
    console.log(`${key}: ${o.checks.map((c) => `${c.id} ${+c.simulated.toPrecision(3)} (${c.agrees ? 'agrees' : 'disagrees'})`).join('; ')}`);
  }
  return o;
}

if (!HAVE_AZURE) it.skip(MISSING_AZURE, () => {});

describe.skipIf(!HAVE_AZURE)('azure-two-customers on the Azure traces (reduced: the first 10 min)', () => {
  it('runs both customers reserved and pooled, sized by SLO, and prints the table', () => {
    const o = run('code+conversation');
    expect(o.unavailable).toBeUndefined();
    const [reserved, pooled] = o.runs.map((r) => r.result);
    expect(reserved!.deployment).toBe('reserved');
    expect(pooled!.deployment).toBe('pooled');
    expect(reserved!.pools.map((p) => p.name)).toEqual(['code', 'conversation']);
    for (const r of [reserved!, pooled!]) {
      for (const p of r.pools) {
        expect(p.servers.sizedBy).toBe('slo');
        // N meets the target; N − 1 (where allowed) does not.
        if (p.sizing?.method !== 'slo') throw new Error('sized by SLO expected');
        expect(p.sizing.search.attainment).toBeGreaterThanOrEqual(0.99);
        if (p.sizing.search.below) expect(p.sizing.search.below.attainment).toBeLessThan(0.99);
      }
      expect(r.fleet.requests.finished).toBe(r.workload.requests);
    }
    // Both see the same requests: the first 10 minutes of each trace on one clock.
    expect(pooled!.workload.requests).toBe(reserved!.workload.requests);
    expect(pooled!.workload.durationS).toBe(600);
    const text = formatOutcome(o);
    expect(text).toMatch(/Reserved against pooled/);
    for (const row of ['GPUs', '\\$ per 1M output tokens', 'capacity utilization', 'SLO attainment']) expect(text).toMatch(new RegExp(`\\n${row} +`));
    expect(text).toMatch(/code alone +conversation alone +reserved \(both\) +pooled/);
    // The check's figures are the runs' own.
    expect(check(o, 'gpus').simulated).toBeCloseTo(pooled!.fleet.gpus.mean / reserved!.fleet.gpus.mean, 12);
    expect(check(o, 'utilization').simulated).toBeCloseTo(pooled!.fleet.capacityUtilization / reserved!.fleet.capacityUtilization, 12);
  });

  it('the utilization verdict flips when the two customers are the same trace, perfectly aligned', () => {
    const real = run('code+conversation');
    const aligned = run('code+code', 15);
    expect(check(real, 'utilization').agrees).toBe(true);
    // Aligned copies: nothing to multiplex, so the pool needs exactly the reserved fleets' servers.
    expect(check(aligned, 'utilization').agrees).toBe(false);
    expect(check(aligned, 'gpus').simulated).toBe(1); // the gpus check's bound, reached
    expect(check(real, 'gpus').simulated).toBeLessThan(1);
  });

  it('the multiplexing verdict flips when the same two copies are moved apart in time', () => {
    const aligned = run('code+code', 15);
    const shifted = run('code+code-shifted', 15);
    // The same requests, the same reserved fleets: only the alignment of the bursts differs.
    expect(shifted.runs[0]!.result.fleet.servers.mean).toBe(aligned.runs[0]!.result.fleet.servers.mean);
    expect(check(aligned, 'multiplexing').simulated).toBeLessThanOrEqual(1);
    expect(check(aligned, 'multiplexing').agrees).toBe(false);
    expect(check(shifted, 'multiplexing').agrees).toBe(true);
  });
});

describe('azure-two-customers without its data', () => {
  const saved = process.env.MULTIPLEX_DATA;
  afterEach(() => {
    if (saved === undefined) delete process.env.MULTIPLEX_DATA;
    else process.env.MULTIPLEX_DATA = saved;
    vi.restoreAllMocks();
  });

  it('says so in one sentence, runs nothing, and lab sim exits 0', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'multiplex-nodata-'));
    process.env.MULTIPLEX_DATA = empty;
    const o = runScenario(scenario(), { reduced: true });
    expect(o.unavailable).toMatch(new RegExp(`are not in ${empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; set MULTIPLEX_DATA`));
    expect(o.checks).toEqual([]);
    expect(o.simulations).toBe(0);
    let stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((x) => ((stdout += String(x)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await runSim(['azure-two-customers'])).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(2); // the title, then the sentence
    expect(lines[1]).toMatch(/^The Azure LLM inference traces .* are not in .*; set MULTIPLEX_DATA to the folder that holds traces\/azure-llm-2023 to run this scenario\.$/);
  });
});

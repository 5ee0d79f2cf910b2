// `lab sim`: runs a config file or a registered scenario, prints tables, writes JSON (the same
// bytes for the same seed), and reports bad input with the field or option at fault.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runSim } from '../../src/cli/sim.js';
import { registerScenario } from '../../src/sim/index.js';
import { UsageError } from '../../src/cli/args.js';

const dir = mkdtempSync(join(tmpdir(), 'multiplex-sim-'));
let stdout = '';
let stderr = '';

beforeEach(() => {
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
});
afterEach(() => vi.restoreAllMocks());

const pooled = {
  name: 'cli pooled',
  seed: 2,
  durationS: 600,
  stepTime: { kind: 'roofline', gpu: 'h100', model: '8b' },
  slo: { ttft: 1 },
  tenants: [{ name: 'x', count: 5, arrival: { kind: 'poisson', rate: 0.5 }, lengths: { kind: 'parametric', prompt: { kind: 'fixed', value: 200 }, output: { kind: 'fixed', value: 50 } } }],
  deployment: { kind: 'pooled', servers: 2 },
};

function file(name: string, v: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(v));
  return p;
}

describe('lab sim', () => {
  it('prints tables and writes byte-identical JSON for the same seed', async () => {
    const cfg = file('pooled.json', pooled);
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    expect(await runSim([cfg, '--out', a])).toBe(0);
    expect(stdout).toMatch(/cli pooled — pooled, seed 2/);
    expect(stdout).toMatch(/time utilization/);
    expect(stdout).toMatch(/\$ per 1M output tokens/);
    expect(stdout).toMatch(/TTFT .* ms/);
    expect(await runSim([cfg, '--out', b, '--quiet'])).toBe(0);
    expect(readFileSync(b, 'utf8')).toBe(readFileSync(a, 'utf8'));
    const json = JSON.parse(readFileSync(a, 'utf8'));
    expect(json.config.name).toBe('cli pooled');
    expect(json.result.workload.tenants).toBe(5);
    expect(await runSim([cfg, '--out', b, '--seed', '3', '--quiet'])).toBe(0);
    expect(readFileSync(b, 'utf8')).not.toBe(readFileSync(a, 'utf8'));
  });

  it('prints the textbook check for a queue config', async () => {
    const cfg = file('queue.json', { seed: 1, queue: { servers: 2, arrivalRate: 1, meanServiceS: 1, service: 'deterministic', requests: 20000 } });
    expect(await runSim([cfg])).toBe(0);
    expect(stdout).toMatch(/textbook check: M\/D\/2 \(approximation\)/);
    expect(stdout).toMatch(/mean wait in queue/);
  });

  it('runs a sweep and a calibration', async () => {
    const steps = join(dir, 'steps.json');
    const recs = Array.from({ length: 50 }, (_, i) => ({ index: i, gpu: 0, start: i, end: i + 1, busy: 0.002 + 1e-5 * (i % 7) + 1e-6 * i, timing: 'timestamp', batchSize: 1 + (i % 7), decodeTokens: i % 7, prefillTokens: i, contextTokens: 10 * i, queueDepth: 0, kvBlocksUsed: 0, kvBlocksTotal: 1 }));
    writeFileSync(steps, JSON.stringify({ steps: recs }));
    const cfg = file('sweep.json', { ...pooled, sweep: { kind: 'servers', values: [1, 2], sloTarget: 0.9 } });
    expect(await runSim([cfg, '--calibrate', steps])).toBe(0);
    expect(stderr).toMatch(/calibrated on 50 steps: R² /);
    expect(stdout).toMatch(/servers sweep/);
    expect(stdout).toMatch(/cheapest meeting 90.0% SLO attainment: 1 servers/);
  });

  it('keeps the calibration steps\' variability as --noise says (runs of 50 by default), and names a bad steps file or mode', async () => {
    // Step times with a slow stretch: the fit cannot follow it, the residuals keep it in order.
    const recs = Array.from({ length: 120 }, (_, i) => ({ busy: 0.002 + 1e-4 * (i % 5) + (i >= 60 && i < 70 ? 0.05 : 0), decodeTokens: i % 5, prefillTokens: i % 3 === 0 ? 16 : 0, contextTokens: 20 * (i % 9) }));
    const steps = file('noisy-steps.json', recs);
    const base = { ...pooled, durationS: 60, tenants: [{ ...pooled.tenants[0], count: 1 }], deployment: { kind: 'pooled', servers: 1 } };
    const cfg = file('cal.json', base);
    const out = join(dir, 'cal-out.json');
    const stepTime = async (...extra: string[]) => {
      expect(await runSim([cfg, '--calibrate', steps, '--out', out, ...extra])).toBe(0);
      return JSON.parse(readFileSync(out, 'utf8')).config.stepTime;
    };
    const runs = await stepTime();
    expect(stderr).toMatch(/replayed in runs of 50 consecutive steps/);
    expect(runs.noise.run).toBe(50);
    expect(runs.noise.residuals).toHaveLength(120);
    // In step order: the slow stretch is where it ran.
    const r = runs.noise.residuals as number[];
    expect(Math.min(...r.slice(60, 70))).toBeGreaterThan(Math.max(...r.slice(0, 60), ...r.slice(70)));
    expect((await stepTime('--noise', 'runs:10')).noise.run).toBe(10);
    const each = await stepTime('--noise', 'residuals');
    expect(each.noise.run).toBeUndefined();
    expect(each.noise.residuals).toHaveLength(120);
    expect((await stepTime('--noise', 'residuals:8')).noise.residuals).toHaveLength(8);
    expect((await stepTime('--noise', 'factors')).noise.factors).toHaveLength(20);
    expect((await stepTime('--noise', 'factors:4')).noise.factors).toHaveLength(4);
    stderr = '';
    expect((await stepTime('--noise', 'none')).noise).toBeUndefined();
    expect(stderr).toMatch(/no noise: every step takes the fitted time/);

    for (const bad of ['sometimes', 'runs:0', 'runs:', 'none:3', 'factors:-2', 'runs:2.5']) {
      await expect(runSim([cfg, '--calibrate', steps, '--noise', bad])).rejects.toThrow(new RegExp(`--noise: expected .* got "${bad.replace(/[.+]/g, '\\$&')}"`));
    }
    await expect(runSim([cfg, '--noise', 'runs'])).rejects.toThrow(/--noise goes with --calibrate/);
    await expect(runSim([cfg, '--calibrate', join(dir, 'absent.json')])).rejects.toThrow(/--calibrate: file not found: .*absent\.json/);
    const notJson = join(dir, 'not-json.json');
    writeFileSync(notJson, '{"steps": [');
    await expect(runSim([cfg, '--calibrate', notJson])).rejects.toThrow(/--calibrate: .*not-json\.json is not valid JSON/);
    const missing = file('missing-field.json', [recs[0], { ...recs[1], busy: undefined }]);
    await expect(runSim([cfg, '--calibrate', missing])).rejects.toThrow(/missing-field\.json, step 1: busy must be a finite number >= 0, got undefined/);
    const negative = file('negative.json', [recs[0], recs[1], { ...recs[2], contextTokens: -4 }]);
    await expect(runSim([cfg, '--calibrate', negative])).rejects.toThrow(/step 2: contextTokens must be a finite number >= 0, got -4/);
  });

  it('resolves a registered scenario by name', async () => {
    registerScenario({ name: 'test-mm1', title: 'M/M/1 for the CLI test', config: () => ({ queue: { servers: 1, arrivalRate: 0.5, meanServiceS: 1, requests: 5000 } }) });
    expect(await runSim(['--list'])).toBe(0);
    expect(stdout).toMatch(/test-mm1 +M\/M\/1 for the CLI test/);
    expect(await runSim(['test-mm1'])).toBe(0);
    expect(stdout).toMatch(/textbook check: M\/M\/1/);
  });

  it('says which field of a bad config is wrong, and which argument is unknown', async () => {
    const bad = file('bad.json', { ...pooled, deployment: { kind: 'pooled', router: 'random' } });
    await expect(runSim([bad])).rejects.toThrow(/config\.deployment\.router: must be one of/);
    await expect(runSim(['no-such-thing'])).rejects.toThrow(UsageError);
    await expect(runSim(['no-such-thing'])).rejects.toThrow(/no scenario or file named "no-such-thing"/);
    const missing = file('trace.json', { stepTime: pooled.stepTime, tenants: [{ trace: { path: 'nope.csv' } }], deployment: { kind: 'pooled', servers: 1 } });
    await expect(runSim([missing])).rejects.toThrow(/trace file not found: nope\.csv/);
  });
});

describe('lab sim with trace files', () => {
  // Rows 5 and 6 are BurstGPT failures (Response tokens 0); rows 4 and 6 go to GPT-4.
  const burst = [
    'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type',
    '5,ChatGPT,472,18,490,Conversation log',
    '45,ChatGPT,1087,230,1317,Conversation log',
    '118,GPT-4,417,276,693,Conversation log',
    '120,ChatGPT,300,0,300,Conversation log',
    '130,GPT-4,350,0,350,API log',
    '140,ChatGPT,20,40,60,API log',
  ].join('\n');
  writeFileSync(join(dir, 'burst.csv'), `${burst}\n`);
  writeFileSync(join(dir, 'azure.csv'), 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,4808,10\n2023-11-16 18:17:04.0319600,3180,8\n');
  const traceConfig = (...tenants: unknown[]) => ({ seed: 1, stepTime: pooled.stepTime, tenants, deployment: { kind: 'pooled', servers: 1 } });

  it('prints and writes the failure rows a BurstGPT trace left out, with their lines', async () => {
    const cfg = file('burst-cfg.json', traceConfig({ name: 'b', trace: { path: 'burst.csv' } }));
    const out = join(dir, 'burst-out.json');
    expect(await runSim([cfg, '--out', out])).toBe(0);
    expect(stdout).toContain('trace burst.csv (BurstGPT CSV): 6 rows → 4 requests; 2 skipped');
    expect(stdout).toContain('skipped: 2 failed requests (Response tokens 0), dropped (lines 5, 6)');
    const w = JSON.parse(readFileSync(out, 'utf8')).result.workload;
    expect(w.requests).toBe(4);
    expect(w.traces).toEqual([
      {
        path: 'burst.csv',
        format: 'burstgpt',
        rows: 6,
        requests: 4,
        badRows: 0,
        firstBadRows: [],
        skipped: [{ reason: 'failed requests (Response tokens 0), dropped', count: 2, firstLines: [5, 6] }],
        notes: [],
        usedBy: ['b'],
      },
    ]);
  });

  it('passes the config\'s parser options to the parser: model filter, failures, format', async () => {
    const out = join(dir, 'opts-out.json');
    const run = async (trace: Record<string, unknown>) => {
      expect(await runSim([file('opts.json', traceConfig({ name: 'g', trace: { path: 'burst.csv', ...trace } })), '--out', out, '--quiet'])).toBe(0);
      return JSON.parse(readFileSync(out, 'utf8')).result.workload;
    };
    expect((await run({ models: ['GPT-4'] })).requests).toBe(1);
    const kept = await run({ failures: 'keep' });
    expect(kept.requests).toBe(6);
    expect(kept.traces[0].notes).toEqual(['2 failed requests (Response tokens 0) kept with failed: true']);
    expect((await run({ models: 'GPT-4', failures: 'keep', format: 'burstgpt' })).requests).toBe(2);
    await expect(run({ format: 'azure' })).rejects.toThrow(/burst\.csv: wrong header .* expected Azure LLM trace header/);

    // The same file as two tenants with different filters: parsed once per set of options.
    expect(
      await runSim([file('two.json', traceConfig({ name: 'chat', trace: { path: 'burst.csv', models: 'ChatGPT' } }, { name: 'gpt4', trace: { path: 'burst.csv', models: 'GPT-4' } })), '--out', out]),
    ).toBe(0);
    const two = JSON.parse(readFileSync(out, 'utf8')).result.workload;
    expect(two.requests).toBe(4);
    expect(two.traces.map((t: { requests: number; usedBy: string[] }) => [t.usedBy, t.requests])).toEqual([
      [['chat'], 3],
      [['gpt4'], 1],
    ]);
  });

  it('prints the traces of a sweep and writes them beside it', async () => {
    const cfg = file('burst-sweep.json', { ...traceConfig({ name: 'b', trace: { path: 'burst.csv' } }), slo: { ttft: 5 }, sweep: { kind: 'servers', values: [1, 2], sloTarget: 0.9 } });
    const out = join(dir, 'burst-sweep-out.json');
    expect(await runSim([cfg, '--out', out, '--quiet'])).toBe(0);
    expect(stdout).toContain('trace burst.csv (BurstGPT CSV): 6 rows → 4 requests; 2 skipped');
    const json = JSON.parse(readFileSync(out, 'utf8'));
    expect(json.traces.map((t: { path: string; skipped: { count: number }[] }) => [t.path, t.skipped[0]!.count])).toEqual([['burst.csv', 2]]);
  });

  it('names the field of a bad or misapplied parser option', async () => {
    const bad = file('bad-opts.json', traceConfig({ trace: { path: 'burst.csv', failures: 'maybe', models: [], format: 'csv' } }));
    await expect(runSim([bad])).rejects.toThrow(/config\.tenants\[0\]\.trace\.failures: must be one of drop, keep; got "maybe"/);
    await expect(runSim([bad])).rejects.toThrow(/config\.tenants\[0\]\.trace\.models: must be a model name or a non-empty list of them/);
    await expect(runSim([bad])).rejects.toThrow(/config\.tenants\[0\]\.trace\.format: must be one of azure, burstgpt, mooncake, json; got "csv"/);
    const forced = file('forced.json', traceConfig({ trace: { path: 'azure.csv', format: 'azure', models: 'GPT-4' } }));
    await expect(runSim([forced])).rejects.toThrow(/config\.tenants\[0\]\.trace\.models: applies to BurstGPT traces only \(format is azure\)/);
    const detected = file('detected.json', traceConfig({ trace: { path: 'azure.csv', failures: 'keep' } }));
    await expect(runSim([detected])).rejects.toThrow(/config\.tenants\[0\]\.trace\.failures: applies to BurstGPT traces only; azure\.csv is an Azure CSV trace/);
  });
});

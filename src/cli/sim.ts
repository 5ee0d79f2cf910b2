// `lab sim <scenario|config.json> [--out FILE] [--seed N] [--sweep] [--calibrate STEPS.json [--noise M]]`:
// runs the fleet simulator on a named scenario or a JSON config (docs/sim-config.md), prints
// tables to stdout (progress to stderr) and writes the result as JSON. Trace files a config names
// are read here, relative to the config file, and handed to the simulator parsed. A scenario that
// tests a claim of the report runs its experiment and prints the claim check (simulated figures
// beside the report's ranges); `--set key=value` changes its parameters.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError, intArg } from './args.js';
import { formatTraceReport, type TraceReport } from '../traffic/report.js';
import type { Trace } from '../traffic/types.js';
import { parseTraceUse, traceUses, type WorkloadTrace } from '../sim/workload.js';
import type { StepRecord } from '../metrics/records.js';
import type { CalibrationOptions } from '../sim/calibrate.js';
import '../sim/scenarios/index.js';
import {
  calibrateStepTime,
  findScenario,
  formatOutcome,
  paramExpectation,
  runScenario,
  ScenarioParamError,
  formatResult,
  formatSweep,
  listScenarios,
  runSimulation,
  runSweep,
  validateConfig,
  type SimConfig,
} from '../sim/index.js';

export const SIM_USAGE = `  sim <scenario|config.json> [--out FILE] [--seed N] [--sweep] [--calibrate STEPS.json [--noise M]] [--list]
      Simulates a fleet of GPUs (docs/sim-config.md): prints utilization, cost per 1M tokens,
      TTFT/TPOT/E2E percentiles and SLO attainment; writes the result as JSON with --out.
      A scenario of the report (--list) prints its claim check: each simulated figure beside the
      report's range, and whether they agree.
      --seed N        overrides the config's seed
      --set K=V       sets a scenario parameter (repeatable; --list shows them)
      --reduced       runs a scenario at the test suite's reduced size
      --sweep         runs the config's sweep (also the default when the config has one)
      --no-sweep      runs the config once even when it has a sweep
      --calibrate F   fits the calibrated step-time model to live StepRecords in F (a JSON array,
                      or {"steps": [...]}) and uses it instead of the config's stepTime
      --noise M       the step-time variability that fit keeps: runs[:N] (default runs:50: every
                      step's residual, replayed in runs of N consecutive steps), residuals[:K]
                      (drawn one at a time: every step's, or K group means), factors[:K]
                      (actual ÷ fitted, K group means, default 20), none (the fitted time)
      --tenant-rows N tenant rows printed (default 10; the JSON has all)
      --list          lists the named scenarios`;

/**
 * Reads and parses the traces a config names (relative to `baseDir`), each with the parser
 * options its source sets, keyed as WorkloadInputs.traces expects (traceKey).
 */
function loadTraces(config: SimConfig, baseDir: string): Map<string, Trace> {
  const traces = new Map<string, Trace>();
  for (const use of traceUses(config)) {
    const file = isAbsolute(use.path) ? use.path : resolve(baseDir, use.path);
    if (!existsSync(file)) throw new UsageError(`trace file not found: ${use.path} (looked for ${file}; named by ${use.field})`);
    traces.set(use.key, parseTraceUse(use, readFileSync(file, 'utf8')));
  }
  return traces;
}

/** The trace reports as printed lines (each file's rows, requests, bad and skipped rows, notes). */
function traceLines(reports: readonly TraceReport[]): string {
  return reports.length === 0 ? '' : `\n${reports.map((r) => `${formatTraceReport(r).join('\n')}\n`).join('')}`;
}

function readSteps(file: string): StepRecord[] {
  if (!existsSync(file)) throw new UsageError(`--calibrate: file not found: ${file}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--calibrate: ${file} is not valid JSON (${(e as Error).message})`);
  }
  const steps = Array.isArray(raw) ? raw : (raw as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(steps)) throw new UsageError(`--calibrate: ${file} must hold a JSON array of StepRecords or {"steps": [...]}`);
  // The fields the fit reads; a missing or non-numeric one would make every coefficient NaN.
  const fields = ['busy', 'decodeTokens', 'prefillTokens', 'contextTokens'] as const;
  steps.forEach((s: unknown, i) => {
    for (const f of fields) {
      const v = (s as Record<string, unknown> | null)?.[f];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        throw new UsageError(`--calibrate: ${file}, step ${i}: ${f} must be a finite number >= 0, got ${JSON.stringify(v)}`);
      }
    }
  });
  return steps as StepRecord[];
}

/** Consecutive residuals a run replays by default (--noise runs): the fidelity test's RESIDUAL_RUN. */
export const DEFAULT_RESIDUAL_RUN = 50;
/** The step times' variability a calibrated model keeps (--noise). */
export const DEFAULT_NOISE = `runs:${DEFAULT_RESIDUAL_RUN}`;

/**
 * Parses --noise: 'none' (every step takes the fitted time), 'runs[:N]' (every step's residual
 * in step order, replayed in runs of N consecutive steps; default 50: what the fidelity test
 * checks against the live engine), 'residuals[:K]' (residuals drawn one at a time: every step's
 * own, or the means of K equal-count groups), 'factors[:K]' (actual ÷ fitted, K group means,
 * default 20).
 */
export function parseNoise(value: string): CalibrationOptions {
  const m = /^(none|runs|residuals|factors)(?::(\d+))?$/.exec(value);
  const n = m?.[2] !== undefined ? Number(m[2]) : undefined;
  if (!m || (m[1] === 'none' && n !== undefined) || n === 0) {
    throw new UsageError(`--noise: expected none, runs[:N], residuals[:K] or factors[:K] with N, K whole numbers >= 1, got "${value}"`);
  }
  switch (m[1]) {
    case 'none':
      return {};
    case 'runs':
      return { noise: Infinity, noiseKind: 'residual', residualRun: n ?? DEFAULT_RESIDUAL_RUN };
    case 'residuals':
      return { noise: n ?? Infinity, noiseKind: 'residual' };
    default:
      return { noise: n ?? 20, noiseKind: 'factor' };
  }
}

/** How parseNoise's options read in a log line. */
function describeNoise(o: CalibrationOptions, steps: number): string {
  if (!o.noise) return 'no noise: every step takes the fitted time';
  if (o.residualRun) return `noise: every step's residual (actual − fitted), replayed in runs of ${o.residualRun} consecutive steps`;
  const groups = o.noise === Infinity ? `every step's own` : `${Math.min(o.noise, steps)} group means`;
  return o.noiseKind === 'residual' ? `noise: residuals (actual − fitted), ${groups}, drawn one at a time` : `noise: factors (actual ÷ fitted), ${groups}`;
}

export async function runSim(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      seed: { type: 'string' },
      sweep: { type: 'boolean' },
      'no-sweep': { type: 'boolean' },
      calibrate: { type: 'string' },
      noise: { type: 'string' },
      'tenant-rows': { type: 'string' },
      list: { type: 'boolean' },
      quiet: { type: 'boolean' },
      set: { type: 'string', multiple: true },
      reduced: { type: 'boolean' },
    },
  });
  const log = (s: string) => {
    if (!values.quiet) process.stderr.write(s);
  };
  if (values.list) {
    const all = listScenarios();
    const lines: string[] = [];
    for (const s of all) {
      lines.push(`${s.name.padEnd(24)} ${s.title}`);
      for (const p of s.params ?? []) lines.push(`${''.padEnd(26)}--set ${p.key}=… (${paramExpectation(p)}; default ${p.default})`);
    }
    process.stdout.write(all.length ? `${lines.join('\n')}\n` : 'no named scenarios registered yet\n');
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('sim takes one scenario name or config file');
  const what = positionals[0]!;
  const experiment = findScenario(what);
  if (experiment?.run) return runExperiment(experiment, values, log);
  if (values.set?.length || values.reduced) throw new UsageError(`--set and --reduced apply to the report's scenarios (lab sim --list), not to ${what}`);

  let raw: unknown;
  let baseDir = process.cwd();
  const scenario = findScenario(what);
  if (scenario) raw = scenario.config();
  else if (existsSync(what)) {
    try {
      raw = JSON.parse(readFileSync(what, 'utf8'));
    } catch (e) {
      throw new UsageError(`${what}: not valid JSON (${(e as Error).message})`);
    }
    baseDir = dirname(resolve(what));
  } else {
    const names = listScenarios().map((s) => s.name);
    throw new UsageError(`no scenario or file named "${what}"${names.length ? ` (scenarios: ${names.join(', ')})` : ''}`);
  }

  let config = validateConfig(raw);
  if (values.seed !== undefined) config = { ...config, seed: intArg('seed', values.seed, 1, 0, 2 ** 32 - 1) };
  if (values.noise !== undefined && !values.calibrate) throw new UsageError('--noise goes with --calibrate (a config states its own stepTime.noise)');
  if (values.calibrate) {
    if (config.queue) throw new UsageError('--calibrate does not apply to a queue config (its service times are given)');
    const noise = parseNoise(values.noise ?? DEFAULT_NOISE);
    const fit = calibrateStepTime(readSteps(values.calibrate), { source: values.calibrate, ...noise });
    const { unidentified, clamped, ...spec } = fit;
    log(
      `calibrated on ${fit.fit!.n} steps: R² ${fit.fit!.r2.toFixed(4)}, mean abs error ${(100 * fit.fit!.mape).toFixed(2)}%` +
        `${unidentified.length ? ` (not identifiable from these steps, set to 0: ${unidentified.join(', ')})` : ''}` +
        `${clamped.length ? ` (negative in the least-squares fit, set to 0: ${clamped.join(', ')})` : ''}; ` +
        `${describeNoise(noise, fit.fit!.n)}\n`,
    );
    config = { ...config, stepTime: spec };
  }
  const traces = loadTraces(config, baseDir);
  const tenantRows = intArg('tenant-rows', values['tenant-rows'], 10, 0);

  let lastShown = -1;
  const onProgress = (f: number) => {
    const p = Math.floor(f * 10);
    if (p !== lastShown && process.stderr.isTTY) {
      lastShown = p;
      log(`\r  simulating… ${p * 10}%`);
      if (f >= 1) log('\r\x1b[K');
    }
  };

  const t0 = performance.now();
  const doSweep = !values['no-sweep'] && (values.sweep || config.sweep !== undefined);
  let json: unknown;
  if (doSweep) {
    if (!config.sweep) throw new UsageError('--sweep: the config has no sweep');
    const runs = config.sweep.values.length;
    // Every run replays the same files: the first run's trace reports are the sweep's.
    let reports: WorkloadTrace[] = [];
    const sweep = runSweep(config, config.sweep, {
      traces,
      onRun: (k, r) => {
        if (reports.length === 0) reports = r.workload.traces;
        log(k < 0 ? '  base run done\n' : `  sweep run ${k + 1}/${runs} done\n`);
      },
    });
    process.stdout.write(`${config.name ?? what}: ${config.sweep.kind} sweep\n${formatSweep(sweep)}\n${traceLines(reports)}`);
    json = reports.length > 0 ? { config, sweep, traces: reports } : { config, sweep };
  } else {
    const result = runSimulation(config, { traces, onProgress });
    process.stdout.write(`${formatResult(result, { tenantRows })}\n${traceLines(result.workload.traces)}`);
    json = { config, result };
  }
  log(`simulated in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
  if (values.out) {
    writeFileSync(values.out, `${JSON.stringify(json, null, 2)}\n`);
    log(`wrote ${values.out}\n`);
  }
  return 0;
}

/** A scenario with an experiment: runs it, prints the claim check, writes the outcome as JSON. */
function runExperiment(
  s: NonNullable<ReturnType<typeof findScenario>>,
  values: { out?: string; seed?: string; set?: string[]; reduced?: boolean; sweep?: boolean; calibrate?: string; noise?: string; 'tenant-rows'?: string },
  log: (s: string) => void,
): number {
  if (values.sweep || values.calibrate || values.noise !== undefined) {
    throw new UsageError(`--sweep, --calibrate and --noise apply to config files; scenario ${s.name} runs its own experiment`);
  }
  const given: Record<string, string> = {};
  for (const kv of values.set ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UsageError(`--set takes key=value, got "${kv}"`);
    given[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const seed = intArg('seed', values.seed, 1, 0, 2 ** 32 - 1);
  let lastShown = '';
  const t0 = performance.now();
  let outcome;
  try {
    outcome = runScenario(s, {
      seed,
      reduced: values.reduced ?? false,
      params: given,
      onProgress: (f, label) => {
        const line = `${Math.floor(f * 20) * 5}% ${label}`;
        if (line !== lastShown && process.stderr.isTTY) {
          lastShown = line;
          log(`\r\x1b[K  ${line}`);
        }
      },
    });
  } catch (e) {
    if (e instanceof ScenarioParamError) throw new UsageError(e.message);
    throw e;
  }
  if (process.stderr.isTTY) log('\r\x1b[K');
  // The trace files the scenario's runs replayed, each once.
  const seen = new Map<string, TraceReport>();
  for (const r of outcome.runs) for (const t of r.result.workload.traces ?? []) seen.set(JSON.stringify({ ...t, usedBy: [] }), t);
  process.stdout.write(`${formatOutcome(outcome, { tenantRows: intArg('tenant-rows', values['tenant-rows'], 5, 0) })}\n${traceLines([...seen.values()])}`);
  log(`simulated in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
  if (values.out) {
    writeFileSync(values.out, `${JSON.stringify(outcome, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
    log(`wrote ${values.out}\n`);
  }
  return 0;
}

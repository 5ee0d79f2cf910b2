// Claim checks: a scenario runs one or more simulations and sets each figure it measured beside
// the range the report gives for it, saying whether they agree. Nothing here bends a result
// toward the report: a figure outside the range is reported as a disagreement, with the side it
// falls on. An Experiment collects the runs, sweeps, checks and notes of one scenario run and
// reports progress over all of its simulations.
import { runSimulation, type RunOptions, type SimResult } from './run.js';
import type { SimConfig } from './config.js';
import type { WorkloadInputs } from './workload.js';
import type { SweepResult } from './sweep.js';
import { formatResult, formatSweep, num, pct, secs, table } from './report.js';

/** How a figure and its range are written. */
export type FigureUnit = 'percent' | 'ratio' | 'dollars' | 'seconds' | 'number';

export interface ClaimCheck {
  /** Stable key (tests and exports). */
  id: string;
  /** The report's claim, in its words. */
  claim: string;
  /** What was measured, and how. */
  figure: string;
  simulated: number;
  /** The report's range, inclusive unless lowOpen/highOpen; ±Infinity for a side without a bound. */
  low: number;
  high: number;
  lowOpen?: boolean;
  highOpen?: boolean;
  unit: FigureUnit;
  agrees: boolean;
  /** 'agrees', or 'disagrees: below the report's range' / 'above'. */
  verdict: string;
  /** How the range was read from the report, or what the figure depends on. */
  note?: string;
}

export interface ScenarioRun {
  label: string;
  result: SimResult;
}

export interface ScenarioSweep {
  label: string;
  sweep: SweepResult;
  /** Where rows were not simulated event by event, what they are (e.g. the sizing rule alone). */
  note?: string;
}

export interface ScenarioOutcome {
  format: 'multiplex-sim-scenario';
  version: 1;
  scenario: string;
  title: string;
  /** The report's claim the scenario tests. */
  claim: string;
  seed: number;
  reduced: boolean;
  params: Record<string, number | string>;
  checks: ClaimCheck[];
  runs: ScenarioRun[];
  sweeps: ScenarioSweep[];
  /** Assumptions and what was done, in sentences. */
  notes: string[];
  /** Simulations run, and the simulated requests over all of them. */
  simulations: number;
  requests: number;
  /** Why the scenario could not run here (e.g. its data is absent), in one sentence; no checks then. */
  unavailable?: string;
}

export function formatFigure(v: number, unit: FigureUnit): string {
  if (!Number.isFinite(v)) return v === Infinity ? '∞' : v === -Infinity ? '−∞' : '—';
  switch (unit) {
    case 'percent':
      return pct(v);
    case 'ratio':
      return `${num(v)}×`;
    case 'dollars':
      return `$${num(v)}`;
    case 'seconds':
      return secs(v);
    case 'number':
      return num(v);
  }
}

/** The report's range as text: "10–25%", "≥ 2×", "< 1×". */
export function formatRange(c: Pick<ClaimCheck, 'low' | 'high' | 'unit' | 'lowOpen' | 'highOpen'>): string {
  const f = (v: number) => formatFigure(v, c.unit);
  if (c.low === -Infinity && c.high === Infinity) return 'any';
  if (c.low === -Infinity) return `${c.highOpen ? '<' : '≤'} ${f(c.high)}`;
  if (c.high === Infinity) return `${c.lowOpen ? '>' : '≥'} ${f(c.low)}`;
  if (c.unit === 'percent') return `${(100 * c.low).toFixed(0)}–${(100 * c.high).toFixed(0)}%`;
  return `${f(c.low)}–${f(c.high)}`;
}

export interface CheckInput {
  id: string;
  claim: string;
  figure: string;
  simulated: number;
  low?: number;
  high?: number;
  /** Exclusive bounds (e.g. "< 1×": strictly cheaper). */
  lowOpen?: boolean;
  highOpen?: boolean;
  unit: FigureUnit;
  note?: string;
}

/** A check of `simulated` against [low, high]; a non-finite figure never agrees. */
export function makeCheck(c: CheckInput): ClaimCheck {
  const low = c.low ?? -Infinity;
  const high = c.high ?? Infinity;
  const v = c.simulated;
  const aboveLow = c.lowOpen ? v > low : v >= low;
  const belowHigh = c.highOpen ? v < high : v <= high;
  const ok = Number.isFinite(v) && aboveLow && belowHigh;
  const verdict = ok
    ? 'agrees'
    : !Number.isFinite(v)
      ? 'disagrees: no figure (the simulation produced none)'
      : !aboveLow
        ? "disagrees: below the report's range"
        : "disagrees: above the report's range";
  const out: ClaimCheck = { id: c.id, claim: c.claim, figure: c.figure, simulated: v, low, high, unit: c.unit, agrees: ok, verdict };
  if (c.lowOpen) out.lowOpen = true;
  if (c.highOpen) out.highOpen = true;
  if (c.note !== undefined) out.note = c.note;
  return out;
}

export interface ExperimentOptions {
  seed: number;
  reduced: boolean;
  params: Record<string, number | string>;
  /** Overall progress in [0, 1] over the experiment's simulations, with what is running. */
  onProgress?: (fraction: number, label: string) => void;
  /** Passed to every simulation (parsed traces). */
  runOptions?: Omit<RunOptions, 'onProgress' | 'onStep'>;
}

/** One scenario run in the making: simulations (with progress), checks and notes. */
export class Experiment {
  readonly checks: ClaimCheck[] = [];
  readonly runs: ScenarioRun[] = [];
  readonly sweeps: ScenarioSweep[] = [];
  readonly notes: string[] = [];
  private done = 0;
  private planned = 1;
  private simulations = 0;
  private requests = 0;
  private unavailableReason: string | undefined;

  constructor(readonly options: ExperimentOptions) {}

  get seed(): number {
    return this.options.seed;
  }
  get reduced(): boolean {
    return this.options.reduced;
  }
  /** A parameter's value (resolved and checked before the experiment starts). */
  num(key: string): number {
    const v = this.options.params[key];
    if (typeof v !== 'number') throw new Error(`scenario parameter '${key}' is not a number`);
    return v;
  }
  str(key: string): string {
    const v = this.options.params[key];
    if (typeof v !== 'string') throw new Error(`scenario parameter '${key}' is not a choice`);
    return v;
  }

  /** How many simulations the experiment will run (for the progress fraction). */
  plan(simulations: number): void {
    this.planned = Math.max(1, simulations);
  }

  /**
   * Runs one simulation; `keep` adds its result to the outcome's runs under `label`. `inputs`
   * (parsed traces the scenario loaded itself) are added to the experiment's run options.
   */
  simulate(label: string, config: SimConfig, keep = true, inputs: WorkloadInputs = {}): SimResult {
    const on = this.options.onProgress;
    const base = this.done;
    const total = Math.max(this.planned, base + 1);
    on?.(base / total, label);
    const result = runSimulation(config, {
      ...this.options.runOptions,
      ...inputs,
      onProgress: on ? (f) => on(Math.min(1, (base + f) / total), label) : undefined,
    });
    this.done++;
    this.simulations++;
    this.requests += result.workload.requests;
    if (keep) this.runs.push({ label, result });
    return result;
  }

  /** Counts work done outside simulate() (e.g. a sizing-only row) toward progress. */
  tick(label: string): void {
    this.done++;
    this.options.onProgress?.(Math.min(1, this.done / Math.max(this.planned, this.done)), label);
  }

  check(c: CheckInput): ClaimCheck {
    const k = makeCheck(c);
    this.checks.push(k);
    return k;
  }

  note(s: string): void {
    this.notes.push(s);
  }

  /** Marks the scenario as unable to run here (said in one sentence, also kept as a note). */
  unavailable(reason: string): void {
    this.unavailableReason = reason;
    this.notes.push(reason);
  }

  outcome(scenario: { name: string; title: string; claim: string }): ScenarioOutcome {
    this.options.onProgress?.(1, 'done');
    return {
      format: 'multiplex-sim-scenario',
      version: 1,
      scenario: scenario.name,
      title: scenario.title,
      claim: scenario.claim,
      seed: this.options.seed,
      reduced: this.options.reduced,
      params: { ...this.options.params },
      checks: this.checks,
      runs: this.runs,
      sweeps: this.sweeps,
      notes: this.notes,
      simulations: this.simulations,
      requests: this.requests,
      ...(this.unavailableReason !== undefined ? { unavailable: this.unavailableReason } : {}),
    };
  }
}

/** The claim-check table: claim, figure, simulated, the report's range, verdict. */
export function formatChecks(checks: readonly ClaimCheck[]): string {
  return table(
    ['claim check', 'simulated', 'report', 'verdict'],
    checks.map((c) => [c.figure, formatFigure(c.simulated, c.unit), formatRange(c), c.agrees ? 'agrees' : c.verdict.replace(/^disagrees: /, 'DISAGREES: ')]),
  );
}

/** A one-line summary of the checks, e.g. "3 of 4 checks agree with the report". */
export function checksSummary(checks: readonly ClaimCheck[]): string {
  const ok = checks.filter((c) => c.agrees).length;
  return `${ok} of ${checks.length} check${checks.length === 1 ? '' : 's'} agree${ok === 1 ? 's' : ''} with the report`;
}

/** The whole outcome as text: claim, runs (compact), sweeps, checks, notes. */
export function formatOutcome(o: ScenarioOutcome, options: { tenantRows?: number } = {}): string {
  const out: string[] = [];
  if (o.unavailable !== undefined) return `${o.title}\n${o.unavailable}`;
  out.push(`${o.title}`);
  out.push(`scenario ${o.scenario}, seed ${o.seed}${o.reduced ? ', reduced size' : ''}; ${Object.entries(o.params).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (o.claim) out.push(`claim: ${o.claim}`);
  for (const r of o.runs) {
    out.push('', `── ${r.label} ──`, formatResult(r.result, { tenantRows: options.tenantRows ?? 5 }));
  }
  for (const s of o.sweeps) {
    out.push('', `── sweep: ${s.label} ──`, formatSweep(s.sweep));
    if (s.note) out.push(`note: ${s.note}`);
  }
  out.push('', `── claim check: ${checksSummary(o.checks)} ──`, formatChecks(o.checks));
  for (const c of o.checks) if (c.note) out.push(`  ${c.figure}: ${c.note}`);
  if (o.notes.length) out.push('', ...o.notes.map((n) => `note: ${n}`));
  out.push('', `${o.simulations} simulation${o.simulations === 1 ? '' : 's'}, ${o.requests.toLocaleString('en-US')} simulated requests`);
  return out.join('\n');
}

/** The claim checks as CSV (one row per check). */
export function checksCsv(checks: readonly ClaimCheck[]): string {
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const n = (v: number) => (Number.isFinite(v) ? String(+v.toPrecision(6)) : '');
  const lines = ['id,claim,figure,simulated,unit,report_low,report_high,report_range,agrees,verdict'];
  for (const c of checks) {
    lines.push([c.id, q(c.claim), q(c.figure), n(c.simulated), c.unit, n(c.low), n(c.high), q(formatRange(c)), c.agrees ? 'yes' : 'no', q(c.verdict)].join(','));
  }
  return `${lines.join('\n')}\n`;
}

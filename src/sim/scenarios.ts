// Named scenarios: configs registered under a name, so that `lab sim <name>` and the UI's presets
// run them like a config file. Scenario modules call registerScenario() when they are imported;
// src/sim/scenarios/index.ts imports the report's scenarios (the CLI and the sim worker import it
// before resolving a name).
//
// A scenario may also test a claim of the report: `run` performs its experiment (one or more
// simulations, sweeps) and returns the figures beside the report's ranges (claims.ts). Its
// `params` are the settings a user may change (URL state, `lab sim --set key=value`), each with
// its range; every value is checked and a bad one is reported by name.
import type { SimConfig } from './config.js';
import { Experiment, type ExperimentOptions, type ScenarioOutcome } from './claims.js';

export type ParamValue = number | string;

export interface ScenarioParam {
  key: string;
  label: string;
  /** Units or meaning, shown beside the input. */
  hint?: string;
  kind: 'int' | 'number' | 'choice';
  min?: number;
  max?: number;
  options?: readonly string[];
  /** The value at full size. */
  default: ParamValue;
  /** The value at the reduced size (the test suite's), when it differs. */
  reduced?: ParamValue;
}

export interface ScenarioOptions {
  /** The reduced size the test suite runs (seconds of CPU, not minutes). */
  reduced?: boolean;
  seed?: number;
  /** Values for the scenario's params (checked; missing ones take the default). */
  params?: Record<string, ParamValue>;
}

export interface Scenario {
  name: string;
  /** One line for listings. */
  title: string;
  /** Builds the config (a function, so a scenario can size itself or take a reduced size). */
  config: (options?: ScenarioOptions) => SimConfig;
  /** The report's claim the scenario tests, in one or two sentences. */
  claim?: string;
  /** What to look at, for the UI's preset. */
  lesson?: string;
  params?: readonly ScenarioParam[];
  /** Runs the experiment and checks the claim (see runScenario()). */
  run?: (ex: Experiment) => void;
}

const registry = new Map<string, Scenario>();

export function registerScenario(s: Scenario): void {
  if (registry.has(s.name)) throw new Error(`scenario '${s.name}' is registered twice`);
  registry.set(s.name, s);
}

export function findScenario(name: string): Scenario | undefined {
  return registry.get(name);
}

export function listScenarios(): Scenario[] {
  return [...registry.values()];
}

/** The seed a scenario runs with when none is given. */
export const DEFAULT_SCENARIO_SEED = 1;

/** Describes what a parameter accepts, e.g. "an integer from 1 to 2000". */
export function paramExpectation(p: ScenarioParam): string {
  if (p.kind === 'choice') return `one of ${(p.options ?? []).join(', ')}`;
  return `${p.kind === 'int' ? 'an integer' : 'a number'} from ${p.min ?? '−∞'} to ${p.max ?? '∞'}`;
}

/** Checks one value (a string from a URL or command line, or a number); returns it typed or an error sentence. */
export function parseParam(p: ScenarioParam, raw: unknown): { value: ParamValue } | { error: string } {
  const shown = typeof raw === 'string' ? raw : JSON.stringify(raw);
  const bad = { error: `parameter "${p.key}=${shown}" is invalid: expected ${paramExpectation(p)}` };
  if (p.kind === 'choice') {
    return typeof raw === 'string' && (p.options ?? []).includes(raw) ? { value: raw } : bad;
  }
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  if (!Number.isFinite(n) || (p.kind === 'int' && !Number.isInteger(n))) return bad;
  if ((p.min !== undefined && n < p.min) || (p.max !== undefined && n > p.max)) return bad;
  return { value: n };
}

/** Default values of a scenario's params at the given size. */
export function defaultParams(s: Scenario, reduced = false): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const p of s.params ?? []) out[p.key] = reduced && p.reduced !== undefined ? p.reduced : p.default;
  return out;
}

/**
 * The scenario's params: defaults at the size, then the given values, each checked. Unknown keys
 * and bad values are listed in `errors` (and left at their defaults); nothing throws.
 */
export function resolveParams(s: Scenario, given: Record<string, unknown> = {}, reduced = false): { params: Record<string, ParamValue>; errors: string[] } {
  const params = defaultParams(s, reduced);
  const errors: string[] = [];
  const specs = new Map((s.params ?? []).map((p) => [p.key, p]));
  for (const [k, raw] of Object.entries(given)) {
    const p = specs.get(k);
    if (!p) {
      errors.push(`parameter "${k}" is unknown to scenario ${s.name}${specs.size ? ` (it takes ${[...specs.keys()].join(', ')})` : ' (it takes none)'}`);
      continue;
    }
    const r = parseParam(p, raw);
    if ('error' in r) errors.push(`${r.error}; using ${params[k]}`);
    else params[k] = r.value;
  }
  return { params, errors };
}

export class ScenarioParamError extends Error {
  constructor(readonly issues: string[]) {
    super(issues.join('\n'));
    this.name = 'ScenarioParamError';
  }
}

export interface RunScenarioOptions extends ScenarioOptions {
  onProgress?: ExperimentOptions['onProgress'];
  runOptions?: ExperimentOptions['runOptions'];
}

/**
 * Runs a scenario's experiment (or, for a plain scenario, its config once) and returns the
 * outcome. Bad params throw a ScenarioParamError naming each one.
 */
export function runScenario(s: Scenario, options: RunScenarioOptions = {}): ScenarioOutcome {
  const reduced = options.reduced ?? false;
  const { params, errors } = resolveParams(s, options.params ?? {}, reduced);
  if (errors.length > 0) throw new ScenarioParamError(errors);
  const seed = options.seed ?? DEFAULT_SCENARIO_SEED;
  const ex = new Experiment({ seed, reduced, params, onProgress: options.onProgress, runOptions: options.runOptions });
  if (s.run) s.run(ex);
  else {
    ex.plan(1);
    ex.simulate(s.name, { ...s.config({ reduced, seed, params }), seed });
  }
  return ex.outcome({ name: s.name, title: s.title, claim: s.claim ?? '' });
}

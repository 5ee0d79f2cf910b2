// The fleet view's state lives in the URL, so a link restores it:
// `?view=fleet&scenario=peak-5x&seed=3&rate=12` opens a scenario of the report with its seed and
// any of its parameters changed. Every value is checked; a bad one is reported by name and
// replaced by the scenario's default, so a mistyped shared link still opens a working view.
// Pure code (no DOM), tested in Node.
import '../sim/scenarios/index.js';
import {
  DEFAULT_SCENARIO_SEED,
  defaultParams,
  findScenario,
  listScenarios,
  parseParam,
  type ParamValue,
  type Scenario,
} from '../sim/index.js';

export type FleetSize = 'full' | 'reduced';

export interface FleetState {
  scenario: string;
  seed: number;
  /** 'reduced': the test suite's size (seconds); 'full': the size the claim check is meant for. */
  size: FleetSize;
  /** Run on opening (default true). */
  autorun: boolean;
  /** Values that differ from the scenario's defaults at this size. */
  params: Record<string, ParamValue>;
}

export const DEFAULT_SCENARIO = 'startup-reserved';
export const SEED_LIMITS = { min: 0, max: 2 ** 32 - 1 } as const;
const RESERVED_KEYS = ['view', 'scenario', 'seed', 'size', 'autorun'];

export function fleetScenarios(): Scenario[] {
  return listScenarios().filter((s) => s.run !== undefined);
}

export function defaultFleetState(scenario = DEFAULT_SCENARIO): FleetState {
  return { scenario, seed: DEFAULT_SCENARIO_SEED, size: 'full', autorun: true, params: {} };
}

/** Every param of the state's scenario: its defaults at the size, overridden by the state's. */
export function effectiveParams(s: FleetState): Record<string, ParamValue> {
  const sc = findScenario(s.scenario);
  return sc ? { ...defaultParams(sc, s.size === 'reduced'), ...s.params } : { ...s.params };
}

/** Parses the view's URL query; never throws: bad values are listed in `errors`. */
export function parseFleetState(search: string): { state: FleetState; errors: string[] } {
  const q = new URLSearchParams(search);
  const errors: string[] = [];
  const names = fleetScenarios().map((s) => s.name);
  const raw = q.get('scenario');
  let state = defaultFleetState();
  if (raw !== null && raw !== '') {
    if (names.includes(raw)) state = defaultFleetState(raw);
    else errors.push(`URL parameter "scenario=${raw}" is invalid: expected one of ${names.join(', ')}; using ${DEFAULT_SCENARIO}.`);
  }
  const seed = q.get('seed');
  if (seed !== null) {
    const n = Number(seed);
    if (seed.trim() === '' || !Number.isInteger(n) || n < SEED_LIMITS.min || n > SEED_LIMITS.max) {
      errors.push(`URL parameter "seed=${seed}" is invalid: expected an integer from ${SEED_LIMITS.min} to ${SEED_LIMITS.max}; using ${state.seed}.`);
    } else state.seed = n;
  }
  const size = q.get('size');
  if (size !== null) {
    if (size === 'full' || size === 'reduced') state.size = size;
    else errors.push(`URL parameter "size=${size}" is invalid: expected full or reduced; using ${state.size}.`);
  }
  const autorun = q.get('autorun');
  if (autorun !== null) {
    if (autorun === '1' || autorun === '0') state.autorun = autorun === '1';
    else errors.push(`URL parameter "autorun=${autorun}" is invalid: expected 1 or 0; using ${state.autorun ? 1 : 0}.`);
  }
  const sc = findScenario(state.scenario)!;
  const specs = new Map((sc.params ?? []).map((p) => [p.key, p]));
  const defaults = defaultParams(sc, state.size === 'reduced');
  for (const [k, v] of q) {
    if (RESERVED_KEYS.includes(k)) continue;
    const p = specs.get(k);
    if (!p) {
      errors.push(`URL parameter "${k}=${v}" is unknown to scenario ${sc.name}${specs.size ? ` (it takes ${[...specs.keys()].join(', ')})` : ''}; ignored.`);
      continue;
    }
    const r = parseParam(p, v);
    if ('error' in r) errors.push(`URL ${r.error}; using ${defaults[k]}.`);
    else if (r.value !== defaults[k]) state.params[k] = r.value;
  }
  return { state, errors };
}

/** The query string for a state: `view=fleet`, the scenario, and what differs from the defaults. parseFleetState(serializeFleetState(s)) == s. */
export function serializeFleetState(s: FleetState): string {
  const q = new URLSearchParams();
  q.set('view', 'fleet');
  q.set('scenario', s.scenario);
  if (s.seed !== DEFAULT_SCENARIO_SEED) q.set('seed', String(s.seed));
  if (s.size !== 'full') q.set('size', s.size);
  if (!s.autorun) q.set('autorun', '0');
  const sc = findScenario(s.scenario);
  const defaults = sc ? defaultParams(sc, s.size === 'reduced') : {};
  for (const p of sc?.params ?? []) {
    const v = s.params[p.key];
    if (v !== undefined && v !== defaults[p.key]) q.set(p.key, String(v));
  }
  return q.toString();
}

/** Two states run the same experiment (autorun aside). */
export function sameFleetRun(a: FleetState, b: FleetState): boolean {
  return a.scenario === b.scenario && a.seed === b.seed && a.size === b.size && JSON.stringify(effectiveParams(a)) === JSON.stringify(effectiveParams(b));
}

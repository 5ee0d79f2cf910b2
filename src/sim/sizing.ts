// How many servers a pool gets when the config says "auto" (reserved deployments always size
// this way), and the demand figures the rules work from. Demand is useful work (work.ts):
// server-seconds at saturated efficiency, so one server supplies 1 server-second per second.
import type { TraceColumns } from '../traffic/columns.js';
import type { SizingRule } from './config.js';
import { workOf, type RequestWork } from './work.js';

/** The sizing rules, stated once: the code below implements exactly these, and results quote them. */
export const SIZING_RULES = {
  slo:
    'servers = the smallest fleet that meets the SLO-attainment target (default 99% of requests within every SLO of their tenant) ' +
    'on the actual workload: simulated at a first guess of ceil(offered work ÷ duration), then searched up or down (doubling, then bisection) ' +
    'assuming more servers never attain less; reported with the attainment at N and at N − 1.',
  peak:
    'servers = max(minServers, ceil(peak ÷ targetUtilization)): peak is the p-th percentile (default p99) over consecutive windows of windowS ' +
    '(default 60 s; the last, partial window weighted by its real length) of the work arriving in each window per second (by arrival time, whole ' +
    'requests), in servers; targetUtilization defaults to 1, so headroom comes from the percentile alone unless you add it.',
} as const;

export const SIZING_DEFAULTS = { method: 'slo', sloTarget: 0.99, percentile: 99, windowS: 60, targetUtilization: 1, minServers: 1 } as const;

export function sizingRuleText(rule: SizingRule = {}): string {
  return SIZING_RULES[rule.method ?? SIZING_DEFAULTS.method];
}

export interface Demand {
  windowS: number;
  /** Work arriving in each window ÷ the window's length (the last one may be shorter), servers. */
  series: Float64Array;
  /** Length of each window, s (all windowS but perhaps the last). */
  lengths: Float64Array;
  /** Total work ÷ duration, servers: the offered work rate. */
  mean: number;
  /** The rule's percentile of the series, windows weighted by their length, servers. */
  peak: number;
  /** Total work of the group's requests, server-seconds. */
  workS: number;
  /** Total output tokens ÷ duration. */
  outputTokensPerS: number;
  /** Mean prompt and output tokens of the demand's requests. */
  meanPrompt: number;
  meanOutput: number;
  requests: number;
}

/**
 * Demand per group (e.g. per pool) over [0, durationS), for the requests of tenants mapped to
 * each group (tenantGroup[t] = group, or −1 to leave the tenant out).
 */
export function demandByGroup(
  columns: TraceColumns,
  work: RequestWork,
  tenantGroup: ArrayLike<number>,
  groups: number,
  durationS: number,
  rule: SizingRule = {},
): Demand[] {
  const windowS = rule.windowS ?? SIZING_DEFAULTS.windowS;
  const p = rule.percentile ?? SIZING_DEFAULTS.percentile;
  const span = durationS > 0 ? durationS : 1;
  const windows = Math.max(1, Math.ceil(span / windowS - 1e-9));
  const lengths = new Float64Array(windows).fill(windowS);
  lengths[windows - 1] = Math.max(1e-9, span - (windows - 1) * windowS);
  const series = new Float64Array(groups * windows);
  const prompt = new Float64Array(groups);
  const output = new Float64Array(groups);
  const count = new Float64Array(groups);
  const total = new Float64Array(groups);
  const { arrival, promptTokens, outputTokens, tenant } = columns;
  for (let i = 0; i < arrival.length; i++) {
    const g = tenantGroup[tenant[i]!]!;
    if (g < 0) continue;
    const w = Math.min(windows - 1, Math.max(0, Math.floor(arrival[i]! / windowS)));
    const x = workOf(work, columns, i);
    series[g * windows + w] += x;
    total[g] += x;
    prompt[g] += promptTokens[i]!;
    output[g] += outputTokens[i]!;
    count[g]++;
  }
  const out: Demand[] = [];
  for (let g = 0; g < groups; g++) {
    const s = series.subarray(g * windows, (g + 1) * windows);
    for (let w = 0; w < windows; w++) s[w] = s[w]! / lengths[w]!;
    const n = count[g]!;
    out.push({
      windowS,
      series: s,
      lengths,
      mean: total[g]! / span,
      peak: weightedPercentile(s, lengths, p),
      workS: total[g]!,
      outputTokensPerS: output[g]! / span,
      meanPrompt: n ? prompt[g]! / n : 0,
      meanOutput: n ? output[g]! / n : 0,
      requests: n,
    });
  }
  return out;
}

/** The p-th percentile of values weighted by weights: the smallest value whose cumulative weight reaches p% of the total. */
export function weightedPercentile(values: ArrayLike<number>, weights: ArrayLike<number>, p: number): number {
  const n = values.length;
  if (n === 0) return NaN;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i]!;
  const goal = (Math.min(100, Math.max(0, p)) / 100) * total;
  let acc = 0;
  for (const i of order) {
    acc += weights[i]!;
    if (acc >= goal - 1e-12 * total) return values[i]!;
  }
  return values[order[n - 1]!]!;
}

/** Servers for a peak work rate (in servers) under the peak rule. */
export function serversForPeak(peakServers: number, rule: SizingRule = {}): number {
  const target = rule.targetUtilization ?? SIZING_DEFAULTS.targetUtilization;
  const min = rule.minServers ?? SIZING_DEFAULTS.minServers;
  if (!Number.isFinite(peakServers) || peakServers < 0) throw new RangeError(`peak demand must be a finite number of servers ≥ 0, got ${peakServers}`);
  // Tolerate float noise before rounding up to whole servers.
  return Math.max(min, Math.ceil(peakServers / target - 1e-9));
}

/** What the SLO search found for one pool. */
export interface SloSizing {
  servers: number;
  target: number;
  attainment: number;
  /** N − 1 servers and their attainment; null where N is the pool's minimum (fewer are not allowed). */
  below: { servers: number; attainment: number } | null;
  /** Every fleet size simulated, in order, with its attainment. */
  trials: [number, number][];
}

export class SloUnreachableError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'SloUnreachableError';
  }
}

/**
 * The smallest n in [min, max] with evaluate(n) ≥ target, assuming attainment does not fall as
 * servers are added. Starts at `guess`; walks down one at a time while it meets (the guess is a
 * lower-bound estimate, so this is short), else doubles the step up until it meets, then bisects.
 * Throws SloUnreachableError when even `max` servers miss the target.
 */
export function searchServers(evaluate: (servers: number) => number, o: { guess: number; min: number; max: number; target: number }): SloSizing {
  const trials: [number, number][] = [];
  const memo = new Map<number, number>();
  const at = (n: number): number => {
    let v = memo.get(n);
    if (v === undefined) {
      v = evaluate(n);
      memo.set(n, v);
      trials.push([n, v]);
    }
    return v;
  };
  const meets = (n: number) => at(n) >= o.target;
  const max = Math.max(o.min, o.max);
  let n = Math.min(max, Math.max(o.min, Math.round(o.guess)));
  let good: number;
  if (meets(n)) {
    good = n;
    while (good > o.min && meets(good - 1)) good--;
  } else {
    let bad = n;
    let step = 1;
    for (;;) {
      if (bad >= max) {
        throw new SloUnreachableError(
          `the SLO-attainment target ${(100 * o.target).toFixed(2)}% is out of reach: ${max} servers attain ${(100 * at(max)).toFixed(2)}%`,
        );
      }
      n = Math.min(max, bad + step);
      if (meets(n)) break;
      bad = n;
      step *= 2;
    }
    good = n;
    while (good - bad > 1) {
      const mid = (good + bad) >> 1;
      if (meets(mid)) good = mid;
      else bad = mid;
    }
  }
  const below = good > o.min ? { servers: good - 1, attainment: at(good - 1) } : null;
  return { servers: good, target: o.target, attainment: at(good), below, trials };
}

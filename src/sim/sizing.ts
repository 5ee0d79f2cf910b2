// How many servers a pool gets when the config says "auto" (reserved deployments always size
// this way), and the demand figures the rule works from.
import { percentileOfSorted } from '../metrics/percentiles.js';
import type { TraceColumns } from '../traffic/columns.js';
import type { SizingRule } from './config.js';

/** The sizing rule, stated once: the code below implements exactly this, and results quote it. */
export const SIZING_RULE =
  'servers = max(minServers, ceil(peak / (capacity × targetUtilization))): peak is the p-th percentile ' +
  '(default p99) over consecutive windows of windowS (default 60 s) of the output tokens/s arriving in each ' +
  'window (by arrival time, whole requests); capacity is one server\'s output tokens/s at the largest batch ' +
  'that fits, at the mean prompt and output lengths of the demand (steady state, from the step-time model); ' +
  'targetUtilization defaults to 0.8, minServers to 1.';

export const SIZING_DEFAULTS = { percentile: 99, windowS: 60, targetUtilization: 0.8, minServers: 1 } as const;

export interface Demand {
  windowS: number;
  /** Output tokens/s arriving in each window. */
  series: Float64Array;
  /** Mean over windows, output tokens/s. */
  mean: number;
  /** The rule's percentile of the series, output tokens/s. */
  peak: number;
  /** Mean prompt and output tokens of the demand's requests. */
  meanPrompt: number;
  meanOutput: number;
  requests: number;
}

/**
 * Demand per group (e.g. per pool): output tokens/s arriving in windows of windowS over
 * [0, durationS), for the requests of tenants mapped to each group (tenantGroup[t] = group, or
 * -1 to leave the tenant out).
 */
export function demandByGroup(
  columns: TraceColumns,
  tenantGroup: ArrayLike<number>,
  groups: number,
  durationS: number,
  rule: SizingRule = {},
): Demand[] {
  const windowS = rule.windowS ?? SIZING_DEFAULTS.windowS;
  const p = rule.percentile ?? SIZING_DEFAULTS.percentile;
  const windows = Math.max(1, Math.ceil(durationS / windowS - 1e-9));
  const series = new Float64Array(groups * windows);
  const prompt = new Float64Array(groups);
  const output = new Float64Array(groups);
  const count = new Float64Array(groups);
  const { arrival, promptTokens, outputTokens, tenant } = columns;
  for (let i = 0; i < arrival.length; i++) {
    const g = tenantGroup[tenant[i]!]!;
    if (g < 0) continue;
    const w = Math.min(windows - 1, Math.floor(arrival[i]! / windowS));
    series[g * windows + w] += outputTokens[i]!;
    prompt[g] += promptTokens[i]!;
    output[g] += outputTokens[i]!;
    count[g]++;
  }
  const out: Demand[] = [];
  for (let g = 0; g < groups; g++) {
    const s = series.subarray(g * windows, (g + 1) * windows);
    let sum = 0;
    for (let w = 0; w < windows; w++) {
      s[w] = s[w]! / windowS;
      sum += s[w]!;
    }
    const sorted = Float64Array.from(s).sort();
    const n = count[g]!;
    out.push({
      windowS,
      series: s,
      mean: sum / windows,
      peak: percentileOfSorted(sorted, p),
      meanPrompt: n ? prompt[g]! / n : 0,
      meanOutput: n ? output[g]! / n : 0,
      requests: n,
    });
  }
  return out;
}

/** Servers for a peak demand at a per-server capacity under the rule. */
export function serversFor(peakTokensPerS: number, capacityTokensPerS: number, rule: SizingRule = {}): number {
  const target = rule.targetUtilization ?? SIZING_DEFAULTS.targetUtilization;
  const min = rule.minServers ?? SIZING_DEFAULTS.minServers;
  if (!(capacityTokensPerS > 0)) throw new RangeError(`server capacity must be > 0 tokens/s, got ${capacityTokensPerS}`);
  // Tolerate float noise before rounding up to whole servers.
  return Math.max(min, Math.ceil(peakTokensPerS / (capacityTokensPerS * target) - 1e-9));
}

/** The p-th percentile of a series (nearest rank). */
export function seriesPercentile(series: ArrayLike<number>, p: number): number {
  return percentileOfSorted(Float64Array.from(series).sort(), p);
}

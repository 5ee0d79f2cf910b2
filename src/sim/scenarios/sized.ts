// Notes the customer-level scenarios share (single-tenant, peaks, real-world, population): what
// their utilization figure is and how each fleet got its servers. Every fleet in them is sized by
// SLO (sizing.ts SIZING_RULES.slo), so the utilization is what the simulation found, not an input.
import type { SimResult } from '../run.js';
import { sizingLines } from '../report.js';
import { sizingRuleText } from '../sizing.js';
import { pctText } from './common.js';

export const SLO_NOTE = 'SLO (stated assumption, an interactive chat product): TTFT ≤ 2 s and TPOT ≤ 100 ms, for 99% of requests.';

/** The SLO the customer-level scenarios size for. */
export const CHAT_SLO = { ttft: 2, tpot: 0.1 } as const;

export const SIZED_NOTE = `Sizing: ${sizingRuleText({ method: 'slo' })}`;

/** Capacity against time utilization, in the result's own figures. */
export function utilizationNote(r: SimResult): string {
  const f = r.fleet;
  return (
    `Measured: capacity utilization ${pctText(f.capacityUtilization)} (useful work served ÷ billed server-seconds, a request's work being ` +
    `the server-seconds it costs a saturated server), time utilization ${pctText(f.timeUtilization)} (share of server time running any step, ` +
    'what nvidia-smi shows: a continuously batching server is busy whenever one request runs, so it reads higher). The report\'s bands are about the first.'
  );
}

/** The SLO search's N and N − 1 for each sized pool, as one sentence. */
export function sizingNote(r: SimResult): string {
  return sizingLines(r).map((l) => l.replace(/^sizing: /, '')).join('; ');
}

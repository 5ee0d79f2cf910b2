// Each tenant's offered demand over a run, from its traffic plan: what the tenants ask for, bucket
// by bucket, so that the page can show their bursts or daily peaks interleaving. The schedules are
// the ones the tenants replay (tenantSchedule is deterministic in the spec), so this is the
// demand the engine receives, not a model of it.
//
// Demand of a bucket = the work (capacity.ts) of the requests that arrive in it ÷ the bucket's
// width: a fraction of this GPU's capacity, the same unit as ρ. Stacked, the top line is the total.
import type { RequestWorkModel } from './capacity.js';
import { tenantSchedule, type TenantSpec } from './tenant-traffic.js';

export interface TenantDemand {
  /** Bucket starts, s. */
  t: number[];
  /** perTenant[i][k]: tenant i's offered work in bucket k ÷ its width (fraction of capacity). */
  perTenant: number[][];
  /** stacked[i][k] = Σ_{j ≤ i} perTenant[j][k]; the last row is the total. */
  stacked: number[][];
  /** Mean over the run of each tenant's demand, and of the total. */
  meanPerTenant: number[];
  meanTotal: number;
  /** Highest bucket of the total ÷ its mean (1 for perfectly steady demand). */
  peakToMean: number;
}

/**
 * Demand per tenant over [0, durationS) in buckets of `interval` s (the last one may be shorter).
 * A request's work is prefillS(P) + (M − 1) × decodeS(P, M).
 */
export function tenantDemand(specs: readonly TenantSpec[], work: RequestWorkModel, durationS: number, interval: number): TenantDemand {
  if (!(durationS > 0) || !(interval > 0)) throw new RangeError(`tenantDemand: duration and interval must be > 0, got ${durationS} and ${interval}`);
  const n = Math.ceil(durationS / interval - 1e-9);
  const t = Array.from({ length: n }, (_, k) => k * interval);
  const width = (k: number) => Math.min(interval, durationS - k * interval);
  const perTenant: number[][] = [];
  const meanPerTenant: number[] = [];
  for (const spec of specs) {
    const s = tenantSchedule(spec);
    const row = new Array<number>(n).fill(0);
    let total = 0;
    for (let i = 0; i < s.arrival.length; i++) {
      const a = s.arrival[i]!;
      if (!(a >= 0 && a < durationS)) continue;
      const P = s.promptTokens[i]!;
      const M = s.outputTokens[i]!;
      const w = work.prefillS(P) + Math.max(0, M - 1) * work.decodeS(P, M);
      row[Math.min(n - 1, Math.floor(a / interval))]! += w;
      total += w;
    }
    for (let k = 0; k < n; k++) row[k] = row[k]! / width(k);
    perTenant.push(row);
    meanPerTenant.push(total / durationS);
  }
  const stacked: number[][] = [];
  let acc = new Array<number>(n).fill(0);
  for (const row of perTenant) {
    acc = acc.map((v, k) => v + row[k]!);
    stacked.push(acc);
  }
  const meanTotal = meanPerTenant.reduce((a, b) => a + b, 0);
  const top = stacked.length ? Math.max(...stacked[stacked.length - 1]!) : 0;
  return { t, perTenant, stacked, meanPerTenant, meanTotal, peakToMean: meanTotal > 0 ? top / meanTotal : NaN };
}

// Per-tenant demand from the traffic plan: exact work accounting, and the interleaving it is
// there to show (diurnal peaks at different times; the pooled total steadier than any tenant).
import { describe, expect, it } from 'vitest';
import { tenantDemand } from '../../src/lab/demand.js';
import { tenantSchedule, type TenantSpec } from '../../src/lab/tenant-traffic.js';
import type { ArrivalProcess } from '../../src/traffic/arrivals.js';
import { parametricLengths } from '../../src/traffic/lengths.js';
import type { RequestWorkModel } from '../../src/lab/capacity.js';

const work: RequestWorkModel = { prefillS: (P) => 1e-4 * P, decodeS: (P, M) => 1e-3 + 1e-6 * (P + M / 2) };
const lengths = parametricLengths({ kind: 'lognormal', mean: 16, cv: 0.5, min: 1, max: 64 }, { kind: 'lognormal', mean: 32, cv: 0.5, min: 1, max: 64 });

function specs(n: number, arrival: (i: number) => ArrivalProcess, horizonS: number): TenantSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    tenant: i,
    name: `tenant ${i + 1}`,
    seed: 5,
    vocabSize: 100,
    maxContext: 128,
    source: { kind: 'generated' as const, arrival: arrival(i), lengths, horizonS },
  }));
}

describe('tenantDemand', () => {
  it('accounts for every arriving request exactly, bucket widths included (a short last bucket)', () => {
    const sp = specs(3, () => ({ kind: 'poisson', rate: 4 }), 31);
    const d = tenantDemand(sp, work, 30.5, 2);
    expect(d.t.length).toBe(16);
    for (let i = 0; i < sp.length; i++) {
      const s = tenantSchedule(sp[i]!);
      let want = 0;
      for (let j = 0; j < s.arrival.length; j++) {
        if (s.arrival[j]! < 30.5) want += work.prefillS(s.promptTokens[j]!) + (s.outputTokens[j]! - 1) * work.decodeS(s.promptTokens[j]!, s.outputTokens[j]!);
      }
      const got = d.perTenant[i]!.reduce((a, v, k) => a + v * Math.min(2, 30.5 - 2 * k), 0);
      expect(got).toBeCloseTo(want, 9);
      expect(d.meanPerTenant[i]).toBeCloseTo(want / 30.5, 9);
    }
    const last = d.stacked[2]!;
    for (let k = 0; k < last.length; k++) expect(last[k]).toBeCloseTo(d.perTenant[0]![k]! + d.perTenant[1]![k]! + d.perTenant[2]![k]!, 12);
  });

  it('diurnal tenants peak at different times, and their total is steadier than any one of them', () => {
    const N = 4;
    const sp = specs(N, (i) => ({ kind: 'diurnal', rate: 6, amplitude: 0.8, periodS: 60, phase: 0.25 - i / N }), 61);
    const d = tenantDemand(sp, work, 60, 5);
    const peakAt = d.perTenant.map((row) => row.indexOf(Math.max(...row)));
    expect(new Set(peakAt).size).toBe(N);
    const ptm = d.perTenant.map((row, i) => Math.max(...row) / d.meanPerTenant[i]!);
    expect(d.peakToMean).toBeLessThan(Math.min(...ptm));
    // Moving every tenant to the same time zone takes the smoothing away: the verdict flips.
    const same = tenantDemand(specs(N, () => ({ kind: 'diurnal', rate: 6, amplitude: 0.8, periodS: 60, phase: 0.25 }), 61), work, 60, 5);
    expect(new Set(same.perTenant.map((row) => row.indexOf(Math.max(...row)))).size).toBeLessThan(N);
    expect(same.peakToMean).toBeGreaterThan(d.peakToMean);
  });

  it('refuses an empty span with a sentence', () => {
    expect(() => tenantDemand([], work, 0, 1)).toThrow(/duration and interval must be > 0/);
  });
});

// Export of a fleet-view run: JSON (settings, the URL that restores them, and the whole scenario
// outcome: claim checks, every kept run's result, sweeps, notes) and CSV (the claim checks, then
// each sweep's rows, each table under a `# title` line). Pure code; download() is the lab's.
import { checksCsv, type ScenarioOutcome, type SweepResult } from '../sim/index.js';

export interface FleetExport {
  format: 'multiplex-fleet-run';
  version: 1;
  exportedAt: string;
  settings: unknown;
  url: string;
  outcome: ScenarioOutcome;
}

export function fleetJson(e: Omit<FleetExport, 'format' | 'version'>): string {
  const out: FleetExport = { format: 'multiplex-fleet-run', version: 1, ...e };
  // NaN and Infinity are not JSON: write null.
  return JSON.stringify(out, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1);
}

const cell = (v: number | string | boolean | null): string => {
  if (v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(+v.toPrecision(6)) : '';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
};

/** One sweep as CSV rows (header first). */
export function sweepCsv(s: SweepResult): string {
  const rows: (number | string | boolean | null)[][] = [];
  switch (s.kind) {
    case 'load':
      rows.push(['target_load', 'offered_load', 'servers', 'time_utilization', 'capacity_utilization', 'mean_wait_s', 'ttft_p99_s', 'tpot_p99_s', 'e2e_p99_s', 'slo_attainment', 'rejected']);
      for (const r of s.rows) rows.push([r.target, r.offeredLoad, r.servers, r.timeUtilization, r.capacityUtilization, r.meanWaitS, r.ttftP99S, r.tpotP99S, r.e2eP99S, r.sloAttainment, r.rejected]);
      break;
    case 'tenants':
      rows.push(['tenants', 'pooled_servers', 'pooled_capacity_utilization', 'pooled_time_utilization', 'pooled_usd_per_1m_output', 'reserved_servers', 'reserved_capacity_utilization', 'reserved_usd_per_1m_output']);
      for (const r of s.rows) {
        rows.push([r.tenants, r.pooled.servers, r.pooled.capacityUtilization, r.pooled.timeUtilization, r.pooled.perMillionOutputTokens, r.reserved.servers, r.reserved.capacityUtilization, r.reserved.perMillionOutputTokens]);
      }
      break;
    case 'servers':
      rows.push(['servers', 'gpus', 'usd_per_1m_output', 'time_utilization', 'capacity_utilization', 'ttft_p99_s', 'slo_attainment', 'meets_target']);
      for (const r of s.rows) rows.push([r.servers, r.gpus, r.perMillionOutputTokens, r.timeUtilization, r.capacityUtilization, r.ttftP99S, r.sloAttainment, r.meetsTarget]);
      break;
  }
  return `${rows.map((r) => r.map(cell).join(',')).join('\n')}\n`;
}

/** The claim checks, then each sweep, each under a `# title` line and separated by a blank line. */
export function fleetCsv(o: ScenarioOutcome): string {
  const parts = [`# claim checks: ${o.scenario}, seed ${o.seed}\n${checksCsv(o.checks)}`];
  for (const s of o.sweeps) parts.push(`# sweep: ${s.label}\n${sweepCsv(s.sweep)}`);
  return parts.join('\n');
}

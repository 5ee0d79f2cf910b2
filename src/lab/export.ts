// Export of a run: JSON (settings, device, calibration, vLLM bench serve's metrics of the whole run,
// the page's figures, the requests still pending at the end with their ages, per-bucket series,
// every step and request record) and CSV (the series, one row per bucket). Pure code.
import type { ServeMetrics } from '../metrics/latency.js';
import type { RequestRecord, StepRecord } from '../metrics/records.js';
import type { Figures, LabSeries, PendingRequest, RunStore } from './metrics.js';

export interface RunExport {
  format: 'multiplex-lab-run';
  version: 2;
  exportedAt: string;
  /** The settings (the lab's URL state) and the URL that restores them. */
  settings: unknown;
  url: string;
  device: unknown;
  calibration: unknown;
  engine: unknown;
  /** What the numbers assume (price, busy-time source, windows). */
  notes: string[];
  /**
   * The whole run under vLLM bench serve's result names (completed requests only, as vLLM's),
   * with `_with_waiting` figures and the pending / rejected / aborted counts beside them.
   */
  metrics: ServeMetrics | null;
  figures: { window: Figures; run: Figures } | null;
  /** Requests not ended when the records were taken (queued or running), with their ages. */
  pending: PendingRequest[];
  comparison?: unknown;
  series: LabSeries | null;
  steps: StepRecord[];
  requests: RequestRecord[];
}

/** The parts of an export that come from a run's store. */
export function storeExport(store: RunStore): Pick<RunExport, 'metrics' | 'figures' | 'pending' | 'series' | 'steps' | 'requests'> {
  const run = store.runFigures();
  return {
    metrics: run.serve,
    figures: { window: store.windowFigures(), run },
    pending: store.pendingRequests(),
    series: store.series(),
    steps: store.steps,
    requests: store.requestList(),
  };
}

export function runJson(e: Omit<RunExport, 'format' | 'version'>): string {
  const out: RunExport = { format: 'multiplex-lab-run', version: 2, ...e };
  // NaN and Infinity are not JSON: write null.
  return JSON.stringify(out, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1);
}

/** Columns of the CSV, in order: header name and the series field. */
export const CSV_COLUMNS: [string, keyof LabSeries][] = [
  ['t_s', 't'],
  ['output_tokens_per_s', 'outputTokensPerS'],
  ['all_tokens_per_s', 'allTokensPerS'],
  ['batch_size', 'batchSize'],
  ['queue_depth', 'queueDepth'],
  ['time_utilization_pct', 'timeUtilization'],
  ['capacity_utilization_pct', 'capacityUtilization'],
  ['offered_load_pct', 'offeredLoad'],
  ['ttft_p50_ms_10s', 'ttftP50'],
  ['ttft_p99_ms_10s', 'ttftP99'],
  ['tpot_p50_ms_10s', 'tpotP50'],
  ['tpot_p99_ms_10s', 'tpotP99'],
  ['ttft_p99_ms_with_waiting_10s', 'ttftP99WithWaiting'],
  ['cost_per_1m_output_usd_10s', 'costPerMOutput'],
  ['cost_per_1m_all_usd_10s', 'costPerMAll'],
];

/** One row per bucket; empty cells where a value does not exist (no request in the window). */
export function seriesCsv(s: LabSeries): string {
  const lines = [CSV_COLUMNS.map(([h]) => h).join(',')];
  for (let i = 0; i < s.t.length; i++) {
    lines.push(
      CSV_COLUMNS.map(([, f]) => {
        const v = (s[f] as readonly (number | null)[])[i];
        return v === null || v === undefined || !Number.isFinite(v) ? '' : String(+v.toPrecision(6));
      }).join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

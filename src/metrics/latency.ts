// Per-request latency (TTFT, TPOT, E2E), their summaries over a whole run or a sliding window,
// request counts, goodput under SLOs, and per-tenant breakdowns. Everything works from
// RequestRecords; times are seconds on the run's clock.
//
// Which requests a metric uses:
// - TTFT = firstToken - arrival, for every request that has produced a first token (finished,
//   running or aborted): it is known as soon as the first token is out.
// - E2E = finish - arrival, for finished requests only.
// - TPOT = (E2E - TTFT) / (outputTokens - 1) = (finish - firstToken) / (outputTokens - 1), for
//   finished requests with at least 2 output tokens (undefined for 1 output token).
// - In a sliding window (end - seconds <= t < end), TTFT is placed at firstToken, E2E and TPOT
//   at finish.

import type { RequestRecord } from './records.js';
import {
  LogHistogram,
  type LogHistogramOptions,
  type PercentileMethod,
  type PercentileSummary,
  summarize,
} from './percentiles.js';

/** Time to first token, s; undefined until the first token exists. */
export function ttft(r: RequestRecord): number | undefined {
  return r.firstToken === undefined ? undefined : r.firstToken - r.arrival;
}

/** End-to-end latency, s; defined for finished requests only. */
export function e2e(r: RequestRecord): number | undefined {
  return r.status === 'finished' && r.finish !== undefined ? r.finish - r.arrival : undefined;
}

/** Time per output token after the first, s; defined for finished requests with >= 2 output tokens. */
export function tpot(r: RequestRecord): number | undefined {
  if (r.status !== 'finished' || r.finish === undefined || r.firstToken === undefined || r.outputTokens < 2) {
    return undefined;
  }
  return (r.finish - r.firstToken) / (r.outputTokens - 1);
}

export interface RequestLatency {
  id: number;
  tenant: number;
  ttft?: number;
  tpot?: number;
  e2e?: number;
}

export function requestLatency(r: RequestRecord): RequestLatency {
  return { id: r.id, tenant: r.tenant, ttft: ttft(r), tpot: tpot(r), e2e: e2e(r) };
}

/** When a request left the system: finish, or arrival for a rejection without a finish time. */
export function endTime(r: RequestRecord): number | undefined {
  if (r.status === 'finished' || r.status === 'aborted') return r.finish;
  if (r.status === 'rejected') return r.finish ?? r.arrival;
  return undefined;
}

/**
 * Request counts. Over a run: every record by status. Over a window [end - seconds, end):
 * arrived = arrival in the window; finished / rejected / aborted = ended in the window (see
 * endTime); active = running or queued at the time the records were taken, among requests that
 * arrived before the window's end; preempted / preemptions = over requests that ended in the
 * window (preemption times are not recorded).
 */
export interface RequestCounts {
  arrived: number;
  finished: number;
  rejected: number;
  aborted: number;
  /** Running or queued. */
  active: number;
  /** Requests preempted at least once. */
  preempted: number;
  /** Preemptions in total. */
  preemptions: number;
}

/** Which part of the run a summary covers. */
export type SummaryWindow = 'run' | { seconds: number; end: number };

/** Percentile source for latency summaries: exact (sorted, by method) or a streaming histogram. */
export type LatencyEstimator = PercentileMethod | 'histogram';

export interface LatencySummaryOptions {
  /** Whole run (default) or the window [end - seconds, end). */
  window?: SummaryWindow;
  /** Default 'nearest-rank'. */
  estimator?: LatencyEstimator;
  /** Histogram options when estimator is 'histogram'. */
  histogram?: LogHistogramOptions;
}

export interface LatencySummary {
  window: SummaryWindow;
  estimator: LatencyEstimator;
  counts: RequestCounts;
  ttft: PercentileSummary;
  tpot: PercentileSummary;
  e2e: PercentileSummary;
}

function inWindow(t: number | undefined, w: SummaryWindow): t is number {
  if (t === undefined) return false;
  return w === 'run' || (t >= w.end - w.seconds && t < w.end);
}

function summarizeWith(values: number[], estimator: LatencyEstimator, histogram?: LogHistogramOptions): PercentileSummary {
  if (estimator !== 'histogram') return summarize(values, estimator);
  const h = new LogHistogram(histogram);
  for (const v of values) h.add(v);
  return h.summary();
}

export function countRequests(requests: readonly RequestRecord[], window: SummaryWindow = 'run'): RequestCounts {
  const c: RequestCounts = { arrived: 0, finished: 0, rejected: 0, aborted: 0, active: 0, preempted: 0, preemptions: 0 };
  for (const r of requests) {
    if (inWindow(r.arrival, window)) c.arrived++;
    if (r.status === 'running' || r.status === 'queued') {
      if (window === 'run' || r.arrival < window.end) c.active++;
      if (window === 'run' && r.preemptions > 0) {
        c.preempted++;
        c.preemptions += r.preemptions;
      }
      continue;
    }
    if (!inWindow(endTime(r), window)) continue;
    c[r.status]++;
    if (r.preemptions > 0) {
      c.preempted++;
      c.preemptions += r.preemptions;
    }
  }
  return c;
}

/** TTFT/TPOT/E2E summaries and counts over the run or a window. O(n log n). */
export function summarizeLatency(requests: readonly RequestRecord[], options: LatencySummaryOptions = {}): LatencySummary {
  const window = options.window ?? 'run';
  const estimator = options.estimator ?? 'nearest-rank';
  const t: number[] = [];
  const p: number[] = [];
  const e: number[] = [];
  for (const r of requests) {
    const a = ttft(r);
    if (a !== undefined && inWindow(r.firstToken, window)) t.push(a);
    if (inWindow(r.finish, window)) {
      const b = tpot(r);
      if (b !== undefined) p.push(b);
      const c = e2e(r);
      if (c !== undefined) e.push(c);
    }
  }
  return {
    window,
    estimator,
    counts: countRequests(requests, window),
    ttft: summarizeWith(t, estimator, options.histogram),
    tpot: summarizeWith(p, estimator, options.histogram),
    e2e: summarizeWith(e, estimator, options.histogram),
  };
}

// ---------------------------------------------------------------------------------------------
// SLOs and goodput

/** Latency targets, s; an absent one is not checked. */
export interface Slo {
  ttft?: number;
  tpot?: number;
  e2e?: number;
}

/** Whether an SLO sets any target (an empty or missing one sets none). */
export function hasSloTarget(slo: Slo | undefined): slo is Slo {
  return slo !== undefined && (slo.ttft !== undefined || slo.tpot !== undefined || slo.e2e !== undefined);
}

/**
 * Whether a request met every SLO: it finished, and each given target holds. A request with one
 * output token has no TPOT and passes a TPOT target.
 */
export function meetsSlo(r: RequestRecord, slo: Slo): boolean {
  if (r.status !== 'finished') return false;
  if (slo.ttft !== undefined) {
    const v = ttft(r);
    if (v === undefined || v > slo.ttft) return false;
  }
  if (slo.e2e !== undefined) {
    const v = e2e(r);
    if (v === undefined || v > slo.e2e) return false;
  }
  if (slo.tpot !== undefined) {
    const v = tpot(r);
    if (v !== undefined && v > slo.tpot) return false;
  }
  return true;
}

export interface Span {
  t0: number;
  t1: number;
}

export interface GoodputReport {
  span: Span;
  slo: Slo;
  /** Requests that ended in the span (finished, rejected or aborted). */
  ended: number;
  /** Of those, finished. */
  finished: number;
  /** Of those, finished and met every SLO. */
  met: number;
  /** Still running or queued (undecided; not in the attainment denominator). */
  pending: number;
  /** met / ended (rejected and aborted requests count as misses); NaN when none ended. */
  attainment: number;
  /** met / (t1 - t0): requests per second that met every SLO. */
  goodput: number;
  /** finished / (t1 - t0). */
  throughput: number;
}

/**
 * Goodput over the span [t0, t1): requests that ended in it (endTime) and met every SLO, per
 * second. Without a span: every request that ended, over [0, last end time].
 */
export function goodput(requests: readonly RequestRecord[], slo: Slo, span?: Span): GoodputReport {
  return span ? goodputOver(requests, slo, span, true) : goodputOver(requests, slo, { t0: 0, t1: lastEnd(requests) }, false);
}

function lastEnd(requests: readonly RequestRecord[]): number {
  let last = 0;
  for (const r of requests) {
    const t = endTime(r);
    if (t !== undefined && t > last) last = t;
  }
  return last;
}

/** clip = false: every ended request counts (the span is only the rate's denominator). */
function goodputOver(requests: readonly RequestRecord[], slo: Slo, s: Span, clip: boolean): GoodputReport {
  let ended = 0;
  let finished = 0;
  let met = 0;
  let pending = 0;
  for (const r of requests) {
    if (r.status === 'running' || r.status === 'queued') {
      if (!clip || r.arrival < s.t1) pending++;
      continue;
    }
    const t = endTime(r);
    if (t === undefined || (clip && (t < s.t0 || t >= s.t1))) continue;
    ended++;
    if (r.status === 'finished') finished++;
    if (meetsSlo(r, slo)) met++;
  }
  const dur = s.t1 - s.t0;
  return {
    span: s,
    slo,
    ended,
    finished,
    met,
    pending,
    attainment: ended ? met / ended : NaN,
    goodput: dur > 0 ? met / dur : NaN,
    throughput: dur > 0 ? finished / dur : NaN,
  };
}

// ---------------------------------------------------------------------------------------------
// Per tenant

/** Records grouped by tenant, tenants in ascending order. */
export function groupByTenant(requests: readonly RequestRecord[]): Map<number, RequestRecord[]> {
  const m = new Map<number, RequestRecord[]>();
  for (const r of requests) {
    let g = m.get(r.tenant);
    if (!g) m.set(r.tenant, (g = []));
    g.push(r);
  }
  return new Map([...m.entries()].sort((a, b) => a[0] - b[0]));
}

export function summarizeLatencyByTenant(
  requests: readonly RequestRecord[],
  options: LatencySummaryOptions = {},
): Map<number, LatencySummary> {
  const out = new Map<number, LatencySummary>();
  for (const [tenant, rs] of groupByTenant(requests)) out.set(tenant, summarizeLatency(rs, options));
  return out;
}

/** Goodput per tenant, every tenant over the same span (default: as goodput() over all records). */
export function goodputByTenant(requests: readonly RequestRecord[], slo: Slo, span?: Span): Map<number, GoodputReport> {
  const s = span ?? { t0: 0, t1: lastEnd(requests) };
  const out = new Map<number, GoodputReport>();
  for (const [tenant, rs] of groupByTenant(requests)) out.set(tenant, goodputOver(rs, slo, s, span !== undefined));
  return out;
}

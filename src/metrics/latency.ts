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
// - A request still waiting (queued or running, not ended) at time `now` counts in the
//   `...WithWaiting` figures with its TTFT if it has one and otherwise its age, now - arrival: a
//   lower bound of the TTFT it will have. Once that exceeds the TTFT SLO it is a decided miss;
//   before, it is undecided and left out of attainment.
//
// vLLM `bench serve` metrics (serveMetrics): its names and definitions, over completed requests
// only (TTFT, TPOT = (E2EL - TTFT) / (output - 1) for output > 1, ITL = every gap between a
// request's consecutive tokens pooled over requests, E2EL; mean, median, population std and
// numpy's linear percentiles), with the waiting-inclusive TTFT and SLO attainment beside them
// under the suffix `_with_waiting`.

import type { RequestRecord } from './records.js';
import {
  LogHistogram,
  type LogHistogramOptions,
  type PercentileMethod,
  type PercentileSummary,
  type ServeStats,
  serveStats,
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

/** Not ended before t: arrived before t, and not finished, rejected or aborted before t. */
export function pendingAt(r: RequestRecord, t: number): boolean {
  if (!(r.arrival < t)) return false;
  const end = endTime(r);
  return end === undefined || !(end < t);
}

/**
 * TTFT of a request pending at t as far as it is known at t: its TTFT when its first token came
 * before t, else its age t - arrival (a lower bound of its TTFT).
 */
export function ttftAt(r: RequestRecord, t: number): number {
  return r.firstToken !== undefined && r.firstToken < t ? r.firstToken - r.arrival : t - r.arrival;
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
  /**
   * When the records were taken, for ttftWithWaiting (default: the window's end; over a run, the
   * latest time in the records).
   */
  now?: number;
}

export interface LatencySummary {
  window: SummaryWindow;
  estimator: LatencyEstimator;
  counts: RequestCounts;
  ttft: PercentileSummary;
  /**
   * TTFT with the requests still waiting at `now` (queued or running) added at ttftAt(r, now):
   * their TTFT if they have one, else their age as a lower bound.
   */
  ttftWithWaiting: PercentileSummary;
  tpot: PercentileSummary;
  e2e: PercentileSummary;
}

/** The latest arrival, first token or finish among the records (0 when none). */
export function latestTime(requests: readonly RequestRecord[]): number {
  let t = 0;
  for (const r of requests) t = Math.max(t, r.arrival, r.firstToken ?? 0, r.finish ?? 0);
  return t;
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
  const now = options.now ?? (window === 'run' ? latestTime(requests) : window.end);
  const t: number[] = [];
  const w: number[] = [];
  const p: number[] = [];
  const e: number[] = [];
  for (const r of requests) {
    const a = ttft(r);
    const inside = a !== undefined && inWindow(r.firstToken, window);
    if (inside) t.push(a);
    if ((r.status === 'running' || r.status === 'queued') && r.arrival < now) w.push(ttftAt(r, now));
    else if (inside) w.push(a);
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
    ttftWithWaiting: summarizeWith(w, estimator, options.histogram),
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
  /** Still running or queued (not in the attainment denominator until decided). */
  pending: number;
  /**
   * Of the pending, those already past the TTFT SLO at t1 (ttftAt(r, t1) > slo.ttft): decided
   * misses (0 without a TTFT target).
   */
  missedPending: number;
  /** met / ended (rejected and aborted requests count as misses); NaN when none ended. */
  attainment: number;
  /** met / (ended + missedPending): the requests still waiting past the TTFT SLO count as misses. */
  attainmentWithWaiting: number;
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
  let missedPending = 0;
  for (const r of requests) {
    if (r.status === 'running' || r.status === 'queued') {
      if (!clip || r.arrival < s.t1) {
        pending++;
        if (slo.ttft !== undefined && ttftAt(r, s.t1) > slo.ttft) missedPending++;
      }
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
    missedPending,
    attainment: ended ? met / ended : NaN,
    attainmentWithWaiting: ended + missedPending ? met / (ended + missedPending) : NaN,
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

// ---------------------------------------------------------------------------------------------
// vLLM bench serve metrics

/** The four latencies vLLM's bench serve summarizes. */
export const SERVE_LATENCIES = ['ttft', 'tpot', 'itl', 'e2el'] as const;
export type ServeLatency = (typeof SERVE_LATENCIES)[number];
type Stat = 'mean' | 'median' | 'std' | 'p90' | 'p95' | 'p99';
const STATS: readonly Stat[] = ['mean', 'median', 'std', 'p90', 'p95', 'p99'];

/**
 * A span's figures under vLLM `bench serve`'s result names (ms, requests/s, tokens/s), NaN where
 * there is nothing to measure (vLLM writes 0 there; the lab's JSON writes null). The vLLM-named
 * fields cover completed requests only, as vLLM's do; `_with_waiting` fields also count the
 * requests still waiting at the span's end (see the file header); the counts beside them say how
 * many there were.
 */
export type ServeMetrics = {
  /** The span, s (vLLM's benchmark duration). */
  duration: number;
  completed: number;
  total_input_tokens: number;
  total_output_tokens: number;
  request_throughput: number;
  /** Completed requests meeting every SLO, per second (NaN without an SLO target). */
  request_goodput: number;
  output_throughput: number;
  total_token_throughput: number;
} & { [K in `${Stat}_${ServeLatency}_ms`]: number } & { [K in `${Stat}_ttft_ms_with_waiting`]: number } & {
  /** slo_met / slo_ended: requests that ended in the span (rejected and aborted are misses). */
  slo_attainment: number;
  /** slo_met / (slo_ended + slo_missed_pending). */
  slo_attainment_with_waiting: number;
  /** Completed requests meeting every SLO. */
  slo_met: number;
  /** Requests that ended in the span: completed, rejected, aborted. */
  slo_ended: number;
  /** Requests still waiting at the span's end whose TTFT (or age, without a first token) already exceeds the TTFT SLO. */
  slo_missed_pending: number;
  /** Requests not ended at the span's end (queued or running). */
  pending: number;
  /** Of those, without a first token yet. */
  pending_without_first_token: number;
  /** Requests rejected / aborted in the span. */
  rejected: number;
  aborted: number;
  /** Age of the oldest pending request at the span's end, ms (0 when none). */
  max_pending_age_ms: number;
};

/** What ServeMetrics are computed from (times in s), from records (serveParts) or kept incrementally. */
export interface ServeParts {
  duration: number;
  completed: number;
  inputTokens: number;
  outputTokens: number;
  /** Whether the SLO sets any target (else goodput and attainment are NaN). */
  hasSlo: boolean;
  met: number;
  ended: number;
  missedPending: number;
  pending: number;
  pendingWithoutFirstToken: number;
  rejected: number;
  aborted: number;
  /** s */
  maxPendingAge: number;
  /** Seconds; ttftWithWaiting adds the pending requests at ttftAt. */
  stats: Record<ServeLatency | 'ttftWithWaiting', ServeStats>;
}

export function serveMetrics(p: ServeParts): ServeMetrics {
  const d = p.duration;
  const rate = (x: number) => (d > 0 ? x / d : NaN);
  const m: Record<string, number> = {
    duration: d,
    completed: p.completed,
    total_input_tokens: p.inputTokens,
    total_output_tokens: p.outputTokens,
    request_throughput: rate(p.completed),
    request_goodput: p.hasSlo ? rate(p.met) : NaN,
    output_throughput: rate(p.outputTokens),
    total_token_throughput: rate(p.inputTokens + p.outputTokens),
  };
  for (const l of SERVE_LATENCIES) for (const s of STATS) m[`${s}_${l}_ms`] = p.stats[l][s] * 1000;
  for (const s of STATS) m[`${s}_ttft_ms_with_waiting`] = p.stats.ttftWithWaiting[s] * 1000;
  const withWaiting = p.ended + p.missedPending;
  Object.assign(m, {
    slo_attainment: p.hasSlo && p.ended > 0 ? p.met / p.ended : NaN,
    slo_attainment_with_waiting: p.hasSlo && withWaiting > 0 ? p.met / withWaiting : NaN,
    slo_met: p.met,
    slo_ended: p.ended,
    slo_missed_pending: p.missedPending,
    pending: p.pending,
    pending_without_first_token: p.pendingWithoutFirstToken,
    rejected: p.rejected,
    aborted: p.aborted,
    max_pending_age_ms: p.maxPendingAge * 1000,
  });
  return m as ServeMetrics;
}

/** Whether a pending request is already a decided miss at t: its TTFT as known at t exceeds the TTFT SLO. */
export function missedAt(r: RequestRecord, t: number, slo: Slo): boolean {
  return slo.ttft !== undefined && ttftAt(r, t) > slo.ttft;
}

/**
 * ServeParts over [t0, t1) from records: completed = finished in the span; ended = finished,
 * rejected or aborted in the span (endTime); pending = pendingAt(r, t1). `gapsOf` gives a
 * request's gaps between consecutive tokens (its ITL list), undefined when unknown.
 */
export function serveParts(
  requests: Iterable<RequestRecord>,
  gapsOf: (id: number) => ArrayLike<number> | undefined,
  span: Span,
  slo: Slo,
): ServeParts {
  const { t0, t1 } = span;
  const v: Record<ServeLatency | 'ttftWithWaiting', number[]> = { ttft: [], tpot: [], itl: [], e2el: [], ttftWithWaiting: [] };
  const p: ServeParts = {
    duration: t1 - t0,
    completed: 0,
    inputTokens: 0,
    outputTokens: 0,
    hasSlo: hasSloTarget(slo),
    met: 0,
    ended: 0,
    missedPending: 0,
    pending: 0,
    pendingWithoutFirstToken: 0,
    rejected: 0,
    aborted: 0,
    maxPendingAge: 0,
    stats: {} as ServeParts['stats'],
  };
  for (const r of requests) {
    if (pendingAt(r, t1)) {
      p.pending++;
      if (!(r.firstToken !== undefined && r.firstToken < t1)) p.pendingWithoutFirstToken++;
      p.maxPendingAge = Math.max(p.maxPendingAge, t1 - r.arrival);
      v.ttftWithWaiting.push(ttftAt(r, t1));
      if (missedAt(r, t1, slo)) p.missedPending++;
      continue;
    }
    const end = endTime(r);
    if (end === undefined || !(end >= t0 && end < t1)) continue;
    p.ended++;
    if (r.status === 'rejected') p.rejected++;
    if (r.status === 'aborted') p.aborted++;
    if (r.status !== 'finished') continue;
    p.completed++;
    p.inputTokens += r.promptTokens;
    p.outputTokens += r.outputTokens;
    if (meetsSlo(r, slo)) p.met++;
    const a = ttft(r);
    if (a !== undefined) {
      v.ttft.push(a);
      v.ttftWithWaiting.push(a);
    }
    const b = tpot(r);
    if (b !== undefined) v.tpot.push(b);
    v.e2el.push(r.finish! - r.arrival);
    const g = gapsOf(r.id);
    if (g) for (let i = 0; i < g.length; i++) v.itl.push(g[i]!);
  }
  for (const k of [...SERVE_LATENCIES, 'ttftWithWaiting'] as const) p.stats[k] = serveStats(v[k]);
  return p;
}

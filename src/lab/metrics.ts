// The page's side of the metrics stream: it keeps a run's records (from MetricsBatches) and turns
// them into the big numbers and the charts' column arrays, with src/metrics and src/econ. Pure
// code (no DOM), tested in Node.
//
// Output tokens are counted where they were produced: the decode tokens of each step (one output
// token per decoding sequence) plus each request's first token (sampled by the step that ended
// its prompt) at its firstToken time. (metrics/utilization's request-based count places all of a
// still-running request's tokens at its first token, which hides them from a live window.)
//
// Windows: the big numbers show the last 10 s of run time ("sliding 10 s window") and the whole
// run, each labelled; the latency charts are 10 s rolling windows at each point; the cost chart
// divides the price by a 10 s rolling mean of tokens/s (a 1 s bucket is too noisy to price).
import { costReport } from '../econ/cost.js';
import { goodput, summarizeLatency, type Slo } from '../metrics/latency.js';
import type { RequestRecord, StepRecord } from '../metrics/records.js';
import { buildTimeSeries, utilization, type TimeSeries } from '../metrics/utilization.js';
import { decodeRequests, decodeSteps, type MetricsBatch } from './protocol.js';

export const WINDOW_S = 10;

export class RunStore {
  readonly steps: StepRecord[] = [];
  readonly requests = new Map<number, RequestRecord>();
  now = 0;
  done = false;
  queueDepth = 0;
  running = 0;
  badMessages = 0;
  lastBadMessage?: string;
  error?: string;
  /** Rejected requests' reasons, counted. */
  readonly rejectReasons = new Map<string, number>();

  constructor(readonly run: number) {}

  /** Adds a batch of this run (others are ignored); returns whether it was taken. */
  add(b: MetricsBatch): boolean {
    if (b.run !== this.run) return false;
    for (const s of decodeSteps(b.steps)) this.steps.push(s);
    for (const r of decodeRequests(b.requests)) {
      const old = this.requests.get(r.id);
      if (r.status === 'rejected' && old?.status !== 'rejected') {
        const why = r.rejectReason ?? 'unknown';
        this.rejectReasons.set(why, (this.rejectReasons.get(why) ?? 0) + 1);
      }
      this.requests.set(r.id, r);
    }
    this.now = Math.max(this.now, b.now);
    this.done ||= b.done;
    this.queueDepth = b.queueDepth;
    this.running = b.running;
    this.badMessages = b.badMessages;
    if (b.lastBadMessage) this.lastBadMessage = b.lastBadMessage;
    if (b.error) this.error = b.error;
    return true;
  }

  requestList(): RequestRecord[] {
    return [...this.requests.values()];
  }
}

export interface FigureOptions {
  /** Decode tokens/s at max batch (calibration). */
  capacityTokensPerS: number;
  /** $/GPU-hour. */
  price: number;
  slo: Slo;
}

/** The big numbers over one span. NaN where there is nothing to measure yet. */
export interface Figures {
  label: string;
  t0: number;
  t1: number;
  outputTokensPerS: number;
  allTokensPerS: number;
  meanBatch: number;
  timeUtilization: number;
  capacityUtilization: number;
  ttftP50: number;
  ttftP99: number;
  tpotP50: number;
  tpotP99: number;
  e2eP50: number;
  e2eP99: number;
  /** $ per 1M output tokens and per 1M tokens of any kind (prefill + decode). */
  costPerMOutput: number;
  costPerMAll: number;
  arrived: number;
  finished: number;
  rejected: number;
  preempted: number;
  /** Requests per second that met every SLO, and the fraction of ended requests that did. */
  goodput: number;
  sloAttainment: number;
  meanQueueDepth: number;
}

/** First tokens produced in [t0, t1). */
export function firstTokensIn(requests: readonly RequestRecord[], t0: number, t1: number): number {
  let n = 0;
  for (const r of requests) if (r.firstToken !== undefined && r.firstToken >= t0 && r.firstToken < t1) n++;
  return n;
}

/** Figures over [t0, t1); `windowS` undefined: the whole run [0, now). */
export function figures(store: RunStore, opts: FigureOptions, windowS?: number): Figures {
  const t1 = Math.max(store.now, 1e-3);
  const t0 = windowS === undefined ? 0 : Math.max(0, Math.min(t1 - 1e-3, t1 - windowS));
  const requests = store.requestList();
  const u = utilization(store.steps, { t0, t1, gpus: 1 });
  const output = (u.decodeTokens + firstTokensIn(requests, t0, t1)) / (t1 - t0);
  const lat = summarizeLatency(requests, { window: windowS === undefined ? 'run' : { seconds: t1 - t0, end: t1 } });
  const cost = costReport({ gpus: 1, dollarsPerGpuHour: opts.price, outputTokensPerS: output, allTokensPerS: u.allTokensPerS });
  const g = goodput(requests, opts.slo, { t0, t1 });
  const finite = (v: number) => (Number.isFinite(v) ? v : NaN);
  return {
    label: windowS === undefined ? 'whole run' : `sliding ${windowS} s window`,
    t0,
    t1,
    outputTokensPerS: output,
    allTokensPerS: u.allTokensPerS,
    meanBatch: u.meanBatchSize.perStep,
    timeUtilization: u.timeUtilization,
    capacityUtilization: output / opts.capacityTokensPerS,
    ttftP50: lat.ttft.p50,
    ttftP99: lat.ttft.p99,
    tpotP50: lat.tpot.p50,
    tpotP99: lat.tpot.p99,
    e2eP50: lat.e2e.p50,
    e2eP99: lat.e2e.p99,
    costPerMOutput: finite(cost.perMillionOutputTokens),
    costPerMAll: finite(cost.perMillionAllTokens),
    arrived: lat.counts.arrived,
    finished: lat.counts.finished,
    rejected: lat.counts.rejected,
    preempted: lat.counts.preempted,
    goodput: g.goodput,
    sloAttainment: g.attainment,
    meanQueueDepth: u.meanQueueDepth,
  };
}

/** Column arrays for the charts (uPlot's layout: x first, then one array per series). */
export interface LabSeries {
  interval: number;
  t: number[];
  outputTokensPerS: number[];
  allTokensPerS: number[];
  capacity: number[];
  batchSize: (number | null)[];
  queueDepth: number[];
  timeUtilization: number[];
  capacityUtilization: number[];
  /** ms, sliding 10 s windows; null where the window holds no request. */
  ttftP50: (number | null)[];
  ttftP99: (number | null)[];
  tpotP50: (number | null)[];
  tpotP99: (number | null)[];
  /** $ per 1M tokens from 10 s rolling mean tokens/s; null while nothing was served. */
  costPerMOutput: (number | null)[];
  costPerMAll: (number | null)[];
}

/** Bucket width: 1 s, coarser for long runs (at most ~600 buckets). */
export function bucketInterval(seconds: number): number {
  return Math.max(1, Math.ceil(seconds / 600));
}

export function rollingMean(v: readonly number[], n: number): number[] {
  const out: number[] = new Array(v.length);
  let sum = 0;
  for (let i = 0; i < v.length; i++) {
    sum += v[i]!;
    if (i >= n) sum -= v[i - n]!;
    out[i] = sum / Math.min(i + 1, n);
  }
  return out;
}

export function labSeries(store: RunStore, opts: FigureOptions): LabSeries {
  const t1 = Math.max(store.now, 1e-3);
  const interval = bucketInterval(t1);
  const requests = store.requestList();
  const ts: TimeSeries = buildTimeSeries(store.steps, requests, { t0: 0, t1, interval, gpus: 1, latencyWindow: WINDOW_S, slo: opts.slo });
  // Output tokens per bucket: decode tokens (steps) + first tokens (requests).
  const first = new Array<number>(ts.t.length).fill(0);
  for (const r of requests) {
    if (r.firstToken === undefined || r.firstToken >= t1) continue;
    first[Math.min(ts.t.length - 1, Math.floor(r.firstToken / interval))]! += 1;
  }
  const width = (k: number) => (k + 1 < ts.t.length ? interval : t1 - ts.t[k]!);
  const outputTokensPerS = ts.decodeTokensPerS.map((v, k) => v + first[k]! / width(k));
  const ms = (c: readonly (number | null)[]) => c.map((v) => (v === null ? null : v * 1000));
  const n = Math.max(1, Math.round(WINDOW_S / interval));
  const price = (tps: number[]) =>
    rollingMean(tps, n).map((v) => (v > 0 ? costReport({ gpus: 1, dollarsPerGpuHour: opts.price, outputTokensPerS: v, allTokensPerS: v }).perMillionOutputTokens : null));
  return {
    interval,
    t: ts.t,
    outputTokensPerS,
    allTokensPerS: ts.allTokensPerS,
    capacity: ts.t.map(() => opts.capacityTokensPerS),
    batchSize: ts.batchSize,
    queueDepth: ts.queueDepth,
    timeUtilization: ts.utilization.map((v) => v * 100),
    capacityUtilization: outputTokensPerS.map((v) => (100 * v) / opts.capacityTokensPerS),
    ttftP50: ms(ts.ttftP50),
    ttftP99: ms(ts.ttftP99),
    tpotP50: ms(ts.tpotP50),
    tpotP99: ms(ts.tpotP99),
    costPerMOutput: price(outputTokensPerS),
    costPerMAll: price(ts.allTokensPerS),
  };
}

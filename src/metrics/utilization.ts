// Utilization accounting from StepRecords (and RequestRecords for output tokens), over a span
// [t0, t1) of the run's clock, and a time-series builder that buckets the same quantities into
// fixed intervals as column arrays for uPlot.
//
// Conventions:
// - A step that straddles a span or bucket edge counts in proportion to its overlap: a fraction
//   f = overlap / (end - start) of its busy time, tokens and count. A zero-length step counts
//   wholly where its start falls.
// - Time utilization = busy time / wall time, per GPU and for the fleet: fleet busy /
//   (GPUs x wall). The GPU count is an input: a GPU that never ran a step has no records.
// - Tokens:
//   output tokens (from RequestRecords, in span reports): every token a request produced, its
//     first token at firstToken and the other outputTokens - 1 spread evenly over [firstToken,
//     finish] (over [firstToken, now] for a request still running: now is when the records were
//     taken);
//   output tokens (from StepRecords, in time series): each step's outputTokens (every token it
//     sampled, recompute included) at the step's end, where they were produced;
//   decode tokens (from StepRecords): the steps' decodeTokens (one per decoding sequence per
//     step; the first token of a request comes from its prefill and is not among them);
//   all tokens (from StepRecords): prefill + decode tokens processed, including prompts
//     recomputed after a preemption.
// - Capacity utilization = achieved tokens/s / (GPUs x capacity tokens/s per GPU), on the
//   output basis (output tokens, or decode tokens when no requests are given) or the all basis.
// - Mean batch size: per step (each step weighted by its overlap fraction) and time-weighted
//   (each step weighted by its clipped duration; idle time is not averaged in).
// - Queue depth: each GPU's queueDepth holds from its step's start until its next step; the
//   fleet queue depth is the sum over GPUs; means over a span are time-weighted.
//
// Cost: O(n) over steps and requests plus O(buckets) (a step or request spread over many buckets
// is O(1)), and O(n log n) for latency percentiles. Measured on the 2-core dev machine under
// load: 2M steps on 1000 GPUs and 1M requests over an hour in 1 s buckets take ~2-3 s; a 60 s
// rolling latency window adds ~10 s exact, ~2 s with latencyHistogram.

import type { RequestRecord, StepRecord } from './records.js';
import { type Slo, type Span, e2e, endTime, meetsSlo, tpot, ttft } from './latency.js';
import {
  type LogHistogramOptions,
  type PercentileMethod,
  RankedMultiset,
  SlidingWindowPercentiles,
  percentileOfSorted,
} from './percentiles.js';

export type { Span } from './latency.js';

/** Tokens compared with capacity: output tokens (decode tokens without requests) or all tokens. */
export type CapacityBasis = 'output' | 'all';

export interface UtilizationOptions extends Span {
  /** GPUs in the fleet (1 for the live engine); steps must have gpu in [0, gpus). */
  gpus: number;
  /** Requests, for output tokens/s (first tokens included). */
  requests?: readonly RequestRecord[];
  /**
   * When the records were taken: tokens of requests still running are spread up to it. Default
   * t1, right when the span ends at the snapshot; give it when the span ends earlier, or those
   * requests' later tokens are counted inside the span.
   */
  now?: number;
  /** Capacity of one GPU, tokens/s. */
  capacityTokensPerS?: number;
  /** Default 'output'. */
  capacityBasis?: CapacityBasis;
}

export interface GpuUtilization {
  gpu: number;
  /** Busy seconds in the span. */
  busy: number;
  /** busy / wall. */
  timeUtilization: number;
  /** Steps in the span (fractional at the edges). */
  steps: number;
  decodeTokens: number;
  prefillTokens: number;
}

export interface UtilizationReport {
  span: Span;
  /** t1 - t0, s. */
  wall: number;
  gpus: number;
  /** Busy seconds summed over GPUs. */
  busy: number;
  /** Fleet average: busy / (gpus x wall). */
  timeUtilization: number;
  perGpu: GpuUtilization[];
  /** Steps in the span (fractional at the edges). */
  steps: number;
  /** How the steps' busy time was measured (counts of steps in the span, unclipped). */
  timing: Record<StepRecord['timing'], number>;
  decodeTokens: number;
  prefillTokens: number;
  /** From requests; undefined when no requests were given. */
  outputTokens?: number;
  decodeTokensPerS: number;
  /** Prefill + decode tokens per second. */
  allTokensPerS: number;
  /** From requests; undefined when no requests were given. */
  outputTokensPerS?: number;
  /** Fleet capacity, gpus x capacityTokensPerS (when given). */
  capacityTokensPerS?: number;
  capacityBasis?: CapacityBasis;
  /** Tokens/s compared with capacity (see capacityBasis). */
  achievedTokensPerS?: number;
  capacityUtilization?: number;
  /** NaN when no step is in the span. */
  meanBatchSize: { perStep: number; timeWeighted: number };
  /** Time-weighted fleet queue depth. */
  meanQueueDepth: number;
}

/** Fraction of [start, end] inside [t0, t1); a zero-length step is inside when t0 <= start < t1. */
export function overlapFraction(start: number, end: number, t0: number, t1: number): number {
  if (end <= start) return start >= t0 && start < t1 ? 1 : 0;
  const o = Math.min(end, t1) - Math.max(start, t0);
  return o > 0 ? o / (end - start) : 0;
}

function checkSpan(t0: number, t1: number): void {
  if (!(t1 > t0)) throw new RangeError(`span needs t1 > t0, got [${t0}, ${t1})`);
}

function checkGpu(s: StepRecord, gpus: number): void {
  if (!(s.gpu >= 0 && s.gpu < gpus)) throw new RangeError(`step ${s.index} ran on gpu ${s.gpu}, outside [0, ${gpus})`);
}

/** Output tokens of requests in [t0, t1) (see the file header for how they are placed in time). */
export function outputTokensIn(requests: readonly RequestRecord[], t0: number, t1: number, now = t1): number {
  let n = 0;
  for (const r of requests) {
    if (r.firstToken === undefined || r.outputTokens < 1) continue;
    if (r.firstToken >= t0 && r.firstToken < t1) n += 1;
    const rest = r.outputTokens - 1;
    if (rest > 0) {
      // A finished request made its tokens over [firstToken, finish]; one still running, over
      // [firstToken, now] so far (not all at its first token).
      const stop = r.finish ?? Math.max(now, r.firstToken);
      const end = stop > r.firstToken ? stop : r.firstToken;
      n += rest * overlapFraction(r.firstToken, end, t0, t1);
    }
  }
  return n;
}

/** Utilization, throughput, batch size and queue depth over [t0, t1). O(n log n) (queue depth sorts). */
export function utilization(steps: readonly StepRecord[], options: UtilizationOptions): UtilizationReport {
  const { t0, t1, gpus } = options;
  checkSpan(t0, t1);
  if (!(gpus >= 1 && Number.isInteger(gpus))) throw new RangeError(`gpus must be a positive integer, got ${gpus}`);
  const wall = t1 - t0;
  const perGpu: GpuUtilization[] = [];
  for (let g = 0; g < gpus; g++) {
    perGpu.push({ gpu: g, busy: 0, timeUtilization: 0, steps: 0, decodeTokens: 0, prefillTokens: 0 });
  }
  const timing: Record<StepRecord['timing'], number> = { timestamp: 0, wall: 0, model: 0 };
  let batchF = 0;
  let batchT = 0;
  let dur = 0;
  for (const s of steps) {
    checkGpu(s, gpus);
    const f = overlapFraction(s.start, s.end, t0, t1);
    if (f === 0) continue;
    const g = perGpu[s.gpu];
    g.busy += s.busy * f;
    g.steps += f;
    g.decodeTokens += s.decodeTokens * f;
    g.prefillTokens += s.prefillTokens * f;
    timing[s.timing]++;
    batchF += s.batchSize * f;
    const d = (s.end - s.start) * f;
    batchT += s.batchSize * d;
    dur += d;
  }
  let busy = 0;
  let nSteps = 0;
  let decode = 0;
  let prefill = 0;
  for (const g of perGpu) {
    g.timeUtilization = g.busy / wall;
    busy += g.busy;
    nSteps += g.steps;
    decode += g.decodeTokens;
    prefill += g.prefillTokens;
  }
  const report: UtilizationReport = {
    span: { t0, t1 },
    wall,
    gpus,
    busy,
    timeUtilization: busy / (gpus * wall),
    perGpu,
    steps: nSteps,
    timing,
    decodeTokens: decode,
    prefillTokens: prefill,
    decodeTokensPerS: decode / wall,
    allTokensPerS: (decode + prefill) / wall,
    meanBatchSize: { perStep: nSteps > 0 ? batchF / nSteps : NaN, timeWeighted: dur > 0 ? batchT / dur : NaN },
    meanQueueDepth: 0,
  };
  if (options.requests) {
    report.outputTokens = outputTokensIn(options.requests, t0, t1, options.now ?? t1);
    report.outputTokensPerS = report.outputTokens / wall;
  }
  if (options.capacityTokensPerS !== undefined) {
    const basis = options.capacityBasis ?? 'output';
    report.capacityTokensPerS = gpus * options.capacityTokensPerS;
    report.capacityBasis = basis;
    report.achievedTokensPerS =
      basis === 'all' ? report.allTokensPerS : (report.outputTokensPerS ?? report.decodeTokensPerS);
    report.capacityUtilization = report.achievedTokensPerS / report.capacityTokensPerS;
  }
  report.meanQueueDepth = queueDepthMeans(steps, new BucketGrid(t0, t1, wall), gpus)[0];
  return report;
}

/**
 * Fleet queue depth as a step function: queueDepth[i] holds from t[i] until t[i + 1] (0 before
 * t[0]); each GPU's last reported depth is held until its next step. O(n log n).
 */
export function queueDepthSeries(steps: readonly StepRecord[]): { t: number[]; queueDepth: number[] } {
  const order = Array.from(steps.keys()).sort((a, b) => steps[a].start - steps[b].start);
  const last = new Map<number, number>();
  const t: number[] = [];
  const queueDepth: number[] = [];
  let total = 0;
  for (const i of order) {
    const s = steps[i];
    total += s.queueDepth - (last.get(s.gpu) ?? 0);
    last.set(s.gpu, s.queueDepth);
    if (t.length > 0 && t[t.length - 1] === s.start) queueDepth[queueDepth.length - 1] = total;
    else {
      t.push(s.start);
      queueDepth.push(total);
    }
  }
  return { t, queueDepth };
}

/**
 * Step indices grouped by GPU, each group in start order: a counting sort by GPU (O(n)); a group
 * is sorted only when its records are not already in time order.
 */
function orderByGpu(steps: readonly StepRecord[], gpus: number): { order: Uint32Array; offsets: Uint32Array } {
  const offsets = new Uint32Array(gpus + 1);
  for (const s of steps) offsets[s.gpu + 1]++;
  for (let g = 0; g < gpus; g++) offsets[g + 1] += offsets[g];
  const fill = offsets.slice(0, gpus);
  const order = new Uint32Array(steps.length);
  for (let i = 0; i < steps.length; i++) order[fill[steps[i].gpu]++] = i;
  for (let g = 0; g < gpus; g++) {
    const group = order.subarray(offsets[g], offsets[g + 1]);
    let sorted = true;
    for (let j = 1; j < group.length && sorted; j++) sorted = steps[group[j - 1]].start <= steps[group[j]].start;
    if (!sorted) group.sort((a, b) => steps[a].start - steps[b].start);
  }
  return { order, offsets };
}

/**
 * Time-weighted mean fleet queue depth per bucket: each GPU's depth holds from its step's start
 * until its next step (or the grid's end), and the GPUs' depths add up. O(n + buckets) when each
 * GPU's steps come in time order.
 */
export function queueDepthMeans(steps: readonly StepRecord[], grid: BucketGrid, gpus: number): number[] {
  const acc = new BucketAccumulator(grid);
  const { order, offsets } = orderByGpu(steps, gpus);
  for (let g = 0; g < gpus; g++) {
    for (let j = offsets[g]; j < offsets[g + 1]; j++) {
      const s = steps[order[j]];
      const next = j + 1 < offsets[g + 1] ? steps[order[j + 1]].start : Infinity;
      const b = Math.min(next, grid.t1);
      if (b > s.start) acc.addSpread(s.start, b, s.queueDepth * (b - s.start));
    }
  }
  return Array.from(acc.totals(), (v, k) => v / grid.width(k));
}

/**
 * Time-weighted means of a step function (v[i] from t[i] until t[i + 1]; 0 before t[0]; t
 * ascending) over the intervals [edges[k], edges[k + 1]). O(points + intervals).
 */
export function stepFunctionMeans(t: ArrayLike<number>, v: ArrayLike<number>, edges: ArrayLike<number>): number[] {
  const out: number[] = [];
  let i = 0;
  let cur = 0;
  for (let k = 0; k + 1 < edges.length; k++) {
    const a = edges[k];
    const b = edges[k + 1];
    while (i < t.length && t[i] <= a) cur = v[i++];
    let acc = 0;
    let pos = a;
    while (i < t.length && t[i] < b) {
      acc += cur * (t[i] - pos);
      pos = t[i];
      cur = v[i++];
    }
    acc += cur * (b - pos);
    out.push(acc / (b - a));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Time series

/**
 * Fixed intervals [t0 + k*interval, t0 + (k+1)*interval) covering [t0, t1); the last one ends at
 * t1 (shorter when the span is not a whole number of intervals).
 */
export class BucketGrid {
  readonly t0: number;
  readonly t1: number;
  readonly interval: number;
  readonly count: number;
  /** count + 1 edges. */
  readonly edges: Float64Array;

  constructor(t0: number, t1: number, interval: number) {
    checkSpan(t0, t1);
    if (!(interval > 0)) throw new RangeError(`interval must be > 0, got ${interval}`);
    this.t0 = t0;
    this.t1 = t1;
    this.interval = interval;
    this.count = Math.max(1, Math.ceil((t1 - t0) / interval - 1e-9));
    this.edges = new Float64Array(this.count + 1);
    for (let k = 0; k < this.count; k++) this.edges[k] = t0 + k * interval;
    this.edges[this.count] = t1;
  }

  width(k: number): number {
    return this.edges[k + 1] - this.edges[k];
  }

  /** Bucket holding t, for t0 <= t < t1; -1 outside. */
  indexOf(t: number): number {
    if (!(t >= this.t0 && t < this.t1)) return -1;
    let k = Math.min(this.count - 1, Math.floor((t - this.t0) / this.interval));
    if (t < this.edges[k]) k--;
    else if (k + 1 < this.count && t >= this.edges[k + 1]) k++;
    return k;
  }
}

/**
 * Per-bucket sums of amounts placed at points or spread evenly over intervals. A spread is O(1)
 * whatever the number of buckets it covers (the whole buckets go through a difference array of
 * densities).
 */
export class BucketAccumulator {
  private readonly direct: Float64Array;
  private readonly density: Float64Array;
  constructor(readonly grid: BucketGrid) {
    this.direct = new Float64Array(grid.count);
    this.density = new Float64Array(grid.count + 1);
  }

  addPoint(t: number, amount: number): void {
    const k = this.grid.indexOf(t);
    if (k >= 0) this.direct[k] += amount;
  }

  /** Spread amount evenly over [a, b] (a point at a when b <= a); parts outside the grid are dropped. */
  addSpread(a: number, b: number, amount: number): void {
    if (b <= a) return this.addPoint(a, amount);
    const g = this.grid;
    const ca = Math.max(a, g.t0);
    const cb = Math.min(b, g.t1);
    if (cb <= ca) return;
    const rate = amount / (b - a);
    const ka = g.indexOf(ca);
    const kb = cb >= g.t1 ? g.count : g.indexOf(cb);
    if (ka === kb) {
      this.direct[ka] += rate * (cb - ca);
      return;
    }
    this.direct[ka] += rate * Math.max(0, g.edges[ka + 1] - ca);
    this.density[ka + 1] += rate;
    this.density[kb] -= rate;
    if (kb < g.count) this.direct[kb] += rate * Math.max(0, cb - g.edges[kb]);
  }

  /** Per-bucket totals. */
  totals(): Float64Array {
    const out = new Float64Array(this.grid.count);
    let d = 0;
    for (let k = 0; k < out.length; k++) {
      d += this.density[k];
      out[k] = this.direct[k] + d * this.grid.width(k);
    }
    return out;
  }
}

export interface TimeSeriesOptions extends Span {
  /** Bucket width, s (e.g. 1). */
  interval: number;
  gpus: number;
  /** Capacity of one GPU, tokens/s; adds the capacityUtilization column. */
  capacityTokensPerS?: number;
  /** Default 'output' (the steps' output tokens). */
  capacityBasis?: CapacityBasis;
  /**
   * Latency percentiles at bucket k cover events in [end_k - latencyWindow, end_k), end_k the
   * bucket's end. Default: the interval (each bucket alone).
   */
  latencyWindow?: number;
  /** Exact percentile method, default 'nearest-rank'. */
  latencyMethod?: PercentileMethod;
  /**
   * Use a sliding LogHistogram instead (nearest-rank, within its relative error): a few times
   * faster than exact rolling windows on runs of millions of requests.
   */
  latencyHistogram?: LogHistogramOptions;
  /** Adds goodputPerS and sloAttainment columns. */
  slo?: Slo;
}

type Column = number[];
type GapColumn = (number | null)[];

/**
 * Column arrays for uPlot, one entry per bucket. Rates are per second of the bucket's width;
 * null marks a bucket with nothing to report (uPlot draws a gap).
 */
export interface TimeSeries {
  interval: number;
  gpus: number;
  /** Label for the latency columns. */
  latencyWindow: { seconds: number };
  /** Bucket start, s. */
  t: Column;
  /** Busy GPU-seconds in the bucket. */
  busy: Column;
  /** busy / (gpus x width). */
  utilization: Column;
  decodeTokensPerS: Column;
  prefillTokensPerS: Column;
  allTokensPerS: Column;
  /** From steps: each step's outputTokens at its end (first tokens and recompute included). */
  outputTokensPerS: Column;
  capacityUtilization?: Column;
  /** Time-weighted mean batch size of the steps in the bucket. */
  batchSize: GapColumn;
  /** Time-weighted fleet queue depth. */
  queueDepth: Column;
  arrivalsPerS: Column;
  finishedPerS: Column;
  rejectedPerS: Column;
  ttftP50: GapColumn;
  ttftP99: GapColumn;
  tpotP50: GapColumn;
  tpotP99: GapColumn;
  e2eP50: GapColumn;
  e2eP99: GapColumn;
  /** Finished requests meeting the SLO per second (by finish time). */
  goodputPerS?: Column;
  /** Met / ended (finished, rejected, aborted) in the bucket. */
  sloAttainment?: GapColumn;
}

/** Latency events: value v[i] observed at time t[i] (not necessarily in order). */
interface Events {
  t: number[];
  v: number[];
}

/**
 * Event indices grouped by bucket: group 0 holds events before the grid, group k + 1 bucket k
 * (counting sort, O(n)); with `timeOrder`, each group is then put in time order.
 */
function groupByBucket(grid: BucketGrid, t: number[], timeOrder: boolean): { order: Uint32Array; offsets: Uint32Array } {
  const groups = grid.count + 1;
  const group = t.map((x) => (x < grid.t0 ? 0 : grid.indexOf(x) + 1));
  const offsets = new Uint32Array(groups + 1);
  for (const g of group) offsets[g + 1]++;
  for (let g = 0; g < groups; g++) offsets[g + 1] += offsets[g];
  const fill = offsets.slice(0, groups);
  const order = new Uint32Array(t.length);
  group.forEach((g, i) => {
    order[fill[g]++] = i;
  });
  if (timeOrder) {
    for (let g = 0; g < groups; g++) {
      const o = order.subarray(offsets[g], offsets[g + 1]);
      let sorted = true;
      for (let j = 1; j < o.length && sorted; j++) sorted = t[o[j - 1]] <= t[o[j]];
      if (!sorted) o.sort((x, y) => t[x] - t[y]);
    }
  }
  return { order, offsets };
}

function latencyColumns(
  grid: BucketGrid,
  ev: Events,
  window: number,
  method: PercentileMethod | undefined,
  histogram: LogHistogramOptions | undefined,
): { p50: GapColumn; p99: GapColumn } {
  const p50: GapColumn = [];
  const p99: GapColumn = [];
  const tumbling = window === grid.interval && !histogram;
  const { order, offsets } = groupByBucket(grid, ev.t, !tumbling);
  if (tumbling) {
    // Each bucket alone: sort each bucket's values. O(n log(n/B)).
    for (let k = 0; k < grid.count; k++) {
      const o = order.subarray(offsets[k + 1], offsets[k + 2]);
      const b = Float64Array.from(o, (i) => ev.v[i]).sort();
      p50.push(b.length ? percentileOfSorted(b, 50, method) : null);
      p99.push(b.length ? percentileOfSorted(b, 99, method) : null);
    }
    return { p50, p99 };
  }
  // Rolling window [end_k - window, end_k): events enter in time order and leave from the front.
  const cutAt = (k: number) => (window === grid.interval ? grid.edges[k] : grid.edges[k + 1] - window);
  let added = 0;
  if (histogram) {
    const w = new SlidingWindowPercentiles(window, { histogram });
    for (let k = 0; k < grid.count; k++) {
      for (; added < offsets[k + 2]; added++) w.add(ev.t[order[added]], ev.v[order[added]]);
      w.evictBefore(cutAt(k));
      p50.push(w.size ? w.percentile(50) : null);
      p99.push(w.size ? w.percentile(99) : null);
    }
    return { p50, p99 };
  }
  // Exact: a Fenwick tree over the run's values, O(log n) per event and query.
  const m = new RankedMultiset(ev.v);
  let evicted = 0;
  for (let k = 0; k < grid.count; k++) {
    for (; added < offsets[k + 2]; added++) m.add(ev.v[order[added]]);
    const cut = cutAt(k);
    for (; evicted < added && ev.t[order[evicted]] < cut; evicted++) m.remove(ev.v[order[evicted]]);
    p50.push(m.size ? m.percentile(50, method) : null);
    p99.push(m.size ? m.percentile(99, method) : null);
  }
  return { p50, p99 };
}

/** Bucket steps and requests into fixed intervals. O(n log n + buckets). */
export function buildTimeSeries(
  steps: readonly StepRecord[],
  requests: readonly RequestRecord[],
  options: TimeSeriesOptions,
): TimeSeries {
  const { gpus } = options;
  if (!(gpus >= 1 && Number.isInteger(gpus))) throw new RangeError(`gpus must be a positive integer, got ${gpus}`);
  const grid = new BucketGrid(options.t0, options.t1, options.interval);
  const acc = () => new BucketAccumulator(grid);
  const busy = acc();
  const decode = acc();
  const prefill = acc();
  const batchTime = acc();
  const stepTime = acc();
  const output = acc();
  for (const s of steps) {
    checkGpu(s, gpus);
    output.addPoint(s.end, s.outputTokens);
    busy.addSpread(s.start, s.end, s.busy);
    decode.addSpread(s.start, s.end, s.decodeTokens);
    prefill.addSpread(s.start, s.end, s.prefillTokens);
    const d = s.end - s.start;
    batchTime.addSpread(s.start, s.end, s.batchSize * d);
    stepTime.addSpread(s.start, s.end, d);
  }

  const arrivals = acc();
  const finished = acc();
  const rejected = acc();
  const met = acc();
  const ended = acc();
  // Only events that can reach a bucket's window are kept.
  const window = options.latencyWindow ?? options.interval;
  const from = options.t0 - window;
  const ttftEv: Events = { t: [], v: [] };
  const tpotEv: Events = { t: [], v: [] };
  const e2eEv: Events = { t: [], v: [] };
  const push = (ev: Events, t: number, v: number | undefined) => {
    if (v !== undefined && t >= from && t < options.t1) {
      ev.t.push(t);
      ev.v.push(v);
    }
  };
  for (const r of requests) {
    arrivals.addPoint(r.arrival, 1);
    if (r.firstToken !== undefined) push(ttftEv, r.firstToken, ttft(r));
    if (r.finish !== undefined) {
      push(tpotEv, r.finish, tpot(r));
      push(e2eEv, r.finish, e2e(r));
    }
    const end = endTime(r);
    if (end !== undefined) {
      if (r.status === 'finished') finished.addPoint(end, 1);
      if (r.status === 'rejected') rejected.addPoint(end, 1);
      if (options.slo) {
        ended.addPoint(end, 1);
        if (meetsSlo(r, options.slo)) met.addPoint(end, 1);
      }
    }
  }

  const n = grid.count;
  const widths = Array.from({ length: n }, (_, k) => grid.width(k));
  const perS = (a: BucketAccumulator): Column => Array.from(a.totals(), (v, k) => v / widths[k]);
  const busyT = Array.from(busy.totals());
  const decodeS = perS(decode);
  const prefillS = perS(prefill);
  const allS = decodeS.map((v, k) => v + prefillS[k]);
  const outputS = perS(output);
  const bt = batchTime.totals();
  const st = stepTime.totals();
  const lat = (ev: Events) =>
    latencyColumns(grid, ev, window, options.latencyMethod, options.latencyHistogram);
  const tt = lat(ttftEv);
  const tp = lat(tpotEv);
  const ee = lat(e2eEv);

  const series: TimeSeries = {
    interval: options.interval,
    gpus,
    latencyWindow: { seconds: window },
    t: Array.from(grid.edges.subarray(0, n)),
    busy: busyT,
    utilization: busyT.map((v, k) => v / (gpus * widths[k])),
    decodeTokensPerS: decodeS,
    prefillTokensPerS: prefillS,
    allTokensPerS: allS,
    outputTokensPerS: outputS,
    batchSize: Array.from(st, (v, k) => (v > 0 ? bt[k] / v : null)),
    queueDepth: queueDepthMeans(steps, grid, gpus),
    arrivalsPerS: perS(arrivals),
    finishedPerS: perS(finished),
    rejectedPerS: perS(rejected),
    ttftP50: tt.p50,
    ttftP99: tt.p99,
    tpotP50: tp.p50,
    tpotP99: tp.p99,
    e2eP50: ee.p50,
    e2eP99: ee.p99,
  };
  if (options.capacityTokensPerS !== undefined) {
    const cap = gpus * options.capacityTokensPerS;
    const achieved = (options.capacityBasis ?? 'output') === 'all' ? allS : outputS;
    series.capacityUtilization = achieved.map((v) => v / cap);
  }
  if (options.slo) {
    series.goodputPerS = perS(met);
    const m = met.totals();
    const e = ended.totals();
    series.sloAttainment = Array.from(e, (v, k) => (v > 0 ? m[k] / v : null));
  }
  return series;
}

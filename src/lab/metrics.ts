// The lab's figures from its metrics stream: RunStore keeps a run's records (from MetricsBatches)
// and keeps the whole-run figures, the sliding-window figures and the chart columns up to date as
// records arrive, each batch costing in proportion to its records (plus work bounded by the
// window, the chart's ~600 buckets and the requests still waiting). `figures` and `labSeries`
// compute the same things from the records from scratch: the store must equal them exactly
// (tests/lab/metrics-incremental.test.ts), which is why every sum here is an ExactSum (order of
// arrival cannot change a figure) and percentiles are exact. Pure code (no DOM).
//
// Definitions, over a span [t0, t1) of the run clock (whole run: [0, now); window: the last
// WINDOW_S seconds, [max(0, now - 10), now)). Everything counts "as of t1": an event counts
// when its time is in the span; a request is pending at t1 when it arrived before t1 and had not
// ended before t1 (latency.ts pendingAt).
// - From steps: busy time, tokens processed and batch size in proportion to each step's overlap
//   with the span; output tokens = the steps' outputTokens (every token sampled, recompute
//   included) placed at the step's end; queue depth held from a step's start to the next step's.
// - Work (the RequestWorkModel, capacity.ts): work served = each request's prompt work at its
//   first token + decodeS for each later token at its time (recompute is never counted);
//   capacity utilization = work served / span. Offered load = the work of the requests that
//   arrived in the span (prefillS(P) + (M - 1) decodeS(P, M), M = maxOutputTokens) / span.
// - Latency and throughput: vLLM bench serve's metrics (latency.ts serveMetrics) of the requests
//   that completed in the span, with the waiting-inclusive TTFT and attainment beside them.
// - Charts: fixed buckets of bucketInterval(duration) seconds (the last one ends at now); the
//   latency columns at each bucket are the 10 s window ending at the bucket's end.
// - Cost: $/GPU-hour over the span's tokens/s; the cost chart divides by a 10 s rolling mean.
import { costPerMillionTokens, costReport } from '../econ/cost.js';
import {
  endTime,
  hasSloTarget,
  meetsSlo,
  missedAt,
  pendingAt,
  serveMetrics,
  serveParts,
  tpot,
  ttft,
  ttftAt,
  type ServeMetrics,
  type ServeParts,
  type Slo,
} from '../metrics/latency.js';
import { ExactDistribution, ExactSum, linearPercentile, rankedArray, rankedUnion, sortedCopy } from '../metrics/percentiles.js';
import type { RequestRecord, StepRecord } from '../metrics/records.js';
import { overlapFraction } from '../metrics/utilization.js';
import type { RequestWorkModel } from './capacity.js';
import { decodeRequests, decodeSteps, type MetricsBatch } from './protocol.js';

export const WINDOW_S = 10;

/** What figures depend on besides the records. */
export interface FigureOptions {
  /** Work of a request on this device (capacity.ts), for capacity utilization and offered load. */
  work: RequestWorkModel;
  /** $/GPU-hour. */
  price: number;
  slo: Slo;
}

export interface RunStoreOptions extends FigureOptions {
  /** The run's length, s (known at start): sets the chart's bucket width once, so buckets never re-bin. */
  durationS: number;
  /**
   * Keep every token gap (not only the summaries): needed by `figures` and `labSeries`, which
   * recompute from the records (tests, benchmarks, figures over other spans). Default false:
   * an hour at 3,000 tokens/s is ~10M gaps.
   */
  keepGaps?: boolean;
}

/** The big numbers over one span. NaN where there is nothing to measure. */
export interface Figures {
  label: string;
  t0: number;
  t1: number;
  /** Output tokens sampled in the span: the steps' outputTokens (recompute included) placed at each step's end. */
  outputTokens: number;
  /** outputTokens per second. */
  outputTokensPerS: number;
  /** Prompt and decode tokens processed (recompute included), per second. */
  allTokensPerS: number;
  /** Sequences per step (steps weighted by their overlap with the span). */
  meanBatch: number;
  /** Busy time / span. */
  timeUtilization: number;
  /** Time-weighted queue depth. */
  meanQueueDepth: number;
  /** Useful work served in the span / span (1 = this GPU flat out). */
  capacityUtilization: number;
  /** Work of the requests that arrived in the span / span: above 1, more is offered than the GPU can serve. */
  offeredLoad: number;
  /** $ per 1M output tokens and per 1M tokens of any kind (prefill + decode). */
  costPerMOutput: number;
  costPerMAll: number;
  /** Requests that arrived in the span. */
  arrived: number;
  /** Requests preempted at least once, among those that ended in the span or are still pending. */
  preempted: number;
  /** vLLM bench serve's metrics over the span, with the waiting-inclusive ones beside them. */
  serve: ServeMetrics;
}

/** Column arrays for the charts (uPlot's layout: x first, then one array per series). */
export interface LabSeries {
  /** Bucket width, s. */
  interval: number;
  /** Bucket starts, s. */
  t: number[];
  outputTokensPerS: number[];
  allTokensPerS: number[];
  /** Time-weighted mean batch size; null where no step ran. */
  batchSize: (number | null)[];
  queueDepth: number[];
  /** Percent. */
  timeUtilization: number[];
  capacityUtilization: number[];
  offeredLoad: number[];
  /** ms, the 10 s window ending at each bucket's end (completed requests); null where it holds none. */
  ttftP50: (number | null)[];
  ttftP99: (number | null)[];
  tpotP50: (number | null)[];
  tpotP99: (number | null)[];
  /** p99 TTFT with the requests still waiting at the bucket's end at their age. */
  ttftP99WithWaiting: (number | null)[];
  /** $ per 1M tokens from 10 s rolling mean tokens/s; null while nothing was served. */
  costPerMOutput: (number | null)[];
  costPerMAll: (number | null)[];
}

/** A request not ended at `now`, as the export lists it. */
export interface PendingRequest {
  id: number;
  tenant: number;
  status: 'queued' | 'running';
  arrival: number;
  /** now - arrival, ms. */
  age_ms: number;
  /** Its TTFT when its first token came before now, else null (it is still waiting for it). */
  ttft_ms: number | null;
  output_tokens: number;
  max_output_tokens: number;
  preemptions: number;
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

// ---------------------------------------------------------------------------------------------
// The pieces both paths share: what one record contributes, and how figures are assembled

/** Bucket k covers [k w, (k + 1) w); the bucket holding t >= 0. */
export function bucketOf(t: number, w: number): number {
  let k = Math.floor(t / w);
  while (k > 0 && k * w > t) k--;
  while ((k + 1) * w <= t) k++;
  return k;
}

/** Buckets covering [0, now): at least 1; the last ends at now. */
export function bucketCount(now: number, w: number): number {
  if (!(now > 0)) return 1;
  let k = Math.max(1, Math.ceil(now / w));
  while (k > 1 && (k - 1) * w >= now) k--;
  while (k * w < now) k++;
  return k;
}

/** Calls fn(k, part) for each bucket the spread of `amount` over [a, b] reaches below `limit` (a point at a when b <= a). */
function spread(a: number, b: number, amount: number, w: number, limit: number, fn: (k: number, part: number) => void): void {
  if (b <= a) {
    if (a >= 0 && a < limit) fn(bucketOf(a, w), amount);
    return;
  }
  const lo0 = Math.max(a, 0);
  const hi0 = Math.min(b, limit);
  if (!(hi0 > lo0)) return;
  for (let k = bucketOf(lo0, w); k * w < hi0; k++) {
    const lo = Math.max(a, k * w);
    const hi = Math.min(b, (k + 1) * w, limit);
    if (hi > lo) fn(k, amount * ((hi - lo) / (b - a)));
  }
}

/** Calls fn(k, seconds) for each bucket the interval [a, b) (clipped to [0, limit)) overlaps. */
function overlapBuckets(a: number, b: number, w: number, limit: number, fn: (k: number, seconds: number) => void): void {
  const lo0 = Math.max(a, 0);
  const hi0 = Math.min(b, limit);
  if (!(hi0 > lo0)) return;
  for (let k = bucketOf(lo0, w); k * w < hi0; k++) {
    const lo = Math.max(lo0, k * w);
    const hi = Math.min(hi0, (k + 1) * w);
    if (hi > lo) fn(k, hi - lo);
  }
}

/** Sums over the steps of a span. */
class StepSums {
  busy = new ExactSum();
  steps = new ExactSum();
  batch = new ExactSum();
  tokens = new ExactSum();
  output = new ExactSum();
  hold = new ExactSum();

  copy(): StepSums {
    const c = new StepSums();
    c.busy = this.busy.copy();
    c.steps = this.steps.copy();
    c.batch = this.batch.copy();
    c.tokens = this.tokens.copy();
    c.output = this.output.copy();
    c.hold = this.hold.copy();
    return c;
  }

  /** A step's part of the span [t0, t1): in proportion to its overlap, its output at its end. */
  addStep(s: StepRecord, t0: number, t1: number): void {
    const f = overlapFraction(s.start, s.end, t0, t1);
    if (f > 0) {
      this.busy.add(s.busy * f);
      this.steps.add(f);
      this.batch.add(s.batchSize * f);
      this.tokens.add((s.decodeTokens + s.prefillTokens) * f);
    }
    if (s.outputTokens !== 0 && s.end >= t0 && s.end < t1) this.output.add(s.outputTokens);
  }

  /** The queue depth `depth` held over [a, next) (next undefined: still held), clipped to the span. */
  addHold(depth: number, a: number, next: number | undefined, t0: number, t1: number): void {
    const lo = Math.max(a, t0);
    const hi = Math.min(next ?? Infinity, t1);
    if (hi > lo && depth !== 0) this.hold.add(depth * (hi - lo));
  }
}

/** Request-side sums of a span. */
class RequestSums {
  arrived = 0;
  offered = new ExactSum();
  served = new ExactSum();
  ended = 0;
  completed = 0;
  rejected = 0;
  aborted = 0;
  met = 0;
  inputTokens = 0;
  outputTokens = 0;
  preempted = 0;
}

/** What one pending-set scan at time t gives. */
interface PendingScan {
  pending: number;
  withoutFirstToken: number;
  missed: number;
  preempted: number;
  maxAge: number;
  /** ttftAt(r, t) of each pending request, sorted. */
  ttft: Float64Array;
}

function scanPending(requests: Iterable<RequestRecord>, t: number, slo: Slo, filter: boolean): PendingScan {
  const v: number[] = [];
  const s: PendingScan = { pending: 0, withoutFirstToken: 0, missed: 0, preempted: 0, maxAge: 0, ttft: new Float64Array(0) };
  for (const r of requests) {
    if (filter && !pendingAt(r, t)) continue;
    s.pending++;
    if (!(r.firstToken !== undefined && r.firstToken < t)) s.withoutFirstToken++;
    if (missedAt(r, t, slo)) s.missed++;
    if (r.preemptions > 0) s.preempted++;
    s.maxAge = Math.max(s.maxAge, t - r.arrival);
    v.push(ttftAt(r, t));
  }
  s.ttft = sortedCopy(v);
  return s;
}

/** Work of a request's prompt, of each output token after its first, and of the whole request (offered). */
const promptWork = (w: RequestWorkModel, r: RequestRecord) => w.prefillS(r.promptTokens);
const tokenWork = (w: RequestWorkModel, r: RequestRecord) => w.decodeS(r.promptTokens, r.maxOutputTokens);
const requestWork = (w: RequestWorkModel, r: RequestRecord) => promptWork(w, r) + (r.maxOutputTokens - 1) * tokenWork(w, r);

/** preempted: requests preempted at least once that ended in the span (rq) or are pending at t1. */
function assembleFigures(label: string, t0: number, t1: number, st: StepSums, rq: RequestSums, serve: ServeParts, price: number, preempted: number): Figures {
  const span = t1 - t0;
  const rate = (x: number) => (span > 0 ? x / span : NaN);
  const nSteps = st.steps.value();
  const outputTokens = st.output.value();
  const output = rate(outputTokens);
  const all = rate(st.tokens.value());
  const cost = costReport({ gpus: 1, dollarsPerGpuHour: price, outputTokensPerS: output, allTokensPerS: all });
  const finite = (v: number) => (Number.isFinite(v) ? v : NaN);
  return {
    label,
    t0,
    t1,
    outputTokens,
    outputTokensPerS: output,
    allTokensPerS: all,
    meanBatch: nSteps > 0 ? st.batch.value() / nSteps : NaN,
    timeUtilization: rate(st.busy.value()),
    meanQueueDepth: rate(st.hold.value()),
    capacityUtilization: rate(rq.served.value()),
    offeredLoad: rate(rq.offered.value()),
    costPerMOutput: finite(cost.perMillionOutputTokens),
    costPerMAll: finite(cost.perMillionAllTokens),
    arrived: rq.arrived,
    preempted,
    serve: serveMetrics(serve),
  };
}

const spanLabel = (windowS: number | undefined) => (windowS === undefined ? 'whole run' : `sliding ${windowS} s window`);

/** One chart quantity: an exact sum per bucket, and their values as last read (from `low` on, stale). */
class Column {
  readonly sums: ExactSum[] = [];
  private readonly cache: number[] = [];
  private low = 0;

  add(k: number, x: number): void {
    while (this.sums.length <= k) this.sums.push(new ExactSum());
    this.sums[k]!.add(x);
    if (k < this.low) this.low = k;
  }

  /** Values of the first n buckets; `extra` adds provisional terms to some (not kept). */
  values(n: number, extra?: Map<number, number[]>): number[] {
    const c = this.cache;
    for (let k = this.low; k < this.sums.length; k++) c[k] = this.sums[k]!.value();
    this.low = this.sums.length;
    const out = new Array<number>(n);
    for (let k = 0; k < n; k++) {
      const add = extra?.get(k);
      if (add) {
        const e = this.sums[k] ? this.sums[k]!.copy() : new ExactSum();
        for (const x of add) e.add(x);
        out[k] = e.value();
      } else out[k] = k < c.length ? c[k]! : 0;
    }
    return out;
  }
}

const COLUMNS = ['busy', 'tokens', 'output', 'batchTime', 'stepTime', 'hold', 'served', 'offered'] as const;
type ColumnName = (typeof COLUMNS)[number];

/** Per-bucket sums of the chart's quantities. */
class BucketSums {
  readonly busy = new Column();
  readonly tokens = new Column();
  readonly output = new Column();
  readonly batchTime = new Column();
  readonly stepTime = new Column();
  readonly hold = new Column();
  readonly served = new Column();
  readonly offered = new Column();

  addStep(s: StepRecord, w: number, limit: number): void {
    const d = s.end - s.start;
    spread(s.start, s.end, s.busy, w, limit, (k, x) => this.busy.add(k, x));
    spread(s.start, s.end, s.decodeTokens + s.prefillTokens, w, limit, (k, x) => this.tokens.add(k, x));
    spread(s.start, s.end, s.batchSize * d, w, limit, (k, x) => this.batchTime.add(k, x));
    spread(s.start, s.end, d, w, limit, (k, x) => this.stepTime.add(k, x));
    if (s.outputTokens !== 0 && s.end >= 0 && s.end < limit) this.output.add(bucketOf(s.end, w), s.outputTokens);
  }

  addHold(depth: number, a: number, next: number | undefined, w: number, limit: number): void {
    if (depth === 0) return;
    overlapBuckets(a, next ?? Infinity, w, limit, (k, sec) => this.hold.add(k, depth * sec));
  }

  /** Work placed at t (t in [0, limit)). */
  static addAt(col: Column, t: number, x: number, w: number, limit: number): void {
    if (t >= 0 && t < limit) col.add(bucketOf(t, w), x);
  }
}

/** The chart's latency columns at one bucket, ms (null: nothing in the window). */
interface BucketLatency {
  ttftP50: number | null;
  ttftP99: number | null;
  tpotP50: number | null;
  tpotP99: number | null;
  ttftP99WithWaiting: number | null;
}

function assembleSeries(w: number, now: number, cols: Record<ColumnName, number[]>, latency: BucketLatency[], price: number): LabSeries {
  const n = latency.length;
  const t = Array.from({ length: n }, (_, k) => k * w);
  const width = t.map((a, k) => (k + 1 < n ? (k + 1) * w : now) - a);
  const perS = (c: number[]) => c.map((v, k) => (width[k]! > 0 ? v / width[k]! : 0));
  const pct = (c: number[]) => perS(c).map((v) => v * 100);
  const outputTokensPerS = perS(cols.output);
  const allTokensPerS = perS(cols.tokens);
  const roll = Math.max(1, Math.round(WINDOW_S / w));
  const cost = (tps: number[]) => rollingMean(tps, roll).map((v) => (v > 0 ? costPerMillionTokens(1, price, v) : null));
  return {
    interval: w,
    t,
    outputTokensPerS,
    allTokensPerS,
    batchSize: cols.stepTime.map((d, k) => (d > 0 ? cols.batchTime[k]! / d : null)),
    queueDepth: perS(cols.hold),
    timeUtilization: pct(cols.busy),
    capacityUtilization: pct(cols.served),
    offeredLoad: pct(cols.offered),
    ttftP50: latency.map((l) => l.ttftP50),
    ttftP99: latency.map((l) => l.ttftP99),
    tpotP50: latency.map((l) => l.tpotP50),
    tpotP99: latency.map((l) => l.tpotP99),
    ttftP99WithWaiting: latency.map((l) => l.ttftP99WithWaiting),
    costPerMOutput: cost(outputTokensPerS),
    costPerMAll: cost(allTokensPerS),
  };
}

const ms = (v: number) => (Number.isNaN(v) ? null : v * 1000);

// ---------------------------------------------------------------------------------------------
// The store

/** Gap columns kept whole (RunStoreOptions.keepGaps). */
class GapLog {
  id: number[] = [];
  t: number[] = [];
  gap: number[] = [];
  /** Each request's gaps in order. */
  byRequest(): Map<number, number[]> {
    const m = new Map<number, number[]>();
    for (let i = 0; i < this.id.length; i++) {
      let g = m.get(this.id[i]!);
      if (!g) m.set(this.id[i]!, (g = []));
      g.push(this.gap[i]!);
    }
    return m;
  }
}

/** A request event of the stream, placed at its time. */
interface Ev {
  t: number;
  /** 0 arrival, 1 first token, 2 a later token (gap), 3 end. Ties go in this order. */
  kind: 0 | 1 | 2 | 3;
  id: number;
  gap: number;
  seq: number;
}

/** A FIFO of time-ordered items with a moving head (sorted insertion from the back for a late one). */
class TimeQueue<T extends { t: number }> {
  private a: T[] = [];
  private head = 0;
  get size(): number {
    return this.a.length - this.head;
  }
  push(x: T): void {
    const a = this.a;
    let i = a.length;
    while (i > this.head && a[i - 1]!.t > x.t) i--;
    if (i === a.length) a.push(x);
    else a.splice(i, 0, x);
  }
  /** Removes and returns the items with t < bound. */
  popBefore(bound: number, fn: (x: T) => void): void {
    const a = this.a;
    while (this.head < a.length && a[this.head]!.t < bound) fn(a[this.head++]!);
    if (this.head > 1024 && this.head * 2 > a.length) {
      this.a = a.slice(this.head);
      this.head = 0;
    }
  }
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.head; i < this.a.length; i++) yield this.a[i]!;
  }
}

interface EndItem {
  t: number;
  r: RequestRecord;
  gaps: number[];
}

/** Request-side state of a span kept as events commit: sums and the completed requests' latencies. */
class LatencyState {
  readonly sums = new RequestSums();
  readonly ttft = new ExactDistribution();
  readonly tpot = new ExactDistribution();
  readonly itl = new ExactDistribution();
  readonly e2el = new ExactDistribution();

  /** Adds (sign 1) or removes (sign -1) an ended request. */
  end(r: RequestRecord, gaps: readonly number[], slo: Slo, sign: 1 | -1): void {
    const s = this.sums;
    s.ended += sign;
    if (r.preemptions > 0) s.preempted += sign;
    if (r.status === 'rejected') s.rejected += sign;
    if (r.status === 'aborted') s.aborted += sign;
    if (r.status !== 'finished') return;
    s.completed += sign;
    s.inputTokens += sign * r.promptTokens;
    s.outputTokens += sign * r.outputTokens;
    if (meetsSlo(r, slo)) s.met += sign;
    const op = (d: ExactDistribution, x: number) => (sign > 0 ? d.add(x) : d.remove(x));
    const a = ttft(r);
    if (a !== undefined) op(this.ttft, a);
    const p = tpot(r);
    if (p !== undefined) op(this.tpot, p);
    op(this.e2el, r.finish! - r.arrival);
    for (const g of gaps) op(this.itl, g);
  }

  parts(t0: number, t1: number, slo: Slo, pending: PendingScan): ServeParts {
    const s = this.sums;
    return {
      duration: t1 - t0,
      completed: s.completed,
      inputTokens: s.inputTokens,
      outputTokens: s.outputTokens,
      hasSlo: hasSloTarget(slo),
      met: s.met,
      ended: s.ended,
      missedPending: pending.missed,
      pending: pending.pending,
      pendingWithoutFirstToken: pending.withoutFirstToken,
      rejected: s.rejected,
      aborted: s.aborted,
      maxPendingAge: pending.maxAge,
      stats: {
        ttft: this.ttft.stats(),
        tpot: this.tpot.stats(),
        itl: this.itl.stats(),
        e2el: this.e2el.stats(),
        ttftWithWaiting: this.ttft.stats(pending.ttft),
      },
    };
  }
}

/**
 * The incremental figures of one run: fed steps, request records and gaps in stream order;
 * advance(now) commits every request event before now. Kept apart from RunStore so a store can
 * rebuild it from its records.
 */
class LiveFigures {
  private readonly w: number;
  /** Every request event with t < cursor is committed. */
  cursor = 0;
  /** Request events seen, not yet committed (t >= cursor). */
  private future: Ev[] = [];
  private seq = 0;
  /** Events arrived for times already committed, or records that changed what was committed. */
  late = 0;

  // Steps
  private readonly runSteps = new StepSums();
  private readonly buckets = new BucketSums();
  /** Steps whose contribution still depends on now (end >= cursor when last looked at). */
  private tail: StepRecord[] = [];
  /** Queue-depth holds not committed: the last step's (next undefined), or one reaching past the cursor. */
  private holds: { depth: number; a: number; next: number | undefined }[] = [];
  private lastHold?: { depth: number; a: number; next: number | undefined };
  /** Steps that may overlap the window, in order; `before` is the one just before them. */
  private windowSteps = new TimeQueue<{ t: number; s: StepRecord }>();
  private before?: StepRecord;

  // Requests
  /** Arrived and not ended (committed events); their latest records are the store's. */
  private readonly pending = new Set<number>();
  /** Committed gaps of requests not ended yet. */
  private readonly gaps = new Map<number, number[]>();
  private readonly run = new LatencyState();
  private readonly win = new LatencyState();
  private readonly winArrivals = new TimeQueue<{ t: number; work: number }>();
  private readonly winServed = new TimeQueue<{ t: number; work: number }>();
  private readonly winEnds = new TimeQueue<EndItem>();
  /** Latency columns of the buckets that have ended (bucket end <= cursor). */
  private readonly closed: BucketLatency[] = [];

  constructor(
    durationS: number,
    private readonly requests: ReadonlyMap<number, RequestRecord>,
    private work: RequestWorkModel,
    private slo: Slo,
  ) {
    this.w = bucketInterval(durationS);
  }

  get interval(): number {
    return this.w;
  }

  addStep(s: StepRecord): void {
    // The previous step's queue depth held until this one started.
    if (this.lastHold) this.lastHold.next = s.start;
    this.lastHold = { depth: s.queueDepth, a: s.start, next: undefined };
    this.holds.push(this.lastHold);
    this.tail.push(s);
    this.windowSteps.push({ t: s.end, s });
  }

  /**
   * A record arrived (old: the store's previous one of the request): queues the events it adds
   * (arrival, first token, end). One that changes an event already queued, or a counted record,
   * is counted in `late`.
   */
  addRecord(r: RequestRecord, old: RequestRecord | undefined): void {
    const push = (t: number, kind: Ev['kind'], gap = 0) => {
      if (t < this.cursor) this.late++;
      this.future.push({ t, kind, id: r.id, gap, seq: this.seq++ });
    };
    if (old) {
      const oldEnd = endTime(old);
      const changedFixed = old.arrival !== r.arrival || old.promptTokens !== r.promptTokens || old.maxOutputTokens !== r.maxOutputTokens;
      const rewritten =
        (old.firstToken !== undefined && old.firstToken !== r.firstToken) ||
        (oldEnd !== undefined && (oldEnd !== endTime(r) || old.status !== r.status || old.outputTokens !== r.outputTokens || old.preemptions !== r.preemptions));
      if (changedFixed || rewritten) this.late++;
    } else push(r.arrival, 0);
    if (r.firstToken !== undefined && old?.firstToken === undefined) push(r.firstToken, 1);
    const end = endTime(r);
    if (end !== undefined && (old === undefined || endTime(old) === undefined)) push(end, 3);
  }

  addGap(id: number, t: number, gap: number): void {
    if (t < this.cursor || !this.requests.has(id)) this.late++;
    this.future.push({ t, kind: 2, id, gap, seq: this.seq++ });
  }

  /** Commits everything before `now`, closing the chart buckets that end on the way. */
  advance(now: number): void {
    if (now < this.cursor) now = this.cursor;
    const f = this.future.sort((a, b) => a.t - b.t || a.kind - b.kind || a.seq - b.seq);
    let i = 0;
    const commitBefore = (bound: number) => {
      while (i < f.length && f[i]!.t < bound) this.commit(f[i++]!);
    };
    for (let k = this.closed.length; (k + 1) * this.w <= now; k = this.closed.length) {
      const e = (k + 1) * this.w;
      commitBefore(e);
      this.evictBefore(Math.max(0, e - WINDOW_S));
      this.closed.push(this.bucketLatency(e));
    }
    commitBefore(now);
    this.evictBefore(Math.max(0, now - WINDOW_S));
    this.future = f.slice(i);
    this.cursor = now;
    // Steps and holds whose parts are now final.
    const keep: StepRecord[] = [];
    for (const s of this.tail) {
      if (s.end < now) {
        this.runSteps.addStep(s, 0, now);
        this.buckets.addStep(s, this.w, now);
      } else keep.push(s);
    }
    this.tail = keep;
    this.holds = this.holds.filter((h) => {
      if (h.next === undefined || h.next > now) return true;
      this.runSteps.addHold(h.depth, h.a, h.next, 0, now);
      this.buckets.addHold(h.depth, h.a, h.next, this.w, now);
      return false;
    });
    this.windowSteps.popBefore(Math.max(0, now - WINDOW_S), (x) => (this.before = x.s));
  }

  private commit(e: Ev): void {
    const r = this.requests.get(e.id);
    if (!r) return; // a gap of a request never seen: counted as late, priced nowhere
    const inRun = e.t >= 0;
    if (e.kind === 0) {
      this.pending.add(r.id);
      if (!inRun) return;
      const work = requestWork(this.work, r);
      this.run.sums.arrived++;
      this.run.sums.offered.add(work);
      BucketSums.addAt(this.buckets.offered, e.t, work, this.w, Infinity);
      this.winArrivals.push({ t: e.t, work });
      this.win.sums.arrived++;
      this.win.sums.offered.add(work);
    } else if (e.kind === 1 || e.kind === 2) {
      if (e.kind === 2) {
        let g = this.gaps.get(r.id);
        if (!g) this.gaps.set(r.id, (g = []));
        g.push(e.gap);
      }
      if (!inRun) return;
      const work = e.kind === 1 ? promptWork(this.work, r) : tokenWork(this.work, r);
      this.run.sums.served.add(work);
      BucketSums.addAt(this.buckets.served, e.t, work, this.w, Infinity);
      this.winServed.push({ t: e.t, work });
      this.win.sums.served.add(work);
    } else {
      this.pending.delete(r.id);
      const gaps = this.gaps.get(r.id) ?? [];
      this.gaps.delete(r.id);
      if (!inRun) return;
      this.run.end(r, gaps, this.slo, 1);
      this.win.end(r, gaps, this.slo, 1);
      this.winEnds.push({ t: e.t, r, gaps });
    }
  }

  private evictBefore(bound: number): void {
    this.winArrivals.popBefore(bound, (x) => {
      this.win.sums.arrived--;
      this.win.sums.offered.add(-x.work);
    });
    this.winServed.popBefore(bound, (x) => this.win.sums.served.add(-x.work));
    this.winEnds.popBefore(bound, (x) => this.win.end(x.r, x.gaps, this.slo, -1));
  }

  private *pendingRecords(): IterableIterator<RequestRecord> {
    for (const id of this.pending) yield this.requests.get(id)!;
  }

  private scan(t: number): PendingScan {
    return scanPending(this.pendingRecords(), t, this.slo, false);
  }

  private bucketLatency(e: number, pending = this.scan(e)): BucketLatency {
    const w = this.win;
    const p = (d: ExactDistribution, q: number) => (d.size ? ms(d.percentile(q)) : null);
    const withWaiting = w.ttft.size + pending.ttft.length ? ms(linearPercentile(rankedUnion(w.ttft.values, pending.ttft), 99)) : null;
    return { ttftP50: p(w.ttft, 50), ttftP99: p(w.ttft, 99), tpotP50: p(w.tpot, 50), tpotP99: p(w.tpot, 99), ttftP99WithWaiting: withWaiting };
  }

  /** The SLO changed: recount the met requests (ended requests are all in the store). */
  setSlo(slo: Slo, ended: Iterable<RequestRecord>): void {
    this.slo = slo;
    let met = 0;
    for (const r of ended) {
      const t = endTime(r);
      if (r.status === 'finished' && t !== undefined && t >= 0 && t < this.cursor && !this.pending.has(r.id) && meetsSlo(r, slo)) met++;
    }
    this.run.sums.met = met;
    let wmet = 0;
    for (const x of this.winEnds) if (x.r.status === 'finished' && meetsSlo(x.r, slo)) wmet++;
    this.win.sums.met = wmet;
  }

  /** Figures of the whole run and of the window at the cursor. */
  figures(price: number): { run: Figures; window: Figures; pending: PendingScan } {
    const now = this.cursor;
    const pending = this.scan(now);
    const st = this.runSteps.copy();
    for (const s of this.tail) st.addStep(s, 0, now);
    for (const h of this.holds) st.addHold(h.depth, h.a, h.next, 0, now);
    const run = assembleFigures(spanLabel(undefined), 0, now, st, this.run.sums, this.run.parts(0, now, this.slo, pending), price, this.run.sums.preempted + pending.preempted);
    const t0 = Math.max(0, now - WINDOW_S);
    const ws = new StepSums();
    const list = [...this.windowSteps].map((x) => x.s);
    if (this.before) ws.addHold(this.before.queueDepth, this.before.start, list[0]?.start, t0, now);
    list.forEach((s, i) => {
      ws.addStep(s, t0, now);
      ws.addHold(s.queueDepth, s.start, list[i + 1]?.start, t0, now);
    });
    const window = assembleFigures(spanLabel(WINDOW_S), t0, now, ws, this.win.sums, this.win.parts(t0, now, this.slo, pending), price, this.win.sums.preempted + pending.preempted);
    return { run, window, pending };
  }

  series(price: number, pending: PendingScan): LabSeries {
    const now = this.cursor;
    const n = bucketCount(now, this.w);
    const extra = Object.fromEntries(COLUMNS.map((c) => [c, new Map<number, number[]>()])) as Record<ColumnName, Map<number, number[]>>;
    const put = (c: ColumnName) => (k: number, x: number) => {
      const m = extra[c];
      const a = m.get(k);
      if (a) a.push(x);
      else m.set(k, [x]);
    };
    for (const s of this.tail) {
      const d = s.end - s.start;
      spread(s.start, s.end, s.busy, this.w, now, put('busy'));
      spread(s.start, s.end, s.decodeTokens + s.prefillTokens, this.w, now, put('tokens'));
      spread(s.start, s.end, s.batchSize * d, this.w, now, put('batchTime'));
      spread(s.start, s.end, d, this.w, now, put('stepTime'));
      if (s.outputTokens !== 0 && s.end >= 0 && s.end < now) put('output')(bucketOf(s.end, this.w), s.outputTokens);
    }
    for (const h of this.holds) if (h.depth !== 0) overlapBuckets(h.a, h.next ?? Infinity, this.w, now, (k, sec) => put('hold')(k, h.depth * sec));
    const cols = Object.fromEntries(COLUMNS.map((c) => [c, this.buckets[c].values(n, extra[c])])) as Record<ColumnName, number[]>;
    const latency = this.closed.slice(0, n);
    while (latency.length < n) latency.push(this.bucketLatency(now, pending));
    return assembleSeries(this.w, now, cols, latency, price);
  }

  pendingList(now: number): PendingRequest[] {
    return pendingList(this.pendingRecords(), now, false);
  }
}

function pendingList(requests: Iterable<RequestRecord>, now: number, filter: boolean): PendingRequest[] {
  const out: PendingRequest[] = [];
  for (const r of requests) {
    if (filter && !pendingAt(r, now)) continue;
    const first = r.firstToken !== undefined && r.firstToken < now;
    out.push({
      id: r.id,
      tenant: r.tenant,
      status: r.status === 'queued' || r.status === 'running' ? r.status : first ? 'running' : 'queued',
      arrival: r.arrival,
      age_ms: (now - r.arrival) * 1000,
      ttft_ms: first ? (r.firstToken! - r.arrival) * 1000 : null,
      output_tokens: r.outputTokens,
      max_output_tokens: r.maxOutputTokens,
      preemptions: r.preemptions,
    });
  }
  return out.sort((a, b) => a.arrival - b.arrival || a.id - b.id);
}

/**
 * A run's records and its live figures. add(batch) takes the stream in order; runFigures(),
 * windowFigures() and series() read the figures as of the latest batch's `now`.
 */
export class RunStore {
  readonly steps: StepRecord[] = [];
  /** Latest record of each request, in the order they were first seen. */
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
  /** Every token gap, when kept (options.keepGaps). */
  readonly gapLog?: GapLog;
  /** Figures rebuilt from the records because a batch rewrote what was already counted. */
  rebuilds = 0;
  private live: LiveFigures;
  private opts: RunStoreOptions;
  private cache?: { run: Figures; window: Figures; pending: PendingScan; series?: LabSeries };

  constructor(
    readonly run: number,
    options: RunStoreOptions,
  ) {
    if (!(options.durationS > 0)) throw new RangeError(`RunStore: durationS must be > 0 s, got ${options.durationS}`);
    this.opts = { ...options };
    if (options.keepGaps) this.gapLog = new GapLog();
    this.live = new LiveFigures(options.durationS, this.requests, options.work, options.slo);
  }

  get options(): Readonly<RunStoreOptions> {
    return this.opts;
  }

  /** Chart bucket width, s (fixed by the run's duration). */
  get interval(): number {
    return this.live.interval;
  }

  /**
   * Records whose events came before figures already counted them (or that rewrote a counted
   * record): the store rebuilt from its records when it keeps gaps, else took them late (whole-run
   * sums stay exact; closed chart buckets do not change). 0 for a LabRun stream.
   */
  get lateRecords(): number {
    return this.live.late;
  }

  /** Adds a batch of this run (others are ignored); returns whether it was taken. */
  add(b: MetricsBatch): boolean {
    if (b.run !== this.run) return false;
    this.cache = undefined;
    const late0 = this.live.late;
    for (const s of decodeSteps(b.steps)) {
      this.steps.push(s);
      this.live.addStep(s);
    }
    for (const r of decodeRequests(b.requests)) {
      const old = this.requests.get(r.id);
      if (r.status === 'rejected' && old?.status !== 'rejected') {
        const why = r.rejectReason ?? 'unknown';
        this.rejectReasons.set(why, (this.rejectReasons.get(why) ?? 0) + 1);
      }
      this.requests.set(r.id, r);
      this.live.addRecord(r, old);
    }
    const g = b.gaps;
    for (let i = 0; i < g.id.length; i++) {
      this.live.addGap(g.id[i]!, g.t[i]!, g.gap[i]!);
      if (this.gapLog) {
        this.gapLog.id.push(g.id[i]!);
        this.gapLog.t.push(g.t[i]!);
        this.gapLog.gap.push(g.gap[i]!);
      }
    }
    this.now = Math.max(this.now, b.now);
    this.done ||= b.done;
    this.queueDepth = b.queueDepth;
    this.running = b.running;
    this.badMessages = b.badMessages;
    if (b.lastBadMessage) this.lastBadMessage = b.lastBadMessage;
    if (b.error) this.error = b.error;
    if (this.live.late > late0 && this.gapLog) this.rebuild();
    else this.live.advance(this.now);
    return true;
  }

  /** New price or SLO (the page's controls): the price is only read; an SLO recounts the ended requests. */
  reprice(o: { price: number; slo: Slo }): void {
    this.cache = undefined;
    this.opts = { ...this.opts, price: o.price, slo: o.slo };
    this.live.setSlo(o.slo, this.requests.values());
  }

  /** Recomputes the live figures from every record (the store must keep gaps). */
  private rebuild(): void {
    const gaps = this.gapLog!;
    const late = this.live.late;
    const live = new LiveFigures(this.opts.durationS, this.requests, this.opts.work, this.opts.slo);
    for (const s of this.steps) live.addStep(s);
    for (const r of this.requests.values()) live.addRecord(r, undefined);
    for (let i = 0; i < gaps.id.length; i++) live.addGap(gaps.id[i]!, gaps.t[i]!, gaps.gap[i]!);
    live.advance(this.now);
    live.late = late;
    this.live = live;
    this.rebuilds++;
  }

  private read(): NonNullable<RunStore['cache']> {
    return (this.cache ??= this.live.figures(this.opts.price));
  }

  /** Figures of the whole run [0, now). */
  runFigures(): Figures {
    return this.read().run;
  }

  /** Figures of the sliding window [max(0, now - WINDOW_S), now). */
  windowFigures(): Figures {
    return this.read().window;
  }

  /** The chart columns. */
  series(): LabSeries {
    const c = this.read();
    return (c.series ??= this.live.series(this.opts.price, c.pending));
  }

  /** Requests not ended at now (queued or running), oldest first, with their ages. */
  pendingRequests(): PendingRequest[] {
    return this.live.pendingList(this.now);
  }

  requestList(): RequestRecord[] {
    return [...this.requests.values()];
  }
}

// ---------------------------------------------------------------------------------------------
// From scratch (the reference the store is tested against; any span)

function gapsOf(store: RunStore): Map<number, number[]> {
  if (!store.gapLog) throw new Error('figures from the records need every token gap: create the RunStore with keepGaps: true');
  return store.gapLog.byRequest();
}

/** Figures over [t0, t1) recomputed from the store's records; `windowS` undefined: the whole run [0, now). */
export function figures(store: RunStore, opts: FigureOptions, windowS?: number): Figures {
  const t1 = store.now;
  const t0 = windowS === undefined ? 0 : Math.max(0, t1 - windowS);
  const gaps = gapsOf(store);
  const st = new StepSums();
  const steps = store.steps;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    st.addStep(s, t0, t1);
    st.addHold(s.queueDepth, s.start, steps[i + 1]?.start, t0, t1);
  }
  const rq = new RequestSums();
  const inSpan = (t: number | undefined) => t !== undefined && t >= t0 && t < t1;
  for (const r of store.requests.values()) {
    if (inSpan(r.arrival)) {
      rq.arrived++;
      rq.offered.add(requestWork(opts.work, r));
    }
    if (inSpan(r.firstToken)) rq.served.add(promptWork(opts.work, r));
    if (r.preemptions > 0 && (pendingAt(r, t1) || inSpan(endTime(r)))) rq.preempted++;
  }
  const log = store.gapLog!;
  for (let i = 0; i < log.id.length; i++) {
    const r = store.requests.get(log.id[i]!);
    if (r && inSpan(log.t[i]!)) rq.served.add(tokenWork(opts.work, r));
  }
  const parts = serveParts(store.requests.values(), (id) => gaps.get(id), { t0, t1 }, opts.slo);
  return assembleFigures(spanLabel(windowS), t0, t1, st, rq, parts, opts.price, rq.preempted);
}

/** The chart columns recomputed from the store's records. */
export function labSeries(store: RunStore, opts: FigureOptions): LabSeries {
  const now = store.now;
  const w = store.interval;
  const n = bucketCount(now, w);
  const b = new BucketSums();
  const steps = store.steps;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    b.addStep(s, w, now);
    b.addHold(s.queueDepth, s.start, steps[i + 1]?.start, w, now);
  }
  if (!store.gapLog) gapsOf(store);
  const log = store.gapLog!;
  const reqs = [...store.requests.values()];
  for (const r of reqs) {
    BucketSums.addAt(b.offered, r.arrival, requestWork(opts.work, r), w, now);
    if (r.firstToken !== undefined) BucketSums.addAt(b.served, r.firstToken, promptWork(opts.work, r), w, now);
  }
  for (let i = 0; i < log.id.length; i++) {
    const r = store.requests.get(log.id[i]!);
    if (r) BucketSums.addAt(b.served, log.t[i]!, tokenWork(opts.work, r), w, now);
  }
  const cols = Object.fromEntries(COLUMNS.map((c) => [c, b[c].values(n)])) as Record<ColumnName, number[]>;
  // Latency at each bucket end e: requests completed in [max(0, e - 10), e), and those pending at e.
  const done = reqs.filter((r) => r.status === 'finished' && r.finish !== undefined).sort((x, y) => x.finish! - y.finish!);
  const byArrival = [...reqs].sort((x, y) => x.arrival - y.arrival);
  const active = new Set<RequestRecord>();
  let nextArrival = 0;
  let first = 0;
  const latency: BucketLatency[] = [];
  for (let k = 0; k < n; k++) {
    const e = k + 1 < n ? (k + 1) * w : now;
    const lo = Math.max(0, e - WINDOW_S);
    const ttfts: number[] = [];
    const tpots: number[] = [];
    while (first < done.length && done[first]!.finish! < lo) first++;
    for (let i = first; i < done.length; i++) {
      const r = done[i]!;
      if (!(r.finish! < e)) break;
      const a = ttft(r);
      if (a !== undefined) ttfts.push(a);
      const p = tpot(r);
      if (p !== undefined) tpots.push(p);
    }
    while (nextArrival < byArrival.length && byArrival[nextArrival]!.arrival < e) active.add(byArrival[nextArrival++]!);
    const waiting: number[] = [];
    for (const r of active) {
      if (pendingAt(r, e)) waiting.push(ttftAt(r, e));
      else if ((endTime(r) ?? Infinity) < e) active.delete(r);
    }
    const st = sortedCopy(ttfts);
    const sp = sortedCopy(tpots);
    const both = sortedCopy([...ttfts, ...waiting]);
    const pct = (v: Float64Array, q: number) => (v.length ? ms(linearPercentile(rankedArray(v), q)) : null);
    latency.push({ ttftP50: pct(st, 50), ttftP99: pct(st, 99), tpotP50: pct(sp, 50), tpotP99: pct(sp, 99), ttftP99WithWaiting: pct(both, 99) });
  }
  return assembleSeries(w, now, cols, latency, opts.price);
}

/** The requests not ended at the store's now, recomputed from its records. */
export function pendingRequests(store: RunStore): PendingRequest[] {
  return pendingList(store.requests.values(), store.now, true);
}

// Percentiles three ways:
// - exact, over a whole run: sort once, then read ranks (nearest-rank or linear interpolation);
// - streaming, for runs too large to keep: a fixed-size log-bucketed histogram (DDSketch-style
//   buckets) with a stated relative error, mergeable across GPUs and workers;
// - sliding window, over the last W seconds, for live charts: events arrive in time order and
//   leave from the front of a FIFO;
// - offline windows over a finished run (RankedMultiset): exact, O(log n) per event.
// Percentiles are given as p in [0, 100]. Every summary reports p50/p90/p95/p99.

/**
 * How an exact percentile is read from sorted values x[0..n-1]:
 * - 'nearest-rank': the smallest value with at least p% of the values at or below it,
 *   x[ceil(p/100 * n) - 1] (rank clamped to 1..n). Always an observed value.
 * - 'linear': linear interpolation between closest ranks at position h = (n-1) * p/100
 *   (Hyndman & Fan type 7, the default of numpy and Excel's PERCENTILE.INC).
 */
export type PercentileMethod = 'nearest-rank' | 'linear';

/** The percentiles every summary reports. */
export const REPORTED_PERCENTILES = [50, 90, 95, 99] as const;

/** Count, mean, extremes and p50/p90/p95/p99 of a set of values; every number is NaN when count is 0. */
export interface PercentileSummary {
  count: number;
  mean: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
}

function checkP(p: number): void {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
}

/** Percentile p of values already sorted ascending. NaN when empty. */
export function percentileOfSorted(
  sorted: ArrayLike<number>,
  p: number,
  method: PercentileMethod = 'nearest-rank',
): number {
  checkP(p);
  const n = sorted.length;
  if (n === 0) return NaN;
  if (method === 'nearest-rank') {
    const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
    return sorted[rank - 1];
  }
  const h = (n - 1) * (p / 100);
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** A sorted copy of the values (numeric order, Float64Array). */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/** Percentile p of unsorted values (copies and sorts: O(n log n)). NaN when empty. */
export function percentile(values: ArrayLike<number>, p: number, method: PercentileMethod = 'nearest-rank'): number {
  return percentileOfSorted(sortedCopy(values), p, method);
}

/** Summary of values already sorted ascending. */
export function summarizeSorted(sorted: ArrayLike<number>, method: PercentileMethod = 'nearest-rank'): PercentileSummary {
  const n = sorted.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  return {
    count: n,
    mean: n ? sum / n : NaN,
    min: n ? sorted[0] : NaN,
    max: n ? sorted[n - 1] : NaN,
    p50: percentileOfSorted(sorted, 50, method),
    p90: percentileOfSorted(sorted, 90, method),
    p95: percentileOfSorted(sorted, 95, method),
    p99: percentileOfSorted(sorted, 99, method),
  };
}

/** Exact summary over a whole run: sorts a copy once. */
export function summarize(values: ArrayLike<number>, method: PercentileMethod = 'nearest-rank'): PercentileSummary {
  return summarizeSorted(sortedCopy(values), method);
}

export function emptySummary(): PercentileSummary {
  return { count: 0, mean: NaN, min: NaN, max: NaN, p50: NaN, p90: NaN, p95: NaN, p99: NaN };
}

// ---------------------------------------------------------------------------------------------
// Streaming: log-bucketed histogram

export interface LogHistogramOptions {
  /**
   * Relative error bound alpha (default 0.01 = 1%): every percentile the histogram reports is
   * within alpha * v of the exact nearest-rank percentile v, for values in [lowest, highest].
   */
  relativeError?: number;
  /** Smallest value resolved (default 1e-6). Values below it (0 included) fall in one underflow
   *  bucket and are reported with absolute error below `lowest`. */
  lowest?: number;
  /** Largest value resolved (default 1e6). Values above it are counted in the top bucket and lose
   *  the error bound (the reported value is still clamped to the exact max). */
  highest?: number;
}

/** Serializable form of a LogHistogram (sparse counts), for postMessage or JSON. */
export interface LogHistogramState {
  relativeError: number;
  lowest: number;
  highest: number;
  /** [bucket index, count] for non-empty buckets. */
  buckets: [number, number][];
  underflow: number;
  count: number;
  sum: number;
  min: number;
  max: number;
}

/**
 * Fixed-size log-bucketed histogram. Bucket k holds values in (g^(k-1), g^k] with
 * g = (1 + alpha) / (1 - alpha), and reports them as 2 g^k / (g + 1): every value in the bucket is
 * within relative error alpha of it. With the defaults (1%, 1e-6..1e6) it has 1382 buckets
 * (11 KB), whatever the number of values. Percentiles use the nearest-rank definition, so a
 * reported percentile is within alpha of the exact nearest-rank one. Add, remove and merge are
 * O(1) / O(buckets); a percentile query is O(buckets).
 */
export class LogHistogram {
  readonly relativeError: number;
  readonly lowest: number;
  readonly highest: number;
  private readonly gamma: number;
  private readonly logGamma: number;
  /** Bucket exponent of counts[0]. */
  private readonly kMin: number;
  private readonly counts: Float64Array;
  private underflow = 0;
  private n = 0;
  private total = 0;
  private lo = Infinity;
  private hi = -Infinity;
  /** False once a value was removed: min/max are then bounds, not exact. */
  private extremesExact = true;

  constructor(options: LogHistogramOptions = {}) {
    const alpha = options.relativeError ?? 0.01;
    const lowest = options.lowest ?? 1e-6;
    const highest = options.highest ?? 1e6;
    if (!(alpha > 0 && alpha < 1)) throw new RangeError(`relativeError must be in (0, 1), got ${alpha}`);
    if (!(lowest > 0 && highest > lowest)) throw new RangeError(`need 0 < lowest < highest, got ${lowest}, ${highest}`);
    this.relativeError = alpha;
    this.lowest = lowest;
    this.highest = highest;
    this.gamma = (1 + alpha) / (1 - alpha);
    this.logGamma = Math.log(this.gamma);
    this.kMin = Math.ceil(Math.log(lowest) / this.logGamma);
    const kMax = Math.ceil(Math.log(highest) / this.logGamma);
    this.counts = new Float64Array(kMax - this.kMin + 1);
  }

  /** Number of buckets (fixed by the options). */
  get bucketCount(): number {
    return this.counts.length;
  }
  get count(): number {
    return this.n;
  }
  get sum(): number {
    return this.total;
  }
  get mean(): number {
    return this.n ? this.total / this.n : NaN;
  }
  get min(): number {
    if (!this.n) return NaN;
    return this.extremesExact ? this.lo : this.percentile(0);
  }
  get max(): number {
    if (!this.n) return NaN;
    return this.extremesExact ? this.hi : this.percentile(100);
  }

  /** -1 for the underflow bucket, else an index into counts. */
  private indexOf(value: number): number {
    if (value < this.lowest) return -1;
    const k = Math.ceil(Math.log(value) / this.logGamma) - this.kMin;
    return Math.min(this.counts.length - 1, Math.max(0, k));
  }

  private check(value: number): void {
    if (!(value >= 0)) throw new RangeError(`LogHistogram takes values >= 0, got ${value}`);
  }

  /** Add a value (>= 0) `times` times (default once). */
  add(value: number, times = 1): void {
    this.check(value);
    const i = this.indexOf(value);
    if (i < 0) this.underflow += times;
    else this.counts[i] += times;
    this.n += times;
    this.total += value * times;
    if (value < this.lo) this.lo = value;
    if (value > this.hi) this.hi = value;
  }

  /** Remove a value added before (sliding windows). min/max become bounds from then on. */
  remove(value: number, times = 1): void {
    this.check(value);
    const i = this.indexOf(value);
    if (i < 0) this.underflow -= times;
    else this.counts[i] -= times;
    this.n -= times;
    this.total -= value * times;
    this.extremesExact = false;
    if (this.n === 0) this.clear();
  }

  clear(): void {
    this.counts.fill(0);
    this.underflow = 0;
    this.n = 0;
    this.total = 0;
    this.lo = Infinity;
    this.hi = -Infinity;
    this.extremesExact = true;
  }

  private sameConfig(o: { relativeError: number; lowest: number; highest: number }): boolean {
    return o.relativeError === this.relativeError && o.lowest === this.lowest && o.highest === this.highest;
  }

  /** Add another histogram's counts into this one (same options required). */
  merge(other: LogHistogram): this {
    if (!this.sameConfig(other)) throw new Error('LogHistogram.merge: histograms have different options');
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    this.underflow += other.underflow;
    this.n += other.n;
    this.total += other.total;
    this.lo = Math.min(this.lo, other.lo);
    this.hi = Math.max(this.hi, other.hi);
    this.extremesExact = this.extremesExact && other.extremesExact;
    return this;
  }

  /** Value reported for bucket index i (the bucket's midpoint in relative terms). */
  private representative(i: number): number {
    return (2 * Math.pow(this.gamma, i + this.kMin)) / (this.gamma + 1);
  }

  /** Nearest-rank percentile p, within `relativeError` of the exact one. NaN when empty. */
  percentile(p: number): number {
    checkP(p);
    if (this.n <= 0) return NaN;
    const rank = Math.min(this.n, Math.max(1, Math.ceil((p / 100) * this.n)));
    let v: number;
    if (rank <= this.underflow) v = 0;
    else {
      let seen = this.underflow;
      let i = 0;
      for (; i < this.counts.length - 1; i++) {
        seen += this.counts[i];
        if (seen >= rank) break;
      }
      v = this.representative(i);
    }
    // The exact value lies in [lo, hi] (bounds, even after removals): clamping only helps.
    return Math.min(this.hi, Math.max(this.lo, v));
  }

  summary(): PercentileSummary {
    if (this.n <= 0) return emptySummary();
    return {
      count: this.n,
      mean: this.mean,
      min: this.min,
      max: this.max,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p95: this.percentile(95),
      p99: this.percentile(99),
    };
  }

  toJSON(): LogHistogramState {
    const buckets: [number, number][] = [];
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i] !== 0) buckets.push([i, this.counts[i]]);
    return {
      relativeError: this.relativeError,
      lowest: this.lowest,
      highest: this.highest,
      buckets,
      underflow: this.underflow,
      count: this.n,
      sum: this.total,
      min: this.n ? this.lo : NaN,
      max: this.n ? this.hi : NaN,
    };
  }

  static fromJSON(state: LogHistogramState): LogHistogram {
    const h = new LogHistogram(state);
    for (const [i, c] of state.buckets) {
      if (!(i >= 0 && i < h.counts.length)) throw new RangeError(`LogHistogram.fromJSON: bucket ${i} out of range`);
      h.counts[i] = c;
    }
    h.underflow = state.underflow;
    h.n = state.count;
    h.total = state.sum;
    if (state.count > 0) {
      h.lo = state.min;
      h.hi = state.max;
    }
    return h;
  }
}

// ---------------------------------------------------------------------------------------------
// Sliding window

/** Growable FIFO of (time, value) pairs. */
class TimeQueue {
  private t = new Float64Array(64);
  private v = new Float64Array(64);
  private head = 0;
  private len = 0;

  get size(): number {
    return this.len;
  }
  push(t: number, v: number): void {
    if (this.len === this.t.length) {
      const cap = this.t.length * 2;
      const nt = new Float64Array(cap);
      const nv = new Float64Array(cap);
      for (let i = 0; i < this.len; i++) {
        const j = (this.head + i) % this.t.length;
        nt[i] = this.t[j];
        nv[i] = this.v[j];
      }
      this.t = nt;
      this.v = nv;
      this.head = 0;
    }
    const j = (this.head + this.len) % this.t.length;
    this.t[j] = t;
    this.v[j] = v;
    this.len++;
  }
  frontTime(): number {
    return this.t[this.head];
  }
  frontValue(): number {
    return this.v[this.head];
  }
  shift(): void {
    this.head = (this.head + 1) % this.t.length;
    this.len--;
  }
  clear(): void {
    this.head = 0;
    this.len = 0;
  }
}

/** First index in sorted a with a[i] >= x. */
function lowerBound(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface SlidingWindowOptions {
  /** Exact percentile method (default 'nearest-rank'); ignored in histogram mode. */
  method?: PercentileMethod;
  /**
   * Keep the window in a LogHistogram instead of a sorted array: O(1) add and evict, O(buckets)
   * query, approximate (nearest-rank, within relativeError). For windows holding ~1e5+ events.
   */
  histogram?: LogHistogramOptions;
}

/**
 * Percentiles over the last `seconds` seconds of a stream of (time, value) events added in time
 * order. After `advance(now)` the window holds the events with now - seconds <= t (and t <= now,
 * since later events are not added yet). Exact mode keeps the window's values in a sorted array:
 * add and evict are a binary search plus a splice (O(log k + k) for k events in the window; the
 * splice is a memmove), a percentile query is O(1).
 */
export class SlidingWindowPercentiles {
  readonly seconds: number;
  readonly method: PercentileMethod;
  private readonly queue = new TimeQueue();
  private readonly sorted: number[] = [];
  private readonly hist: LogHistogram | null;
  private lastTime = -Infinity;

  constructor(seconds: number, options: SlidingWindowOptions = {}) {
    if (!(seconds > 0)) throw new RangeError(`window must be > 0 s, got ${seconds}`);
    this.seconds = seconds;
    this.method = options.method ?? 'nearest-rank';
    this.hist = options.histogram ? new LogHistogram(options.histogram) : null;
  }

  /** Events in the window. */
  get size(): number {
    return this.queue.size;
  }

  /** Label for charts and summaries. */
  get window(): { seconds: number } {
    return { seconds: this.seconds };
  }

  /** Add an event; times must not decrease. Does not evict: call advance(). */
  add(t: number, value: number): void {
    if (t < this.lastTime) throw new RangeError(`SlidingWindowPercentiles: time ${t} before previous ${this.lastTime}`);
    this.lastTime = t;
    this.queue.push(t, value);
    if (this.hist) this.hist.add(value);
    else this.sorted.splice(lowerBound(this.sorted, value), 0, value);
  }

  /** Drop every event with t < cut. */
  evictBefore(cut: number): void {
    while (this.queue.size > 0 && this.queue.frontTime() < cut) {
      const v = this.queue.frontValue();
      this.queue.shift();
      if (this.hist) this.hist.remove(v);
      else this.sorted.splice(lowerBound(this.sorted, v), 1);
    }
  }

  /** Move the window's end to `now`: drops events older than now - seconds. */
  advance(now: number): void {
    this.evictBefore(now - this.seconds);
  }

  percentile(p: number): number {
    if (this.hist) return this.hist.percentile(p);
    return percentileOfSorted(this.sorted, p, this.method);
  }

  summary(): PercentileSummary {
    if (this.hist) return this.hist.summary();
    return summarizeSorted(this.sorted, this.method);
  }

  clear(): void {
    this.queue.clear();
    this.sorted.length = 0;
    this.hist?.clear();
    this.lastTime = -Infinity;
  }
}

// ---------------------------------------------------------------------------------------------
// Offline windows

/**
 * A multiset drawn from a set of values known in advance (e.g. a finished run's latencies),
 * supporting add, remove and exact percentiles in O(log n) each: a Fenwick tree of counts over
 * the sorted universe. For rolling windows over a whole run, where a sorted array's splices
 * would cost O(window) per event.
 */
export class RankedMultiset {
  private readonly universe: Float64Array;
  private readonly tree: Int32Array;
  private readonly topBit: number;
  private n = 0;

  /** universe: every value that may be added (any order, repeats allowed). */
  constructor(universe: ArrayLike<number>) {
    this.universe = sortedCopy(universe);
    this.tree = new Int32Array(this.universe.length + 1);
    let b = 1;
    while (b * 2 <= this.universe.length) b *= 2;
    this.topBit = b;
  }

  get size(): number {
    return this.n;
  }

  private update(value: number, delta: number): void {
    // First position of the value in the universe (repeats share it).
    let lo = 0;
    let hi = this.universe.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.universe[mid] < value) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.universe.length || this.universe[lo] !== value) {
      throw new RangeError(`RankedMultiset: ${value} is not in the universe`);
    }
    for (let i = lo + 1; i < this.tree.length; i += i & -i) this.tree[i] += delta;
    this.n += delta;
  }

  add(value: number): void {
    this.update(value, 1);
  }

  remove(value: number): void {
    this.update(value, -1);
  }

  /** The k-th smallest value held (1-based). */
  kth(k: number): number {
    let pos = 0;
    let rest = k;
    for (let b = this.topBit; b > 0; b >>= 1) {
      const next = pos + b;
      if (next < this.tree.length && this.tree[next] < rest) {
        pos = next;
        rest -= this.tree[next];
      }
    }
    return this.universe[pos];
  }

  /** Percentile p of the values held, by method (as percentileOfSorted). NaN when empty. */
  percentile(p: number, method: PercentileMethod = 'nearest-rank'): number {
    checkP(p);
    const n = this.n;
    if (n === 0) return NaN;
    if (method === 'nearest-rank') return this.kth(Math.min(n, Math.max(1, Math.ceil((p / 100) * n))));
    const h = (n - 1) * (p / 100);
    const lo = Math.floor(h);
    const a = this.kth(lo + 1);
    const b = this.kth(Math.min(n, lo + 2));
    return a + (h - lo) * (b - a);
  }
}

// ---------------------------------------------------------------------------------------------
// Exact sums and live order statistics (the lab's incremental metrics)
//
// The lab's metrics store keeps its figures up to date as records arrive, and they must equal a
// recomputation from the records exactly. Floating-point addition is not associative, so a sum
// kept as records arrive and one recomputed in another order would differ in the last bits.
// ExactSum keeps a sum without rounding (Shewchuk's non-overlapping partials, as Python's
// math.fsum) and reads it correctly rounded: the value depends only on the multiset of terms
// added (and removed), never on their order. OrderedMultiset holds values with counts, in
// blocks of sorted distinct values, for exact percentiles while values come and go.

/** The exact product a * b as hi + lo (Dekker's algorithm with Veltkamp's split; no overflow assumed). */
export function twoProduct(a: number, b: number): [number, number] {
  const p = a * b;
  const ca = 134217729 * a;
  const ah = ca - (ca - a);
  const al = a - ah;
  const cb = 134217729 * b;
  const bh = cb - (cb - b);
  const bl = b - bh;
  return [p, al * bl - (((p - ah * bh) - al * bh) - ah * bl)];
}

/**
 * A sum kept exactly: add and subtract in any order; value() is the exact sum rounded to the
 * nearest double (ties to even). Non-finite terms are summed apart (and then win).
 */
export class ExactSum {
  /** Non-overlapping partials p[0..n), increasing in magnitude; their exact sum is the sum. */
  private p: number[] = [];
  private n = 0;
  private special = 0;

  add(x: number): this {
    if (!Number.isFinite(x)) {
      this.special += x;
      return this;
    }
    const p = this.p;
    const n = this.n;
    let i = 0;
    for (let j = 0; j < n; j++) {
      let y = p[j]!;
      if (Math.abs(x) < Math.abs(y)) {
        const t = x;
        x = y;
        y = t;
      }
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) p[i++] = lo;
      x = hi;
    }
    // The array only grows (resizing it costs more than the arithmetic).
    if (i < p.length) p[i] = x;
    else p.push(x);
    this.n = i + 1;
    return this;
  }

  /** Adds a * b exactly (both parts of the product). */
  addProduct(a: number, b: number): this {
    const [hi, lo] = twoProduct(a, b);
    return this.add(hi).add(lo);
  }

  /** Adds every term of another sum (exactly). */
  addSum(o: ExactSum): this {
    for (let j = 0; j < o.n; j++) this.add(o.p[j]!);
    if (o.special !== 0 || Number.isNaN(o.special)) this.special += o.special;
    return this;
  }

  copy(): ExactSum {
    const c = new ExactSum();
    c.p = this.p.slice(0, this.n);
    c.n = this.n;
    c.special = this.special;
    return c;
  }

  /** The partials, whose exact sum is the sum. */
  get parts(): readonly number[] {
    return this.p.slice(0, this.n);
  }

  /** The sum, correctly rounded. */
  value(): number {
    if (this.special !== 0 || Number.isNaN(this.special)) return this.special;
    const p = this.p;
    let n = this.n;
    if (n === 0) return 0;
    let hi = p[--n]!;
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = p[--n]!;
      hi = x + y;
      const yr = hi - x;
      lo = y - yr;
      if (lo !== 0) break;
    }
    // Round half to even across the partials left below (fsum's correction).
    if (n > 0 && ((lo < 0 && p[n - 1]! < 0) || (lo > 0 && p[n - 1]! > 0))) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi;
  }
}

/**
 * A multiset of finite numbers with counts, for exact order statistics while values come and go.
 * Distinct values sit in sorted blocks of at most 2 * BLOCK; add and remove cost O(log blocks +
 * BLOCK), select O(log blocks + BLOCK). Values that repeat (a step interval shared by every request
 * in the batch) cost one slot each.
 */
export class OrderedMultiset {
  private static readonly BLOCK = 256;
  private keys: number[][] = [];
  private counts: number[][] = [];
  private totals: number[] = [];
  /** Prefix sums of totals (prefix[b] = values in blocks before b); rebuilt lazily. */
  private prefix: Float64Array | null = null;
  private n = 0;

  /** Values held, counting repeats. */
  get size(): number {
    return this.n;
  }

  /** Distinct values held. */
  get distinct(): number {
    let d = 0;
    for (const k of this.keys) d += k.length;
    return d;
  }

  /** First block whose last key >= x (the last block when none). */
  private blockFor(x: number): number {
    const keys = this.keys;
    let lo = 0;
    let hi = keys.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[mid]!;
      if (k[k.length - 1]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private static lowerBound(a: number[], x: number): number {
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(x: number): void {
    if (!Number.isFinite(x)) throw new RangeError(`OrderedMultiset: ${x} is not a finite number`);
    this.prefix = null;
    this.n++;
    if (this.keys.length === 0) {
      this.keys.push([x]);
      this.counts.push([1]);
      this.totals.push(1);
      return;
    }
    const b = this.blockFor(x);
    const k = this.keys[b]!;
    const c = this.counts[b]!;
    const i = OrderedMultiset.lowerBound(k, x);
    this.totals[b]!++;
    if (i < k.length && k[i] === x) {
      c[i]!++;
      return;
    }
    k.splice(i, 0, x);
    c.splice(i, 0, 1);
    if (k.length > 2 * OrderedMultiset.BLOCK) {
      const h = OrderedMultiset.BLOCK;
      const k2 = k.splice(h);
      const c2 = c.splice(h);
      let t2 = 0;
      for (const v of c2) t2 += v;
      this.totals[b]! -= t2;
      this.keys.splice(b + 1, 0, k2);
      this.counts.splice(b + 1, 0, c2);
      this.totals.splice(b + 1, 0, t2);
    }
  }

  /** Removes one copy of x; throws when x is not held. */
  remove(x: number): void {
    const b = this.keys.length ? this.blockFor(x) : -1;
    const k = this.keys[b];
    const i = k ? OrderedMultiset.lowerBound(k, x) : -1;
    if (!k || i >= k.length || k[i] !== x) throw new RangeError(`OrderedMultiset: ${x} is not held`);
    this.prefix = null;
    this.n--;
    const c = this.counts[b]!;
    this.totals[b]!--;
    if (--c[i]! > 0) return;
    k.splice(i, 1);
    c.splice(i, 1);
    if (k.length === 0) {
      this.keys.splice(b, 1);
      this.counts.splice(b, 1);
      this.totals.splice(b, 1);
    }
  }

  /** The r-th smallest value (0-based, repeats counted), 0 <= r < size. */
  select(r: number): number {
    if (!(r >= 0 && r < this.n)) throw new RangeError(`OrderedMultiset: rank ${r} outside [0, ${this.n})`);
    let prefix = this.prefix;
    if (!prefix) {
      prefix = new Float64Array(this.totals.length + 1);
      for (let b = 0; b < this.totals.length; b++) prefix[b + 1] = prefix[b]! + this.totals[b]!;
      this.prefix = prefix;
    }
    // Last block whose prefix <= r.
    let lo = 0;
    let hi = this.totals.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (prefix[mid]! <= r) lo = mid;
      else hi = mid - 1;
    }
    let rest = r - prefix[lo]!;
    const k = this.keys[lo]!;
    const c = this.counts[lo]!;
    for (let i = 0; i < k.length; i++) {
      rest -= c[i]!;
      if (rest < 0) return k[i]!;
    }
    throw new Error('OrderedMultiset: counts out of step (a bug)');
  }
}

/** Something that answers "the r-th smallest value" (0-based) over `size` values. */
export interface Ranked {
  readonly size: number;
  select(r: number): number;
}

/** Sorted values as a Ranked. */
export function rankedArray(sorted: ArrayLike<number>): Ranked {
  return { size: sorted.length, select: (r) => sorted[r]! };
}

/**
 * The union of a Ranked and a small sorted array (e.g. a run's completed latencies and the
 * requests still waiting), as a Ranked: select by binary search over how many of the r + 1
 * smallest come from the array, O(log(extra) x select).
 */
export function rankedUnion(m: Ranked, extra: ArrayLike<number>): Ranked {
  const p = extra.length;
  if (p === 0) return m;
  const size = m.size + p;
  return {
    size,
    select(r: number): number {
      if (!(r >= 0 && r < size)) throw new RangeError(`rank ${r} outside [0, ${size})`);
      const want = r + 1;
      let lo = Math.max(0, want - m.size);
      let hi = Math.min(want, p);
      for (;;) {
        const i = (lo + hi) >>> 1; // taken from extra; want - i from m
        const j = want - i;
        if (i < hi && j > 0 && extra[i]! < m.select(j - 1)) lo = i + 1;
        else if (i > lo && j < m.size && extra[i - 1]! > m.select(j)) hi = i - 1;
        else {
          const a = i > 0 ? extra[i - 1]! : -Infinity;
          const b = j > 0 ? m.select(j - 1) : -Infinity;
          return a > b ? a : b;
        }
      }
    },
  };
}

/** Percentile p of a Ranked by linear interpolation (percentileOfSorted's 'linear', same arithmetic). NaN when empty. */
export function linearPercentile(v: Ranked, p: number): number {
  checkP(p);
  const n = v.size;
  if (n === 0) return NaN;
  const h = (n - 1) * (p / 100);
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  const a = v.select(lo);
  const b = hi === lo ? a : v.select(hi);
  return a + (h - lo) * (b - a);
}

/** vLLM bench serve's summary of one metric: mean, median, population std and p90/p95/p99 (numpy's linear percentiles). */
export interface ServeStats {
  count: number;
  mean: number;
  median: number;
  std: number;
  p90: number;
  p95: number;
  p99: number;
}

/**
 * Population variance from n and the exact sums of x and x^2: (n Q - S^2) / n^2, with the
 * numerator computed exactly (so it is never negative, and 0 for equal values).
 */
export function exactVariance(n: number, sum: ExactSum, sumSq: ExactSum): number {
  if (n === 0) return NaN;
  const num = new ExactSum();
  for (const q of sumSq.parts) num.addProduct(n, q);
  const s = sum.parts;
  for (const a of s) for (const b of s) num.addProduct(-a, b);
  return num.value() / n / n;
}

/** ServeStats from the exact sums and a Ranked of the same values: equal for equal multisets. */
export function serveStatsOf(values: Ranked, sum: ExactSum, sumSq: ExactSum): ServeStats {
  const n = values.size;
  if (n === 0) return { count: 0, mean: NaN, median: NaN, std: NaN, p90: NaN, p95: NaN, p99: NaN };
  return {
    count: n,
    mean: sum.value() / n,
    median: linearPercentile(values, 50),
    std: Math.sqrt(exactVariance(n, sum, sumSq)),
    p90: linearPercentile(values, 90),
    p95: linearPercentile(values, 95),
    p99: linearPercentile(values, 99),
  };
}

/** ServeStats of a list of values (sorts a copy). */
export function serveStats(values: ArrayLike<number>): ServeStats {
  const sum = new ExactSum();
  const sq = new ExactSum();
  for (let i = 0; i < values.length; i++) {
    sum.add(values[i]!);
    sq.addProduct(values[i]!, values[i]!);
  }
  return serveStatsOf(rankedArray(sortedCopy(values)), sum, sq);
}

/** A live multiset of values with its exact sums: add and remove in any order. */
export class ExactDistribution {
  readonly values = new OrderedMultiset();
  readonly sum = new ExactSum();
  readonly sumSq = new ExactSum();

  get size(): number {
    return this.values.size;
  }

  add(x: number): void {
    this.values.add(x);
    this.sum.add(x);
    this.sumSq.addProduct(x, x);
  }

  remove(x: number): void {
    this.values.remove(x);
    this.sum.add(-x);
    this.sumSq.addProduct(-x, x);
  }

  /** ServeStats of the values held, plus `extra` (sorted ascending) when given. */
  stats(extra?: ArrayLike<number>): ServeStats {
    if (!extra || extra.length === 0) return serveStatsOf(this.values, this.sum, this.sumSq);
    const sum = this.sum.copy();
    const sq = this.sumSq.copy();
    for (let i = 0; i < extra.length; i++) {
      sum.add(extra[i]!);
      sq.addProduct(extra[i]!, extra[i]!);
    }
    return serveStatsOf(rankedUnion(this.values, extra), sum, sq);
  }

  /** Linear percentile p of the values held (with `extra`, sorted, when given). */
  percentile(p: number, extra?: ArrayLike<number>): number {
    return linearPercentile(extra && extra.length ? rankedUnion(this.values, extra) : this.values, p);
  }
}

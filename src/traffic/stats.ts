// Summary statistics of a trace: arrival rate and burstiness, token lengths, offered load.
import { traceDuration } from './scaling.js';
import type { Trace } from './types.js';

export interface TokenStats {
  mean: number;
  /** Nearest-rank percentiles. */
  p50: number;
  p99: number;
  max: number;
  total: number;
}

export interface TraceStats {
  count: number;
  /** Distinct tenant ids (0 when no request has one). */
  tenants: number;
  /** The window, s: durationS when the trace has one, else the last arrival (first is 0). */
  durationS: number;
  /** count / durationS, req/s (0 for a zero-length trace). */
  meanRate: number;
  /** Coefficient of variation of the gaps between consecutive arrivals (NaN with < 2 gaps). */
  interArrivalCv: number;
  prompt: TokenStats;
  output: TokenStats;
  /** (prompt + output tokens) / durationS. */
  offeredTokensPerS: number;
  /** output tokens / durationS. */
  outputTokensPerS: number;
}

/** The k-th smallest value (0-based) of a, partially reordering a (Hoare quickselect). */
function select(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    // Median of three as the pivot value.
    const mid = (lo + hi) >>> 1;
    const x = a[lo]!;
    const y = a[mid]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

function tokenStats(values: Float64Array): TokenStats {
  const n = values.length;
  if (n === 0) return { mean: NaN, p50: NaN, p99: NaN, max: NaN, total: 0 };
  let total = 0;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    total += v;
    if (v > max) max = v;
  }
  // Nearest rank: the ceil(p·n)-th smallest. Expected O(n), no full sort.
  const rank = (p: number): number => select(values, Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1)));
  return { mean: total / n, p50: rank(0.5), p99: rank(0.99), max, total };
}

export function traceStats(trace: Trace): TraceStats {
  const reqs = trace.requests;
  const n = reqs.length;
  const prompt = new Float64Array(n);
  const output = new Float64Array(n);
  const tenants = new Set<number>();
  // Welford over the gaps (numerically stable for long traces).
  let gaps = 0;
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < n; i++) {
    const r = reqs[i]!;
    prompt[i] = r.promptTokens;
    output[i] = r.outputTokens;
    if (r.tenant !== undefined) tenants.add(r.tenant);
    if (i > 0) {
      const g = r.arrival - reqs[i - 1]!.arrival;
      gaps++;
      const d = g - mean;
      mean += d / gaps;
      m2 += d * (g - mean);
    }
  }
  const durationS = traceDuration(trace);
  const p = tokenStats(prompt);
  const o = tokenStats(output);
  const per = (v: number): number => (durationS > 0 ? v / durationS : 0);
  return {
    count: n,
    tenants: tenants.size,
    durationS,
    meanRate: per(n),
    interArrivalCv: gaps >= 2 && mean > 0 ? Math.sqrt(m2 / gaps) / mean : NaN,
    prompt: p,
    output: o,
    offeredTokensPerS: per(p.total + o.total),
    outputTokensPerS: per(o.total),
  };
}

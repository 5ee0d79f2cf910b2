// Streaming figures of a simulation: nothing per request is kept. Latencies go into log-bucketed
// histograms (metrics/percentiles.ts: 1% relative error for the fleet, 5% per tenant and per
// time bucket), counts and sums into typed arrays per tenant, busy time and tokens per pool, and
// a time series in fixed buckets. Memory is O(tenants + pools + buckets), whatever the number of
// requests.
//
// What counts where (warmupS: the start of the measured span):
// - a request counts (latency, SLO, counts) when it arrived at or after warmupS;
// - busy time and tokens count for the part of each step after warmupS (a straddling step in
//   proportion to its overlap);
// - the time series covers the whole run, warm-up included; latencies are placed at the
//   request's finish (E2E) and first token (TTFT).
import { LogHistogram, type LogHistogramOptions } from '../metrics/percentiles.js';
import { e2e, hasSloTarget, meetsSlo, tpot, ttft, type Slo } from '../metrics/latency.js';
import type { RequestRecord } from '../metrics/records.js';

const FLEET_HIST: LogHistogramOptions = { relativeError: 0.01, lowest: 1e-6, highest: 1e6 };
const COARSE_HIST: LogHistogramOptions = { relativeError: 0.05, lowest: 1e-5, highest: 1e6 };

export interface CollectorOptions {
  tenants: number;
  pools: number;
  warmupS: number;
  /** SLO of each tenant (undefined: none). */
  tenantSlo: readonly (Slo | undefined)[];
  /** Time-series bucket width, s. */
  intervalS: number;
}

export class Collector {
  readonly warmupS: number;
  readonly intervalS: number;
  readonly hasSlo: boolean;
  // Fleet latency histograms.
  readonly ttft = new LogHistogram(FLEET_HIST);
  readonly tpot = new LogHistogram(FLEET_HIST);
  readonly e2e = new LogHistogram(FLEET_HIST);
  readonly wait = new LogHistogram(FLEET_HIST);
  /** Exact sums for means (the histograms' sums are exact too; these keep the textbook figures plain). */
  waitSum = 0;
  waitCount = 0;
  e2eSum = 0;
  // Request counts (measured span).
  arrived = 0;
  finished = 0;
  aborted = 0;
  preempted = 0;
  preemptions = 0;
  readonly rejected: Record<string, number> = {};
  rejectedTotal = 0;
  sloMet = 0;
  /** Requests with an SLO that ended (finished, rejected, aborted). */
  sloEnded = 0;
  /** Output tokens of finished requests (records). */
  finishedOutputTokens = 0;
  // Per tenant.
  readonly tArrived: Float64Array;
  readonly tFinished: Float64Array;
  readonly tRejected: Float64Array;
  readonly tOutputTokens: Float64Array;
  readonly tPromptTokens: Float64Array;
  readonly tTtftSum: Float64Array;
  readonly tE2eSum: Float64Array;
  readonly tWaitSum: Float64Array;
  readonly tWaitCount: Float64Array;
  readonly tSloMet: Float64Array;
  readonly tSloEnded: Float64Array;
  private readonly tTtftHist: (LogHistogram | undefined)[];
  private readonly tE2eHist: (LogHistogram | undefined)[];
  private readonly tenantSlo: readonly (Slo | undefined)[];
  // Per pool (measured span).
  readonly pBusy: Float64Array;
  readonly pSteps: Float64Array;
  readonly pDecode: Float64Array;
  readonly pPrefill: Float64Array;
  readonly pSampled: Float64Array;
  /** Useful work done, server-seconds (work.ts). */
  readonly pWork: Float64Array;
  // Time series (whole run), grown as time advances.
  readonly sArrivals: number[] = [];
  readonly sFinished: number[] = [];
  readonly sRejected: number[] = [];
  readonly sBusy: number[] = [];
  readonly sSampled: number[] = [];
  readonly sWork: number[] = [];
  readonly sTtft: (LogHistogram | undefined)[] = [];
  readonly sE2e: (LogHistogram | undefined)[] = [];

  constructor(o: CollectorOptions) {
    this.warmupS = o.warmupS;
    this.intervalS = o.intervalS;
    this.tenantSlo = o.tenantSlo;
    this.hasSlo = o.tenantSlo.some(hasSloTarget);
    const T = o.tenants;
    this.tArrived = new Float64Array(T);
    this.tFinished = new Float64Array(T);
    this.tRejected = new Float64Array(T);
    this.tOutputTokens = new Float64Array(T);
    this.tPromptTokens = new Float64Array(T);
    this.tTtftSum = new Float64Array(T);
    this.tE2eSum = new Float64Array(T);
    this.tWaitSum = new Float64Array(T);
    this.tWaitCount = new Float64Array(T);
    this.tSloMet = new Float64Array(T);
    this.tSloEnded = new Float64Array(T);
    this.tTtftHist = new Array(T).fill(undefined);
    this.tE2eHist = new Array(T).fill(undefined);
    const P = o.pools;
    this.pBusy = new Float64Array(P);
    this.pSteps = new Float64Array(P);
    this.pDecode = new Float64Array(P);
    this.pPrefill = new Float64Array(P);
    this.pSampled = new Float64Array(P);
    this.pWork = new Float64Array(P);
  }

  private bucket(t: number): number {
    const k = Math.max(0, Math.floor(t / this.intervalS));
    if (k < this.sArrivals.length) return k;
    while (this.sArrivals.length <= k) {
      this.sArrivals.push(0);
      this.sFinished.push(0);
      this.sRejected.push(0);
      this.sBusy.push(0);
      this.sSampled.push(0);
      this.sWork.push(0);
      this.sTtft.push(undefined);
      this.sE2e.push(undefined);
    }
    return k;
  }

  arrival(tenant: number, t: number): void {
    this.sArrivals[this.bucket(t)]!++;
    if (t < this.warmupS) return;
    this.arrived++;
    this.tArrived[tenant]!++;
  }

  /** A request rejected before reaching a scheduler (the pool's queue bound). */
  rejectAtRouter(tenant: number, t: number, reason: string): void {
    this.sRejected[this.bucket(t)]!++;
    if (t < this.warmupS) return;
    this.countRejection(tenant, reason);
  }

  private countRejection(tenant: number, reason: string): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
    this.rejectedTotal++;
    this.tRejected[tenant]!++;
    if (this.tenantSlo[tenant] !== undefined) {
      this.sloEnded++;
      this.tSloEnded[tenant]!++;
    }
  }

  /** A request's first admission, at `start` (queueing wait = start − arrival). */
  admitted(tenant: number, arrival: number, start: number): void {
    if (arrival < this.warmupS) return;
    const w = start - arrival;
    this.wait.add(w);
    this.waitSum += w;
    this.waitCount++;
    this.tWaitSum[tenant] += w;
    this.tWaitCount[tenant]!++;
  }

  /** A request's final record (from a scheduler's onRequest). */
  request(r: RequestRecord): void {
    const t = r.tenant;
    if (r.status === 'rejected') {
      this.sRejected[this.bucket(r.arrival)]!++;
      if (r.arrival >= this.warmupS) this.countRejection(t, r.rejectReason ?? 'rejected');
      return;
    }
    const end = r.finish ?? r.arrival;
    const k = this.bucket(end);
    const a = ttft(r);
    const e = e2e(r);
    if (r.status === 'finished') {
      this.sFinished[k]!++;
      if (e !== undefined) (this.sE2e[k] ??= new LogHistogram(COARSE_HIST)).add(e);
    }
    if (a !== undefined) {
      const kf = this.bucket(r.firstToken!);
      (this.sTtft[kf] ??= new LogHistogram(COARSE_HIST)).add(a);
    }
    if (r.arrival < this.warmupS) return;
    if (r.preemptions > 0) {
      this.preempted++;
      this.preemptions += r.preemptions;
    }
    if (r.status === 'aborted') this.aborted++;
    const slo = this.tenantSlo[t];
    if (slo !== undefined) {
      this.sloEnded++;
      this.tSloEnded[t]!++;
      if (meetsSlo(r, slo)) {
        this.sloMet++;
        this.tSloMet[t]!++;
      }
    }
    if (a !== undefined) {
      this.ttft.add(a);
      this.tTtftSum[t] += a;
      (this.tTtftHist[t] ??= new LogHistogram(COARSE_HIST)).add(a);
    }
    if (r.status !== 'finished') return;
    this.finished++;
    this.tFinished[t]!++;
    this.tOutputTokens[t] += r.outputTokens;
    this.tPromptTokens[t] += r.promptTokens;
    this.finishedOutputTokens += r.outputTokens;
    const p = tpot(r);
    if (p !== undefined) this.tpot.add(p);
    if (e !== undefined) {
      this.e2e.add(e);
      this.e2eSum += e;
      this.tE2eSum[t] += e;
      (this.tE2eHist[t] ??= new LogHistogram(COARSE_HIST)).add(e);
    }
  }

  /** A completed step of a server in `pool`. */
  step(pool: number, start: number, end: number, busy: number, decode: number, prefill: number, sampled: number, work = 0): void {
    // Time series: spread busy over the buckets the step covers; tokens at its end.
    const iv = this.intervalS;
    let k = this.bucket(start);
    const kEnd = end < (k + 1) * iv ? k : this.bucket(end);
    if (k === kEnd) this.sBusy[k] += busy;
    else {
      const rate = busy / (end - start);
      for (; k <= kEnd; k++) {
        const a = Math.max(start, k * iv);
        const b = Math.min(end, (k + 1) * iv);
        if (b > a) this.sBusy[k] += rate * (b - a);
      }
    }
    this.sSampled[kEnd] += sampled;
    this.sWork[kEnd] += work;
    const w = this.warmupS;
    if (end <= w && !(end === start && start === w)) return;
    const f = start >= w ? 1 : (end - w) / (end - start);
    this.pBusy[pool] += busy * f;
    this.pSteps[pool] += f;
    this.pDecode[pool] += decode * f;
    this.pPrefill[pool] += prefill * f;
    this.pSampled[pool] += sampled * f;
    this.pWork[pool] += work * f;
  }

  tenantTtftP99(t: number): number {
    return this.tTtftHist[t]?.percentile(99) ?? NaN;
  }
  tenantE2eP99(t: number): number {
    return this.tE2eHist[t]?.percentile(99) ?? NaN;
  }
  bucketTtftP99(k: number): number {
    return this.sTtft[k]?.percentile(99) ?? NaN;
  }
  bucketE2eP99(k: number): number {
    return this.sE2e[k]?.percentile(99) ?? NaN;
  }
}

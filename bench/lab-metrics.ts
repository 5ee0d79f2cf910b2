// `npm run bench:lab-metrics [-- --seconds 60,600,3600] [--rate R] [--ticks N] [--scratch] [--out FILE]`
// What one page tick costs in the lab's metrics store, as runs get long. A run's stream is
// simulated (src/lab/simulated-run.ts: the scheduler in virtual time at 200 steps/s, max batch
// 16, prompts 16-48 and outputs 32-96 tokens, Poisson arrivals at --rate requests/s, batches every
// 250 ms as LabRun sends them). For each run length the store takes the stream; the last --ticks
// batches are timed, each as the page ticks: add(batch), then the window and whole-run figures
// and the chart series. For the ratio, at the end: the old tick, what the page computed every
// 200 ms before the store kept its figures (src/metrics' span report, latency summary and goodput
// for the window and the whole run, and the bucketed series, all over every record); and, with
// --scratch on (default), the store's exact recomputation (figures x 2 + labSeries, the reference
// its tests compare with). Target: a tick under 5 ms at 3,600 s. The store's heap is measured
// when node runs with --expose-gc (the npm script passes it).
import { writeFileSync } from 'node:fs';
import { parseBenchArgs } from './args.js';
import { RunStore, WINDOW_S, bucketInterval, figures, labSeries, type RunStoreOptions } from '../src/lab/metrics.js';
import { goodput, summarizeLatency, type Slo } from '../src/metrics/latency.js';
import type { RequestRecord, StepRecord } from '../src/metrics/records.js';
import { buildTimeSeries, utilization } from '../src/metrics/utilization.js';
import { simulatedBatches, type SimulatedRunOptions } from '../src/lab/simulated-run.js';

const { values } = parseBenchArgs('bench:lab-metrics', {
  seconds: { type: 'string' },
  rate: { type: 'string' },
  ticks: { type: 'string' },
  scratch: { type: 'string' },
  out: { type: 'string' },
});

const lengths = (values.seconds ?? '60,600,3600').split(',').map((s) => {
  const v = Number(s);
  if (!(v >= 1 && v <= 7200)) throw new Error(`--seconds: each run length must be in [1, 7200] s, got '${s}'`);
  return v;
});
const rate = Number(values.rate ?? 45);
if (!(rate > 0)) throw new Error(`--rate must be > 0 requests/s, got '${values.rate}'`);
const ticks = Number(values.ticks ?? 40);
if (!(Number.isInteger(ticks) && ticks >= 1)) throw new Error(`--ticks must be a positive integer, got '${values.ticks}'`);
const scratch = (values.scratch ?? 'on') !== 'off';

// 1 ms of prompt work per 32 tokens; decode ~5 ms a step at batch 16 (a work model's shape, not a calibration).
const work = { prefillS: (p: number) => 0.002 + p / 32_000, decodeS: (p: number, m: number) => 0.0003 + 1e-6 * (p + m / 2) };
const options = (seconds: number, keepGaps: boolean): RunStoreOptions => ({ durationS: seconds, work, price: 2.5, slo: { ttft: 1, tpot: 0.05 }, keepGaps });
const sim = (seconds: number): SimulatedRunOptions => ({ seconds, arrivalRate: rate, prompt: [16, 48], output: [32, 96], maxBatch: 16, seed: 7 });

/**
 * The page's tick before the store kept its figures (src/lab/metrics.ts figures() twice and
 * labSeries() as they were): every figure from every record.
 */
function oldTick(steps: readonly StepRecord[], byId: ReadonlyMap<number, RequestRecord>, now: number, slo: Slo): void {
  const t1 = Math.max(now, 1e-3);
  for (const windowS of [WINDOW_S, undefined]) {
    const t0 = windowS === undefined ? 0 : Math.max(0, Math.min(t1 - 1e-3, t1 - windowS));
    const requests = [...byId.values()];
    utilization(steps, { t0, t1, gpus: 1 });
    let first = 0;
    for (const r of requests) if (r.firstToken !== undefined && r.firstToken >= t0 && r.firstToken < t1) first++;
    summarizeLatency(requests, { window: windowS === undefined ? 'run' : { seconds: t1 - t0, end: t1 } });
    goodput(requests, slo, { t0, t1 });
  }
  const requests = [...byId.values()];
  const interval = bucketInterval(t1);
  const ts = buildTimeSeries(steps, requests, { t0: 0, t1, interval, gpus: 1, latencyWindow: WINDOW_S, slo });
  const perBucket = new Array<number>(ts.t.length).fill(0);
  for (const r of requests) if (r.firstToken !== undefined && r.firstToken < t1) perBucket[Math.min(ts.t.length - 1, Math.floor(r.firstToken / interval))]! += 1;
}

const ms = (a: number, b: number) => b - a;
const quantile = (v: number[], q: number) => [...v].sort((x, y) => x - y)[Math.min(v.length - 1, Math.floor(q * v.length))]!;
const mb = (b: number) => Math.round(b / 2 ** 20);

interface Row {
  seconds: number;
  steps: number;
  requests: number;
  gaps: number;
  pending_at_end: number;
  tick_ms_mean: number;
  tick_ms_p90: number;
  tick_ms_max: number;
  add_ms_mean: number;
  read_ms_mean: number;
  /** The old tick (every figure from every record), ms, and old / new. */
  old_tick_ms: number;
  ratio: number;
  /** The store's exact recomputation, ms (null with --scratch off). */
  scratch_ms: number | null;
  /** The store's heap, MB (null without --expose-gc). */
  store_heap_mb: number | null;
}
const gc = (globalThis as { gc?: () => void }).gc;
const heap = () => {
  gc?.();
  return process.memoryUsage().heapUsed;
};

const rows: Row[] = [];
for (const seconds of lengths) {
  const h0 = heap();
  const store = new RunStore(1, options(seconds, false));
  let tick: number[] = [];
  let add: number[] = [];
  let read: number[] = [];
  let gaps = 0;
  // Every batch is a tick (the page reads after each); the last `ticks` are reported.
  for (const b of simulatedBatches(sim(seconds))) {
    gaps += b.gaps.id.length;
    const t0 = performance.now();
    store.add(b);
    const t1 = performance.now();
    store.windowFigures();
    store.runFigures();
    store.series();
    const t2 = performance.now();
    tick.push(ms(t0, t2));
    add.push(ms(t0, t1));
    read.push(ms(t1, t2));
  }
  const timed = Math.min(ticks, tick.length);
  [tick, add, read] = [tick, add, read].map((v) => v.slice(-timed));
  const storeHeap = gc ? heap() - h0 : null;
  const run = store.runFigures();
  const old: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    oldTick(store.steps, store.requests, store.now, store.options.slo);
    old.push(performance.now() - t0);
  }
  const oldMs = quantile(old, 0.5);
  let scratchMs: number | null = null;
  if (scratch) {
    const full = new RunStore(1, options(seconds, true));
    for (const b of simulatedBatches(sim(seconds))) full.add(b);
    const o = full.options;
    const t0 = performance.now();
    figures(full, o, WINDOW_S);
    figures(full, o);
    labSeries(full, o);
    scratchMs = performance.now() - t0;
  }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const row: Row = {
    seconds,
    steps: store.steps.length,
    requests: store.requests.size,
    gaps,
    pending_at_end: run.serve.pending,
    tick_ms_mean: +mean(tick).toFixed(3),
    tick_ms_p90: +quantile(tick, 0.9).toFixed(3),
    tick_ms_max: +Math.max(...tick).toFixed(3),
    add_ms_mean: +mean(add).toFixed(3),
    read_ms_mean: +mean(read).toFixed(3),
    old_tick_ms: +oldMs.toFixed(1),
    ratio: +(oldMs / mean(tick)).toFixed(0),
    scratch_ms: scratchMs === null ? null : +scratchMs.toFixed(1),
    store_heap_mb: storeHeap === null ? null : mb(storeHeap),
  };
  rows.push(row);
  console.log(
    `${String(seconds).padStart(5)} s: ${row.steps} steps, ${row.requests} requests, ${row.gaps} gaps, ${row.pending_at_end} pending at the end | ` +
      `tick ${row.tick_ms_mean} ms mean, ${row.tick_ms_p90} p90, ${row.tick_ms_max} max (add ${row.add_ms_mean}, read ${row.read_ms_mean}) over ${timed} ticks` +
      ` | old tick ${row.old_tick_ms} ms (${row.ratio}x)` +
      (scratchMs === null ? '' : ` | exact recomputation ${row.scratch_ms} ms`) +
      (row.store_heap_mb === null ? '' : ` | store heap ${row.store_heap_mb} MB`),
  );
}
const last = rows.find((r) => r.seconds === 3600);
if (last) console.log(`3,600 s: ${last.tick_ms_mean} ms a tick, target < 5 ms: ${last.tick_ms_mean < 5 ? 'met' : 'NOT met'}`);
if (values.out) writeFileSync(values.out, `${JSON.stringify({ rate, ticks, stepsPerS: 200, rows }, null, 1)}\n`);

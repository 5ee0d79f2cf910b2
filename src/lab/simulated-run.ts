// A lab run's metrics stream without a model: the scheduler driven in virtual time with a fixed
// step time, its records gathered into MetricsBatches exactly as LabRun gathers them (steps, changed
// request records, the gaps between each request's tokens; at the end the requests still queued or
// running). For the metrics benchmark (bench/lab-metrics.ts) and the metrics store's tests:
// realistic record streams of any length in milliseconds. Seeded, deterministic.
import { Scheduler, type PreemptionMode, type SchedulingPolicy } from '../engine/scheduler.js';
import type { RequestRecord, StepRecord } from '../metrics/records.js';
import { Rng } from '../ops/random.js';
import { encodeGaps, encodeRequests, encodeSteps, type MetricsBatch } from './protocol.js';

export interface SimulatedRunOptions {
  /** Run length, s of virtual time. */
  seconds: number;
  /** Seconds per step (default 1/200: 200 steps/s). */
  stepS?: number;
  /** Mean requests per second (Poisson arrivals). */
  arrivalRate: number;
  /** Prompt and output lengths: uniform integers in [min, max]. */
  prompt: [number, number];
  output: [number, number];
  maxBatch?: number;
  /** Token budget per step (default maxBatch + 48). */
  tokenBudget?: number;
  maxPrefillChunk?: number;
  /** KV blocks of 16 positions (default: every sequence at full context: no preemption). */
  kvBlocks?: number;
  maxContext?: number;
  policy?: SchedulingPolicy;
  preemption?: PreemptionMode;
  tenants?: number;
  /** Metrics batch interval, s (default 0.25, LabRun's). */
  flushS?: number;
  /** Busy time of a step as a fraction of its duration (default 0.9). */
  busyFraction?: number;
  /**
   * A coarse clock (s): arrivals are read off it (rounded up to its ticks), as a browser's
   * performance.now() is coarsened; with stepS a multiple of it, events land exactly on flush times.
   */
  clockS?: number;
  seed?: number;
}

/**
 * The batches of a simulated run, in order; the last has done = true and carries every request
 * still queued or running. Batch times follow LabRun: `now` is the flush time, capped at the
 * run's end; a batch carries every event before it; a step in flight at a flush is reported in
 * the next batch (it started before that batch's predecessor's `now`), and the one in flight at
 * the end in the last batch (it ends after `now`).
 */
export function* simulatedBatches(o: SimulatedRunOptions): Generator<MetricsBatch> {
  const rng = new Rng(o.seed ?? 1);
  const stepS = o.stepS ?? 1 / 200;
  const maxBatch = o.maxBatch ?? 16;
  const maxContext = o.maxContext ?? 256;
  const chunk = o.maxPrefillChunk ?? 48;
  const flushS = o.flushS ?? 0.25;
  const busy = o.busyFraction ?? 0.9;
  const changed = new Map<number, Readonly<RequestRecord>>();
  const live = new Set<number>();
  const sched = new Scheduler({
    maxBatch,
    tokenBudget: o.tokenBudget ?? maxBatch + chunk,
    maxPrefillChunk: chunk,
    policy: o.policy ?? 'fcfs',
    preemption: o.preemption ?? 'recompute',
    kv: { blockSize: 16, numBlocks: o.kvBlocks ?? maxBatch * Math.ceil(maxContext / 16) },
    maxContext,
    keepRecords: false,
    onRequest: (r) => {
      changed.set(r.id, r);
      live.delete(r.id);
    },
  });
  const uniform = ([a, b]: [number, number]) => a + Math.floor(rng.next() * (b - a + 1));
  const nextGap = () => -Math.log(1 - rng.next()) / o.arrivalRate;
  const clock = (t: number) => (o.clockS ? Math.ceil(t / o.clockS) * o.clockS : t);
  let steps: StepRecord[] = [];
  let gaps: { id: number[]; t: number[]; gap: number[] } = { id: [], t: [], gap: [] };
  const lastToken = new Map<number, number>();
  let nextArrival = nextGap();
  let nextId = 0;
  let t = 0;
  let nextFlush = flushS;
  const batch = (now: number, done: boolean): MetricsBatch => {
    if (done) for (const id of live) changed.set(id, sched.get(id)!.record);
    const b: MetricsBatch = {
      run: 1,
      now,
      steps: encodeSteps(steps),
      requests: encodeRequests([...changed.values()]),
      gaps: encodeGaps(gaps.id, gaps.t, gaps.gap),
      queueDepth: sched.queueDepth,
      running: sched.runningCount,
      badMessages: 0,
      done,
    };
    steps = [];
    gaps = { id: [], t: [], gap: [] };
    changed.clear();
    return b;
  };
  const arriveUntil = (until: number) => {
    while (clock(nextArrival) <= until && nextArrival < o.seconds) {
      const id = nextId++;
      const r = sched.submit({ id, tenant: id % (o.tenants ?? 4), arrival: clock(nextArrival), promptTokens: uniform(o.prompt), maxOutputTokens: uniform(o.output) });
      changed.set(id, r.record);
      if (r.accepted) live.add(id);
      nextArrival += nextGap();
    }
  };
  for (;;) {
    arriveUntil(t);
    while (nextFlush <= t && nextFlush < o.seconds) {
      yield batch(nextFlush, false);
      nextFlush += flushS;
    }
    if (t >= o.seconds) break;
    const plan = sched.nextStep(t);
    if (!plan) {
      // Idle until the next arrival (or flush, or the end).
      t = Math.min(clock(nextArrival), nextFlush, o.seconds);
      continue;
    }
    const sampled: { id: number; first: boolean }[] = [];
    for (const e of plan.entries) if (e.samples) sampled.push({ id: e.seq.id, first: e.seq.outputTokens === 0 });
    const end = t + stepS;
    // Flushes while the step is in flight: it is reported in the next batch (it started before).
    while (nextFlush < end && nextFlush < o.seconds) {
      arriveUntil(nextFlush);
      yield batch(nextFlush, false);
      nextFlush += flushS;
    }
    steps.push(sched.completeStep(plan, { start: t, end, busy: stepS * busy, timing: 'timestamp' }));
    for (const s of sampled) {
      const last = lastToken.get(s.id);
      if (!s.first && last !== undefined) {
        gaps.id.push(s.id);
        gaps.t.push(end);
        gaps.gap.push(end - last);
      }
      lastToken.set(s.id, end);
      // LabRun reports a request's record when its first token comes (onToken index 0).
      const live = sched.get(s.id);
      if (s.first && live) changed.set(s.id, live.record);
    }
    for (const f of plan.finished) lastToken.delete(f.id);
    t = end;
  }
  yield batch(o.seconds, true);
}

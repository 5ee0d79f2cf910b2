// One live lab run: the Engine over a Backend with a pausable clock, requests from tenants, and
// the records it produces gathered into MetricsBatches every `flushMs`. The engine worker runs one
// at a time; the Node bench (bench/batching.ts) drives the same class without workers.
//
// Life: start() -> [pause() / resume()]* -> ends at durationS of run time (or stop()). At the end
// the last batch is flushed first, with every request still queued or running in it as such
// (its current record: the store reports it as pending with its age), then they are aborted so
// the backend's sequences are free for the next run; those aborts are not reported.
//
// Token gaps: every token the engine samples is timed at the end of its step (the run clock's
// time of the step's record, which is also the request's firstToken / finish time), and each
// token after a request's first goes out as (request, time, gap since its previous token):
// vLLM's ITL list, recompute stalls included.
import { Engine, type Clock } from '../engine/engine.js';
import type { PreemptionMode, SchedulingPolicy } from '../engine/scheduler.js';
import type { Backend } from '../model/backend.js';
import type { RequestRecord, StepRecord } from '../metrics/records.js';
import { encodeGaps, encodeRequests, encodeSteps, type MetricsBatch, type TenantRequestMessage } from './protocol.js';

/** Engine settings of a lab run. */
export interface LabEngineConfig {
  maxBatch: number;
  policy: SchedulingPolicy;
  preemption: PreemptionMode;
  /** Fraction of the backend's KV cache the scheduler may use (default 1). */
  kvFraction?: number;
  /** Run time after which the run ends, s. */
  durationS: number;
  /** Metrics batch interval, ms (default 250). */
  flushMs?: number;
}

/** What the run was set up with (for the page and the export). */
export interface LabRunInfo {
  run: number;
  maxBatch: number;
  tokenBudget: number;
  maxPrefillChunk: number;
  kvBlocks: number;
  kvBlockSize: number;
  maxContext: number;
  /** How busy time is measured: GPU timestamp queries per step, or submit-to-results wall time. */
  timing: 'timestamp' | 'wall';
}

/** Prefill chunk per sequence per step: long prompts are split so decodes are not stalled. */
export const LAB_PREFILL_CHUNK = 48;

/** Seconds that stop while paused. */
export class PausableClock implements Clock {
  private t0 = performance.now();
  private pausedAt: number | null = null;
  now(): number {
    const t = this.pausedAt ?? performance.now();
    return (t - this.t0) / 1000;
  }
  get paused(): boolean {
    return this.pausedAt !== null;
  }
  pause(): void {
    if (this.pausedAt === null) this.pausedAt = performance.now();
  }
  resume(): void {
    if (this.pausedAt === null) return;
    this.t0 += performance.now() - this.pausedAt;
    this.pausedAt = null;
  }
}

/** Paged-backend facts the scheduler's KV budget must match. */
function kvOf(backend: Backend): { numBlocks: number; blockSize: number } {
  const b = backend as Partial<{ numBlocks: number; blockSize: number }>;
  if (typeof b.numBlocks === 'number' && typeof b.blockSize === 'number') return { numBlocks: b.numBlocks, blockSize: b.blockSize };
  // The CPU reference has no paged cache: give the scheduler room for every sequence at full context.
  const blockSize = 16;
  return { numBlocks: backend.maxSequences * Math.ceil(backend.config.seqLen / blockSize), blockSize };
}

export class LabRun {
  readonly engine: Engine;
  readonly clock = new PausableClock();
  readonly info: LabRunInfo;
  private readonly config: LabEngineConfig;
  private readonly onBatch: (b: MetricsBatch) => void;
  private steps: StepRecord[] = [];
  private changed = new Map<number, Readonly<RequestRecord>>();
  private live = new Set<number>();
  /** Tokens sampled by the step in progress (request id, output index), timed at its end. */
  private stepTokens: [number, number][] = [];
  /** Time of each live request's latest token. */
  private lastToken = new Map<number, number>();
  /** Requests settled since the last step (their lastToken entry goes once the step's tokens are timed). */
  private settled: number[] = [];
  private gaps: { id: number[]; t: number[]; gap: number[] } = { id: [], t: [], gap: [] };
  private loop?: Promise<void>;
  private timer?: ReturnType<typeof setInterval>;
  private ended = false;
  private badMessages = 0;
  private lastBad?: string;
  private failure?: string;
  /** Resolves when the run has ended and its last batch was sent. */
  readonly finished: Promise<void>;
  private resolveFinished!: () => void;

  constructor(backend: Backend, run: number, config: LabEngineConfig, onBatch: (b: MetricsBatch) => void) {
    const c = backend.config;
    if (!(Number.isInteger(config.maxBatch) && config.maxBatch >= 1 && config.maxBatch <= backend.maxSequences)) {
      throw new RangeError(`max batch must be an integer in 1..${backend.maxSequences}, got ${config.maxBatch}`);
    }
    if (!(config.durationS > 0)) throw new RangeError(`duration must be > 0 s, got ${config.durationS}`);
    const full = kvOf(backend);
    const frac = config.kvFraction ?? 1;
    if (!(frac > 0 && frac <= 1)) throw new RangeError(`KV fraction must be in (0, 1], got ${frac}`);
    // Never below one sequence at full context, or a long request could never be admitted.
    const oneSeq = Math.ceil(c.seqLen / full.blockSize);
    const kv = { blockSize: full.blockSize, numBlocks: Math.max(oneSeq, Math.min(full.numBlocks, Math.floor(full.numBlocks * frac))) };
    const maxPrefillChunk = Math.min(LAB_PREFILL_CHUNK, c.seqLen);
    const limit = (backend as Partial<{ maxTokensPerStep: number }>).maxTokensPerStep ?? Infinity;
    const tokenBudget = Math.min(limit, config.maxBatch + maxPrefillChunk);
    this.config = config;
    this.onBatch = onBatch;
    this.info = {
      run,
      maxBatch: config.maxBatch,
      tokenBudget,
      maxPrefillChunk,
      kvBlocks: kv.numBlocks,
      kvBlockSize: kv.blockSize,
      maxContext: c.seqLen,
      // The backend has run calibration steps by now; it says how it measured them.
      timing: backend.lastStepMeasure?.timing ?? 'wall',
    };
    this.finished = new Promise((r) => (this.resolveFinished = r));
    // The scheduler settings a run uses (capacity.ts labScheduler derives the same ones).
    const scheduler = { maxBatch: config.maxBatch, tokenBudget, maxPrefillChunk, policy: config.policy, preemption: config.preemption, kv };
    this.engine = new Engine(backend, {
      scheduler,
      clock: this.clock,
      // The traffic sets output lengths: an early EOS would change the offered work.
      stopAtEos: false,
      onStep: (s) => this.onStep(s),
      onRequest: (r) => {
        this.changed.set(r.id, r);
        this.live.delete(r.id);
        this.settled.push(r.id);
      },
      onToken: (id, _token, index) => {
        this.stepTokens.push([id, index]);
        if (index === 0) {
          const r = this.engine.scheduler.get(id)?.record;
          if (r) this.changed.set(id, r);
        }
      },
    });
  }

  /** A step ended: its record, and its tokens timed at its end. */
  private onStep(s: StepRecord): void {
    this.steps.push(s);
    const t = s.end;
    for (const [id, index] of this.stepTokens) {
      const last = this.lastToken.get(id);
      if (index > 0 && last !== undefined) {
        this.gaps.id.push(id);
        this.gaps.t.push(t);
        this.gaps.gap.push(t - last);
      }
      this.lastToken.set(id, t);
    }
    this.stepTokens = [];
    for (const id of this.settled) this.lastToken.delete(id);
    this.settled = [];
  }

  get paused(): boolean {
    return this.clock.paused;
  }

  get done(): boolean {
    return this.ended;
  }

  /** Run time after which the run ends and takes no more requests, s. */
  get durationS(): number {
    return this.config.durationS;
  }

  start(): void {
    this.runLoop();
    this.timer = setInterval(() => this.tick(), this.config.flushMs ?? 250);
  }

  /** Queues a tenant's request (dropped, and counted, after the run ended or when malformed). */
  submit(m: TenantRequestMessage): void {
    // A request that comes at or after the run's end is not part of the run (the end is noticed on
    // the next flush tick, which a long step can delay).
    if (this.ended || this.clock.now() >= this.config.durationS) return;
    if (m?.type !== 'request' || !(m.prompt instanceof Uint32Array) || !Number.isInteger(m.tenant) || !Number.isInteger(m.maxOutputTokens)) {
      this.bad('not a request message');
      return;
    }
    let r;
    try {
      r = this.engine.submit({ tenant: m.tenant, prompt: Array.from(m.prompt), maxOutputTokens: m.maxOutputTokens });
    } catch (e) {
      this.bad((e as Error).message);
      return;
    }
    if (r.accepted) {
      this.live.add(r.id);
      const rec = this.engine.scheduler.get(r.id)?.record;
      if (rec) this.changed.set(r.id, rec);
      r.done.catch(() => {}); // a failed step is reported through the batch's error
    } else this.changed.set(r.id, r.record);
  }

  /** Stops stepping after the step in progress, then freezes the clock. */
  async pause(): Promise<void> {
    if (this.ended || this.clock.paused) return;
    this.engine.stop();
    await this.loop;
    this.clock.pause();
    this.flush(false);
  }

  resume(): void {
    if (this.ended || !this.clock.paused) return;
    this.clock.resume();
    this.runLoop();
  }

  /** Ends the run now (or at its duration). */
  async stop(): Promise<void> {
    if (this.ended) return this.finished;
    this.ended = true;
    clearInterval(this.timer);
    this.engine.stop();
    await this.loop;
    this.clock.pause();
    this.flush(true);
    // Free the backend's sequences; these aborts are not reported (the last batch has them as they were).
    for (const id of [...this.live]) this.engine.abort(id);
    this.live.clear();
    this.lastToken.clear();
    this.resolveFinished();
  }

  private runLoop(): void {
    this.loop = this.engine.run().catch((e: unknown) => {
      this.failure = (e as Error)?.message ?? String(e);
      void this.stop();
    });
  }

  private tick(): void {
    if (this.ended) return;
    if (this.clock.now() >= this.config.durationS) {
      void this.stop();
      return;
    }
    if (!this.clock.paused) this.flush(false);
  }

  private bad(why: string): void {
    this.badMessages++;
    this.lastBad = why;
  }

  private flush(done: boolean): void {
    const steps = this.steps;
    this.steps = [];
    const s = this.engine.scheduler;
    // At the end, every request still queued or running goes out with its current record.
    if (done) {
      for (const id of this.live) {
        const r = s.get(id)?.record;
        if (r) this.changed.set(id, r);
      }
    }
    const reqs = [...this.changed.values()];
    this.changed.clear();
    const g = this.gaps;
    this.gaps = { id: [], t: [], gap: [] };
    const batch: MetricsBatch = {
      run: this.info.run,
      now: Math.min(this.clock.now(), this.config.durationS),
      steps: encodeSteps(steps),
      requests: encodeRequests(reqs),
      gaps: encodeGaps(g.id, g.t, g.gap),
      queueDepth: s.queueDepth,
      running: s.runningCount,
      badMessages: this.badMessages,
      done,
    };
    if (this.lastBad) batch.lastBadMessage = this.lastBad;
    if (this.failure) batch.error = this.failure;
    this.onBatch(batch);
  }
}

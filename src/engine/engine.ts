// The live engine: the scheduler's plans run on a Backend (GPU, or the CPU reference) with real
// token ids and real time. It holds each request's tokens (prompt, then generated), maps
// scheduler sequences to backend sequences (created on admission or recompute, freed on finish
// or preemption), hands the backend each entry's KV block table from the scheduler (the one
// block allocator), samples with a per-request seeded Rng, stops early on EOS, measures busy time
// and streams step and request records. It keeps no finished request: records leave through
// onRequest (the scheduler's keepRecords is off unless asked for).
//
// Sampling is per request and independent of the batch: request r draws one uniform number from
// Rng(r.seed) for each output token, in order, so its tokens do not depend on what else runs
// (generateBatch's rule, with seed + i for its prompt i). Continuous batching, chunked prefill
// and preemption do not change greedy outputs.
import type { Backend, StepEntry } from '../model/backend.js';
import { kvDim, type ModelConfig } from '../model/config.js';
import { EOS } from '../model/generate.js';
import type { RequestRecord, StepRecord } from '../metrics/records.js';
import { Rng } from '../ops/random.js';
import { Scheduler, type Rejection, type SchedulerConfig } from './scheduler.js';
import type { KvBudget } from './kv-allocator.js';

/** Time source, in seconds on the run's clock. */
export interface Clock {
  now(): number;
}

/** Wall-clock seconds since the call (performance.now()), for live runs. */
export function wallClock(): Clock {
  const t0 = performance.now();
  return { now: () => (performance.now() - t0) / 1000 };
}

/** Bytes of KV cache per block of `blockSize` positions: K and V, f32, every layer. */
export function kvBytesPerBlock(config: ModelConfig, blockSize: number): number {
  return blockSize * kvDim(config) * 4 * 2 * config.nLayers;
}

/** Options for GpuBackend that give it exactly the scheduler's KV budget. */
export function gpuKvOptions(config: ModelConfig, kv: KvBudget): { blockSize: number; kvBudgetBytes: number } {
  return { blockSize: kv.blockSize, kvBudgetBytes: kv.numBlocks * kvBytesPerBlock(config, kv.blockSize) };
}

/** KV blocks of `blockSize` positions that fit in `bytes` of memory. */
export function kvBlocksForBytes(config: ModelConfig, bytes: number, blockSize: number): number {
  return Math.floor(bytes / kvBytesPerBlock(config, blockSize));
}

export interface LiveRequest {
  /** Default: the next unused number from 0. */
  id?: number;
  tenant?: number;
  /** Prompt token ids (BOS included). */
  prompt: readonly number[];
  maxOutputTokens: number;
  /** 0 (default) is greedy. */
  temperature?: number;
  /** Default 1 (no nucleus truncation). */
  topP?: number;
  /** Seed of the request's sampler (default 0). */
  seed?: number;
  /** Arrival time on the engine's clock (default: now). */
  arrival?: number;
}

export interface LiveResult {
  id: number;
  /** Generated tokens (an EOS that stopped the request is not included). */
  tokens: number[];
  /** The request's final record (its outputTokens counts a stopping EOS: the step produced it). */
  record: Readonly<RequestRecord>;
  stopReason: 'length' | 'eos' | 'aborted';
}

export type LiveSubmit =
  | { accepted: true; id: number; done: Promise<LiveResult> }
  | (Rejection & { id: number; record: Readonly<RequestRecord> });

/** Busy time of the step just run, from a profiler. */
export interface StepMeasure {
  busy: number;
  timing: 'timestamp' | 'wall';
}

export interface EngineOptions {
  /**
   * Scheduler settings; maxContext defaults to the model's context, keepRecords to false (final
   * records go to onRequest; true keeps every one for scheduler.records(), e.g. in a test).
   */
  scheduler: Omit<SchedulerConfig, 'maxContext' | 'onRequest'> & { maxContext?: number };
  /** Default: wallClock(). */
  clock?: Clock;
  /**
   * Busy seconds of the step just run (e.g. from the Profiler's timestamp queries). Default, or
   * when it returns undefined: the backend's own measure (Backend.lastStepMeasure: the GPU
   * backend times each step with timestamp queries), else the wall time of its step() call,
   * labelled 'wall'.
   */
  measure?: () => StepMeasure | undefined;
  /** End a request when it samples EOS (default true). */
  stopAtEos?: boolean;
  /** Default: EOS (2), llama2.c's. */
  eosToken?: number;
  /**
   * Awaited between steps so other work (submissions, messages) gets the event loop. Default: a
   * zero timeout for the CPU backend, whose steps never yield; nothing for the GPU (mapAsync yields).
   */
  yieldBetweenSteps?: () => Promise<void>;
  onStep?: (record: StepRecord) => void;
  /** A request's final record (finished, rejected, aborted). */
  onRequest?: (record: RequestRecord) => void;
  /** Every generated token as it is produced (index from 0). */
  onToken?: (id: number, token: number, index: number) => void;
}

interface LiveState {
  id: number;
  /** Prompt then generated tokens: everything a recompute prefill may need. */
  tokens: number[];
  promptLength: number;
  temperature: number;
  topP: number;
  rng: Rng;
  /** Backend sequence, -1 when it holds none (queued or preempted). */
  seq: number;
  eos: boolean;
  /** The scheduler's record (final once the request settles). */
  record: Readonly<RequestRecord>;
  resolve: (r: LiveResult) => void;
  reject: (e: unknown) => void;
}

export class Engine {
  readonly scheduler: Scheduler;
  readonly clock: Clock;
  private readonly backend: Backend;
  private readonly options: EngineOptions;
  private readonly reqs = new Map<number, LiveState>();
  private readonly stopAtEos: boolean;
  private readonly eos: number;
  private readonly yieldFn?: () => Promise<void>;
  private nextId = 0;
  private stepping = false;
  private looping = false;
  private stopped = false;
  private failure: unknown;
  private wakers: (() => void)[] = [];
  /** Counts submit/abort/stop events, so run() never sleeps through one. */
  private wakes = 0;

  constructor(backend: Backend, options: EngineOptions) {
    const cfg = options.scheduler;
    const seqLen = backend.config.seqLen;
    const maxContext = cfg.maxContext ?? seqLen;
    if (maxContext > seqLen) {
      throw new Error(`engine: maxContext ${maxContext} exceeds the model's context of ${seqLen} positions`);
    }
    if (cfg.maxBatch > backend.maxSequences) {
      throw new Error(
        `engine: maxBatch ${cfg.maxBatch} exceeds the backend's ${backend.maxSequences} sequences; create the backend with maxSequences >= maxBatch`,
      );
    }
    // A paged backend (GpuBackend) stores K/V in the blocks of the scheduler's tables: its cache
    // must have the same block size and at least as many blocks.
    const paged = backend as Partial<{ numBlocks: number; blockSize: number; maxTokensPerStep: number }>;
    if (typeof paged.numBlocks === 'number' && typeof paged.blockSize === 'number') {
      if (paged.blockSize !== cfg.kv.blockSize) {
        throw new Error(
          `engine: the scheduler's KV blockSize (${cfg.kv.blockSize}) differs from the backend's (${paged.blockSize}); create the backend with gpuKvOptions(config, kv)`,
        );
      }
      if (cfg.kv.numBlocks > paged.numBlocks) {
        throw new Error(
          `engine: the scheduler's KV budget (${cfg.kv.numBlocks} blocks) exceeds the backend's cache (${paged.numBlocks} blocks); create the backend with gpuKvOptions(config, kv) or lower kv.numBlocks`,
        );
      }
    }
    if (typeof paged.maxTokensPerStep === 'number' && cfg.tokenBudget > paged.maxTokensPerStep) {
      throw new Error(
        `engine: tokenBudget ${cfg.tokenBudget} exceeds the backend's maxTokensPerStep ${paged.maxTokensPerStep}: a step would be split into several submissions`,
      );
    }
    this.backend = backend;
    this.options = options;
    this.clock = options.clock ?? wallClock();
    this.stopAtEos = options.stopAtEos ?? true;
    this.eos = options.eosToken ?? EOS;
    this.yieldFn =
      options.yieldBetweenSteps ?? (backend.kind === 'cpu' ? () => new Promise<void>((r) => setTimeout(r, 0)) : undefined);
    this.scheduler = new Scheduler({ ...cfg, maxContext, keepRecords: cfg.keepRecords ?? false, onRequest: options.onRequest });
  }

  /** Requests queued or running. */
  get pending(): number {
    return this.reqs.size;
  }

  /** Queues a request (or rejects it: the result says why). */
  submit(req: LiveRequest): LiveSubmit {
    if (this.failure) throw new Error(`engine: a step failed earlier: ${String(this.failure)}`);
    const id = req.id ?? this.nextFreeId();
    const prompt = req.prompt;
    for (const t of prompt) {
      if (!Number.isInteger(t) || t < 0 || t >= this.backend.config.vocabSize) {
        throw new RangeError(`engine: request ${id}: token id ${t} is outside the vocabulary (0..${this.backend.config.vocabSize - 1})`);
      }
    }
    const r = this.scheduler.submit({
      id,
      tenant: req.tenant,
      arrival: req.arrival ?? this.clock.now(),
      promptTokens: prompt.length,
      maxOutputTokens: req.maxOutputTokens,
    });
    if (!r.accepted) return { accepted: false, reason: r.reason, message: r.message, id, record: r.record };
    let resolve!: (r: LiveResult) => void;
    let reject!: (e: unknown) => void;
    const done = new Promise<LiveResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.reqs.set(id, {
      id,
      tokens: prompt.slice(),
      promptLength: prompt.length,
      temperature: req.temperature ?? 0,
      topP: req.topP ?? 1,
      rng: new Rng(req.seed ?? 0),
      seq: -1,
      eos: false,
      record: r.record,
      resolve,
      reject,
    });
    this.wake();
    return { accepted: true, id, done };
  }

  /** Aborts a queued or running request; its promise resolves with stopReason 'aborted'. */
  abort(id: number): boolean {
    const r = this.scheduler.abort(id, this.clock.now());
    if (r === 'queued' || r === 'running') this.settle(id);
    return r !== 'unknown';
  }

  /**
   * Plans and runs one step; returns its record, or null when there was nothing to run.
   * Use either this or run(), not both at once.
   */
  async step(): Promise<StepRecord | null> {
    if (this.failure) throw new Error(`engine: a step failed earlier: ${String(this.failure)}`);
    if (this.stepping) throw new Error('engine: step() called while a step is running');
    const plan = this.scheduler.nextStep(this.clock.now());
    if (!plan) return null;
    this.stepping = true;
    try {
      const be = this.backend;
      for (const s of plan.preempted) this.release(this.reqs.get(s.id)!);
      const entries: StepEntry[] = new Array(plan.entries.length);
      for (let i = 0; i < plan.entries.length; i++) {
        const e = plan.entries[i]!;
        const r = this.reqs.get(e.seq.id)!;
        if (e.start === 0) {
          this.release(r);
          r.seq = be.newSequence();
        }
        entries[i] = {
          seq: r.seq,
          tokens: r.tokens.slice(e.start, e.start + e.tokens),
          temperature: r.temperature,
          topP: r.topP,
          u: e.samples ? r.rng.next() : 0,
          blocks: e.blocks,
        };
      }
      const start = this.clock.now();
      const result = await be.step(entries);
      const end = this.clock.now();
      const m = this.options.measure?.() ?? be.lastStepMeasure;
      const stop = new Array<boolean>(entries.length).fill(false);
      for (let i = 0; i < entries.length; i++) {
        const e = plan.entries[i]!;
        if (!e.samples) continue;
        const r = this.reqs.get(e.seq.id)!;
        const token = result.next[i]!;
        if (this.stopAtEos && token === this.eos) {
          stop[i] = true;
          r.eos = true;
          continue;
        }
        r.tokens.push(token);
        this.options.onToken?.(r.id, token, r.tokens.length - r.promptLength - 1);
      }
      const record = this.scheduler.completeStep(plan, { start, end, busy: m?.busy ?? end - start, timing: m?.timing ?? 'wall' }, stop);
      for (const s of plan.finished) this.settle(s.id);
      this.options.onStep?.(record);
      return record;
    } catch (err) {
      this.fail(err);
      throw err;
    } finally {
      this.stepping = false;
    }
  }

  /** Runs steps until stop(), waiting for submissions while idle. Rejects if a step fails. */
  async run(): Promise<void> {
    if (this.looping) throw new Error('engine: run() is already running');
    this.looping = true;
    this.stopped = false;
    try {
      while (!this.stopped) {
        const wakes = this.wakes;
        const record = await this.step();
        // Sleep only if nothing was submitted while the (empty) step was being planned.
        if (!record) {
          if (this.wakes === wakes) await this.waitForWork();
        } else if (this.yieldFn) await this.yieldFn();
      }
    } finally {
      this.looping = false;
    }
  }

  /** Ends run() after the step in progress. Queued and running requests stay. */
  stop(): void {
    this.stopped = true;
    this.wake();
  }

  /** Resolves at the next submit(), abort() or stop(). */
  waitForWork(): Promise<void> {
    return new Promise<void>((resolve) => this.wakers.push(resolve));
  }

  private wake(): void {
    this.wakes++;
    const w = this.wakers;
    this.wakers = [];
    for (const f of w) f();
  }

  private nextFreeId(): number {
    while (this.reqs.has(this.nextId) || this.scheduler.get(this.nextId)) this.nextId++;
    return this.nextId++;
  }

  private release(r: LiveState): void {
    if (r.seq >= 0) this.backend.freeSequence(r.seq);
    r.seq = -1;
  }

  /** A request's record is final: free its backend sequence and resolve its promise. */
  private settle(id: number): void {
    const r = this.reqs.get(id);
    if (!r) return;
    this.reqs.delete(id);
    this.release(r);
    const stopReason = r.record.status === 'aborted' ? 'aborted' : r.eos ? 'eos' : 'length';
    r.resolve({ id, tokens: r.tokens.slice(r.promptLength), record: r.record, stopReason });
    this.wake();
  }

  private fail(err: unknown): void {
    this.failure = err;
    for (const r of this.reqs.values()) r.reject(err);
    this.reqs.clear();
    this.wake();
  }
}

// The continuous-batching scheduler: pure code over a clock it is given. The live engine calls it
// with wall-clock time and runs each StepPlan on a Backend; the simulator calls it with virtual
// time and a step-time model. One policy implementation, two worlds.
//
// Life of a request: submit() -> queued -> admitted (running: holds KV blocks) -> prefilled in
// chunks -> one decode per step -> finished; a running request may be preempted (its KV dropped)
// and go back to the front of the queue, to be recomputed from its prompt and generated tokens.
//
// Token accounting. A request with P prompt tokens that has produced g output tokens knows P + g
// tokens; its KV holds `computed` of them. A step feeds it tokens [computed, computed + n); when
// that reaches P + g the step samples output token g + 1 from the last position. So the first
// output token comes from the step that ends the prompt's prefill, each later one from a decode
// step (n = 1, feeding the previous output), and the last output token never enters the cache: a
// request needs P + maxOutputTokens - 1 positions. After preemption the recompute prefill covers
// all P + g known tokens and its last chunk samples the next token.
//
// Block tables. The scheduler owns the paged KV cache's tables (KvAllocator): each plan entry
// hands the executor the physical block ids of its sequence (PlanEntry.blocks), as vLLM's block
// manager sends block tables to its workers with each step. The live engine's GPU backend writes
// and reads K/V through them and keeps no allocator of its own.
//
// Cost per step: O(batch) for decodes, continuing prefills and completion, plus O(active tenants)
// per admission under 'fair'. Nothing scans the queue, and plan objects are reused, so a
// simulator can drive millions of requests. The hot path is kept lean for that: each sequence
// remembers how many positions its KV blocks hold, so a decode asks the allocator only when it
// crosses a block boundary (1 step in blockSize); the second pass over the running list is
// skipped when no prefill is under way; plan arrays are refilled in place rather than emptied;
// and completeStep() can fill a caller's StepRecord instead of allocating one.
//
// What it does not do: priorities or deadlines (SLO-aware ordering), swapping KV to host memory
// (preemption always recomputes), prefix sharing between requests, speculative decoding, or
// skipping a head-of-line request that does not fit to admit a smaller one behind it.
import type { RequestRecord, StepRecord } from '../metrics/records.js';
import type { TraceRequest } from '../traffic/types.js';
import { Deque } from './deque.js';
import { KvAllocator, type KvBudget } from './kv-allocator.js';

export type SchedulingPolicy = 'fcfs' | 'fair';
export type PreemptionMode = 'recompute' | 'none';

export interface SchedulerConfig {
  /** Sequences per step (and running at once: each running sequence is in every step). */
  maxBatch: number;
  /** Tokens per step: decode tokens plus prefill chunk tokens. At least maxBatch. */
  tokenBudget: number;
  /** Largest prefill chunk of one sequence in one step (default: no limit beyond tokenBudget). */
  maxPrefillChunk?: number;
  /**
   * Who is admitted next. 'fcfs': the queue's front. 'fair': the waiting tenant that has been
   * served the fewest tokens (virtual token counter, see SchedulerCore.pickTenant).
   */
  policy?: SchedulingPolicy;
  /** The paged KV cache: blocks of blockSize positions. */
  kv: KvBudget;
  /** Positions one sequence may reach (the model's context). */
  maxContext: number;
  admission?: {
    /** Reject new requests while this many are waiting (default: no limit). */
    maxQueue?: number;
    /**
     * Fraction of the KV blocks kept free at admission for running sequences to grow into
     * (default 0.01, floored to whole blocks). Ignored when nothing is running.
     */
    watermark?: number;
  };
  /**
   * What happens when a decode needs a block and none is free. 'recompute' (default): blocks are
   * allocated as sequences grow, and the latest-admitted running sequence is preempted: its KV is
   * dropped and it goes back to the front of the queue, to be prefilled again from its prompt and
   * generated tokens. 'none': admission reserves blocks for a request's whole life (prompt +
   * maxOutputTokens - 1), so the cache never runs out and nothing is preempted.
   */
  preemption?: PreemptionMode;
  /** GPU index written into step records (default 0). */
  gpu?: number;
  /**
   * Keep every request's record for records() (default true). The live Engine and the simulator
   * turn it off and take final records through onRequest, so a long run holds no finished request.
   */
  keepRecords?: boolean;
  /** Called once per request when its record is final: finished, rejected or aborted. */
  onRequest?: (record: RequestRecord) => void;
}

/** A request as the scheduler sees it: counts only. */
export interface SchedRequest {
  /** Unique among requests not yet final. */
  id: number;
  tenant?: number;
  /** Arrival time on the run's clock, s. */
  arrival: number;
  promptTokens: number;
  maxOutputTokens: number;
}

/** A trace's request as the scheduler takes it (its output length becomes maxOutputTokens). */
export function requestFromTrace(id: number, t: TraceRequest): SchedRequest {
  return { id, tenant: t.tenant ?? 0, arrival: t.arrival, promptTokens: t.promptTokens, maxOutputTokens: t.outputTokens };
}

export type RejectReason = 'invalid' | 'context' | 'kv' | 'queue-full';

export interface Rejection {
  accepted: false;
  reason: RejectReason;
  /** What was wrong, in a sentence (the record keeps the reason code). */
  message: string;
}

/** The request's record comes back either way (live: the scheduler keeps updating it). */
export type SubmitResult = ({ accepted: true } | Rejection) & { record: Readonly<RequestRecord> };

/** A request inside the scheduler (read-only view). */
export interface ScheduledSequence {
  readonly id: number;
  readonly tenant: number;
  readonly arrival: number;
  readonly promptTokens: number;
  readonly maxOutputTokens: number;
  /** Output tokens produced so far. */
  readonly outputTokens: number;
  /** Tokens in its KV cache (0 while queued). */
  readonly computed: number;
  readonly record: Readonly<RequestRecord>;
}

/** One sequence's part of a step. */
export interface PlanEntry {
  readonly seq: ScheduledSequence;
  /** 'decode': one token, the previous output. 'prefill': a chunk of the prompt (or, after preemption, of prompt + generated tokens). */
  readonly kind: 'decode' | 'prefill';
  /** Position of the entry's first token: the sequence's KV length before the step (0: it has no KV yet). */
  readonly start: number;
  /** Tokens fed: positions [start, start + tokens). */
  readonly tokens: number;
  /** An output token is sampled from the entry's last position (decodes, and the last chunk of a prefill). */
  readonly samples: boolean;
  /**
   * The sequence's block table: its physical KV block ids in position order, covering positions
   * [0, start + tokens) at least. A view into the scheduler's allocator, valid until the step
   * completes; the executor writes this entry's K/V there and must not keep it.
   */
  readonly blocks: Int32Array;
}

/**
 * What one step runs. The same object is reused for every step: it is valid until the next
 * nextStep(), and completeStep() fills `finished`.
 */
export interface StepPlan {
  readonly index: number;
  /** `now` given to nextStep(). */
  readonly time: number;
  /** Decodes first (in admission order), then continuing prefills, then newly admitted requests. */
  readonly entries: readonly PlanEntry[];
  readonly decodeTokens: number;
  readonly prefillTokens: number;
  /** Entries that sample an output token. */
  readonly sampledTokens: number;
  /** Sum over entries of start + tokens (context after the step): what attention reads. */
  readonly contextTokens: number;
  /** Requests waiting when the step was planned (before its admissions). */
  readonly queueDepth: number;
  /** Sequences preempted to make room, before the step: their KV is gone (free backend state). */
  readonly preempted: readonly ScheduledSequence[];
  /** Sequences that ended with the step (finished or aborted): set by completeStep(). */
  readonly finished: readonly ScheduledSequence[];
}

/** When the step ran and how long the GPU was busy, on the run's clock. */
export interface StepTiming {
  start: number;
  end: number;
  busy: number;
  timing: StepRecord['timing'];
}

export interface SchedulerTotals {
  submitted: number;
  rejected: number;
  finished: number;
  aborted: number;
  preemptions: number;
  steps: number;
  /** Output tokens sampled (EOS included). */
  outputTokens: number;
  /** Tokens fed in prefill chunks (recomputation included). */
  prefillTokens: number;
  decodeTokens: number;
}

class TenantState {
  /**
   * The fair-share counter: tokens of new work planned for this tenant, i.e. each prompt position's
   * first prefill and each decode. A recompute after preemption is charged only for positions never
   * fed before (the last output token, which a decode would have fed), so preemption costs the
   * preempted tenant nothing: a request is charged promptTokens + outputTokens - 1 in all.
   */
  served = 0;
  /** Requests queued or running. */
  live = 0;
  /** Position in the scheduler's active list, -1 when not active. */
  activeIndex = -1;
  readonly queue = new Deque<Seq>();
  constructor(readonly id: number) {}
}

class Seq implements ScheduledSequence {
  computed = 0;
  /** Output tokens produced (mirrors record.outputTokens, kept here for the hot loops). */
  out = 0;
  /** Positions its KV blocks hold (blocks × blockSize; 0 while it holds none). */
  kvCap = 0;
  /** Positions ever fed (the high-water mark of computed, kept through preemption): fair-share charges stop here. */
  fed = 0;
  state: 'queued' | 'running' | 'done' = 'queued';
  constructor(
    readonly id: number,
    readonly tenant: number,
    readonly arrival: number,
    readonly promptTokens: number,
    readonly maxOutputTokens: number,
    readonly record: RequestRecord,
    readonly t: TenantState,
  ) {}
  get outputTokens(): number {
    return this.out;
  }
  /** Tokens whose ids exist: prompt and generated. */
  get known(): number {
    return this.promptTokens + this.out;
  }
  /** Only the last output remains to be fed. */
  get decoding(): boolean {
    return this.out > 0 && this.computed === this.promptTokens + this.out - 1;
  }
}

class Entry implements PlanEntry {
  seq!: Seq;
  kind: 'decode' | 'prefill' = 'decode';
  start = 0;
  tokens = 0;
  samples = false;
  constructor(private readonly kv: KvAllocator) {}
  get blocks(): Int32Array {
    return this.kv.table(this.seq.id);
  }
}

class Plan implements StepPlan {
  index = 0;
  time = 0;
  /** Refilled in place: entries[0, n) are this step's; end() trims the array to n. */
  readonly entries: Entry[] = [];
  private n = 0;
  decodeTokens = 0;
  prefillTokens = 0;
  sampledTokens = 0;
  contextTokens = 0;
  queueDepth = 0;
  readonly preempted: Seq[] = [];
  readonly finished: Seq[] = [];
  private readonly pool: Entry[] = [];

  constructor(private readonly kv: KvAllocator) {}

  reset(index: number, time: number, queueDepth: number): void {
    this.index = index;
    this.time = time;
    this.queueDepth = queueDepth;
    // Emptying an array in V8 drops its storage; entries are overwritten instead (see end()).
    this.n = 0;
    if (this.preempted.length !== 0) this.preempted.length = 0;
    if (this.finished.length !== 0) this.finished.length = 0;
    this.decodeTokens = this.prefillTokens = this.sampledTokens = this.contextTokens = 0;
  }

  add(seq: Seq, kind: 'decode' | 'prefill', tokens: number): void {
    const k = this.n++;
    let e = this.pool[k];
    if (!e) {
      e = new Entry(this.kv);
      this.pool.push(e);
    }
    const start = seq.computed;
    e.seq = seq;
    e.kind = kind;
    e.start = start;
    e.tokens = tokens;
    const samples = start + tokens === seq.promptTokens + seq.out;
    e.samples = samples;
    if (k < this.entries.length) this.entries[k] = e;
    else this.entries.push(e);
    if (kind === 'decode') this.decodeTokens += tokens;
    else this.prefillTokens += tokens;
    if (samples) this.sampledTokens++;
    this.contextTokens += start + tokens;
  }

  /**
   * Trims entries to this step's (a no-op when the batch kept its size). Entries dropped from the
   * end let go of their sequences, so a finished request is not kept alive by the reused pool.
   */
  end(): void {
    const entries = this.entries;
    if (entries.length === this.n) return;
    for (let k = this.n; k < entries.length; k++) entries[k]!.seq = undefined!;
    entries.length = this.n;
  }
}

const rejectWith = (reason: RejectReason, message: string): Rejection => ({ accepted: false, reason, message });

function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`scheduler: ${what} must be a positive integer, got ${v}`);
  return v;
}

export class Scheduler {
  readonly kv: KvAllocator;
  readonly maxBatch: number;
  readonly tokenBudget: number;
  readonly maxPrefillChunk: number;
  readonly policy: SchedulingPolicy;
  readonly preemption: PreemptionMode;
  readonly maxContext: number;
  readonly maxQueue: number;
  /** Blocks kept free at admission (watermark × numBlocks, floored). */
  readonly watermarkBlocks: number;
  readonly gpu: number;
  readonly totals: SchedulerTotals = {
    submitted: 0,
    rejected: 0,
    finished: 0,
    aborted: 0,
    preemptions: 0,
    steps: 0,
    outputTokens: 0,
    prefillTokens: 0,
    decodeTokens: 0,
  };

  private readonly keepRecords: boolean;
  private readonly onRequest?: (record: RequestRecord) => void;
  private readonly allRecords: RequestRecord[] = [];
  /** Requests not yet final, by id. */
  private readonly live = new Map<number, Seq>();
  /** Running sequences in admission order (the last is the preemption victim). */
  private running: Seq[] = [];
  private runningSpare: Seq[] = [];
  /** 'fcfs' queue (under 'fair' each tenant has its own). */
  private readonly fifo = new Deque<Seq>();
  private waitingCount = 0;
  private readonly tenants = new Map<number, TenantState>();
  /** Tenants with requests queued or running. */
  private readonly active: TenantState[] = [];
  /** Counter of the last tenant to go idle: the floor for a tenant arriving when none is active. */
  private idleFloor = 0;
  private readonly plan: Plan;
  private inFlight = false;
  /** Running sequences aborted while a step was in flight: they end with completeStep(). */
  private readonly pendingAborts: Seq[] = [];

  constructor(config: SchedulerConfig) {
    this.kv = new KvAllocator(config.kv);
    this.plan = new Plan(this.kv);
    this.maxBatch = positiveInt(config.maxBatch, 'maxBatch');
    this.tokenBudget = positiveInt(config.tokenBudget, 'tokenBudget');
    if (this.tokenBudget < this.maxBatch) {
      throw new RangeError(
        `scheduler: tokenBudget (${this.tokenBudget}) must be at least maxBatch (${this.maxBatch}) so that every running sequence can decode in each step`,
      );
    }
    this.maxPrefillChunk = config.maxPrefillChunk === undefined ? Infinity : positiveInt(config.maxPrefillChunk, 'maxPrefillChunk');
    this.policy = config.policy ?? 'fcfs';
    if (this.policy !== 'fcfs' && this.policy !== 'fair') throw new RangeError(`scheduler: unknown policy '${String(this.policy)}'`);
    this.preemption = config.preemption ?? 'recompute';
    if (this.preemption !== 'recompute' && this.preemption !== 'none') {
      throw new RangeError(`scheduler: unknown preemption mode '${String(this.preemption)}'`);
    }
    this.maxContext = positiveInt(config.maxContext, 'maxContext');
    const maxQueue = config.admission?.maxQueue;
    this.maxQueue = maxQueue === undefined ? Infinity : Math.max(0, Math.floor(maxQueue));
    const watermark = config.admission?.watermark ?? 0.01;
    if (!(watermark >= 0 && watermark < 1)) throw new RangeError(`scheduler: admission.watermark must be in [0, 1), got ${watermark}`);
    this.watermarkBlocks = Math.floor(watermark * this.kv.numBlocks);
    this.gpu = config.gpu ?? 0;
    this.keepRecords = config.keepRecords ?? true;
    this.onRequest = config.onRequest;
  }

  /** Requests waiting to be admitted (preempted ones included). */
  get queueDepth(): number {
    return this.waitingCount;
  }

  /** Sequences admitted and holding KV. */
  get runningCount(): number {
    return this.running.length;
  }

  /** Nothing queued or running. */
  get idle(): boolean {
    return this.waitingCount === 0 && this.running.length === 0;
  }

  /** A step is planned and not completed yet. */
  get stepInFlight(): boolean {
    return this.inFlight;
  }

  /** Every request's record in submission order, live ones included (empty with keepRecords: false). */
  records(): readonly RequestRecord[] {
    return this.allRecords;
  }

  /** A request not yet final (queued or running), by id. */
  get(id: number): ScheduledSequence | undefined {
    return this.live.get(id);
  }

  /** Tokens of new work charged to `tenant` so far (the fair-share counter, see TenantState.served; 0 for an unknown tenant). */
  servedTokens(tenant: number): number {
    return this.tenants.get(tenant)?.served ?? 0;
  }

  /** The running sequences, in admission order. */
  runningSequences(): readonly ScheduledSequence[] {
    return this.running;
  }

  /** Queues a request, or rejects it with a reason (its record says so too). */
  submit(req: SchedRequest): SubmitResult {
    if (this.live.has(req.id)) throw new Error(`scheduler: request id ${req.id} is already queued or running`);
    const tenantId = req.tenant ?? 0;
    const record: RequestRecord = {
      id: req.id,
      tenant: tenantId,
      arrival: req.arrival,
      promptTokens: req.promptTokens,
      outputTokens: 0,
      maxOutputTokens: req.maxOutputTokens,
      status: 'queued',
      preemptions: 0,
    };
    this.totals.submitted++;
    if (this.keepRecords) this.allRecords.push(record);
    const reject = this.rejection(req);
    if (reject) {
      record.status = 'rejected';
      record.rejectReason = reject.reason;
      this.totals.rejected++;
      this.onRequest?.(record);
      return { ...reject, record };
    }
    let t = this.tenants.get(tenantId);
    if (!t) {
      t = new TenantState(tenantId);
      this.tenants.set(tenantId, t);
    }
    const s = new Seq(req.id, tenantId, req.arrival, req.promptTokens, req.maxOutputTokens, record, t);
    this.live.set(s.id, s);
    if (t.live++ === 0) this.activate(t);
    this.enqueue(s, false);
    return { accepted: true, record };
  }

  private rejection(req: SchedRequest): Rejection | undefined {
    const P = req.promptTokens;
    const M = req.maxOutputTokens;
    const no = rejectWith;
    if (!Number.isInteger(P) || P < 1) return no('invalid', `request ${req.id}: promptTokens must be a positive integer, got ${P}`);
    if (!Number.isInteger(M) || M < 1) return no('invalid', `request ${req.id}: maxOutputTokens must be a positive integer, got ${M}`);
    if (!Number.isFinite(req.arrival)) return no('invalid', `request ${req.id}: arrival must be a finite time, got ${req.arrival}`);
    const positions = P + M - 1;
    if (positions > this.maxContext) {
      return no(
        'context',
        `request ${req.id}: ${P} prompt + ${M} output tokens need ${positions} positions, beyond the context of ${this.maxContext}`,
      );
    }
    const blocks = this.kv.blocksFor(positions);
    if (blocks > this.kv.numBlocks) {
      return no(
        'kv',
        `request ${req.id}: needs ${blocks} KV blocks (${positions} positions) but the cache has ${this.kv.numBlocks} blocks of ${this.kv.blockSize}`,
      );
    }
    if (this.waitingCount >= this.maxQueue) {
      return no('queue-full', `request ${req.id}: the queue is full (${this.waitingCount} waiting, maxQueue ${this.maxQueue})`);
    }
    return undefined;
  }

  /**
   * Plans the next step at time `now`, or returns null when there is nothing to run. Decodes
   * first (preempting the latest-admitted sequences when a decode finds the cache full), then
   * continuing prefills, then admissions from the queue, within maxBatch and tokenBudget. The
   * plan must be passed to completeStep() before the next call.
   */
  nextStep(now: number): StepPlan | null {
    if (this.inFlight) throw new Error('scheduler: nextStep() called while a step is in flight; call completeStep() first');
    const plan = this.plan;
    plan.reset(this.totals.steps, now, this.waitingCount);
    let budget = this.tokenBudget;
    const run = this.running;

    // 1. Decodes, oldest first. A decode that needs a block nobody can give preempts from the back.
    // A decode within the blocks it holds needs nothing from the allocator.
    let prefilling = 0;
    for (let i = 0; i < run.length; i++) {
      const s = run[i]!;
      const known = s.promptTokens + s.out;
      if (!(s.out > 0 && s.computed === known - 1)) {
        prefilling++;
        continue;
      }
      if (known > s.kvCap) {
        if (!this.kv.allocate(s.id, known)) {
          if (this.preemption === 'none') throw new Error(`scheduler: sequence ${s.id} outgrew its reservation (a bug)`);
          let victim: Seq;
          do {
            victim = run[run.length - 1]!;
            this.preempt(victim);
          } while (victim !== s && !this.kv.allocate(s.id, known));
          if (victim === s) break; // it was the last running sequence
        }
        s.kvCap = this.kv.blocksOf(s.id) * this.kv.blockSize;
      }
      this.schedule(s, 'decode', 1);
      budget--;
    }

    // 2. Prefills already under way, oldest first (preempted sequences were the last ones, past
    // every sequence counted in `prefilling`).
    for (let i = 0; prefilling > 0 && i < run.length && budget > 0; i++) {
      const s = run[i]!;
      if (s.decoding) continue;
      prefilling--;
      const n = Math.min(s.known - s.computed, budget, this.maxPrefillChunk);
      this.schedule(s, 'prefill', n);
      budget -= n;
    }

    // 3. Admissions, unless this step had to preempt (the cache is under pressure).
    while (budget > 0 && run.length < this.maxBatch && this.waitingCount > 0 && plan.preempted.length === 0) {
      const s = this.peekNext()!;
      const need = this.kv.blocksFor(this.preemption === 'none' ? s.promptTokens + s.maxOutputTokens - 1 : s.known);
      const reserve = run.length > 0 ? this.watermarkBlocks : 0;
      if (need + reserve > this.kv.freeBlocks) break; // head of line waits for blocks
      this.dequeue(s);
      this.kv.allocate(s.id, this.preemption === 'none' ? s.promptTokens + s.maxOutputTokens - 1 : s.known);
      s.kvCap = this.kv.blocksOf(s.id) * this.kv.blockSize;
      s.state = 'running';
      s.record.status = 'running';
      run.push(s);
      const n = Math.min(s.known, budget, this.maxPrefillChunk);
      this.schedule(s, 'prefill', n);
      budget -= n;
    }

    plan.end();
    if (plan.entries.length === 0) {
      // Preemption only happens for a decode that then runs, or after one ran (a sequence that is
      // alone always fits: submit() rejects any that could not), so an empty plan preempted nothing.
      if (plan.preempted.length > 0) throw new Error('scheduler: preempted sequences for an empty step (a bug)');
      return null;
    }
    this.inFlight = true;
    return plan;
  }

  /**
   * Applies a planned step once it has run: advances every sequence, counts sampled tokens, ends
   * requests that reached maxOutputTokens (or whose entry `stop` marks: the live engine's EOS),
   * frees their KV, and returns the step's record. `stop` is indexed like plan.entries. With
   * `into`, the record is written into that object and returned (no allocation: a simulator
   * that keeps no records passes the same one every step).
   */
  completeStep(plan: StepPlan, timing: StepTiming, stop?: ArrayLike<boolean>, into?: StepRecord): StepRecord {
    if (!this.inFlight || plan !== this.plan) throw new Error('scheduler: completeStep() needs the plan of the step in flight');
    this.inFlight = false;
    const p = this.plan;
    let contextTokens = 0;
    let ended = 0;
    for (let i = 0; i < p.entries.length; i++) {
      const e = p.entries[i]!;
      const s = e.seq;
      const computed = e.start + e.tokens;
      s.computed = computed;
      contextTokens += computed;
      if (e.samples) {
        const r = s.record;
        r.outputTokens = ++s.out;
        if (s.out === 1) r.firstToken = timing.end; // out never goes back (preemption keeps what was generated)
        if (s.out >= s.maxOutputTokens || (stop !== undefined && stop[i])) {
          this.endRunning(s, 'finished', timing.end);
          p.finished.push(s);
          ended++;
        }
      }
    }
    if (this.pendingAborts.length !== 0) {
      for (const s of this.pendingAborts) {
        if (s.state !== 'running') continue; // finished with this step anyway
        this.endRunning(s, 'aborted', timing.end);
        p.finished.push(s);
        ended++;
      }
      this.pendingAborts.length = 0;
    }
    if (ended > 0) this.compactRunning();
    const t = this.totals;
    t.steps++;
    t.outputTokens += p.sampledTokens;
    t.prefillTokens += p.prefillTokens;
    t.decodeTokens += p.decodeTokens;
    if (into) {
      into.index = p.index;
      into.gpu = this.gpu;
      into.start = timing.start;
      into.end = timing.end;
      into.busy = timing.busy;
      into.timing = timing.timing;
      into.batchSize = p.entries.length;
      into.decodeTokens = p.decodeTokens;
      into.outputTokens = p.sampledTokens;
      into.prefillTokens = p.prefillTokens;
      into.contextTokens = contextTokens;
      into.queueDepth = p.queueDepth;
      into.kvBlocksUsed = this.kv.usedBlocks;
      into.kvBlocksTotal = this.kv.numBlocks;
      return into;
    }
    return {
      index: p.index,
      gpu: this.gpu,
      start: timing.start,
      end: timing.end,
      busy: timing.busy,
      timing: timing.timing,
      batchSize: p.entries.length,
      decodeTokens: p.decodeTokens,
      outputTokens: p.sampledTokens,
      prefillTokens: p.prefillTokens,
      contextTokens,
      queueDepth: p.queueDepth,
      kvBlocksUsed: this.kv.usedBlocks,
      kvBlocksTotal: this.kv.numBlocks,
    };
  }

  /**
   * Aborts a request. Returns 'queued' (removed from the queue), 'running' (its KV freed now:
   * free its backend state), 'pending' (it is in the step in flight: it ends with completeStep()
   * and appears in plan.finished), or 'unknown' (not queued or running).
   */
  abort(id: number, now: number): 'queued' | 'running' | 'pending' | 'unknown' {
    const s = this.live.get(id);
    if (!s) return 'unknown';
    if (s.state === 'queued') {
      const q = this.policy === 'fair' ? s.t.queue : this.fifo;
      q.remove(s);
      this.waitingCount--;
      this.finalize(s, 'aborted', now);
      return 'queued';
    }
    if (this.inFlight) {
      if (!this.pendingAborts.includes(s)) this.pendingAborts.push(s);
      return 'pending';
    }
    this.endRunning(s, 'aborted', now);
    this.compactRunning();
    return 'running';
  }

  // --- internals ---------------------------------------------------------------------------

  /**
   * Adds an entry to the plan and charges the tenant for the positions it feeds for the first time
   * (at once, so that several admissions in one step alternate).
   */
  private schedule(s: Seq, kind: 'decode' | 'prefill', n: number): void {
    this.plan.add(s, kind, n);
    const end = s.computed + n;
    if (end > s.fed) {
      s.t.served += end - s.fed;
      s.fed = end;
    }
  }

  private preempt(s: Seq): void {
    this.running.pop();
    this.kv.free(s.id);
    s.kvCap = 0;
    s.computed = 0;
    s.state = 'queued';
    s.record.status = 'queued';
    s.record.preemptions++;
    this.totals.preemptions++;
    this.plan.preempted.push(s);
    this.enqueue(s, true);
  }

  private endRunning(s: Seq, status: 'finished' | 'aborted', time: number): void {
    this.kv.free(s.id);
    s.kvCap = 0;
    this.finalize(s, status, time);
  }

  private finalize(s: Seq, status: 'finished' | 'aborted', time: number): void {
    s.state = 'done';
    s.record.status = status;
    s.record.finish = time;
    if (status === 'finished') this.totals.finished++;
    else this.totals.aborted++;
    this.live.delete(s.id);
    if (--s.t.live === 0) this.deactivate(s.t);
    this.onRequest?.(s.record);
  }

  /**
   * Drops ended sequences from the running list, keeping admission order. The two lists swap; the
   * old one is emptied at once so that it keeps no ended sequence alive.
   */
  private compactRunning(): void {
    const out = this.runningSpare;
    for (const s of this.running) if (s.state === 'running') out.push(s);
    this.runningSpare = this.running;
    this.runningSpare.length = 0;
    this.running = out;
  }

  private enqueue(s: Seq, front: boolean): void {
    const q = this.policy === 'fair' ? s.t.queue : this.fifo;
    if (front) q.pushFront(s);
    else q.pushBack(s);
    this.waitingCount++;
  }

  private peekNext(): Seq | undefined {
    if (this.policy === 'fcfs') return this.fifo.peekFront();
    return this.pickTenant()?.queue.peekFront();
  }

  private dequeue(s: Seq): void {
    const q = this.policy === 'fair' ? s.t.queue : this.fifo;
    q.popFront();
    this.waitingCount--;
  }

  /**
   * 'fair': the waiting tenant with the smallest served-token counter (ties: the earlier head
   * arrival, then the lower tenant id). Counters grow with every token of new work a tenant's
   * sequences process (charged when the step is planned; recomputation is free, see
   * TenantState.served), and a tenant that becomes active is lifted to
   * the smallest counter among active tenants so that idle time does not bank credit (the
   * virtual token counter of Sheng et al., "Fairness in Serving Large Language Models", 2024).
   */
  private pickTenant(): TenantState | undefined {
    let best: TenantState | undefined;
    for (const t of this.active) {
      const head = t.queue.peekFront();
      if (!head) continue;
      if (
        !best ||
        t.served < best.served ||
        (t.served === best.served &&
          (head.arrival < best.queue.peekFront()!.arrival || (head.arrival === best.queue.peekFront()!.arrival && t.id < best.id)))
      ) {
        best = t;
      }
    }
    return best;
  }

  private activate(t: TenantState): void {
    let floor = this.idleFloor;
    if (this.active.length > 0) {
      floor = Infinity;
      for (const a of this.active) floor = Math.min(floor, a.served);
    }
    if (t.served < floor) t.served = floor;
    t.activeIndex = this.active.length;
    this.active.push(t);
  }

  private deactivate(t: TenantState): void {
    const last = this.active.pop()!;
    if (last !== t) {
      this.active[t.activeIndex] = last;
      last.activeIndex = t.activeIndex;
    }
    t.activeIndex = -1;
    if (this.active.length === 0) this.idleFloor = t.served;
  }
}

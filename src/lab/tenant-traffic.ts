// A tenant's traffic: its schedule (when each request comes, with how many prompt and output
// tokens) and a replayer that sends each request at its time on a pausable clock. Pure code: the
// tenant worker runs it in a browser worker, tests and the Node bench run it directly.
//
// Prompt token ids: BOS (1) then ids drawn from the tenant's seeded stream in [3, vocab), so a
// request's tokens depend only on (seed, tenant, request index).
import { Rng } from '../ops/random.js';
import { generateTenantRequests } from '../traffic/tenants.js';
import { deriveSeed } from '../traffic/sampling.js';
import type { ArrivalProcess } from '../traffic/arrivals.js';
import type { LengthDist } from '../traffic/lengths.js';
import type { TenantRequestMessage } from './protocol.js';

export type TenantSource =
  /** Generated over [0, horizonS) from the tenant's seed. */
  | { kind: 'generated'; arrival: ArrivalProcess; lengths: LengthDist; horizonS: number; tzOffsetH?: number }
  /** A replayed (already scaled) trace: sorted arrivals, s. */
  | { kind: 'trace'; arrival: Float64Array; promptTokens: Int32Array; outputTokens: Int32Array };

export interface TenantSpec {
  tenant: number;
  name: string;
  /** The run's seed (the tenant's own streams derive from it and the tenant id). */
  seed: number;
  vocabSize: number;
  /** Positions a request may take (prompt + output - 1 ≤ maxContext); longer ones are clipped. */
  maxContext: number;
  source: TenantSource;
}

export interface Schedule {
  arrival: Float64Array;
  promptTokens: Int32Array;
  outputTokens: Int32Array;
}

/** The tenant's requests in arrival order, each clipped to fit the context (prompt kept ≥ 1). */
export function tenantSchedule(spec: TenantSpec): Schedule {
  let s: Schedule;
  if (spec.source.kind === 'trace') {
    s = { arrival: spec.source.arrival.slice(), promptTokens: spec.source.promptTokens.slice(), outputTokens: spec.source.outputTokens.slice() };
  } else {
    const reqs = generateTenantRequests(
      { id: spec.tenant, name: spec.name, arrival: spec.source.arrival, lengths: spec.source.lengths, tzOffsetH: spec.source.tzOffsetH },
      spec.source.horizonS,
      spec.seed,
    );
    s = {
      arrival: Float64Array.from(reqs, (r) => r.arrival),
      promptTokens: Int32Array.from(reqs, (r) => r.promptTokens),
      outputTokens: Int32Array.from(reqs, (r) => r.outputTokens),
    };
  }
  // A request needs prompt + output - 1 positions: fit it, trimming the output first (keep ≥ 1).
  const ctx = spec.maxContext;
  for (let i = 0; i < s.arrival.length; i++) {
    let p = Math.max(1, s.promptTokens[i]!);
    let o = Math.max(1, s.outputTokens[i]!);
    if (p + o - 1 > ctx) o = Math.max(1, ctx + 1 - p);
    if (p + o - 1 > ctx) p = ctx;
    s.promptTokens[i] = p;
    s.outputTokens[i] = o;
  }
  return s;
}

/** Prompt ids of request `index`: BOS, then seeded ids in [3, vocab). */
export function promptIds(spec: Pick<TenantSpec, 'seed' | 'tenant' | 'vocabSize'>, index: number, length: number): Uint32Array {
  const rng = new Rng(deriveSeed(spec.seed, 0x9e3779, spec.tenant, index));
  const out = new Uint32Array(length);
  out[0] = 1;
  for (let i = 1; i < length; i++) out[i] = rng.int(3, spec.vocabSize - 1);
  return out;
}

export interface ReplayTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: ReplayTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * Sends a schedule's requests at their times (seconds from start(), pauses excluded). Late timers
 * send everything that is due at once, so no request is lost to timer jitter.
 */
export class Replayer {
  private next = 0;
  private t0 = 0;
  private pausedAt: number | null = null;
  private handle: unknown;
  private started = false;
  private stopped = false;

  constructor(
    readonly spec: TenantSpec,
    readonly schedule: Schedule,
    private readonly send: (m: TenantRequestMessage) => void,
    private readonly timers: ReplayTimers = realTimers,
  ) {}

  /** Requests sent so far. */
  get sent(): number {
    return this.next;
  }

  /** Seconds since start(), pauses excluded. */
  elapsed(): number {
    if (!this.started) return 0;
    return ((this.pausedAt ?? this.timers.now()) - this.t0) / 1000;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.t0 = this.timers.now();
    this.arm();
  }

  pause(): void {
    if (!this.started || this.stopped || this.pausedAt !== null) return;
    this.pausedAt = this.timers.now();
    this.timers.clearTimeout(this.handle);
  }

  resume(): void {
    if (this.stopped || this.pausedAt === null) return;
    this.t0 += this.timers.now() - this.pausedAt;
    this.pausedAt = null;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.timers.clearTimeout(this.handle);
  }

  private arm(): void {
    const s = this.schedule;
    const now = this.elapsed();
    while (this.next < s.arrival.length && s.arrival[this.next]! <= now) {
      const i = this.next++;
      this.send({
        type: 'request',
        tenant: this.spec.tenant,
        prompt: promptIds(this.spec, i, s.promptTokens[i]!),
        maxOutputTokens: s.outputTokens[i]!,
      });
    }
    if (this.next >= s.arrival.length || this.stopped) return;
    const wait = Math.max(0, (s.arrival[this.next]! - now) * 1000);
    this.handle = this.timers.setTimeout(() => this.arm(), wait);
  }
}

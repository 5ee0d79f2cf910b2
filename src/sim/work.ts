// Useful work: one definition, used by every utilization, load and sizing figure (DESIGN.md).
//
// A request's work is the server-seconds it costs a server running at its saturated efficiency,
// from the pool's own step-time model:
// - prefill: each prompt token at the cost per token of a full chunk (tokenBudget tokens, or
//   maxPrefillChunk when smaller) made of chunks like this one: a chunk of k tokens at position s
//   costs (k / C) × shapeTime(C tokens, context and attended pairs scaled by C / k);
// - decode: each output token after the first (the first is sampled by the last prefill chunk)
//   at the cost per sequence of a decode-only step at batch B, where B is the largest batch that
//   fits the KV memory at the request's context (its prompt plus half its output), keeps a
//   decode step within the request's TPOT SLO (when it has one), and is within maxBatch.
// - the fixed model (textbook queues) charges request i its own service time S_i, P/(P+M−1) of it
//   to the prompt and 1/(P+M−1) to each later output token, as its steps do.
// Capacity utilization = work served ÷ billed server-seconds: comparable across request shapes,
// pools and models (a server-second is worth the same whatever it serves), and ~100% for a
// saturated server. Work is counted as it is done (step by step), never for recomputation after a
// preemption: a prompt position is charged once.
import type { SchedulerConfig } from '../engine/scheduler.js';
import { hasSloTarget, type Slo } from '../metrics/latency.js';
import type { TraceColumns } from '../traffic/columns.js';
import { FixedModel, type StepTimeModel } from './step-time.js';

export type WorkScheduler = Pick<SchedulerConfig, 'maxBatch' | 'tokenBudget' | 'maxPrefillChunk' | 'kv'>;

/** Work of each request of a workload, s: prompt (all of it) and per output token after the first. */
export interface RequestWork {
  prefillS: Float64Array;
  decodeS: Float64Array;
}

/** Total work of request i, s. */
export function workOf(w: RequestWork, columns: TraceColumns, i: number): number {
  return w.prefillS[i]! + Math.max(0, columns.outputTokens[i]! - 1) * w.decodeS[i]!;
}

/**
 * The saturated costs of one pool's requests (model and scheduler settings fixed): memoized by
 * context and TPOT SLO, so a million requests cost a few thousand shapeTime calls.
 */
export class WorkCosts {
  private readonly decodeCache = new Map<string, { perToken: number; batch: number }>();
  private readonly prefillCache = new Map<number, number>();
  readonly chunk: number;
  constructor(
    readonly model: StepTimeModel,
    readonly sched: WorkScheduler,
  ) {
    this.chunk = Math.max(1, Math.min(sched.tokenBudget, sched.maxPrefillChunk ?? Infinity));
  }

  /** Largest batch that fits the KV memory at context ctx, within maxBatch (at least 1). */
  kvBatch(ctx: number): number {
    const perSeq = Math.max(1, Math.ceil(ctx / this.sched.kv.blockSize));
    return Math.max(1, Math.min(this.sched.maxBatch, Math.floor(this.sched.kv.numBlocks / perSeq)));
  }

  private decodeStep(batch: number, ctx: number): number {
    return this.model.shapeTime({ batchSize: batch, decodeTokens: batch, prefillTokens: 0, contextTokens: batch * ctx, attendedPairs: batch * ctx });
  }

  /** Seconds per output token at the saturated batch for a request at context ctx, and that batch. */
  decode(ctx: number, tpotSlo?: number): { perToken: number; batch: number } {
    const key = `${Math.round(ctx * 2)}|${tpotSlo ?? ''}`;
    let v = this.decodeCache.get(key);
    if (v) return v;
    let batch = this.kvBatch(ctx);
    if (tpotSlo !== undefined && batch > 1 && this.decodeStep(batch, ctx) > tpotSlo) {
      // Step time grows with the batch: the largest batch whose decode step meets the TPOT SLO.
      let lo = 1;
      let hi = batch;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (this.decodeStep(mid, ctx) <= tpotSlo) lo = mid;
        else hi = mid;
      }
      batch = lo;
    }
    v = { perToken: this.decodeStep(batch, ctx) / batch, batch };
    this.decodeCache.set(key, v);
    return v;
  }

  /** Seconds for a whole prompt of P tokens, chunk by chunk at full-chunk speed. */
  prefill(P: number): number {
    let v = this.prefillCache.get(P);
    if (v !== undefined) return v;
    const C = this.chunk;
    v = 0;
    for (let s = 0; s < P; s += C) {
      const k = Math.min(C, P - s);
      const copies = C / k;
      v +=
        (k / C) *
        this.model.shapeTime({
          batchSize: copies,
          decodeTokens: 0,
          prefillTokens: C,
          contextTokens: copies * (s + k),
          attendedPairs: copies * (k * s + (k * (k + 1)) / 2),
        });
    }
    this.prefillCache.set(P, v);
    return v;
  }
}

/**
 * Work of every request of `columns` (index i), each at the costs of its tenant's pool
 * (`tenantPool[tenant] = pool`, −1: left out, work 0) and its tenant's TPOT SLO.
 */
export function requestWork(
  columns: TraceColumns,
  tenantPool: ArrayLike<number>,
  pools: readonly { model: StepTimeModel; scheduler: WorkScheduler }[],
  tenantSlo: readonly (Slo | undefined)[],
): RequestWork {
  const n = columns.arrival.length;
  const prefillS = new Float64Array(n);
  const decodeS = new Float64Array(n);
  const costs = pools.map((p) => (p.model instanceof FixedModel ? undefined : new WorkCosts(p.model, p.scheduler)));
  const { promptTokens, outputTokens, tenant } = columns;
  for (let i = 0; i < n; i++) {
    const t = tenant[i]!;
    const g = tenantPool[t]!;
    if (g < 0) continue;
    const P = Math.max(1, promptTokens[i]!);
    const M = Math.max(1, outputTokens[i]!);
    const c = costs[g];
    if (!c) {
      const S = (pools[g]!.model as FixedModel).serviceTime(i);
      const positions = P + M - 1;
      prefillS[i] = (S * P) / positions;
      decodeS[i] = S / positions;
      continue;
    }
    prefillS[i] = c.prefill(P);
    decodeS[i] = M > 1 ? c.decode(P + M / 2, tenantSlo[t]?.tpot).perToken : 0;
  }
  return { prefillS, decodeS };
}

/**
 * Fraction of requests that would meet their SLO on an idle server (each alone: its prompt in
 * chunks at batch 1, then decode steps at batch 1): the most any fleet can attain. Null for the
 * fixed model, whose requests have no step shape. Requests without an SLO are not counted.
 */
export function idleAttainment(
  columns: TraceColumns,
  indices: ArrayLike<number>,
  model: StepTimeModel,
  sched: WorkScheduler,
  tenantSlo: readonly (Slo | undefined)[],
): number | null {
  if (model instanceof FixedModel) return null;
  const C = Math.max(1, Math.min(sched.tokenBudget, sched.maxPrefillChunk ?? Infinity));
  let met = 0;
  let counted = 0;
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j]!;
    const slo = tenantSlo[columns.tenant[i]!];
    if (!hasSloTarget(slo)) continue;
    counted++;
    const P = Math.max(1, columns.promptTokens[i]!);
    const M = Math.max(1, columns.outputTokens[i]!);
    let ttft = 0;
    for (let s = 0; s < P; s += C) {
      const k = Math.min(C, P - s);
      ttft += model.shapeTime({ batchSize: 1, decodeTokens: 0, prefillTokens: k, contextTokens: s + k, attendedPairs: k * s + (k * (k + 1)) / 2 });
    }
    const ctx = P + M / 2;
    const tpot = M > 1 ? model.shapeTime({ batchSize: 1, decodeTokens: 1, prefillTokens: 0, contextTokens: ctx, attendedPairs: ctx }) : 0;
    const e2e = ttft + (M - 1) * tpot;
    if ((slo.ttft === undefined || ttft <= slo.ttft) && (slo.tpot === undefined || M <= 1 || tpot <= slo.tpot) && (slo.e2e === undefined || e2e <= slo.e2e)) met++;
  }
  return counted ? met / counted : null;
}

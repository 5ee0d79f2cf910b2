// The lab's capacity in the simulator's unit of useful work (DESIGN.md "Work of a request"): a
// request's work is the GPU-seconds it costs this device running at its saturated efficiency,
// from the lab's calibration. Capacity utilization = work served ÷ wall time (one GPU).
//
// The work comes from src/sim/work.ts WorkCosts over the calibrated step-time model, with the
// scheduler settings a LabRun uses (labScheduler: maxBatch, tokenBudget = maxBatch + the prefill
// chunk, chunks of LAB_PREFILL_CHUNK, the backend's KV blocks scaled by the KV fraction):
// - prefillS(P): the prompt chunk by chunk at the cost per token of a full chunk;
// - decodeS(P, M): each output token after the first at the cost per sequence of a decode step at
//   the largest batch that fits the KV memory at context P + M/2, within maxBatch.
// The lab's SLOs are not part of it (they can change during a run without changing the work).
import type { Backend } from '../model/backend.js';
import { WorkCosts, type WorkScheduler } from '../sim/work.js';
import { CalibratedModel, type CalibratedSpec } from '../sim/step-time.js';
import { specAt, type Calibration } from './calibrate.js';
import { LAB_PREFILL_CHUNK } from './run.js';

/** Work of lab requests on this device, s. */
export interface RequestWorkModel {
  /** Work of a whole prompt of `promptTokens` tokens (prefilled at full-chunk speed). */
  prefillS(promptTokens: number): number;
  /** Work of each output token after the first, for a request of P prompt and M output tokens. */
  decodeS(promptTokens: number, outputTokens: number): number;
}

/** The lab's reference request (its default lengths): the figure calibration rounds must agree on. */
export const REFERENCE_REQUEST = { prompt: 16, output: 32 } as const;

/** What the scheduler settings of a run on a backend follow from (kept with a calibration). */
export interface DeviceFacts {
  seqLen: number;
  maxSequences: number;
  /** The backend's KV cache: blocks of blockSize positions. */
  kv: { numBlocks: number; blockSize: number };
  /** Tokens one step may carry (absent: no limit). */
  maxTokensPerStep?: number;
}

/** A backend's facts; a backend without a paged cache (the CPU reference) gets room for every sequence at full context. */
export function deviceFacts(backend: Backend): DeviceFacts {
  const b = backend as Partial<{ numBlocks: number; blockSize: number; maxTokensPerStep: number }>;
  const seqLen = backend.config.seqLen;
  const kv =
    typeof b.numBlocks === 'number' && typeof b.blockSize === 'number'
      ? { numBlocks: b.numBlocks, blockSize: b.blockSize }
      : { numBlocks: backend.maxSequences * Math.ceil(seqLen / 16), blockSize: 16 };
  const f: DeviceFacts = { seqLen, maxSequences: backend.maxSequences, kv };
  if (typeof b.maxTokensPerStep === 'number' && Number.isFinite(b.maxTokensPerStep)) f.maxTokensPerStep = b.maxTokensPerStep;
  return f;
}

export interface LabScheduler extends WorkScheduler {
  maxBatch: number;
  tokenBudget: number;
  maxPrefillChunk: number;
  kv: { numBlocks: number; blockSize: number };
}

/** The scheduler settings a LabRun uses for max batch `maxBatch` and KV fraction `kvFraction` (src/lab/run.ts). */
export function labScheduler(facts: DeviceFacts, maxBatch: number, kvFraction = 1): LabScheduler {
  const maxPrefillChunk = Math.min(LAB_PREFILL_CHUNK, facts.seqLen);
  const tokenBudget = Math.min(facts.maxTokensPerStep ?? Infinity, maxBatch + maxPrefillChunk);
  // Never below one sequence at full context, or a long request could never be admitted.
  const oneSeq = Math.ceil(facts.seqLen / facts.kv.blockSize);
  const numBlocks = Math.max(oneSeq, Math.min(facts.kv.numBlocks, Math.floor(facts.kv.numBlocks * kvFraction)));
  return { maxBatch, tokenBudget, maxPrefillChunk, kv: { numBlocks, blockSize: facts.kv.blockSize } };
}

/** The work model of one scheduler setting on one calibrated device. */
export class LabCapacity implements RequestWorkModel {
  readonly model: CalibratedModel;
  private readonly costs: WorkCosts;
  constructor(
    readonly spec: CalibratedSpec,
    readonly scheduler: LabScheduler,
  ) {
    this.model = new CalibratedModel({ ...spec, noise: undefined });
    this.costs = new WorkCosts(this.model, scheduler);
  }

  prefillS(promptTokens: number): number {
    return this.costs.prefill(Math.max(1, promptTokens));
  }

  decodeS(promptTokens: number, outputTokens: number): number {
    const M = Math.max(1, outputTokens);
    return M > 1 ? this.costs.decode(Math.max(1, promptTokens) + M / 2).perToken : 0;
  }

  /** Work of a whole request, s. */
  workS(promptTokens: number, outputTokens: number): number {
    return this.prefillS(promptTokens) + Math.max(0, outputTokens - 1) * this.decodeS(promptTokens, outputTokens);
  }

  /** Seconds of a decode step at the saturated batch for context ctx, and that batch. */
  decodeStep(ctx: number): { seconds: number; batch: number } {
    const d = this.costs.decode(ctx);
    return { seconds: d.perToken * d.batch, batch: d.batch };
  }

  /** Seconds per prompt token of a full chunk. */
  prefillPerToken(): number {
    return this.prefillS(this.scheduler.maxPrefillChunk) / this.scheduler.maxPrefillChunk;
  }

  /** What capacity is, in one sentence for the page. */
  sentence(): string {
    const s = this.scheduler;
    return (
      `Capacity is what this device serves flat out: a request's work is the GPU-seconds it takes here with prompts in full ${s.maxPrefillChunk}-token chunks ` +
      `and output at max batch ${s.maxBatch} (fewer when the KV cache is full), the fleet view's unit, so capacity utilization = work served ÷ wall time, 100% when nothing more fits.`
    );
  }
}

/** The work model of a fitted step-time model for the lab's scheduler at `maxBatch`. */
export function labCapacityFromSpec(spec: CalibratedSpec, facts: DeviceFacts, maxBatch: number, kvFraction = 1): LabCapacity {
  if (!(Number.isInteger(maxBatch) && maxBatch >= 1 && maxBatch <= facts.maxSequences)) {
    throw new RangeError(`capacity: max batch must be an integer in 1..${facts.maxSequences}, got ${maxBatch}`);
  }
  return new LabCapacity(spec, labScheduler(facts, maxBatch, kvFraction));
}

/**
 * The lab's capacity for a run at `maxBatch` from a calibration. The step-time model does not
 * depend on the batch it was measured up to, but it is only fitted that far: a batch beyond
 * cal.maxBatch is refused.
 */
export function labCapacity(cal: Calibration, maxBatch: number, kvFraction = 1): LabCapacity {
  if (maxBatch > cal.maxBatch) throw new RangeError(`capacity: the calibration measured up to max batch ${cal.maxBatch}; max batch ${maxBatch} needs a new one`);
  return labCapacityFromSpec(specAt(cal, maxBatch), cal.device, maxBatch, kvFraction);
}

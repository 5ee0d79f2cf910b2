// Step-time models: how long one engine step keeps a simulated server busy, from the step's shape.
//
// - calibrated: busy = a + b·decodeTokens + c·prefillTokens + d·contextTokens, fitted by least
//   squares to StepRecords of the live engine (calibrate.ts); the fit's R² and mean absolute %
//   error travel with the coefficients. Optionally (`noise`) each step's time is multiplied by a
//   factor drawn from the calibration's own actual ÷ fitted ratios (k equal-count groups, each
//   its mean), so a device whose steps vary (a loaded machine, clock changes) queues in the
//   simulation as it did live: waiting for a step in flight depends on E[S²], not only E[S].
// - roofline: a named GPU running a named model (specs.ts) with tensor parallelism tp:
//     bytes  = weight bytes / tp + contextTokens · KV bytes per token / tp
//     flops  = (2 · params · tokens + 4 · layers · hidden · attended pairs) / tp
//     busy   = overhead + max(bytes / (bandwidth · bwEfficiency), flops / (peak · flopEfficiency))
//   Weights are read once per step whatever the batch (what makes batching pay); every sequence
//   reads its whole KV context; "attended pairs" counts query-key pairs (a decode at context n
//   attends n positions, a prefill chunk of k tokens starting at s attends k·s + k(k+1)/2).
//   The peak is the fp8 one when weights are fp8 and the GPU has fp8 tensor cores.
// - fixed: a per-request service time (deterministic, or exponential with mean S, drawn from a
//   hash of the run's seed and the request id), for the textbook queues at batch size 1. A step
//   charges each of its requests S_i · tokens / (prompt + maxOutput - 1): a request that is never
//   preempted is charged exactly S_i over its steps (with prompt 1 and output 1: one step of S_i).
//
// Every model clamps a step to at least MIN_STEP_S, so a fit with a negative coefficient cannot
// make time run backwards.
import type { StepPlan } from '../engine/scheduler.js';
import { Rng } from '../ops/random.js';
import { deriveSeed } from '../traffic/sampling.js';
import { DTYPE_BYTES, gpuSpec, kvBytesPerToken, modelSpec, type GpuSpec, type ModelSpec, type WeightDtype } from './specs.js';

export const MIN_STEP_S = 1e-6;

/** A step's shape as the models see it (a StepPlan provides it; capacity estimates make one up). */
export interface StepShape {
  batchSize: number;
  decodeTokens: number;
  prefillTokens: number;
  /** Σ over sequences of the context after the step. */
  contextTokens: number;
  /** Σ over sequences of query-key pairs attended (see the file header). */
  attendedPairs: number;
}

export interface CalibratedFit {
  /** Steps fitted. */
  n: number;
  r2: number;
  /** Mean absolute % error over steps with busy > 0. */
  mape: number;
  /** Root mean square error, s. */
  rmse: number;
  /** Where the steps came from (device, model, run), for the report. */
  source?: string;
}

/**
 * Step-time variability of a calibrated model (a step never takes less than MIN_STEP_S, so a
 * large negative draw on a short step is cut there and the mean drifts up a little), one of:
 * - factors: each step's fitted time is multiplied by one, drawn uniformly (mean ≈ 1): variability
 *   that grows with the step;
 * - residuals: one, drawn uniformly, is added to each step's fitted time (mean ≈ 0): variability
 *   that does not, such as a stall of the machine of 50-100 ms, which a multiplicative factor
 *   would inflate on a long prefill step and shrink on a short decode step.
 */
export interface StepNoise {
  /** Means of k equal-count groups of the calibration steps' actual ÷ fitted times, ascending. */
  factors?: number[];
  /**
   * Means of k equal-count groups of the calibration steps' actual − fitted times (s), ascending;
   * or, with `run`, every step's own in the order the steps ran.
   */
  residuals?: number[];
  /**
   * With residuals in step order: each draw continues the run of consecutive residuals it is in,
   * and every `run` steps a new run starts at a random step (a block bootstrap; circular: a run
   * that starts near the end goes on from the first; each server has its own run). Slow steps came in
   * stretches on the live engine (a busy machine slows several steps in a row), and a queue grows
   * more behind a stretch than behind the same slow steps spread out: drawn one at a time the
   * simulated mean TTFT came out 4-14% low even against the evaluation's own residuals.
   */
  run?: number;
}

export interface CalibratedSpec {
  kind: 'calibrated';
  /** Seconds per step. */
  a: number;
  /** Seconds per decode token. */
  b: number;
  /** Seconds per prefill token. */
  c: number;
  /** Seconds per context token. */
  d: number;
  /**
   * Seconds per step that processes prompt tokens, on top of c per token (default 0): prefilling
   * runs kernels a decode-only step does not (the prefill attention in every layer), whose cost
   * does not grow with the tokens. On SwiftShader that is ~5 ms against ~3 ms for a whole decode
   * step of the fidelity test's model.
   */
  e?: number;
  fit?: CalibratedFit;
  /** Off by default: every step takes exactly the fitted time. */
  noise?: StepNoise;
}

export interface RooflineEfficiency {
  /** Fraction of peak memory bandwidth reached (default 0.7). */
  bandwidth?: number;
  /** Fraction of peak FLOPs reached (default 0.5). */
  flops?: number;
  /** Fixed cost per step, s: launch, scheduling, sampling, TP communication (default 0.003). */
  overheadS?: number;
}

export interface RooflineSpec {
  kind: 'roofline';
  gpu: string;
  model: string;
  /** Tensor-parallel degree: GPUs per replica (default 1). */
  tp?: number;
  /** Weight dtype (default bf16). */
  weights?: WeightDtype;
  /** KV cache dtype (default bf16). */
  kvCache?: WeightDtype;
  efficiency?: RooflineEfficiency;
  /** Fraction of GPU memory the engine may use, weights + KV (default 0.9, vLLM's default). */
  memoryFraction?: number;
}

export type ServiceDistribution = 'exponential' | 'deterministic';

export interface FixedSpec {
  kind: 'fixed';
  /** Mean service time per request, s. */
  meanS: number;
  /** Default 'exponential'. */
  distribution?: ServiceDistribution;
}

export type StepTimeSpec = CalibratedSpec | RooflineSpec | FixedSpec;

export interface StepTimeModel {
  readonly spec: StepTimeSpec;
  /**
   * Busy seconds of a planned step on `server` (default 0): a calibrated model that replays
   * residuals in runs keeps each server's run apart.
   */
  stepTime(plan: StepPlan, server?: number): number;
  /** Busy seconds of a step of this shape (capacity estimates; the fixed model cannot answer). */
  shapeTime(shape: StepShape): number;
  /** One line for tables. */
  describe(): string;
}

/** Σ query-key pairs of a plan: decodes attend their context, prefill chunks k·s + k(k+1)/2. */
export function attendedPairs(plan: StepPlan): number {
  // Decodes come first in entries and feed one token each, so prefill entries start at index
  // decodeTokens; the decodes' contexts are what remains of contextTokens.
  let prefillContext = 0;
  let pairs = 0;
  const e = plan.entries;
  for (let i = plan.decodeTokens; i < e.length; i++) {
    const x = e[i]!;
    prefillContext += x.start + x.tokens;
    pairs += x.tokens * x.start + (x.tokens * (x.tokens + 1)) / 2;
  }
  return pairs + (plan.contextTokens - prefillContext);
}

// ---------------------------------------------------------------------------------------------

export class CalibratedModel implements StepTimeModel {
  private readonly rng?: Rng;
  private readonly factors?: readonly number[];
  private readonly residuals?: readonly number[];
  private readonly run: number;
  /** Per server: the next residual of its current run, and how many the run has left. */
  private readonly cursors = new Map<number, { at: number; left: number }>();
  constructor(
    readonly spec: CalibratedSpec,
    seed = 1,
  ) {
    const n = spec.noise;
    if (n?.residuals && n.residuals.length > 0) this.residuals = n.residuals;
    else if (n?.factors && n.factors.length > 0) this.factors = n.factors;
    if (this.factors || this.residuals) this.rng = new Rng(deriveSeed(seed, 0xca11b));
    this.run = this.residuals ? Math.max(1, Math.floor(n?.run ?? 1)) : 1;
  }
  stepTime(plan: StepPlan, server = 0): number {
    let t = this.fitted(plan);
    if (this.factors) t *= this.factors[Math.floor(this.rng!.next() * this.factors.length)]!;
    else if (this.residuals) t += this.run > 1 ? this.nextInRun(this.residuals, server) : this.residuals[Math.floor(this.rng!.next() * this.residuals.length)]!;
    return t > MIN_STEP_S ? t : MIN_STEP_S;
  }
  shapeTime(x: StepShape): number {
    return Math.max(MIN_STEP_S, this.fitted(x));
  }
  /** The next residual of `server`'s run; a new run starts at a random step (circular: one that
   * starts near the end goes on from the first). */
  private nextInRun(r: readonly number[], server: number): number {
    let c = this.cursors.get(server);
    if (!c) this.cursors.set(server, (c = { at: 0, left: 0 }));
    if (c.left === 0) {
      c.at = Math.floor(this.rng!.next() * r.length);
      c.left = this.run;
    }
    c.left--;
    const v = r[c.at]!;
    c.at = c.at + 1 === r.length ? 0 : c.at + 1;
    return v;
  }
  private fitted(x: Pick<StepShape, 'decodeTokens' | 'prefillTokens' | 'contextTokens'>): number {
    const s = this.spec;
    const t = s.a + s.b * x.decodeTokens + s.c * x.prefillTokens + s.d * x.contextTokens;
    return x.prefillTokens > 0 && s.e ? t + s.e : t;
  }
  describe(): string {
    const s = this.spec;
    const f = s.fit ? ` (fit on ${s.fit.n} steps: R² ${s.fit.r2.toFixed(3)}, MAPE ${(100 * s.fit.mape).toFixed(1)}%)` : '';
    const us = (v: number) => `${+(v * 1e6).toPrecision(4)} µs`;
    const ms = (v: number) => `${v >= 0 ? '+' : ''}${+(v * 1e3).toPrecision(2)}`;
    const fs = s.noise?.factors;
    const rs = s.noise?.residuals;
    const n = rs?.length
      ? `; step times vary as measured (${rs.length} residuals, ${ms(rs.reduce((a, b) => Math.min(a, b)))} to ${ms(rs.reduce((a, b) => Math.max(a, b)))} ms${this.run > 1 ? `, in runs of ${this.run} steps` : ''})`
      : fs?.length
        ? `; step times vary as measured (${fs.length} factors, ${+fs[0]!.toPrecision(2)}–${+fs[fs.length - 1]!.toPrecision(2)}×)`
        : '';
    const e = s.e ? ` + ${us(s.e)}·[prefills]` : '';
    return `calibrated: ${us(s.a)} + ${us(s.b)}·decode + ${us(s.c)}·prefill + ${us(s.d)}·context${e}${f}${n}`;
  }
}

// ---------------------------------------------------------------------------------------------

export const ROOFLINE_DEFAULTS = { bandwidth: 0.7, flops: 0.5, overheadS: 0.003, memoryFraction: 0.9 } as const;

export class RooflineModel implements StepTimeModel {
  readonly gpu: GpuSpec;
  readonly model: ModelSpec;
  readonly tp: number;
  /** Weight bytes of the whole model. */
  readonly weightBytes: number;
  /** KV bytes per token, all layers, all shards. */
  readonly kvBytesPerToken: number;
  private readonly bytesFixed: number;
  private readonly bytesPerContext: number;
  private readonly flopsPerToken: number;
  private readonly flopsPerPair: number;
  private readonly bandwidth: number;
  private readonly peak: number;
  private readonly overhead: number;

  constructor(readonly spec: RooflineSpec) {
    this.gpu = gpuSpec(spec.gpu);
    this.model = modelSpec(spec.model);
    this.tp = spec.tp ?? 1;
    const weights = spec.weights ?? 'bf16';
    const eff = spec.efficiency ?? {};
    this.weightBytes = this.model.params * DTYPE_BYTES[weights];
    this.kvBytesPerToken = kvBytesPerToken(this.model, spec.kvCache ?? 'bf16');
    this.bytesFixed = this.weightBytes / this.tp;
    this.bytesPerContext = this.kvBytesPerToken / this.tp;
    this.flopsPerToken = (2 * this.model.params) / this.tp;
    this.flopsPerPair = (4 * this.model.layers * this.model.hidden) / this.tp;
    this.bandwidth = this.gpu.memoryBandwidth * (eff.bandwidth ?? ROOFLINE_DEFAULTS.bandwidth);
    const fp8 = weights === 'fp8' && this.gpu.fp8Flops !== undefined;
    this.peak = (fp8 ? this.gpu.fp8Flops! : this.gpu.bf16Flops) * (eff.flops ?? ROOFLINE_DEFAULTS.flops);
    this.overhead = eff.overheadS ?? ROOFLINE_DEFAULTS.overheadS;
  }

  /** KV blocks of `blockSize` positions that fit beside the weights on tp GPUs. */
  kvBlocks(blockSize: number): number {
    const usable = (this.spec.memoryFraction ?? ROOFLINE_DEFAULTS.memoryFraction) * this.gpu.memoryBytes * this.tp - this.weightBytes;
    return Math.floor(usable / (this.kvBytesPerToken * blockSize));
  }

  private time(tokens: number, context: number, pairs: number): number {
    const mem = (this.bytesFixed + context * this.bytesPerContext) / this.bandwidth;
    const comp = (this.flopsPerToken * tokens + this.flopsPerPair * pairs) / this.peak;
    return this.overhead + (mem > comp ? mem : comp);
  }

  stepTime(plan: StepPlan): number {
    return this.time(plan.decodeTokens + plan.prefillTokens, plan.contextTokens, attendedPairs(plan));
  }
  shapeTime(x: StepShape): number {
    return this.time(x.decodeTokens + x.prefillTokens, x.contextTokens, x.attendedPairs);
  }
  describe(): string {
    const s = this.spec;
    return `roofline: ${this.model.label} on ${this.tp > 1 ? `${this.tp}× ` : ''}${this.gpu.label}, ${s.weights ?? 'bf16'} weights`;
  }
}

// ---------------------------------------------------------------------------------------------

const TWO_32 = 4294967296;

export class FixedModel implements StepTimeModel {
  private readonly mean: number;
  private readonly exponential: boolean;
  private readonly seed: number;

  constructor(
    readonly spec: FixedSpec,
    seed: number,
  ) {
    this.mean = spec.meanS;
    this.exponential = (spec.distribution ?? 'exponential') === 'exponential';
    this.seed = deriveSeed(seed, 0x5e7f1ce);
  }

  /** Service time of request `id`: the same for a seed and id wherever it runs. */
  serviceTime(id: number): number {
    if (!this.exponential) return this.mean;
    const u = (deriveSeed(this.seed, id) + 0.5) / TWO_32;
    return -Math.log(u) * this.mean;
  }

  stepTime(plan: StepPlan): number {
    let t = 0;
    const e = plan.entries;
    for (let i = 0; i < e.length; i++) {
      const x = e[i]!;
      const s = x.seq;
      const positions = s.promptTokens + s.maxOutputTokens - 1;
      t += positions > 0 ? (this.serviceTime(s.id) * x.tokens) / positions : this.serviceTime(s.id);
    }
    return t > MIN_STEP_S ? t : MIN_STEP_S;
  }
  shapeTime(): number {
    throw new Error('the fixed step-time model charges requests, not step shapes');
  }
  describe(): string {
    return `fixed: ${this.exponential ? 'exponential' : 'deterministic'} service, mean ${+this.mean.toPrecision(4)} s per request`;
  }
}

export function makeStepTimeModel(spec: StepTimeSpec, seed: number): StepTimeModel {
  switch (spec.kind) {
    case 'calibrated':
      return new CalibratedModel(spec, seed);
    case 'roofline':
      return new RooflineModel(spec);
    case 'fixed':
      return new FixedModel(spec, seed);
  }
}

/**
 * Output tokens/s of one server at the largest batch B that fits (maxBatch, or fewer when the KV
 * cache holds fewer sequences of the mean context), in steady state at the mean lengths (P
 * prompt, M output tokens): each of the B slots turns over every M steps, so k = B/M requests are
 * admitted per step. With k ≤ 1 a fraction k of the steps carry one prompt's prefill beside B − 1
 * decodes and the rest are decode-only (kept apart because a prefill step is often compute bound
 * while a decode step is memory bound); with k > 1 every step carries k prefills. Every step
 * samples B tokens. For the fixed model: M / S.
 */
export function serverCapacity(
  model: StepTimeModel,
  sched: { maxBatch: number; numBlocks: number; blockSize: number },
  meanPrompt: number,
  meanOutput: number,
): { tokensPerS: number; batch: number } {
  if (model.spec.kind === 'fixed') return { tokensPerS: meanOutput / model.spec.meanS, batch: 1 };
  const P = Math.max(1, meanPrompt);
  const M = Math.max(1, meanOutput);
  const ctx = P + M / 2;
  const perSeq = Math.max(1, Math.ceil(ctx / sched.blockSize));
  const batch = Math.max(1, Math.min(sched.maxBatch, Math.floor(sched.numBlocks / perSeq)));
  const k = batch / M;
  const step = (prefills: number): number => {
    const decodes = Math.max(0, batch - prefills);
    return model.shapeTime({
      batchSize: batch,
      decodeTokens: decodes,
      prefillTokens: prefills * P,
      contextTokens: decodes * ctx + prefills * P,
      attendedPairs: decodes * ctx + (prefills * P * (P + 1)) / 2,
    });
  };
  const mean = k <= 1 ? k * step(1) + (1 - k) * step(0) : step(k);
  return { tokensPerS: batch / mean, batch };
}

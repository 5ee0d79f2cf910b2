// Step-time models: how long one engine step keeps a simulated server busy, from the step's shape.
//
// - calibrated: busy = a + b·decodeTokens + c·prefillTokens + d·contextTokens, fitted by least
//   squares to StepRecords of the live engine (calibrate.ts); the fit's R² and mean absolute %
//   error travel with the coefficients. Optionally (`noise`) each step's time is multiplied by a
//   factor drawn from the calibration's own actual ÷ fitted ratios (k equal-count groups, each
//   its mean), so a device whose steps vary (a loaded machine, clock changes) queues in the
//   simulation as it did live: waiting for a step in flight depends on E[S²], not only E[S].
// - roofline: a named GPU running a named model (specs.ts) with tensor parallelism tp: per step,
//   the sum over the kernels the GPU runs (weight GEMMs from the layer shapes, attention, the LM
//   head over sampled tokens only, elementwise ops, all-reduces over NVLink when tp > 1), each
//   (t_mem² + t_compute²)^½ of its bytes over bandwidth · eff and FLOPs over peak · eff. Weights
//   are read once per step whatever the batch (what makes batching pay); every sequence reads its
//   whole KV context; "attended pairs" counts query-key pairs (a decode at context n attends n
//   positions, a prefill chunk of k tokens starting at s attends k·s + k(k+1)/2). The GEMM peak
//   is the fp8 one when weights are fp8 and the GPU has fp8 tensor cores. RooflineModel below has
//   the terms; docs/roofline.md the sources and the check against Vidur's profiled A100 steps.
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
  /** Tokens sampled (decodes and prompts that end in the step); default: every sequence samples. */
  sampledTokens?: number;
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

/** Fractions of the datasheet peaks reached, and fixed costs; defaults and sources: ROOFLINE_DEFAULTS. */
export interface RooflineEfficiency {
  /** Fraction of peak memory bandwidth reached (default 0.75). */
  bandwidth?: number;
  /** Fraction of peak tensor FLOPs the weight GEMMs reach (default 0.68). */
  flops?: number;
  /** Fraction of peak bf16 FLOPs attention reaches (default 0.15). */
  attention?: number;
  /** Fraction of the GPU-to-GPU link bandwidth a collective reaches (default 0.8). */
  link?: number;
  /** Latency of one collective, s (default 70 µs). */
  collectiveLatencyS?: number;
  /** Floor of each small per-layer kernel, s (default 6 µs). */
  kernelS?: number;
  /** CPU cost per step not hidden behind the GPU, s (default 0). */
  overheadS?: number;
}

export interface RooflineSpec {
  kind: 'roofline';
  gpu: string;
  model: string;
  /** Tensor-parallel degree: GPUs per replica (default 1). */
  tp?: number;
  /** Weight dtype of the linear layers (default bf16; embeddings and LM head stay bf16). */
  weights?: WeightDtype;
  /** KV cache dtype (default bf16). */
  kvCache?: WeightDtype;
  efficiency?: RooflineEfficiency;
  /** Fraction of each GPU's memory the engine may use, weights + KV + activations (default 0.9, vLLM's default). */
  memoryFraction?: number;
  /** Memory per GPU kept from the KV cache for activations and buffers, GiB (default: vLLM's profile run, see RooflineModel). */
  activationReserveGiB?: number;
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

/**
 * Defaults of the roofline model. The efficiencies are fractions of the datasheet peaks; where a
 * figure was fitted, it was fitted to the Vidur A100 Llama-3-70B TP2 profile's fitting half
 * (decode at contexts 512 and 1024, prefill up to 1,024 tokens), each on its own operator column
 * (docs/roofline.md gives the fit and the held-out check).
 * - bandwidth 0.75: weight-streaming GEMMs at batch 1 (Vidur's MLP and projection times; 0.754).
 * - flops 0.68: bf16 GEMMs (MLP and projections at 128–1,024 tokens; 0.685).
 * - attention 0.15: attention FLOPs (4 · head dim per query-key pair and head, causal pairs only)
 *   of Vidur's FlashAttention profile (0.144); FlashAttention-2 publishes 0.4–0.6 on A100 for long
 *   causal sequences, so long prefills may be faster than this on newer kernels.
 * - overlap 2: the exponent p of t = (t_mem^p + t_compute^p)^(1/p), fitted with the GEMMs (2.03).
 * - kernelS 6 µs: the floor of each small per-layer kernel (norms, RoPE, KV write, attention,
 *   SwiGLU), Vidur's ops at batch 1 (5.9 and 6.0 µs).
 * - collectiveLatencyS 70 µs and link 0.8: per all-reduce, from Vidur's all-reduce column (70 µs
 *   fitted); link 0.8 of the NVLink line rate is NCCL's effective rate (NCCL maintainers: about 20%
 *   protocol overhead; nccl-tests on 8×A100 show a bus bandwidth of ~200–230 GB/s of 300).
 * - overheadS 0: the CPU's share of a step (scheduling, sampling) overlaps the GPU in vLLM V1, and
 *   the reference leaves it out; set it to charge one.
 * - memoryFraction 0.9: vLLM's gpu_memory_utilization default.
 */
export const ROOFLINE_DEFAULTS = {
  bandwidth: 0.75,
  flops: 0.68,
  attention: 0.15,
  overlap: 2,
  kernelS: 6e-6,
  collectiveLatencyS: 70e-6,
  link: 0.8,
  overheadS: 0,
  memoryFraction: 0.9,
} as const;

/** Small kernels per layer that cost at least kernelS each: 2 add+RMSNorm, RoPE, KV write, attention, SwiGLU. */
const SMALL_KERNELS_PER_LAYER = 6;
/** Activations and collectives are bf16. */
const ACT_BYTES = 2;
const GiB = 2 ** 30;
/**
 * vLLM sizes the KV cache after a profile run of max_num_batched_tokens tokens and max_num_seqs
 * sampled rows; the default reserve is that run's peak activations (8,192 tokens, 256 rows) plus
 * 1 GiB for memory outside PyTorch and CUDA graphs (NCCL and cuBLAS buffers; an assumption: vLLM
 * logs 0.1–0.5 GiB of non-torch memory and about as much for graphs).
 */
const PROFILE_TOKENS = 8192;
const PROFILE_SEQS = 256;
const NON_TORCH_BYTES = 1 * GiB;

/** One weight matmul of a layer, on one GPU: (tokens, in) × (in, out). */
interface Gemm {
  weightBytes: number;
  flopsPerToken: number;
  /** Activation bytes read and written per token. */
  actBytesPerToken: number;
}

/** √(a² + b²): Math.hypot guards against overflow these magnitudes never reach, at several times the cost. */
function norm2(a: number, b: number): number {
  return Math.sqrt(a * a + b * b);
}

/** A GEMM's roofline terms in seconds, divided once: memory = fixedS + tokens·memS, compute = tokens·compS. */
interface GemmTime {
  fixedS: number;
  memS: number;
  compS: number;
}

/**
 * The roofline model: per step, the time of every kernel the GPU runs, from the model's layer
 * shapes on one tensor-parallel shard (the slowest GPU of the replica is any GPU: shards are equal).
 * - Weight GEMMs (QKV, O, gate+up, down per layer; the LM head only over sampled tokens): bytes =
 *   weights + activations, FLOPs = 2 · tokens · weights; t = (t_mem^p + t_flop^p)^(1/p), p = 2.
 *   A plain max(t_mem, t_flop) is exact only far from the ridge point; measured GEMMs slow down
 *   well before it (tiles wait on loads they cannot hide), and the p-norm follows that curve
 *   (Vidur: 57 → 87 ms from batch 1 to 128; max would give 57 → 60).
 * - Attention per layer: bytes = KV of every context position (read) + new K/V (written) + Q and
 *   output; FLOPs = 4 · head dim · heads per GPU · attended query-key pairs; same p-norm.
 * - Elementwise (memory bound): embedding rows gathered, add+RMSNorm twice, RoPE, SwiGLU, each
 *   per token; plus a floor of kernelS for each small kernel of each layer.
 * - Tensor parallelism (tp > 1): 2 all-reduces per layer and 1 after the vocab-parallel
 *   embedding, of tokens × hidden × 2 bytes, each latency + 2(tp−1)/tp · bytes / (link · eff)
 *   (ring), and an all-gather of the sampled logits.
 * - Per-step overhead (CPU), 0 by default.
 * KV heads are split over the shards (replicated when tp > kvHeads).
 */
export class RooflineModel implements StepTimeModel {
  readonly gpu: GpuSpec;
  readonly model: ModelSpec;
  readonly tp: number;
  /** Weight bytes of the whole model (linear layers in the weight dtype; embeddings, LM head, norms bf16). */
  readonly weightBytes: number;
  /** Weight bytes one GPU holds. */
  readonly weightBytesPerGpu: number;
  /** KV bytes per token, all layers, all shards. */
  readonly kvBytesPerToken: number;
  /** KV bytes per token one GPU holds, all layers. */
  readonly kvBytesPerTokenPerGpu: number;
  /** Memory held back from the KV cache on each GPU for activations and buffers, bytes. */
  readonly reserveBytesPerGpu: number;
  // Per-step terms in seconds (the step time is evaluated once per simulated step: nothing is
  // divided or allocated there).
  private readonly gemms: GemmTime[];
  private readonly head: GemmTime;
  private readonly layers: number;
  /** Attention memory per layer: seconds per context position, per query token; compute per pair. */
  private readonly kvS: number;
  private readonly qoS: number;
  private readonly attnPairS: number;
  /** Elementwise kernels and the embedding gather, all layers, seconds per token. */
  private readonly elemS: number;
  private readonly kernelFloor: number;
  private readonly collectives: number;
  private readonly collectiveLatency: number;
  private readonly commPerToken: number;
  private readonly gatherPerSampled: number;
  private readonly overhead: number;

  constructor(readonly spec: RooflineSpec) {
    this.gpu = gpuSpec(spec.gpu);
    const m = (this.model = modelSpec(spec.model));
    const tp = (this.tp = spec.tp ?? 1);
    const weights = spec.weights ?? 'bf16';
    const kvDtype = spec.kvCache ?? 'bf16';
    const eff = spec.efficiency ?? {};
    const wb = DTYPE_BYTES[weights];
    const h = m.hidden;
    const hq = m.heads / tp;
    const hk = Math.ceil(m.kvHeads / tp);
    const ip = m.intermediate / tp;
    const vp = m.vocab / tp;
    const d = m.headDim;
    const gemm = (inDim: number, outDim: number, bytes = wb): Gemm => ({ weightBytes: inDim * outDim * bytes, flopsPerToken: 2 * inDim * outDim, actBytesPerToken: (inDim + outDim) * ACT_BYTES });
    const gemms = [gemm(h, (hq + 2 * hk) * d), gemm(hq * d, h), gemm(h, 2 * ip), gemm(ip, h)];
    const head = gemm(h, vp, DTYPE_BYTES.bf16);
    this.layers = m.layers;

    const norms = (2 * m.layers + 1) * h * DTYPE_BYTES.bf16;
    const embed = m.vocab * h * DTYPE_BYTES.bf16;
    const fullLayer = h * (m.heads + 2 * m.kvHeads) * d + m.heads * d * h + 3 * h * m.intermediate;
    this.weightBytes = m.layers * fullLayer * wb + norms + embed * (m.tiedEmbeddings ? 1 : 2);
    const layerPerGpu = gemms.reduce((s, g) => s + g.weightBytes, 0);
    this.weightBytesPerGpu = m.layers * layerPerGpu + norms + (embed / tp) * (m.tiedEmbeddings ? 1 : 2);

    this.kvBytesPerToken = kvBytesPerToken(m, kvDtype);
    const kvPerLayer = 2 * hk * d * DTYPE_BYTES[kvDtype];
    this.kvBytesPerTokenPerGpu = m.layers * kvPerLayer;
    const qoBytesPerToken = 2 * hq * d * ACT_BYTES;
    const attnFlopsPerPair = 4 * hq * d;
    // Per layer: add+RMSNorm twice (read x and residual, write both), RoPE on Q and K (read,
    // write), SwiGLU (read gate and up, write one); the embedding gathers a row per token.
    const elemBytesPerToken = m.layers * ACT_BYTES * (8 * h + 2 * (hq + hk) * d + 3 * ip) + h * (DTYPE_BYTES.bf16 + ACT_BYTES);
    this.kernelFloor = m.layers * SMALL_KERNELS_PER_LAYER * (eff.kernelS ?? ROOFLINE_DEFAULTS.kernelS);

    const link = this.gpu.linkBandwidth * (eff.link ?? ROOFLINE_DEFAULTS.link);
    this.collectives = tp > 1 ? 2 * m.layers + 1 : 0;
    this.collectiveLatency = eff.collectiveLatencyS ?? ROOFLINE_DEFAULTS.collectiveLatencyS;
    this.commPerToken = tp > 1 ? (((2 * (tp - 1)) / tp) * h * ACT_BYTES) / link : 0;
    this.gatherPerSampled = tp > 1 ? (((tp - 1) / tp) * m.vocab * ACT_BYTES) / link : 0;

    const bw = this.gpu.memoryBandwidth * (eff.bandwidth ?? ROOFLINE_DEFAULTS.bandwidth);
    const fp8 = weights === 'fp8' && this.gpu.fp8Flops !== undefined;
    const peak = (fp8 ? this.gpu.fp8Flops! : this.gpu.bf16Flops) * (eff.flops ?? ROOFLINE_DEFAULTS.flops);
    const attnPeak = this.gpu.bf16Flops * (eff.attention ?? ROOFLINE_DEFAULTS.attention);
    const seconds = (g: Gemm): GemmTime => ({ fixedS: g.weightBytes / bw, memS: g.actBytesPerToken / bw, compS: g.flopsPerToken / peak });
    this.gemms = gemms.map(seconds);
    this.head = seconds(head);
    this.kvS = kvPerLayer / bw;
    this.qoS = qoBytesPerToken / bw;
    this.attnPairS = attnFlopsPerPair / attnPeak;
    this.elemS = elemBytesPerToken / bw;
    this.overhead = eff.overheadS ?? ROOFLINE_DEFAULTS.overheadS;

    // The profile run's peak: per token the residual, the normed hidden and the MLP's gate, up and
    // product; per sampled row fp32 logits and probabilities over the whole vocabulary.
    const act = PROFILE_TOKENS * ACT_BYTES * (2 * h + 3 * ip) + PROFILE_SEQS * m.vocab * 4 * 2;
    this.reserveBytesPerGpu = spec.activationReserveGiB !== undefined ? spec.activationReserveGiB * GiB : act + NON_TORCH_BYTES;
  }

  /**
   * KV blocks of `blockSize` positions per replica: on each GPU, memoryFraction of its memory less
   * its weights and the activation reserve, over that GPU's KV bytes per block.
   */
  kvBlocks(blockSize: number): number {
    const usable = (this.spec.memoryFraction ?? ROOFLINE_DEFAULTS.memoryFraction) * this.gpu.memoryBytes - this.weightBytesPerGpu - this.reserveBytesPerGpu;
    return Math.max(0, Math.floor(usable / (this.kvBytesPerTokenPerGpu * blockSize)));
  }

  /**
   * Busy seconds of a step: `tokens` fed, `sampled` of them sampled, attention over `context`
   * positions and `pairs` query-key pairs. Each kernel's memory and compute times combine as a
   * 2-norm (ROOFLINE_DEFAULTS.overlap).
   */
  private time(tokens: number, sampled: number, context: number, pairs: number): number {
    if (tokens <= 0) return Math.max(MIN_STEP_S, this.overhead);
    let layer = 0;
    for (const g of this.gemms) layer += norm2(g.fixedS + tokens * g.memS, tokens * g.compS);
    layer += norm2((context + tokens) * this.kvS + tokens * this.qoS, pairs * this.attnPairS);
    let t = this.layers * layer + tokens * this.elemS + this.kernelFloor;
    if (sampled > 0) {
      const hd = this.head;
      t += norm2(hd.fixedS + sampled * hd.memS, sampled * hd.compS);
    }
    if (this.collectives > 0) {
      t += this.collectives * (this.collectiveLatency + tokens * this.commPerToken);
      if (sampled > 0) t += this.collectiveLatency + sampled * this.gatherPerSampled;
    }
    return this.overhead + t;
  }

  stepTime(plan: StepPlan): number {
    return this.time(plan.decodeTokens + plan.prefillTokens, plan.sampledTokens, plan.contextTokens, attendedPairs(plan));
  }
  shapeTime(x: StepShape): number {
    // Without sampledTokens every decode samples and so does every prefill sequence (each taken
    // to end its prompt in this step, as a whole-prompt capacity estimate does).
    const sampled = x.sampledTokens ?? x.decodeTokens + Math.max(0, x.batchSize - x.decodeTokens);
    return this.time(x.decodeTokens + x.prefillTokens, sampled, x.contextTokens, x.attendedPairs);
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

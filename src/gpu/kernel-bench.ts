// The kernel lab's benchmark library, shared by `npm run bench:kernels` (Node) and the kernel
// view's worker (browser). For each kernel, shape and variant: a correctness check against the
// CPU reference (src/ops/reference.ts), the median GPU time of one dispatch (kernel-timing.ts),
// GFLOPS, GB/s and the fraction of the device's measured peak on the roofline (peak.ts).
//
// Shapes come from the loaded model (the shapes its decode and prefill steps run) at several
// batch sizes M: every matmul of a step is (M, N, K) with M = tokens in the step.
// FLOPs and bytes are the minimum work of the op (2·M·N·K FLOPs; every operand read once and the
// output written once), so a kernel that re-reads memory shows a lower GB/s than it moves.
import { deviceProfile } from './profile.js';
import { bufferFrom, readFloat32, STORAGE } from './buffers.js';
import { UniformArena } from './uniforms.js';
import {
  checkMatmulVariant,
  matmulVariantAvailable,
  chooseMatmulVariant,
  encodeMatmul,
  MATMUL_VARIANTS,
  type MatmulVariant,
} from './ops/matmul.js';
import { encodeRmsnorm } from './ops/rmsnorm.js';
import { encodeRope } from './ops/rope.js';
import { encodeSwiglu } from './ops/swiglu.js';
import { encodeAdd } from './ops/add.js';
import { encodeEmbedding } from './ops/embedding.js';
import {
  chooseDecodeVariant,
  encodeAttentionDecode,
  packTokMeta,
  SERIAL_MAX_HEAD_DIM,
  type DecodeVariant,
} from './ops/attention.js';
import { roofline, type PeakResult } from './peak.js';
import { timeKernel, type EncodeKernel, type TimerGpu, type TimingOptions, type TimingSource } from './kernel-timing.js';
import * as ref from '../ops/reference.js';
import { Rng } from '../ops/random.js';

/** The parts of a model's config that set kernel shapes (a ModelConfig has them all). */
export interface ModelDims {
  dim: number;
  hiddenDim: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen?: number;
}

/** The default batch sizes (tokens per step) at which the model's shapes are benchmarked. */
export const BENCH_BATCHES = [1, 4, 16, 64, 256] as const;
/**
 * A matvec variant reads every weight once per block of ROWS rows; it is benchmarked while that
 * is at most this many times (beyond, it costs seconds per dispatch on slow adapters, and no rule
 * would pick it): r1 up to M = 4, r4 up to M = 16.
 */
export const MATVEC_BENCH_MAX_ROW_BLOCKS = 4;

export interface MatmulShape {
  /** The model's weights with this (N, K): "wq, wo", "w1, w3", ... */
  name: string;
  m: number;
  n: number;
  k: number;
}

/**
 * The distinct matmul shapes of one step of the model at each batch size M: (M, N, K) for
 * x(M, K) · w(N, K)ᵀ, N = output features, K = input features. Weights that share (N, K) are
 * listed once under a joint name.
 */
export function modelMatmulShapes(c: ModelDims, batches: readonly number[] = BENCH_BATCHES): MatmulShape[] {
  const kvDim = (c.dim * c.nKvHeads) / c.nHeads;
  const weights: [string, number, number][] = [
    ['wq', c.dim, c.dim],
    ['wk', kvDim, c.dim],
    ['wv', kvDim, c.dim],
    ['wo', c.dim, c.dim],
    ['w1', c.hiddenDim, c.dim],
    ['w3', c.hiddenDim, c.dim],
    ['w2', c.dim, c.hiddenDim],
    ['classifier', c.vocabSize, c.dim],
  ];
  const byNK = new Map<string, { names: string[]; n: number; k: number }>();
  for (const [name, n, k] of weights) {
    const key = `${n}x${k}`;
    const e = byNK.get(key);
    if (e) e.names.push(name);
    else byNK.set(key, { names: [name], n, k });
  }
  const out: MatmulShape[] = [];
  for (const m of batches) for (const e of byNK.values()) out.push({ name: e.names.join(', '), m, n: e.n, k: e.k });
  return out;
}

/** One benchmarked kernel configuration. */
export interface KernelResult {
  kernel: string;
  /** Where the model uses it ("wq, wo", "attention"). */
  name: string;
  /** The shape in words, e.g. "M=16 N=96 K=96". */
  shape: string;
  dims: Record<string, number>;
  variant: string;
  /** The variant the default rule picks for this shape. */
  isDefault: boolean;
  /** Median time of one dispatch, ms (NaN when it could not run). */
  ms: number;
  minMs: number;
  samples: number;
  source: TimingSource;
  flops: number;
  bytes: number;
  gflops: number;
  gbs: number;
  /** FLOPs per byte; 0 for pure data movement. */
  intensity: number;
  bound: 'memory' | 'compute';
  /** Of the measured peak that applies at this intensity (the roofline). */
  fraction: number;
  correct: boolean;
  /** Largest |gpu − cpu| / (atol + rtol·|cpu|): at most 1 passes. */
  errorRatio: number;
  tolerance: string;
  /** Why it did not run (device limits, a GPU error). */
  error?: string;
  /** Timed once only (its first run was over pruneFactor times the best variant's time). */
  pruned?: boolean;
}

export interface BenchOptions {
  timing?: TimingOptions;
  /**
   * A variant whose first timed dispatch is this many times slower than the best so far is not
   * timed further (default 3; Infinity times every variant fully). The default variant runs first.
   */
  pruneFactor?: number;
  /** Called after each configuration. */
  onResult?: (r: KernelResult) => void;
}

// ------------------------------------------------------------------------------------------------
// Generic runner: a case sets up its buffers once, checks one dispatch against the CPU, then times.

interface Prepared {
  encode: EncodeKernel;
  /** Restores inputs that the kernel overwrites in place (rope) and clears the output. */
  reset(): void;
  /** Reads back the output of one dispatch. */
  read(): Promise<Float32Array>;
  expected(): Float32Array;
  atol: number;
  rtol: number;
  tolerance: string;
}

interface BenchCase {
  kernel: string;
  name: string;
  shape: string;
  dims: Record<string, number>;
  variant: string;
  isDefault: boolean;
  flops: number;
  bytes: number;
}

/** Largest |a − e| / (atol + rtol·|e|); NaN or a missing value counts as Infinity. */
export function errorRatio(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0): number {
  if (actual.length < expected.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const d = Math.abs(actual[i]! - e);
    if (d === 0) continue;
    const r = d / (atol + rtol * Math.abs(e));
    if (!(r <= worst)) worst = Number.isNaN(r) ? Infinity : r;
  }
  return worst;
}

async function withErrorScope<T>(device: GPUDevice, f: () => Promise<T>): Promise<T> {
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  let value: T | undefined;
  let thrown: unknown;
  try {
    value = await f();
  } catch (e) {
    thrown = e;
  }
  const oom = await device.popErrorScope();
  const validation = await device.popErrorScope();
  if (thrown) throw thrown;
  const err = validation ?? oom;
  if (err) throw new Error(`GPU error: ${err.message}`);
  return value as T;
}

async function runCase(
  gpu: TimerGpu,
  c: BenchCase,
  prepare: () => Prepared,
  peak: Pick<PeakResult, 'gflops' | 'gbs'>,
  opts: BenchOptions,
  timing: TimingOptions | undefined = opts.timing,
): Promise<KernelResult> {
  const base = { ...c, samples: 0, source: (gpu.timestamps ? 'timestamp' : 'wall') as TimingSource };
  let p: Prepared | undefined;
  try {
    const r = await withErrorScope(gpu.device, async () => {
      p = prepare();
      p.reset();
      const arena = new UniformArena(gpu.device, 1);
      const enc = gpu.device.createCommandEncoder({ label: `check ${c.kernel}` });
      const pass = enc.beginComputePass();
      p.encode(pass, arena);
      pass.end();
      arena.flush();
      gpu.device.queue.submit([enc.finish()]);
      await gpu.device.queue.onSubmittedWorkDone();
      arena.destroy();
      const got = await p.read();
      const ratio = errorRatio(got, p.expected(), p.atol, p.rtol);
      // The check run compiled the pipeline and touched the buffers, so timeKernel's probe (one
      // more run, timed on the GPU where timestamps exist) decides the pruning: a wall-clock bound
      // would include the submission's round trip (1-2 ms in a browser) and prune every variant of
      // a small shape.
      const t = await timeKernel(gpu, p.encode, { warm: true, ...timing });
      return { ratio, t };
    });
    const roof = roofline(c.flops, c.bytes, r.t.ms, peak);
    return {
      ...base,
      ms: r.t.ms,
      minMs: r.t.minMs,
      samples: r.t.samples.length,
      source: r.t.source,
      gflops: c.flops / (r.t.ms * 1e6),
      gbs: c.bytes / (r.t.ms * 1e6),
      intensity: roof.intensity,
      bound: roof.bound,
      fraction: roof.fraction,
      correct: r.ratio <= 1,
      errorRatio: r.ratio,
      tolerance: p!.tolerance,
      ...(r.t.abandoned ? { pruned: true } : {}),
    };
  } catch (e) {
    return {
      ...base,
      ms: NaN,
      minMs: NaN,
      gflops: NaN,
      gbs: NaN,
      intensity: c.flops > 0 ? c.flops / c.bytes : 0,
      bound: 'memory',
      fraction: NaN,
      correct: false,
      errorRatio: NaN,
      tolerance: p?.tolerance ?? '',
      error: (e as Error).message,
    };
  }
}

/** Keeps the GPU buffers a group of cases shares; destroy() frees them all. */
class Buffers {
  private list: GPUBuffer[] = [];
  constructor(private readonly device: GPUDevice) {}
  from(data: ArrayBufferView, label?: string): GPUBuffer {
    const b = bufferFrom(this.device, data, STORAGE, label);
    this.list.push(b);
    return b;
  }
  empty(floats: number, label?: string): GPUBuffer {
    const b = this.device.createBuffer({ label, size: Math.max(16, floats * 4), usage: STORAGE });
    this.list.push(b);
    return b;
  }
  destroy(): void {
    for (const b of this.list) b.destroy();
    this.list = [];
  }
}

/** Fills a buffer with NaNs so a kernel that skips outputs fails its check. */
function poison(device: GPUDevice, b: GPUBuffer, floats: number): void {
  device.queue.writeBuffer(b, 0, new Float32Array(floats).fill(NaN));
}

// ------------------------------------------------------------------------------------------------
// Matmul: every variant valid for the shape, side by side.

/**
 * Matmul tolerance (tests/gpu/matmul.test.ts): inputs uniform in [-1, 1), each output a sum of K
 * terms whose f32 rounding error grows like sqrt(K): atol = 1e-5·sqrt(K).
 */
export const matmulAtol = (K: number) => 1e-5 * Math.sqrt(K);

/** The variants benchmarked for M rows: every GEMM; matvec while ceil(M / ROWS) <= MATVEC_BENCH_MAX_ROW_BLOCKS. */
export function matmulVariantsFor(m: number, variants: readonly MatmulVariant[] = MATMUL_VARIANTS): MatmulVariant[] {
  return variants.filter((v) => v.kind !== 'matvec' || Math.ceil(m / v.constants.ROWS) <= MATVEC_BENCH_MAX_ROW_BLOCKS);
}

export const matmulFlops = (s: { m: number; n: number; k: number }) => 2 * s.m * s.n * s.k;
export const matmulBytes = (s: { m: number; n: number; k: number }) => 4 * (s.m * s.k + s.n * s.k + s.m * s.n);

export interface MatmulShapeResult extends MatmulShape {
  variants: KernelResult[];
  /** The default rule's choice. */
  defaultVariant: string;
  /** The fastest correct variant (undefined when none ran correctly). */
  best?: KernelResult;
  /** Default time / best time (>= 1: the best variant is that much faster). */
  speedup: number;
}

/**
 * Benchmarks one matmul shape with each variant: one set of seeded inputs and one CPU reference
 * shared by all variants; the output is poisoned (NaN) before each check.
 */
export async function benchMatmulShape(
  gpu: TimerGpu,
  shape: MatmulShape,
  peak: Pick<PeakResult, 'gflops' | 'gbs'>,
  opts: BenchOptions & { variants?: readonly MatmulVariant[]; seed?: number } = {},
): Promise<MatmulShapeResult> {
  const { device } = gpu;
  const { m, n, k } = shape;
  const rng = new Rng(opts.seed ?? 1234 + m * 7 + n * 13 + k);
  const x = rng.floats(m * k); // (M, K)
  const w = rng.floats(n * k); // (N, K)
  let expected: Float32Array | undefined;
  const bufs = new Buffers(device);
  const gx = bufs.from(x, 'x');
  const gw = bufs.from(w, 'w');
  const gy = bufs.empty(m * n, 'y'); // (M, N)
  const def = chooseMatmulVariant(m, n, k, deviceProfile(device));
  const results: KernelResult[] = [];
  const pruneFactor = opts.pruneFactor ?? 3;
  let bestMs = Infinity;
  // The default variant first: it sets the bar for pruning. Variants that need a feature this
  // device lacks are left out (not failed: they were never run).
  const variants = matmulVariantsFor(m, opts.variants).filter((v) => matmulVariantAvailable(device, v));
  const runOrder = [...variants].sort((a, b) => Number(b.name === def.name) - Number(a.name === def.name));
  try {
    for (const v of runOrder) {
      const c: BenchCase = {
        kernel: 'matmul',
        name: shape.name,
        shape: `M=${m} N=${n} K=${k}`,
        dims: { m, n, k },
        variant: v.name,
        isDefault: v.name === def.name,
        flops: matmulFlops(shape),
        bytes: matmulBytes(shape),
      };
      let r: KernelResult;
      try {
        checkMatmulVariant(device, v);
        r = await runCase(
          gpu,
          c,
          () => ({
            encode: (pass, arena) => void encodeMatmul(device, pass, arena, gx, gw, gy, m, n, k, { variant: v }),
            reset: () => poison(device, gy, m * n),
            read: () => readFloat32(device, gy, m * n),
            expected: () => (expected ??= ref.matmul(x, w, m, n, k)),
            atol: matmulAtol(k),
            rtol: 0,
            tolerance: `atol 1e-5·sqrt(K) = ${matmulAtol(k).toExponential(1)}`,
          }),
          peak,
          opts,
          { ...opts.timing, abandonAboveMs: Number.isFinite(bestMs) ? bestMs * pruneFactor : undefined },
        );
        if (r.correct && r.ms < bestMs) bestMs = r.ms;
      } catch (e) {
        // The variant does not fit this device (checkMatmulVariant).
        r = failed(c, gpu, (e as Error).message);
      }
      results.push(r);
      opts.onResult?.(r);
    }
  } finally {
    bufs.destroy();
  }
  const order = (name: string) => variants.findIndex((v) => v.name === name);
  results.sort((a, b) => order(a.variant) - order(b.variant));
  const ok = results.filter((r) => r.correct && Number.isFinite(r.ms));
  const best = ok.length > 0 ? ok.reduce((a, b) => (b.ms < a.ms ? b : a)) : undefined;
  const d = results.find((r) => r.isDefault);
  return {
    ...shape,
    variants: results,
    defaultVariant: def.name,
    best,
    speedup: best && d && Number.isFinite(d.ms) ? d.ms / best.ms : NaN,
  };
}

function failed(c: BenchCase, gpu: TimerGpu, error: string): KernelResult {
  return {
    ...c,
    ms: NaN,
    minMs: NaN,
    samples: 0,
    source: gpu.timestamps ? 'timestamp' : 'wall',
    gflops: NaN,
    gbs: NaN,
    intensity: c.flops / c.bytes,
    bound: 'memory',
    fraction: NaN,
    correct: false,
    errorRatio: NaN,
    tolerance: '',
    error,
  };
}

export async function benchMatmulShapes(
  gpu: TimerGpu,
  shapes: readonly MatmulShape[],
  peak: Pick<PeakResult, 'gflops' | 'gbs'>,
  opts: BenchOptions & { variants?: readonly MatmulVariant[]; onShape?: (r: MatmulShapeResult, i: number) => void } = {},
): Promise<MatmulShapeResult[]> {
  const out: MatmulShapeResult[] = [];
  for (const s of shapes) {
    const r = await benchMatmulShape(gpu, s, peak, opts);
    out.push(r);
    opts.onShape?.(r, out.length - 1);
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// The other kernels of a step, at the model's shapes: one configuration each, except decode
// attention, whose two variants run side by side.

/** Positions each sequence has in the attention benchmark: half the context, at most 128. */
export function attentionBenchContext(c: ModelDims): number {
  return Math.max(1, Math.min(128, Math.floor((c.seqLen ?? 256) / 2)));
}

/**
 * Benchmarks rmsnorm, rope, swiglu, add, embedding and decode attention at each batch size
 * (rows = tokens in the step; for attention, sequences each decoding one token).
 */
export async function benchOtherKernels(
  gpu: TimerGpu,
  c: ModelDims,
  batches: readonly number[],
  peak: Pick<PeakResult, 'gflops' | 'gbs'>,
  opts: BenchOptions = {},
): Promise<KernelResult[]> {
  const { device } = gpu;
  const out: KernelResult[] = [];
  const hd = c.dim / c.nHeads;
  const kvDim = hd * c.nKvHeads;
  const push = (r: KernelResult) => {
    out.push(r);
    opts.onResult?.(r);
  };
  for (const M of batches) {
    const rng = new Rng(99 + M);
    const bufs = new Buffers(device);
    try {
      // RMSNorm: x (M, dim) -> out (M, dim).
      {
        const x = rng.floats(M * c.dim);
        const wt = rng.floats(c.dim, 0.5, 1.5);
        const gx = bufs.from(x);
        const gw = bufs.from(wt);
        const go = bufs.empty(M * c.dim);
        push(
          await runCase(
            gpu,
            { kernel: 'rmsnorm', name: 'attention and FFN norms', shape: `rows=${M} dim=${c.dim}`, dims: { rows: M, dim: c.dim }, variant: 'default', isDefault: true, flops: 4 * M * c.dim, bytes: 4 * (2 * M * c.dim + c.dim) },
            () => ({
              encode: (pass, arena) => encodeRmsnorm(device, pass, arena, gx, gw, go, M, c.dim, 1e-5),
              reset: () => poison(device, go, M * c.dim),
              read: () => readFloat32(device, go, M * c.dim),
              expected: () => ref.rmsnorm(x, wt, M, c.dim, 1e-5),
              atol: 1e-5,
              rtol: 1e-5,
              tolerance: 'atol 1e-5, rtol 1e-5',
            }),
            peak,
            opts,
          ),
        );
      }
      // RoPE on q: (M, nHeads·headDim) in place, positions up to the context.
      {
        const width = c.nHeads * hd;
        const x = new Float32Array(rng.floats(M * width));
        const maxPos = (c.seqLen ?? 256) - 1;
        const pos = Uint32Array.from({ length: M }, () => rng.int(0, maxPos));
        const gx = bufs.from(x);
        const gp = bufs.from(pos);
        push(
          await runCase(
            gpu,
            { kernel: 'rope', name: 'q heads', shape: `rows=${M} heads=${c.nHeads} headDim=${hd}`, dims: { rows: M, heads: c.nHeads, headDim: hd }, variant: 'default', isDefault: true, flops: 3 * M * width, bytes: 4 * (2 * M * width + M) },
            () => ({
              encode: (pass, arena) => encodeRope(device, pass, arena, gx, gp, M, c.nHeads, hd),
              reset: () => device.queue.writeBuffer(gx, 0, x),
              read: () => readFloat32(device, gx, M * width),
              expected: () => ref.rope(Float32Array.from(x), pos, M, c.nHeads, hd),
              atol: 1e-5 + maxPos * 2e-7,
              rtol: 0,
              tolerance: `atol 1e-5 + maxPos·2e-7 (tests/gpu/rope.test.ts)`,
            }),
            peak,
            opts,
          ),
        );
      }
      // SwiGLU: gate, up (M, hidden) -> out.
      {
        const n = M * c.hiddenDim;
        const g = rng.floats(n, -4, 4);
        const u = rng.floats(n);
        const gg = bufs.from(g);
        const gu = bufs.from(u);
        const go = bufs.empty(n);
        push(
          await runCase(
            gpu,
            { kernel: 'swiglu', name: 'FFN gate', shape: `n=${M}x${c.hiddenDim}`, dims: { rows: M, hidden: c.hiddenDim }, variant: 'default', isDefault: true, flops: 5 * n, bytes: 12 * n },
            () => ({
              encode: (pass, arena) => encodeSwiglu(device, pass, arena, gg, gu, go, n),
              reset: () => poison(device, go, n),
              read: () => readFloat32(device, go, n),
              expected: () => ref.swiglu(g, u),
              atol: 1e-6,
              rtol: 1e-5,
              tolerance: 'atol 1e-6, rtol 1e-5',
            }),
            peak,
            opts,
          ),
        );
      }
      // Residual add: (M, dim).
      {
        const n = M * c.dim;
        const a = rng.floats(n);
        const b = rng.floats(n);
        const ga = bufs.from(a);
        const gb = bufs.from(b);
        const go = bufs.empty(n);
        push(
          await runCase(
            gpu,
            { kernel: 'add', name: 'residual', shape: `n=${M}x${c.dim}`, dims: { rows: M, dim: c.dim }, variant: 'default', isDefault: true, flops: n, bytes: 12 * n },
            () => ({
              encode: (pass, arena) => encodeAdd(device, pass, arena, ga, gb, go, n),
              reset: () => poison(device, go, n),
              read: () => readFloat32(device, go, n),
              expected: () => ref.add(a, b),
              atol: 0,
              rtol: 1e-7,
              tolerance: 'exact (rtol 1e-7)',
            }),
            peak,
            opts,
          ),
        );
      }
      // Embedding: M token ids -> (M, dim) rows of the (vocab, dim) table.
      {
        const table = rng.floats(c.vocabSize * c.dim);
        const toks = Uint32Array.from({ length: M }, () => rng.int(0, c.vocabSize - 1));
        const gt = bufs.from(table);
        const gk = bufs.from(toks);
        const go = bufs.empty(M * c.dim);
        push(
          await runCase(
            gpu,
            { kernel: 'embedding', name: 'token embedding', shape: `tokens=${M} dim=${c.dim}`, dims: { tokens: M, dim: c.dim }, variant: 'default', isDefault: true, flops: 0, bytes: 4 * (2 * M * c.dim + M) },
            () => ({
              encode: (pass, arena) => encodeEmbedding(device, pass, arena, gt, gk, go, M, c.dim, { vocab: c.vocabSize }),
              reset: () => poison(device, go, M * c.dim),
              read: () => readFloat32(device, go, M * c.dim),
              expected: () => ref.embedding(table, toks, c.dim),
              atol: 0,
              rtol: 0,
              tolerance: 'exact',
            }),
            peak,
            opts,
          ),
        );
      }
      // Decode attention: M sequences of ctx positions, one query each, both variants.
      {
        const ctx = attentionBenchContext(c);
        const blockSize = 16;
        const maxBlocksPerSeq = Math.ceil(ctx / blockSize);
        const L: ref.PagedLayout = { nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: hd, blockSize, maxBlocksPerSeq };
        const numBlocks = M * maxBlocksPerSeq;
        // Sequence s owns blocks s, s + M, s + 2M, ...: interleaved, as a busy cache would be.
        const table = Uint32Array.from({ length: M * maxBlocksPerSeq }, (_, i) => (i % maxBlocksPerSeq) * M + Math.floor(i / maxBlocksPerSeq));
        const kCache = rng.floats(numBlocks * blockSize * kvDim);
        const vCache = rng.floats(numBlocks * blockSize * kvDim);
        const q = rng.floats(M * c.dim);
        const slots = Array.from({ length: M }, (_, i) => i);
        const positions = slots.map(() => ctx - 1);
        const gq = bufs.from(q);
        const gk = bufs.from(kCache);
        const gv = bufs.from(vCache);
        const gt = bufs.from(table);
        const gm = bufs.from(packTokMeta(slots, positions));
        const go = bufs.empty(M * c.dim);
        let expected: Float32Array | undefined;
        const def = chooseDecodeVariant(hd); // what the engine uses: it passes no maxPos
        const variants: DecodeVariant[] = hd <= SERIAL_MAX_HEAD_DIM ? ['tiled', 'serial'] : ['tiled'];
        for (const variant of variants) {
          push(
            await runCase(
              gpu,
              {
                kernel: 'attention decode',
                name: 'attention',
                shape: `seqs=${M} ctx=${ctx} heads=${c.nHeads}/${c.nKvHeads} headDim=${hd}`,
                dims: { seqs: M, ctx, heads: c.nHeads, kvHeads: c.nKvHeads, headDim: hd },
                variant,
                isDefault: variant === def,
                flops: M * c.nHeads * ctx * (4 * hd + 5),
                bytes: 4 * (2 * M * ctx * kvDim + 2 * M * c.dim + M * maxBlocksPerSeq + 2 * M),
              },
              () => ({
                encode: (pass, arena) =>
                  void encodeAttentionDecode(device, pass, arena, L, gq, gk, gv, gt, gm, go, 0, M, { variant, maxPos: ctx - 1 }),
                reset: () => poison(device, go, M * c.dim),
                read: () => readFloat32(device, go, M * c.dim),
                expected: () => (expected ??= ref.attentionPaged(L, q, kCache, vCache, table, slots, positions)),
                atol: 1e-5,
                rtol: 0,
                tolerance: 'atol 1e-5 (tests/gpu/attention.test.ts)',
              }),
              peak,
              opts,
            ),
          );
        }
      }
    } finally {
      bufs.destroy();
    }
  }
  return out;
}

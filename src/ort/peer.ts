// onnxruntime-web as the independent peer engine: the same matmul shapes and the same model (the
// ONNX export of export-llama.ts, same weights) run through ORT, for timings to compare ours
// against and logits to check ours with. Runs in Node (ORT's wasm backend; onnxruntime-web's
// Node build has no WebGPU) and in the browser (WebGPU through ORT's JSEP build, or wasm).
//
// In a Vite page call configureOrtForVite() (src/ort/browser.ts) first so ORT finds its .wasm;
// in Node ORT finds it beside its own module.
import * as ort from 'onnxruntime-web';
import { headDim, type Model } from '../model/config.js';
import { checkTokens } from '../model/cpu-forward.js';
import { Rng } from '../ops/random.js';
import { argmax } from '../ops/reference.js';
import { exportLlamaOnnx, OnnxNames } from './export-llama.js';
import { GraphBuilder } from './onnx-writer.js';

export type OrtBackend = 'wasm' | 'webgpu';

export interface OrtSetup {
  /** Where ORT's .wasm/.mjs files are served (browser): a URL prefix, or one URL per file. */
  wasmPaths?: ort.Env.WasmPrefixOrFilePaths;
  /** wasm threads (default 1: deterministic, and multi-threading needs a cross-origin-isolated page). */
  numThreads?: number;
  /**
   * Time WebGPU kernels with ORT's own timestamp queries (measureOrtMatmul then reports GPU time).
   * Only read before the first WebGPU session; ORT then closes a compute pass after every
   * dispatch in every later session too, which slows its decode: leave off for decode timings.
   */
  profileKernels?: boolean;
}

let webgpuStarted = false;
let kernelSink: ((d: ort.Env.WebGpuProfilingData) => void) | undefined;

/** Sets ORT's environment; call before the first session (later calls change what ORT still reads). */
export function configureOrt(setup: OrtSetup): void {
  if (setup.wasmPaths !== undefined) ort.env.wasm.wasmPaths = setup.wasmPaths;
  if (setup.numThreads !== undefined) ort.env.wasm.numThreads = setup.numThreads;
  if (setup.profileKernels !== undefined) {
    if (webgpuStarted) throw new Error('configureOrt: profileKernels must be set before the first WebGPU session');
    ort.env.webgpu.profiling = {
      mode: setup.profileKernels ? 'default' : 'off',
      ondata: (d) => kernelSink?.(d),
    };
  }
}

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

/** The ORT version in use (e.g. "1.30.0"). */
export function ortVersion(): string {
  return ort.env.versions.web ?? ort.env.versions.common;
}

/** Creates a session on one backend; outputs named in `gpuOutputs` stay on the GPU (webgpu only). */
async function createSession(
  bytes: Uint8Array,
  backend: OrtBackend,
  gpuOutputs: string[] = [],
): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [backend],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3, // errors only: not ORT's note that shape ops were placed on the CPU
  };
  if (backend === 'webgpu') {
    webgpuStarted = true;
    if (gpuOutputs.length > 0) {
      options.preferredOutputLocation = Object.fromEntries(gpuOutputs.map((n) => [n, 'gpu-buffer' as const]));
    }
  }
  return ort.InferenceSession.create(bytes, options);
}

// ---------------------------------------------------------------------------------------------
// Availability.

export interface OrtAvailability {
  backend: OrtBackend;
  ok: boolean;
  /** Why not, when not ok. */
  reason?: string;
  version: string;
}

const probes = new Map<OrtBackend, Promise<OrtAvailability>>();

/** A graph y = a·b with a (2, 3) input, for probing a backend. */
function probeGraph(): Uint8Array {
  const g = new GraphBuilder('probe');
  const a = g.input('a', 'FLOAT', [2, 3]);
  g.output(g.op('MatMul', [a, g.floats('b', [3, 2], Float32Array.of(1, 2, 3, 4, 5, 6))]), 'y', 'FLOAT', [2, 2]);
  return g.encode();
}

async function probe(backend: OrtBackend): Promise<OrtAvailability> {
  const version = ortVersion();
  if (backend === 'webgpu' && (typeof navigator === 'undefined' || !('gpu' in navigator))) {
    return { backend, ok: false, reason: 'no WebGPU here (navigator.gpu is absent; onnxruntime-web in Node has only wasm)', version };
  }
  try {
    const s = await createSession(probeGraph(), backend);
    try {
      const r = await s.run({ a: new ort.Tensor('float32', Float32Array.of(1, 0, 0, 0, 1, 1), [2, 3]) });
      const y = (await r.y!.getData()) as Float32Array;
      if (Array.from(y).join() !== '1,2,8,10') throw new Error(`probe MatMul gave [${Array.from(y).join(', ')}], expected [1, 2, 8, 10]`);
    } finally {
      await s.release();
    }
    return { backend, ok: true, version };
  } catch (e) {
    return { backend, ok: false, reason: (e as Error).message, version };
  }
}

/**
 * Whether ORT runs here on `backend` (checked once by running a tiny MatMul). Without a backend:
 * WebGPU when it works, else wasm. Probing WebGPU starts ORT's WebGPU backend, so call
 * configureOrt() before this.
 */
export async function available(backend?: OrtBackend): Promise<OrtAvailability> {
  if (!backend) {
    const gpu = await available('webgpu');
    return gpu.ok ? gpu : available('wasm');
  }
  let p = probes.get(backend);
  if (!p) {
    p = probe(backend);
    probes.set(backend, p);
  }
  return p;
}

async function pickBackend(backend: OrtBackend | undefined): Promise<OrtBackend> {
  const a = await available(backend);
  if (!a.ok) throw new Error(`onnxruntime-web ${a.version}: backend ${a.backend} is not available: ${a.reason}`);
  return a.backend;
}

// ---------------------------------------------------------------------------------------------
// The exported model in ORT.

const int64s = (v: ArrayLike<number>): BigInt64Array => BigInt64Array.from(Array.from(v, (x) => BigInt(x)));

export interface OrtLlamaOptions {
  /** Default: WebGPU when available, else wasm. */
  backend?: OrtBackend;
}

/**
 * The model's KV-cache export in an ORT session: one sequence, advanced by step(). On WebGPU the
 * present K/V stay on the GPU and are fed back as the next step's past (no round trip).
 */
export class OrtLlama {
  private past: Record<string, ort.Tensor> = {};
  private pos = 0;

  private constructor(
    readonly model: Model,
    readonly backend: OrtBackend,
    private readonly session: ort.InferenceSession,
  ) {
    this.reset();
  }

  static async create(model: Model, options: OrtLlamaOptions = {}): Promise<OrtLlama> {
    const backend = await pickBackend(options.backend);
    const L = model.config.nLayers;
    const present = Array.from({ length: L }, (_, l) => [OnnxNames.presentKey(l), OnnxNames.presentValue(l)]).flat();
    const session = await createSession(exportLlamaOnnx(model, { kvCache: true }), backend, present);
    return new OrtLlama(model, backend, session);
  }

  /** Tokens in the cache. */
  get length(): number {
    return this.pos;
  }

  /** Empties the cache. */
  reset(): void {
    this.disposePast();
    const c = this.model.config;
    const empty = (): ort.Tensor => new ort.Tensor('float32', new Float32Array(0), [1, c.nKvHeads, 0, headDim(c)]);
    for (let l = 0; l < c.nLayers; l++) {
      this.past[OnnxNames.pastKey(l)] = empty();
      this.past[OnnxNames.pastValue(l)] = empty();
    }
    this.pos = 0;
  }

  /** Appends `tokens` at the cache's end; returns their logits (T, vocab). */
  async step(tokens: ArrayLike<number>): Promise<Float32Array> {
    const T = tokens.length;
    const c = this.model.config;
    checkTokens(c, this.pos, tokens, 'OrtLlama');
    const feeds: Record<string, ort.Tensor> = {
      ...this.past,
      [OnnxNames.inputIds]: new ort.Tensor('int64', int64s(tokens), [1, T]),
      [OnnxNames.positionIds]: new ort.Tensor('int64', int64s(Array.from({ length: T }, (_, i) => this.pos + i)), [1, T]),
    };
    const out = await this.session.run(feeds);
    this.disposePast();
    for (let l = 0; l < c.nLayers; l++) {
      this.past[OnnxNames.pastKey(l)] = out[OnnxNames.presentKey(l)]!;
      this.past[OnnxNames.pastValue(l)] = out[OnnxNames.presentValue(l)]!;
    }
    this.pos += T;
    const logits = out[OnnxNames.logits]!;
    return new Float32Array((await logits.getData()) as Float32Array);
  }

  async release(): Promise<void> {
    this.disposePast();
    await this.session.release();
  }

  private disposePast(): void {
    for (const t of Object.values(this.past)) if (t.location === 'gpu-buffer') t.dispose();
    this.past = {};
  }
}

/**
 * Logits (T, vocab) of every token of `tokens` from positions 0.., by ORT on the export without a
 * KV cache (the whole prefix recomputed in one run): an independent check of a forward pass.
 */
export async function ortLogits(model: Model, tokens: ArrayLike<number>, options: OrtLlamaOptions = {}): Promise<Float32Array> {
  checkTokens(model.config, 0, tokens, 'ortLogits');
  const backend = await pickBackend(options.backend);
  const session = await createSession(exportLlamaOnnx(model, { kvCache: false }), backend);
  try {
    const out = await session.run({ [OnnxNames.inputIds]: new ort.Tensor('int64', int64s(tokens), [1, tokens.length]) });
    return new Float32Array((await out[OnnxNames.logits]!.getData()) as Float32Array);
  } finally {
    await session.release();
  }
}

export interface DecodeOptions {
  /** Timed decode steps (one token each) after the prompt. */
  steps: number;
  /** Default: WebGPU when available, else wasm. */
  backend?: OrtBackend;
  /** Prompt token ids (default [1], BOS). Prefilled in one untimed run. */
  prompt?: number[];
  /** Run the whole generation once untimed first (shader compilation, allocations). Default true. */
  warmup?: boolean;
}

export interface DecodeResult {
  backend: OrtBackend;
  /** Decode tokens per second at batch 1 (steps / time of the decode runs, logits read back each step). */
  ort_tokens_per_s: number;
  steps: number;
  prefill_ms: number;
  /** Time of all decode runs, and the median of one (robust to a busy machine's stalls). */
  decode_ms: number;
  step_ms_median: number;
  /** Greedy tokens: tokens[i] = argmax of logits row i (row 0 from the prompt's last token). */
  tokens: number[];
  /** (steps + 1, vocab): the prompt's last logits, then each decode step's. */
  logits: Float32Array;
  version: string;
}

/** Greedy decode at batch 1 through ORT with the KV cache: tokens/s and the logits of every step. */
export async function measureOrtDecode(model: Model, options: DecodeOptions): Promise<DecodeResult> {
  const { steps, warmup = true } = options;
  const prompt = options.prompt ?? [1];
  const c = model.config;
  if (!(steps >= 1) || prompt.length === 0 || prompt.length + steps > c.seqLen) {
    throw new Error(`measureOrtDecode: prompt ${prompt.length} + steps ${steps} must be within seq_len ${c.seqLen} (steps >= 1)`);
  }
  const V = c.vocabSize;
  const llama = await OrtLlama.create(model, { backend: options.backend });
  try {
    const run = async (): Promise<Omit<DecodeResult, 'backend' | 'version' | 'ort_tokens_per_s'>> => {
      llama.reset();
      const logits = new Float32Array((steps + 1) * V);
      const tokens: number[] = [];
      let t0 = performance.now();
      const first = await llama.step(prompt);
      const prefill_ms = performance.now() - t0;
      logits.set(first.subarray((prompt.length - 1) * V), 0);
      tokens.push(argmax(logits, 0, V));
      const stepMs: number[] = [];
      for (let s = 1; s <= steps; s++) {
        t0 = performance.now();
        const row = await llama.step([tokens[s - 1]!]);
        stepMs.push(performance.now() - t0);
        logits.set(row, s * V);
        tokens.push(argmax(logits, s * V, V));
      }
      const decode_ms = stepMs.reduce((a, b) => a + b, 0);
      return { steps, prefill_ms, decode_ms, step_ms_median: median(stepMs), tokens, logits };
    };
    if (warmup) await run();
    const r = await run();
    return { backend: llama.backend, ort_tokens_per_s: (steps * 1000) / r.decode_ms, version: ortVersion(), ...r };
  } finally {
    await llama.release();
  }
}

// ---------------------------------------------------------------------------------------------
// MatMul timings.

export interface MatmulShape {
  /** Rows of the activation (tokens in the step). */
  m: number;
  /** Output features. */
  n: number;
  /** Input features. */
  k: number;
}

export interface MatmulOptions {
  /** Default: WebGPU when available, else wasm. */
  backend?: OrtBackend;
  /** Timed runs per shape (default 10); the median is reported. */
  runs?: number;
  /** Untimed runs first (default 3). */
  warmup?: number;
  /** Seed of the random operands (default 1). */
  seed?: number;
}

export interface MatmulTiming extends MatmulShape {
  /** Median time of one MatMul (ms): GPU time when `timing` is 'gpu-timestamps', else wall time. */
  ort_ms: number;
  /** Median wall time of one run, to GPU completion on WebGPU (ms). */
  ort_wall_ms: number;
  timing: 'gpu-timestamps' | 'wall';
  backend: OrtBackend;
}

/** A one-MatMul graph: input a (m, k) times initializer b (k, n), output y (m, n). */
export function matmulOnnx(shape: MatmulShape, b: Float32Array): Uint8Array {
  const { m, n, k } = shape;
  if (b.length !== k * n) throw new Error(`matmulOnnx: b has ${b.length} values, (k, n) = (${k}, ${n}) needs ${k * n}`);
  const g = new GraphBuilder(`matmul_${m}x${n}x${k}`);
  const a = g.input('a', 'FLOAT', [m, k]);
  g.output(g.op('MatMul', [a, g.floats('b', [k, n], b)]), 'y', 'FLOAT', [m, n]);
  return g.encode();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) return false;
    await sleep(1);
  }
  return true;
}

/**
 * Times ORT's MatMul on each shape: y(m, n) = a(m, k)·b(k, n), b an initializer (as the model's
 * weights are). On WebGPU the input lives on the GPU and the output stays there, so a run is the
 * kernel(s) plus ORT's dispatch overhead; with profileKernels (configureOrt) ort_ms is the sum of
 * ORT's kernel timestamps instead. Median of `runs` after `warmup` runs.
 */
export async function measureOrtMatmul(shapes: MatmulShape[], options: MatmulOptions = {}): Promise<MatmulTiming[]> {
  const backend = await pickBackend(options.backend);
  const runs = options.runs ?? 10;
  const warmup = options.warmup ?? 3;
  const rng = new Rng(options.seed ?? 1);
  const results: MatmulTiming[] = [];
  const profiling = backend === 'webgpu' && ort.env.webgpu.profiling?.mode === 'default';
  for (const shape of shapes) {
    const { m, n, k } = shape;
    const b = rng.floats(k * n, -1, 1);
    const aData = new Float32Array(rng.floats(m * k, -1, 1)); // (m, k), on an ArrayBuffer for writeBuffer
    const session = await createSession(matmulOnnx(shape, b), backend, ['y']);
    let aTensor: ort.Tensor;
    let device: GPUDevice | undefined;
    let aBuffer: GPUBuffer | undefined;
    if (backend === 'webgpu') {
      device = (await ort.env.webgpu.device) as GPUDevice;
      aBuffer = device.createBuffer({ size: aData.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(aBuffer, 0, aData);
      aTensor = ort.Tensor.fromGpuBuffer(aBuffer, { dataType: 'float32', dims: [m, k] });
    } else {
      aTensor = new ort.Tensor('float32', aData, [m, k]);
    }
    const kernels: number[] = []; // ns per kernel of the current run
    kernelSink = (d) => kernels.push(d.endTime - d.startTime);
    const once = async (): Promise<number> => {
      kernels.length = 0;
      const t0 = performance.now();
      const out = await session.run({ a: aTensor });
      if (device) await device.queue.onSubmittedWorkDone();
      const wall = performance.now() - t0;
      out.y!.dispose();
      return wall;
    };
    try {
      // Warm-up; with profiling, also learn how many kernels one run records.
      let perRun = 0;
      for (let i = 0; i < Math.max(1, warmup); i++) {
        await once();
        if (profiling && (await until(() => kernels.length > 0, 2000))) {
          await sleep(10);
          perRun = kernels.length;
        }
      }
      const walls: number[] = [];
      const gpus: number[] = [];
      for (let i = 0; i < runs; i++) {
        walls.push(await once());
        if (profiling && perRun > 0 && (await until(() => kernels.length >= perRun, 2000))) {
          gpus.push(kernels.reduce((a, x) => a + x, 0) / 1e6);
        }
      }
      const timed = profiling && gpus.length === runs;
      results.push({
        m,
        n,
        k,
        ort_ms: timed ? median(gpus) : median(walls),
        ort_wall_ms: median(walls),
        timing: timed ? 'gpu-timestamps' : 'wall',
        backend,
      });
    } finally {
      kernelSink = undefined;
      aBuffer?.destroy();
      await session.release();
    }
  }
  return results;
}

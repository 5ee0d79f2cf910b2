// Timing one kernel for the kernel lab: the median of N timed runs, warm-up excluded.
//
// With 'timestamp-query' every run is its own compute pass with timestamps, so a sample is GPU
// time only. Without it a run is a submission timed from submit to onSubmittedWorkDone (wall
// time, which includes the submission's own overhead), and the result says so (source 'wall').
// A kernel much shorter than a millisecond is dispatched `inner` times in a row inside each timed
// pass (or submission) and the sample is the pass time / inner: this keeps pass overheads and
// timer quantization (browsers round timestamps, e.g. to 100 µs) out of the per-dispatch figure.
// Consecutive dispatches that write the same buffer are ordered by WebGPU, so they do not overlap.
import { UniformArena } from './uniforms.js';

export type TimingSource = 'timestamp' | 'wall';

export interface KernelTiming {
  /** Median time of one dispatch, ms. */
  ms: number;
  /** Fastest sample, ms. */
  minMs: number;
  /** Every timed sample (warm-up excluded), ms per dispatch. */
  samples: number[];
  /** Dispatches per timed sample. */
  inner: number;
  source: TimingSource;
  /** Stopped after the probe: slower than TimingOptions.abandonAboveMs (the sample is the probe). */
  abandoned?: boolean;
}

export interface TimingOptions {
  /** Timed samples; by default enough to fill targetMs, within [minReps, maxReps]. */
  reps?: number;
  /** Warm-up passes, not counted (default 2; 1 when reps is given and maxInner is 1). */
  warmup?: number;
  /** Time to spend on timed samples when reps is not given (default 60 ms). */
  targetMs?: number;
  minReps?: number; // default 5
  maxReps?: number; // default 30
  /** Aim for timed passes at least this long by dispatching several times per pass (default 1 ms). */
  minPassMs?: number;
  /** At most this many dispatches per timed pass (default 32). */
  maxInner?: number;
  /** Aim for submissions no longer than this (default 250 ms), so no watchdog fires on slow devices. */
  maxSubmitMs?: number;
  /**
   * Stop after the probe when one dispatch takes longer than this (an autotuner's pruning: a
   * variant several times slower than the best so far needs no careful median).
   */
  abandonAboveMs?: number;
  /** The kernel already ran once (pipelines compiled, buffers touched): the probe runs once. */
  warm?: boolean;
}

/** Records one dispatch of the kernel under test into `pass`, its uniforms from `arena`. */
export type EncodeKernel = (pass: GPUComputePassEncoder, arena: UniformArena) => void;

export interface TimerGpu {
  device: GPUDevice;
  timestamps: boolean;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/**
 * Runs `passes` passes of `inner` dispatches each in one submission and returns each pass's time
 * in ms: GPU time from timestamps, or (wall) the submission's wall time split evenly.
 */
async function runPasses(gpu: TimerGpu, encode: EncodeKernel, passes: number, inner: number): Promise<number[]> {
  const { device } = gpu;
  const arena = new UniformArena(device, passes * inner);
  const enc = device.createCommandEncoder({ label: 'kernel-timing' });
  let querySet: GPUQuerySet | undefined;
  let resolve: GPUBuffer | undefined;
  let readback: GPUBuffer | undefined;
  try {
    if (gpu.timestamps) {
      querySet = device.createQuerySet({ type: 'timestamp', count: 2 * passes });
      resolve = device.createBuffer({ size: 16 * passes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      readback = device.createBuffer({ size: 16 * passes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    }
    for (let p = 0; p < passes; p++) {
      const pass = enc.beginComputePass(
        querySet
          ? { label: 'timed', timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * p, endOfPassWriteIndex: 2 * p + 1 } }
          : { label: 'timed' },
      );
      for (let i = 0; i < inner; i++) encode(pass, arena);
      pass.end();
    }
    if (querySet && resolve && readback) {
      enc.resolveQuerySet(querySet, 0, 2 * passes, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, readback, 0, 16 * passes);
    }
    arena.flush();
    const t0 = performance.now();
    device.queue.submit([enc.finish()]);
    if (!readback) {
      await device.queue.onSubmittedWorkDone();
      const ms = (performance.now() - t0) / passes;
      return new Array<number>(passes).fill(ms);
    }
    await readback.mapAsync(GPUMapMode.READ);
    const t = new BigUint64Array(readback.getMappedRange().slice(0));
    readback.unmap();
    const out: number[] = [];
    for (let p = 0; p < passes; p++) {
      const d = t[2 * p + 1]! - t[2 * p]!;
      out.push(d > 0n ? Number(d) / 1e6 : 0);
    }
    return out;
  } finally {
    querySet?.destroy();
    resolve?.destroy();
    readback?.destroy();
    arena.destroy();
  }
}

/**
 * Times one dispatch of `encode`: a probe pass sizes the run (dispatches per pass, samples), then
 * warm-up passes, then the timed passes; returns the median per dispatch. Pipelines should be
 * compiled before (encode compiles on first use; the probe absorbs that too).
 */
export async function timeKernel(gpu: TimerGpu, encode: EncodeKernel, opts: TimingOptions = {}): Promise<KernelTiming> {
  const source: TimingSource = gpu.timestamps ? 'timestamp' : 'wall';
  const minPassMs = opts.minPassMs ?? 1;
  const maxInner = opts.maxInner ?? 32;
  const maxSubmitMs = opts.maxSubmitMs ?? 250;
  // With reps given and one dispatch per pass nothing needs sizing: the warm-up runs absorb
  // first-use costs. Otherwise a probe (one dispatch, twice: the first may include first-use
  // costs) sizes the dispatches per pass and the number of samples.
  const sized = opts.reps !== undefined && maxInner <= 1;
  let probe = maxSubmitMs;
  if (!sized) {
    if (!opts.warm) await runPasses(gpu, encode, 1, 1);
    probe = Math.max(1e-4, (await runPasses(gpu, encode, 1, 1))[0]!);
  }
  if (!sized && opts.abandonAboveMs !== undefined && probe > opts.abandonAboveMs) {
    return { ms: probe, minMs: probe, samples: [probe], inner: 1, source, abandoned: true };
  }
  const inner = Math.max(1, Math.min(maxInner, Math.floor(minPassMs / probe)));
  const perPass = probe * inner;
  const targetMs = opts.targetMs ?? 60;
  // A dispatch longer than the whole target is its own warm-up and needs fewer samples.
  const long = !sized && perPass > targetMs;
  const reps = opts.reps ?? Math.max(long ? 3 : (opts.minReps ?? 5), Math.min(opts.maxReps ?? 30, Math.ceil(targetMs / perPass)));
  const perSubmit = Math.max(1, Math.floor(maxSubmitMs / perPass));
  const warmup = opts.warmup ?? (sized ? 1 : long ? 0 : 2);
  if (warmup > 0) await runPasses(gpu, encode, Math.min(warmup, perSubmit), inner);
  const samples: number[] = [];
  // Wall time: one pass per submission, so each sample is one submission's own wall time.
  const chunk = gpu.timestamps ? perSubmit : 1;
  while (samples.length < reps) {
    const n = Math.min(chunk, reps - samples.length);
    for (const ms of await runPasses(gpu, encode, n, inner)) samples.push(ms / inner);
  }
  const ms = median(samples);
  if (gpu.timestamps && !(ms > 0)) {
    // Timestamps too coarse for this kernel (some implementations report 0 or end < begin for
    // short passes): time it by wall clock instead, and say so.
    return timeKernel({ device: gpu.device, timestamps: false }, encode, opts);
  }
  return { ms, minMs: Math.min(...samples), samples, inner, source };
}

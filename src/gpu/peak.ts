// The device's measured ceilings, for the roofline and every "fraction of peak" the kernel lab
// reports (STYLE 11): compute from kernels/peak_fma.wgsl (GFLOPS) and memory bandwidth from
// kernels/peak_copy.wgsl (GB/s, the better of a copy and a read-only sweep).
//
// Both sizes adapt to the adapter instead of being tuned for one: the FMA kernel launches
// enough threads to fill a large GPU and raises the loop count until one dispatch lasts about
// targetMs; the bandwidth kernels start at minBytes (past the caches of most GPUs) and double the
// buffer until a dispatch lasts targetMs or maxBytes (or the device's binding limit) is reached.
import { bindBuffers, ceilDiv, getPipeline } from './pipelines.js';
import { dispatch1d } from './ops/add.js';
import { timeKernel, type EncodeKernel, type TimerGpu, type TimingOptions, type TimingSource } from './kernel-timing.js';

export interface PeakOptions {
  /** Aim for dispatches about this long (default 20 ms). */
  targetMs?: number;
  /** FMA threads launched (default: the best of 256 Ki, 16 Ki and 1 Ki threads). */
  fmaThreads?: number;
  /** Smallest bandwidth buffer (default 32 MiB), largest (default 256 MiB, capped by the device). */
  minBytes?: number;
  maxBytes?: number;
  /** Passed to timeKernel (samples, warm-up). */
  timing?: TimingOptions;
}

export interface PeakResult {
  /** Measured FMA throughput, GFLOPS (1e9 FLOP/s; an FMA counts as 2 FLOPs). */
  gflops: number;
  /** Measured memory bandwidth, GB/s (1e9 B/s): max(copy, read). */
  gbs: number;
  copyGbs: number;
  readGbs: number;
  /** Arithmetic intensity (FLOP/byte) where the two ceilings meet: gflops / gbs. */
  ridge: number;
  source: TimingSource;
  fma: { threads: number; iterations: number; ms: number; flops: number };
  copy: { bytes: number; ms: number };
  read: { bytes: number; ms: number };
}

const WG = 256;
/** FLOPs per thread per loop iteration of peak_fma.wgsl (8 chains · 2 steps · 4 lanes · 2). */
export const FMA_FLOPS_PER_ITERATION = 128;
const MAX_ITERATIONS = 1 << 16;

function makeEncoders(device: GPUDevice) {
  return {
    fma(out: GPUBuffer, threads: number, iterations: number) {
      const p = getPipeline(device, 'peak_fma', { WG });
      const [gx, gy] = dispatch1d(ceilDiv(threads, WG));
      const encode: EncodeKernel = (pass, arena) => {
        const params = arena.alloc('uuff', [iterations, gx * WG, 0.999, 0.001]);
        pass.setPipeline(p);
        pass.setBindGroup(0, bindBuffers(device, p, [out, params], 'peak_fma'));
        pass.dispatchWorkgroups(gx, gy);
      };
      return encode;
    },
    sweep(entry: 'copy' | 'read', src: GPUBuffer, dst: GPUBuffer, n4: number, threads: number) {
      const p = getPipeline(device, 'peak_copy', { WG }, `${entry}_main`);
      const [gx, gy] = dispatch1d(ceilDiv(threads, WG));
      const stride = gx * gy * WG;
      const encode: EncodeKernel = (pass, arena) => {
        const params = arena.alloc('uuu', [n4, stride, gx * WG]);
        pass.setPipeline(p);
        pass.setBindGroup(0, bindBuffers(device, p, [src, dst, params], `peak_${entry}`));
        pass.dispatchWorkgroups(gx, gy);
      };
      return encode;
    },
  };
}

/** Thread counts tried for the FMA peak: enough to fill a large GPU, and fewer with longer loops. */
const FMA_THREADS = [256 * 1024, 16 * 1024, 1024];
/** Vec4s per thread tried for the bandwidth sweeps (more threads hide latency; fewer cost less to launch). */
const VEC4_PER_THREAD = [4, 32, 256];

/**
 * Measures the compute ceiling: for each thread count the loop grows until a dispatch lasts about
 * targetMs; the best GFLOPS wins (a GPU wants many threads, a CPU rasterizer few long ones).
 */
export async function measureFmaPeak(gpu: TimerGpu, opts: PeakOptions = {}): Promise<PeakResult['fma'] & { gflops: number; source: TimingSource }> {
  const { device } = gpu;
  const target = opts.targetMs ?? 20;
  const counts = opts.fmaThreads !== undefined ? [opts.fmaThreads] : FMA_THREADS;
  const maxThreads = Math.ceil(Math.max(...counts) / WG) * WG;
  const out = device.createBuffer({ label: 'peak_fma.out', size: maxThreads * 16, usage: GPUBufferUsage.STORAGE });
  const enc = makeEncoders(device);
  let best: (PeakResult['fma'] & { gflops: number; source: TimingSource }) | undefined;
  try {
    for (const count of counts) {
      const threads = Math.ceil(count / WG) * WG;
      let iterations = 4;
      let t = await timeKernel(gpu, enc.fma(out, threads, iterations), { reps: 2, warmup: 1, maxInner: 1 });
      while (t.ms < target / 2 && iterations < MAX_ITERATIONS) {
        iterations = Math.min(MAX_ITERATIONS, iterations * Math.max(2, Math.min(64, Math.ceil(target / Math.max(t.ms, 1e-3)))));
        t = await timeKernel(gpu, enc.fma(out, threads, iterations), { reps: 2, warmup: 0, maxInner: 1 });
      }
      t = await timeKernel(gpu, enc.fma(out, threads, iterations), { reps: 3, warmup: 0, maxInner: 1, ...opts.timing });
      const flops = threads * iterations * FMA_FLOPS_PER_ITERATION;
      const gflops = flops / (t.ms * 1e6);
      if (!best || gflops > best.gflops) best = { threads, iterations, ms: t.ms, flops, gflops, source: t.source };
    }
    return best!;
  } finally {
    out.destroy();
  }
}

/**
 * Measures the bandwidth ceilings, copy (read + write) and read-only, in GB/s: the buffer doubles
 * from minBytes until a copy lasts targetMs (or maxBytes is reached), then each vec4-per-thread
 * setting is timed and the best of each sweep kept.
 */
export async function measureBandwidthPeak(
  gpu: TimerGpu,
  opts: PeakOptions = {},
): Promise<{ copy: PeakResult['copy'] & { gbs: number }; read: PeakResult['read'] & { gbs: number }; source: TimingSource }> {
  const { device } = gpu;
  const target = opts.targetMs ?? 20;
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const maxBytes = Math.max(4096, Math.min(opts.maxBytes ?? 256 * 2 ** 20, limit));
  let bytes = Math.min(opts.minBytes ?? 32 * 2 ** 20, maxBytes);
  bytes -= bytes % 16;
  const enc = makeEncoders(device);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const threadsFor = (n4: number, per: number) => Math.max(WG, Math.min(65535 * WG, Math.ceil(n4 / per / WG) * WG));
  const probe = { reps: 1, warmup: 1, maxInner: 1 };
  for (;;) {
    const n4 = bytes / 16;
    const src = device.createBuffer({ label: 'peak_copy.src', size: bytes, usage });
    const dst = device.createBuffer({ label: 'peak_copy.dst', size: bytes, usage });
    try {
      const first = await timeKernel(gpu, enc.sweep('copy', src, dst, n4, threadsFor(n4, VEC4_PER_THREAD[1]!)), probe);
      if (first.ms < target && bytes * 2 <= maxBytes) {
        bytes *= 2;
        continue;
      }
      // The copy picks the vec4s per thread; the read-only sweep runs with the same setting.
      let copy = { bytes: 2 * bytes, ms: Infinity, gbs: 0 };
      let threads = 0;
      for (const per of VEC4_PER_THREAD) {
        const th = threadsFor(n4, per);
        const c = await timeKernel(gpu, enc.sweep('copy', src, dst, n4, th), { reps: 3, warmup: 1, maxInner: 1, ...opts.timing });
        if (c.ms < copy.ms) {
          copy = { bytes: 2 * bytes, ms: c.ms, gbs: (2 * bytes) / (c.ms * 1e6) };
          threads = th;
        }
      }
      const readBytes = bytes + threads * 16;
      const r = await timeKernel(gpu, enc.sweep('read', src, dst, n4, threads), { reps: 3, warmup: 1, maxInner: 1, ...opts.timing });
      const read = { bytes: readBytes, ms: r.ms, gbs: readBytes / (r.ms * 1e6) };
      const source = r.source;
      return { copy, read, source };
    } finally {
      src.destroy();
      dst.destroy();
    }
  }
}

/** Measures both ceilings on this device. */
export async function measurePeak(gpu: TimerGpu, opts: PeakOptions = {}): Promise<PeakResult> {
  const fma = await measureFmaPeak(gpu, opts);
  const bw = await measureBandwidthPeak(gpu, opts);
  const gbs = Math.max(bw.copy.gbs, bw.read.gbs);
  return {
    gflops: fma.gflops,
    gbs,
    copyGbs: bw.copy.gbs,
    readGbs: bw.read.gbs,
    ridge: fma.gflops / gbs,
    source: fma.source,
    fma: { threads: fma.threads, iterations: fma.iterations, ms: fma.ms, flops: fma.flops },
    copy: { bytes: bw.copy.bytes, ms: bw.copy.ms },
    read: { bytes: bw.read.bytes, ms: bw.read.ms },
  };
}

/** Where a kernel sits on the roofline of `peak`. */
export interface RooflinePoint {
  /** FLOPs per byte of minimum memory traffic. */
  intensity: number;
  /** The ceiling that applies at this intensity: bandwidth below the ridge, compute above. */
  bound: 'memory' | 'compute';
  /** min(peak GFLOPS, intensity · peak GB/s). */
  attainableGflops: number;
  /**
   * Achieved / attainable: GFLOPS over the roofline for kernels that compute, GB/s over the
   * bandwidth ceiling for pure data movement (flops = 0).
   */
  fraction: number;
}

export function roofline(flops: number, bytes: number, ms: number, peak: Pick<PeakResult, 'gflops' | 'gbs'>): RooflinePoint {
  const gflops = flops / (ms * 1e6);
  const gbs = bytes / (ms * 1e6);
  if (flops <= 0) return { intensity: 0, bound: 'memory', attainableGflops: 0, fraction: gbs / peak.gbs };
  const intensity = flops / bytes;
  const memoryRoof = intensity * peak.gbs;
  const bound = memoryRoof < peak.gflops ? 'memory' : 'compute';
  const attainableGflops = Math.min(peak.gflops, memoryRoof);
  return { intensity, bound, attainableGflops, fraction: gflops / attainableGflops };
}

// The peak microbenchmarks (kernels/peak_fma.wgsl, kernels/peak_copy.wgsl) give sane ceilings,
// the kernel timer gives positive medians, and the roofline arithmetic places kernels under the
// right ceiling. Sizes are small (a few MiB, a few ms per dispatch) so this runs in seconds on
// SwiftShader; the bench and the kernel view use the adaptive defaults.
import { describe, expect, it } from 'vitest';
import { gpuTest } from '../helpers/gpu.js';
import { FMA_FLOPS_PER_ITERATION, measureBandwidthPeak, measureFmaPeak, measurePeak, roofline } from '../../src/gpu/peak.js';
import { median, timeKernel } from '../../src/gpu/kernel-timing.js';
import { encodeAdd } from '../../src/gpu/ops/add.js';
import { bufferFrom, readFloat32 } from '../../src/gpu/buffers.js';
import { UniformArena } from '../../src/gpu/uniforms.js';
import { bindBuffers, getPipeline } from '../../src/gpu/pipelines.js';

const SMALL = { targetMs: 4, fmaThreads: 4096, minBytes: 1 << 20, maxBytes: 2 << 20, timing: { reps: 3 } };

describe('peak microbenchmarks', () => {
  gpuTest('measure non-zero, finite compute and bandwidth ceilings', async (gpu) => {
    const p = await measurePeak(gpu, SMALL);
    for (const v of [p.gflops, p.gbs, p.copyGbs, p.readGbs, p.ridge, p.fma.ms, p.copy.ms, p.read.ms]) {
      expect(Number.isFinite(v), JSON.stringify(p)).toBe(true);
      expect(v, JSON.stringify(p)).toBeGreaterThan(0);
    }
    expect(p.gbs).toBe(Math.max(p.copyGbs, p.readGbs));
    expect(p.fma.flops).toBe(p.fma.threads * p.fma.iterations * FMA_FLOPS_PER_ITERATION);
    expect(p.gflops).toBeCloseTo(p.fma.flops / (p.fma.ms * 1e6), 6);
    expect(p.source).toBe(gpu.timestamps ? 'timestamp' : 'wall');
  });

  gpuTest('the FMA kernel writes finite values (its chains converge) and the copy kernel copies', async (gpu, res) => {
    const { device } = gpu;
    const threads = 512;
    const out = res.track(device.createBuffer({ size: threads * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }));
    const arena = res.track(new UniformArena(device, 4));
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    const fma = getPipeline(device, 'peak_fma', { WG: 256 });
    pass.setPipeline(fma);
    pass.setBindGroup(0, bindBuffers(device, fma, [out, arena.alloc('uuff', [100, 2 * 256, 0.999, 0.001])]));
    pass.dispatchWorkgroups(2);
    const src = Float32Array.from({ length: 4 * 1000 }, (_, i) => i);
    const gs = res.track(bufferFrom(device, src));
    const gd = res.track(device.createBuffer({ size: src.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }));
    const copy = getPipeline(device, 'peak_copy', { WG: 256 }, 'copy_main');
    pass.setPipeline(copy);
    pass.setBindGroup(0, bindBuffers(device, copy, [gs, gd, arena.alloc('uuu', [1000, 256, 256])]));
    pass.dispatchWorkgroups(1); // 256 threads stride over 1000 vec4s
    pass.end();
    arena.flush();
    device.queue.submit([enc.finish()]);
    const v = await readFloat32(device, out, threads * 4);
    expect(v.every((x) => Number.isFinite(x) && x > 0)).toBe(true);
    expect(Array.from(await readFloat32(device, gd, src.length))).toEqual(Array.from(src));
  });

  gpuTest('each ceiling alone, with fixed sizes', async (gpu) => {
    const f = await measureFmaPeak(gpu, SMALL);
    expect(f.gflops).toBeGreaterThan(0);
    const b = await measureBandwidthPeak(gpu, SMALL);
    // The buffer starts at minBytes and doubles at most up to maxBytes; a copy moves it twice.
    expect([2 * SMALL.minBytes, 2 * SMALL.maxBytes]).toContain(b.copy.bytes);
    expect(b.copy.gbs).toBeGreaterThan(0);
    expect(b.read.gbs).toBeGreaterThan(0);
  });
});

describe('kernel timer', () => {
  gpuTest('returns a positive median per dispatch, warm-up excluded', async (gpu, res) => {
    const { device } = gpu;
    const n = 1 << 14;
    const a = res.track(bufferFrom(device, new Float32Array(n).fill(1)));
    const b = res.track(bufferFrom(device, new Float32Array(n).fill(2)));
    const out = res.track(device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }));
    const t = await timeKernel(gpu, (pass, arena) => encodeAdd(device, pass, arena, a, b, out, n), { targetMs: 5, maxReps: 8 });
    // At least 5 samples, or 3 when one dispatch alone outlasts the 5 ms target (a loaded machine).
    expect(t.samples.length).toBeGreaterThanOrEqual(3);
    expect(t.samples.length).toBeLessThanOrEqual(8);
    expect(t.ms).toBeGreaterThan(0);
    expect(Number.isFinite(t.ms)).toBe(true);
    expect(t.minMs).toBeLessThanOrEqual(t.ms);
    expect(t.ms).toBe(median(t.samples));
    expect((await readFloat32(device, out, 4))[0]).toBe(3);
  });
});

describe('roofline', () => {
  const peak = { gflops: 100, gbs: 10 }; // ridge at 10 FLOP/byte
  it('puts low intensity under the bandwidth ceiling and high intensity under the compute ceiling', () => {
    // 1 GFLOP over 1 GB in 1 s: intensity 1, attainable 10 GFLOPS, achieved 1 -> 10%.
    const m = roofline(1e9, 1e9, 1000, peak);
    expect(m.bound).toBe('memory');
    expect(m.intensity).toBe(1);
    expect(m.attainableGflops).toBeCloseTo(10);
    expect(m.fraction).toBeCloseTo(0.1);
    // 50 GFLOP over 1 GB in 1 s: intensity 50, attainable 100, achieved 50 -> 50%.
    const c = roofline(50e9, 1e9, 1000, peak);
    expect(c.bound).toBe('compute');
    expect(c.fraction).toBeCloseTo(0.5);
  });
  it('measures pure data movement against the bandwidth', () => {
    const r = roofline(0, 5e9, 1000, peak); // 5 GB/s of 10
    expect(r.bound).toBe('memory');
    expect(r.fraction).toBeCloseTo(0.5);
  });
  it('median of even and odd sample counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

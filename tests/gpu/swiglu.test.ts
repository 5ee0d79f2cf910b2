import { describe, expect, it } from 'vitest';
import { expectClose, gpuTest, type Resources } from '../helpers/gpu.js';
import { bufferFrom, readFloat32 } from '../../src/gpu/buffers.js';
import { UniformArena } from '../../src/gpu/uniforms.js';
import { encodeSwiglu, encodeSwigluPairs, interleaveRows } from '../../src/gpu/ops/swiglu.js';
import { swiglu } from '../../src/ops/reference.js';
import { Rng } from '../../src/ops/random.js';

// Tolerance: atol 1e-6 + rtol 1e-5. WGSL's exp is accurate to 3 + 2|x| ulp, i.e. ~2e-6 relative
// at |g| = 8; the division and product add an ulp each (measured: 5.5e-7 relative on SwiftShader).
const ATOL = 1e-6;
const RTOL = 1e-5;

async function runSwiglu(device: GPUDevice, res: Resources, g: Float32Array, u: Float32Array): Promise<Float32Array> {
  const n = g.length;
  const gg = res.track(bufferFrom(device, g));
  const gu = res.track(bufferFrom(device, u));
  const go = res.track(device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }));
  const arena = res.track(new UniformArena(device, 2));
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  encodeSwiglu(device, pass, arena, gg, gu, go, n);
  pass.end();
  arena.flush();
  device.queue.submit([enc.finish()]);
  return readFloat32(device, go, n);
}

describe('swiglu kernel', () => {
  gpuTest('matches the CPU reference on odd sizes', async ({ device }, res) => {
    const rng = new Rng(31);
    for (const n of [1, 7, 172, 255, 257, 17 * 172, rng.int(1, 5000)]) {
      const g = rng.floats(n, -8, 8);
      const u = rng.floats(n, -2, 2);
      expectClose(await runSwiglu(device, res, g, u), swiglu(g, u), ATOL, RTOL);
      res.destroyAll();
    }
  });

  gpuTest('fused pairs: one matmul with interleaved w1/w3 rows, then silu(gate)·up (same tolerance)', async ({ device }, res) => {
    const rng = new Rng(32);
    for (const [rows, hidden] of [
      [1, 1],
      [1, 172],
      [3, 257],
      [16, 172],
    ] as const) {
      const g = rng.floats(rows * hidden, -8, 8);
      const u = rng.floats(rows * hidden, -2, 2);
      // Rows of (gate, up) pairs, as the matmul over interleaveRows(w1, w3) produces them.
      const pairs = interleaveRows(g, u, rows * hidden, 1);
      const gp = res.track(bufferFrom(device, pairs));
      const go = res.track(device.createBuffer({ size: rows * hidden * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }));
      const arena = res.track(new UniformArena(device, 2));
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      encodeSwigluPairs(device, pass, arena, gp, go, rows * hidden);
      pass.end();
      arena.flush();
      device.queue.submit([enc.finish()]);
      expectClose(await readFloat32(device, go, rows * hidden), swiglu(g, u), ATOL, RTOL);
      res.destroyAll();
    }
  });

  it('interleaveRows alternates the rows of its two matrices', () => {
    const a = Float32Array.from([1, 2, 3, 4]);
    const b = Float32Array.from([5, 6, 7, 8]);
    expect(Array.from(interleaveRows(a, b, 2, 2))).toEqual([1, 2, 5, 6, 3, 4, 7, 8]);
  });

  gpuTest('is finite at the extremes of the gate', async ({ device }, res) => {
    const g = Float32Array.from([-100, -88, -20, 0, 20, 88, 100]);
    const u = Float32Array.from([1, 1, 1, 1, 1, 1, -1]);
    const got = await runSwiglu(device, res, g, u);
    expect(Array.from(got).every(Number.isFinite)).toBe(true);
    expectClose(got, swiglu(g, u), ATOL, RTOL);
  });

  it('throws a clear error on bad shapes', () => {
    const buf = (floats: number) => ({ size: floats * 4 }) as unknown as GPUBuffer;
    const [dev, pass, arena] = [{} as GPUDevice, {} as GPUComputePassEncoder, {} as UniformArena];
    expect(() => encodeSwiglu(dev, pass, arena, buf(9), buf(10), buf(10), 10)).toThrow(
      /encodeSwiglu: gate is 36 bytes, too small for gate \(n=10\)/,
    );
    expect(() => encodeSwiglu(dev, pass, arena, buf(10), buf(9), buf(10), 10)).toThrow(/up is 36 bytes/);
    expect(() => encodeSwiglu(dev, pass, arena, buf(10), buf(10), buf(9), 10)).toThrow(/out is 36 bytes/);
    expect(() => encodeSwiglu(dev, pass, arena, buf(10), buf(10), buf(10), 0)).toThrow(/n must be a positive integer/);
    const g = buf(10);
    expect(() => encodeSwiglu(dev, pass, arena, g, buf(10), g, 10)).toThrow(/out and gate must be different/);
  });
});

import { describe, expect, it } from 'vitest';
import { expectClose, gpuTest, type Resources } from '../helpers/gpu.js';
import { bufferFrom, readFloat32 } from '../../src/gpu/buffers.js';
import { UniformArena } from '../../src/gpu/uniforms.js';
import { encodeRope } from '../../src/gpu/ops/rope.js';
import { rope } from '../../src/ops/reference.js';
import { Rng } from '../../src/ops/random.js';

// Tolerance, for values in [-1, 1): atol = 1e-5 + maxPos · 2e-7. The kernel's own sin/cos are
// accurate to ~1 ulp after reduction, so the error is that of the f32 angle pos · freq: a few ulp of
// exp2 and the product, ~pos · 1e-7 rad, times |v0| + |v1| < 2. (The reference works in f64.)
// Measured on SwiftShader: 1.2e-7 at position 1, 4.7e-5 at 511, 3.9e-4 at 4095, 3.0e-3 at 32767.
const atolFor = (maxPos: number) => 1e-5 + maxPos * 2e-7;

async function runRope(
  device: GPUDevice,
  res: Resources,
  x: Float32Array,
  positions: Uint32Array,
  nHeads: number,
  headDim: number,
  theta: number,
): Promise<Float32Array> {
  const gx = res.track(bufferFrom(device, x));
  const gp = res.track(bufferFrom(device, positions));
  const arena = res.track(new UniformArena(device, 2));
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  encodeRope(device, pass, arena, gx, gp, positions.length, nHeads, headDim, theta);
  pass.end();
  arena.flush();
  device.queue.submit([enc.finish()]);
  return readFloat32(device, gx, x.length);
}

describe('rope kernel', () => {
  gpuTest('matches the CPU reference (llama2.c pairs) on odd shapes', async ({ device }, res) => {
    const rng = new Rng(51);
    // (rows, nHeads, headDim, theta, max position): q of the tiny model (8 heads of 8), k with
    // fewer kv heads, odd head counts, headDim 2 (one pair) and 48 (a larger model's).
    for (const [rows, nHeads, headDim, theta, maxPos] of [
      [1, 8, 8, 10000, 511],
      [64, 2, 8, 10000, 63],
      [17, 4, 8, 10000, 511],
      [3, 1, 2, 10000, 4095],
      [130, 6, 48, 10000, 4095],
      [5, 3, 16, 500000, 2047],
      [rng.int(1, 50), rng.int(1, 8), 2 * rng.int(1, 40), 10000, 1023],
    ] as [number, number, number, number, number][]) {
      const x = rng.floats(rows * nHeads * headDim);
      const positions = Uint32Array.from({ length: rows }, () => rng.int(0, maxPos));
      positions[0] = 0; // position 0 is the identity
      const got = await runRope(device, res, x, positions, nHeads, headDim, theta);
      const want = rope(Float32Array.from(x), positions, rows, nHeads, headDim, theta);
      expectClose(got, want, atolFor(maxPos));
      expectClose(got.subarray(0, nHeads * headDim), x.subarray(0, nHeads * headDim), 1e-7);
      res.destroyAll();
    }
  });

  gpuTest('stays within tolerance across a long context (positions up to 32767)', async ({ device }, res) => {
    const rng = new Rng(52);
    const [rows, nHeads, headDim] = [64, 2, 64];
    const x = rng.floats(rows * nHeads * headDim);
    const positions = Uint32Array.from({ length: rows }, (_, r) => Math.round((32767 * r) / (rows - 1)));
    const got = await runRope(device, res, x, positions, nHeads, headDim, 10000);
    expectClose(got, rope(Float32Array.from(x), positions, rows, nHeads, headDim), atolFor(32767));
  });

  gpuTest('rotates the heads at the start of wider rows (a fused qkv row) and leaves the rest alone', async ({ device }, res) => {
    const rng = new Rng(52);
    // Rows of q (4 heads) + k (2 heads) + v (2 heads) of 8: rotate the first 6 heads only.
    const [rows, hd, rotated, stride] = [5, 8, 6, 64];
    const x = rng.floats(rows * stride);
    const positions = Uint32Array.from({ length: rows }, () => rng.int(0, 300));
    const gx = res.track(bufferFrom(device, x));
    const gp = res.track(bufferFrom(device, positions));
    const arena = res.track(new UniformArena(device, 2));
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    encodeRope(device, pass, arena, gx, gp, rows, rotated, hd, 10000, { rowStride: stride });
    pass.end();
    arena.flush();
    device.queue.submit([enc.finish()]);
    const got = await readFloat32(device, gx, x.length);
    const width = rotated * hd;
    const heads = new Float32Array(rows * width);
    for (let r = 0; r < rows; r++) heads.set(x.subarray(r * stride, r * stride + width), r * width);
    rope(heads, positions, rows, rotated, hd, 10000);
    for (let r = 0; r < rows; r++) {
      expectClose(got.subarray(r * stride, r * stride + width), heads.subarray(r * width, (r + 1) * width), atolFor(300));
      expectClose(got.subarray(r * stride + width, (r + 1) * stride), x.subarray(r * stride + width, (r + 1) * stride), 0);
    }
  });

  it('throws a clear error on bad shapes', () => {
    const buf = (n: number) => ({ size: n * 4 }) as unknown as GPUBuffer;
    const [dev, pass, arena] = [{} as GPUDevice, {} as GPUComputePassEncoder, {} as UniformArena];
    expect(() => encodeRope(dev, pass, arena, buf(31), buf(2), 2, 2, 8)).toThrow(
      /encodeRope: x is 124 bytes, too small for x \(rows=2, nHeads=2, headDim=8, rowStride=16\)/,
    );
    expect(() => encodeRope(dev, pass, arena, buf(32), buf(1), 2, 2, 8)).toThrow(/positions is 4 bytes/);
    expect(() => encodeRope(dev, pass, arena, buf(32), buf(2), 2, 2, 7)).toThrow(/headDim must be even/);
    expect(() => encodeRope(dev, pass, arena, buf(32), buf(2), 0, 2, 8)).toThrow(/rows must be a positive integer/);
    expect(() => encodeRope(dev, pass, arena, buf(32), buf(2), 2, 0, 8)).toThrow(/nHeads must be a positive integer/);
    expect(() => encodeRope(dev, pass, arena, buf(32), buf(2), 2, 2, 8, 1)).toThrow(/theta must be/);
  });
});

import { describe, expect, it } from 'vitest';
import { expectClose, gpuTest, type Resources } from '../helpers/gpu.js';
import { bufferFrom, readFloat32 } from '../../src/gpu/buffers.js';
import { UniformArena } from '../../src/gpu/uniforms.js';
import { encodeRmsnorm, rmsnormWorkgroupSize } from '../../src/gpu/ops/rmsnorm.js';
import { rmsnorm } from '../../src/ops/reference.js';
import { Rng } from '../../src/ops/random.js';

// Tolerance: rtol 1e-5 + atol 1e-6. Each output is x · inv · weight with inv = 1/sqrt(mean + eps);
// the f32 sum of squares (tree order) and 1/sqrt carry a few ulp of relative error, so errors
// scale with |out| (measured: 2.4e-7 relative on SwiftShader, dim up to 4096).
const ATOL = 1e-6;
const RTOL = 1e-5;

async function runRmsnorm(
  device: GPUDevice,
  res: Resources,
  x: Float32Array,
  w: Float32Array,
  rows: number,
  dim: number,
  eps: number,
): Promise<Float32Array> {
  const gx = res.track(bufferFrom(device, x));
  const gw = res.track(bufferFrom(device, w));
  const go = res.track(device.createBuffer({ size: rows * dim * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }));
  const arena = res.track(new UniformArena(device, 2));
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  encodeRmsnorm(device, pass, arena, gx, gw, go, rows, dim, eps);
  pass.end();
  arena.flush();
  device.queue.submit([enc.finish()]);
  return readFloat32(device, go, rows * dim);
}

describe('rmsnorm kernel', () => {
  gpuTest('matches the CPU reference on odd shapes', async ({ device }, res) => {
    const rng = new Rng(21);
    // dim 2000 takes the 256-thread workgroup, the others 64; 1, 5, 63, 257 are not multiples of it.
    const shapes: [number, number][] = [
      [1, 1],
      [3, 5],
      [2, 63],
      [17, 64],
      [130, 64],
      [5, 172],
      [3, 257],
      [2, 512],
      [2, 2000],
      [rng.int(1, 40), rng.int(1, 600)],
    ];
    for (const [rows, dim] of shapes) {
      for (const eps of [1e-5, 1e-6]) {
        const x = rng.floats(rows * dim);
        const w = rng.floats(dim, -2, 2);
        const got = await runRmsnorm(device, res, x, w, rows, dim, eps);
        expectClose(got, rmsnorm(x, w, rows, dim, eps), ATOL, RTOL);
        res.destroyAll();
      }
    }
  });

  gpuTest('is scale invariant for large rows and uses eps for a zero row', async ({ device }, res) => {
    const rng = new Rng(22);
    const dim = 64;
    const x = rng.floats(3 * dim, -1000, 1000);
    x.fill(0, dim, 2 * dim); // row 1 is all zeros: out = 0 (eps keeps it finite)
    const w = rng.floats(dim);
    const got = await runRmsnorm(device, res, x, w, 3, dim, 1e-5);
    expectClose(got, rmsnorm(x, w, 3, dim, 1e-5), ATOL, RTOL);
    expect(Array.from(got.subarray(dim, 2 * dim)).every((v) => v === 0)).toBe(true);
  });

  it('picks 64 threads per row up to dim 1024, 256 above', () => {
    expect(rmsnormWorkgroupSize(64)).toBe(64);
    expect(rmsnormWorkgroupSize(1024)).toBe(64);
    expect(rmsnormWorkgroupSize(4096)).toBe(256);
  });

  it('throws a clear error on bad shapes', () => {
    const buf = (floats: number) => ({ size: floats * 4 }) as unknown as GPUBuffer;
    const [dev, pass, arena] = [{} as GPUDevice, {} as GPUComputePassEncoder, {} as UniformArena];
    expect(() => encodeRmsnorm(dev, pass, arena, buf(10), buf(4), buf(12), 3, 4, 1e-5)).toThrow(
      /encodeRmsnorm: x is 40 bytes, too small for x \(rows=3, dim=4\)/,
    );
    expect(() => encodeRmsnorm(dev, pass, arena, buf(12), buf(3), buf(12), 3, 4, 1e-5)).toThrow(/weight is 12 bytes/);
    expect(() => encodeRmsnorm(dev, pass, arena, buf(12), buf(4), buf(11), 3, 4, 1e-5)).toThrow(/out is 44 bytes/);
    expect(() => encodeRmsnorm(dev, pass, arena, buf(12), buf(4), buf(12), 0, 4, 1e-5)).toThrow(
      /rows must be a positive integer, got 0/,
    );
    expect(() => encodeRmsnorm(dev, pass, arena, buf(12), buf(4), buf(12), 3, 0, 1e-5)).toThrow(/dim must be a positive/);
    expect(() => encodeRmsnorm(dev, pass, arena, buf(12), buf(4), buf(12), 3, 4, -1)).toThrow(/eps must be/);
    const x = buf(12);
    expect(() => encodeRmsnorm(dev, pass, arena, x, buf(4), x, 3, 4, 1e-5)).toThrow(/out and x must be different/);
  });
});

import { describe, expect, it } from 'vitest';
import { expectClose, gpuTest, type Resources } from '../helpers/gpu.js';
import { bufferFrom, readFloat32 } from '../../src/gpu/buffers.js';
import { UniformArena } from '../../src/gpu/uniforms.js';
import { encodeEmbedding, type EmbeddingOptions } from '../../src/gpu/ops/embedding.js';
import { embedding } from '../../src/ops/reference.js';
import { Rng } from '../../src/ops/random.js';

// Tolerance: exact (0): the kernel copies floats.

async function runEmbedding(
  device: GPUDevice,
  res: Resources,
  table: Float32Array,
  tokens: Uint32Array,
  dim: number,
  opts?: EmbeddingOptions,
): Promise<Float32Array> {
  const T = tokens.length;
  const gt = res.track(bufferFrom(device, table));
  const gk = res.track(bufferFrom(device, tokens));
  const go = res.track(device.createBuffer({ size: T * dim * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }));
  const arena = res.track(new UniformArena(device, 2));
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  encodeEmbedding(device, pass, arena, gt, gk, go, T, dim, opts);
  pass.end();
  arena.flush();
  device.queue.submit([enc.finish()]);
  return readFloat32(device, go, T * dim);
}

describe('embedding kernel', () => {
  gpuTest('matches the CPU reference on odd shapes (exact)', async ({ device }, res) => {
    const rng = new Rng(41);
    for (const [vocab, dim, T] of [
      [1, 1, 1],
      [512, 64, 1],
      [512, 64, 130],
      [37, 5, 17],
      [300, 257, 3],
      [rng.int(1, 600), rng.int(1, 300), rng.int(1, 200)],
    ] as [number, number, number][]) {
      const table = rng.floats(vocab * dim);
      const tokens = Uint32Array.from({ length: T }, () => rng.int(0, vocab - 1));
      expectClose(await runEmbedding(device, res, table, tokens, dim), embedding(table, tokens, dim), 0);
      res.destroyAll();
    }
  });

  gpuTest('a token id >= vocab gives a row of zeros', async ({ device }, res) => {
    const rng = new Rng(42);
    const [vocab, dim] = [10, 6];
    // The table buffer holds 12 rows; with vocab = 10 given, ids 10 and 11 are out of range too.
    const table = rng.floats(12 * dim);
    const tokens = Uint32Array.from([3, 10, 11, 1_000_000, 9]);
    const got = await runEmbedding(device, res, table, tokens, dim, { vocab });
    const want = new Float32Array(tokens.length * dim);
    want.set(table.subarray(3 * dim, 4 * dim), 0);
    want.set(table.subarray(9 * dim, 10 * dim), 4 * dim);
    expectClose(got, want, 0);
  });

  it('throws a clear error on bad shapes', () => {
    const buf = (floats: number) => ({ size: floats * 4 }) as unknown as GPUBuffer;
    const [dev, pass, arena] = [{} as GPUDevice, {} as GPUComputePassEncoder, {} as UniformArena];
    expect(() => encodeEmbedding(dev, pass, arena, buf(40), buf(3), buf(12), 3, 4, { vocab: 11 })).toThrow(
      /encodeEmbedding: table is 160 bytes, too small for table \(vocab=11, dim=4\)/,
    );
    expect(() => encodeEmbedding(dev, pass, arena, buf(3), buf(3), buf(12), 3, 4)).toThrow(
      /vocab must be a positive integer, got 0/,
    );
    expect(() => encodeEmbedding(dev, pass, arena, buf(40), buf(2), buf(12), 3, 4)).toThrow(/tokens is 8 bytes/);
    expect(() => encodeEmbedding(dev, pass, arena, buf(40), buf(3), buf(11), 3, 4)).toThrow(/out is 44 bytes/);
    expect(() => encodeEmbedding(dev, pass, arena, buf(40), buf(3), buf(12), 0, 4)).toThrow(/T must be a positive/);
    expect(() => encodeEmbedding(dev, pass, arena, buf(40), buf(3), buf(12), 3, 0)).toThrow(/dim must be a positive/);
  });
});

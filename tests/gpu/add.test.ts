import { describe, expect } from 'vitest';
import { expectClose, gpuTest } from '../helpers/gpu.js';
import { bufferFrom, readFloat32 } from '../../src/gpu/buffers.js';
import { UniformArena } from '../../src/gpu/uniforms.js';
import { encodeAdd } from '../../src/gpu/ops/add.js';
import { add } from '../../src/ops/reference.js';
import { Rng } from '../../src/ops/random.js';

describe('add kernel', () => {
  gpuTest('matches the CPU reference on odd sizes (exact)', async ({ device }, res) => {
    const rng = new Rng(1);
    for (const n of [1, 7, 255, 257, 1000]) {
      const a = rng.floats(n);
      const b = rng.floats(n);
      const ga = res.track(bufferFrom(device, a));
      const gb = res.track(bufferFrom(device, b));
      const go = res.track(device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }));
      const arena = res.track(new UniformArena(device, 4));
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      encodeAdd(device, pass, arena, ga, gb, go, n);
      pass.end();
      arena.flush();
      device.queue.submit([enc.finish()]);
      const got = await readFloat32(device, go, n);
      expectClose(got, add(a, b), 0);
      expect(got.length).toBe(n);
    }
  });
});

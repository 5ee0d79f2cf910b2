// The bind-group cache (src/gpu/pipelines.ts): a step binds the same buffers at the same arena
// offsets every time, so the groups are reused; any other buffer, offset, size or binding gets its
// own group, a new buffer object never meets a group made for an old one, and a pipeline's cache
// starts afresh at its bound. A reused group computes with the data of the moment.
import { describe, expect } from 'vitest';
import { expectClose, gpuTest } from '../helpers/gpu.js';
import { BIND_GROUP_CACHE_SIZE, bindBuffers, bindEntries, cachedBindGroups, getPipeline } from '../../src/gpu/pipelines.js';
import { bufferFrom, readFloat32, STORAGE } from '../../src/gpu/buffers.js';
import { UniformArena } from '../../src/gpu/uniforms.js';
import { encodeAdd } from '../../src/gpu/ops/add.js';

describe('bind-group cache', () => {
  gpuTest('reuses a group for the same bindings and makes a new one for any difference', async ({ device }, res) => {
    const p = getPipeline(device, 'add', { WG: 256 });
    const before = cachedBindGroups(p);
    const buf = () => res.track(device.createBuffer({ size: 1024, usage: STORAGE }));
    const [a, b, out] = [buf(), buf(), buf()];
    const uni = res.track(device.createBuffer({ size: 1024, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }));
    const at = (offset: number, size = 16): GPUBufferBinding => ({ buffer: uni, offset, size });
    const g = bindBuffers(device, p, [a, b, out, at(0)]);
    expect(bindBuffers(device, p, [a, b, out, at(0)])).toBe(g);
    expect(bindBuffers(device, p, [a, { buffer: b }, out, at(0)])).toBe(g); // a bare buffer is the same binding
    expect(bindBuffers(device, p, [a, b, out, at(256)])).not.toBe(g); // another arena slot
    expect(bindBuffers(device, p, [a, b, out, at(0, 32)])).not.toBe(g); // another size
    expect(bindBuffers(device, p, [b, a, out, at(0)])).not.toBe(g); // the same buffers, swapped
    expect(bindBuffers(device, p, [a, b, buf(), at(0)])).not.toBe(g); // a new buffer of the same size
    expect(bindEntries(device, p, [[0, a], [1, b], [2, out], [3, at(0)]])).toBe(g);
    expect(cachedBindGroups(p) - before).toBe(5);
    // Past the bound the cache starts afresh rather than holding groups of long-gone buffers.
    const big = res.track(device.createBuffer({ size: 256 * (BIND_GROUP_CACHE_SIZE + 8), usage: GPUBufferUsage.UNIFORM }));
    const first = bindBuffers(device, p, [a, b, out, { buffer: big, offset: 0, size: 16 }]);
    for (let i = 1; i < BIND_GROUP_CACHE_SIZE + 8; i++) bindBuffers(device, p, [a, b, out, { buffer: big, offset: 256 * i, size: 16 }]);
    expect(cachedBindGroups(p)).toBeLessThanOrEqual(BIND_GROUP_CACHE_SIZE);
    expect(bindBuffers(device, p, [a, b, out, { buffer: big, offset: 0, size: 16 }])).not.toBe(first);
  });

  gpuTest('a reused group computes with the current contents of its buffers and arena slot', async ({ device }, res) => {
    const n = 300;
    const a = res.track(bufferFrom(device, new Float32Array(n).fill(1)));
    const b = res.track(bufferFrom(device, new Float32Array(n).fill(2)));
    const out = res.track(device.createBuffer({ size: n * 4, usage: STORAGE }));
    const arena = res.track(new UniformArena(device, 4));
    const run = async (count: number) => {
      arena.reset();
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      encodeAdd(device, pass, arena, a, b, out, count);
      pass.end();
      arena.flush();
      device.queue.submit([enc.finish()]);
      return readFloat32(device, out, n);
    };
    expectClose(await run(n), new Float32Array(n).fill(3), 0);
    const groups = cachedBindGroups(getPipeline(device, 'add', { WG: 256 }));
    device.queue.writeBuffer(b, 0, new Float32Array(n).fill(5));
    device.queue.writeBuffer(out, 0, new Float32Array(n));
    // Same buffers, same slot, new count in the slot: only the first 100 are summed.
    const got = await run(100);
    expect(cachedBindGroups(getPipeline(device, 'add', { WG: 256 }))).toBe(groups); // the same group, reused
    expectClose(got, Float32Array.from({ length: n }, (_, i) => (i < 100 ? 6 : 0)), 0);
  });
});

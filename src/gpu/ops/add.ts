// Residual add on the GPU: out = a + b (n floats).
import { bindBuffers, ceilDiv, getPipeline } from '../pipelines.js';
import type { UniformArena } from '../uniforms.js';

const WG = 256;

/** Splits a 1-D workgroup count into x and y so neither exceeds the 65535 limit. */
export function dispatch1d(workgroups: number): [number, number] {
  if (workgroups <= 65535) return [workgroups, 1];
  const y = ceilDiv(workgroups, 65535);
  return [ceilDiv(workgroups, y), y];
}

export function encodeAdd(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  arena: UniformArena,
  a: GPUBuffer,
  b: GPUBuffer,
  out: GPUBuffer,
  n: number,
): void {
  const p = getPipeline(device, 'add', { WG });
  const [x, y] = dispatch1d(ceilDiv(n, WG));
  const params = arena.alloc('uu', [n, x * WG]);
  pass.setPipeline(p);
  pass.setBindGroup(0, bindBuffers(device, p, [a, b, out, params]));
  pass.dispatchWorkgroups(x, y);
}

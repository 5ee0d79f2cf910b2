// RMS norm on the GPU: out(rows, dim) = x · weight / sqrt(mean(x²) + eps), row by row.
import { bindBuffers, getPipeline } from '../pipelines.js';
import type { UniformArena } from '../uniforms.js';
import { dispatch1d } from './add.js';
import { checkBuffer, checkDims, checkDistinct } from './checks.js';

/**
 * Threads per row (kernels/rmsnorm.wgsl's WG override, a power of two): 64 up to dim 1024 (at
 * least 1 element per thread for the tiny model's dim 64, no more than 16 for dim 1024), 256 above.
 */
export function rmsnormWorkgroupSize(dim: number): number {
  return dim <= 1024 ? 64 : 256;
}

/** x: (rows, dim), weight: (dim), out: (rows, dim), all f32; out must not be x. One dispatch. */
export function encodeRmsnorm(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  arena: UniformArena,
  x: GPUBuffer,
  weight: GPUBuffer,
  out: GPUBuffer,
  rows: number,
  dim: number,
  eps: number,
): void {
  const op = 'encodeRmsnorm';
  checkDims(op, { rows, dim });
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new Error(`${op}: eps must be a finite number >= 0, got ${eps}`);
  checkBuffer(op, 'x', x, rows * dim, `x (rows=${rows}, dim=${dim})`);
  checkBuffer(op, 'weight', weight, dim, `weight (dim=${dim})`);
  checkBuffer(op, 'out', out, rows * dim, `out (rows=${rows}, dim=${dim})`);
  checkDistinct(op, ['out', out], ['x', x], ['weight', weight]);
  const p = getPipeline(device, 'rmsnorm', { WG: rmsnormWorkgroupSize(dim) });
  const [gx, gy] = dispatch1d(rows);
  const params = arena.alloc('uufu', [rows, dim, eps, gx]);
  pass.setPipeline(p);
  pass.setBindGroup(0, bindBuffers(device, p, [x, weight, out, params], 'rmsnorm'));
  pass.dispatchWorkgroups(gx, gy);
}

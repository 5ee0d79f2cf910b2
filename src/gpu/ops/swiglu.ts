// SwiGLU on the GPU: out = silu(gate) · up, elementwise over n floats.
import { bindBuffers, ceilDiv, getPipeline } from '../pipelines.js';
import type { UniformArena } from '../uniforms.js';
import { dispatch1d } from './add.js';
import { checkBuffer, checkDims, checkDistinct } from './checks.js';

const WG = 256;

/** gate, up, out: (n) f32; out must differ from gate and up. One dispatch. */
export function encodeSwiglu(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  arena: UniformArena,
  gate: GPUBuffer,
  up: GPUBuffer,
  out: GPUBuffer,
  n: number,
): void {
  const op = 'encodeSwiglu';
  checkDims(op, { n });
  checkBuffer(op, 'gate', gate, n, `gate (n=${n})`);
  checkBuffer(op, 'up', up, n, `up (n=${n})`);
  checkBuffer(op, 'out', out, n, `out (n=${n})`);
  checkDistinct(op, ['out', out], ['gate', gate], ['up', up]);
  const p = getPipeline(device, 'swiglu', { WG });
  const [gx, gy] = dispatch1d(ceilDiv(n, WG));
  const params = arena.alloc('uu', [n, gx * WG]);
  pass.setPipeline(p);
  pass.setBindGroup(0, bindBuffers(device, p, [gate, up, out, params], 'swiglu'));
  pass.dispatchWorkgroups(gx, gy);
}

// SwiGLU on the GPU: out = silu(gate) · up, elementwise over n floats.
import { bindBuffers, bindEntries, ceilDiv, getPipeline } from '../pipelines.js';
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

/**
 * Fused FFN gate: out(n) = silu(gateUp[2i]) · gateUp[2i+1], where gateUp (2n) f32 is the output of
 * one matmul with interleaved w1/w3 rows (see interleaveRows). One dispatch.
 */
export function encodeSwigluPairs(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  arena: UniformArena,
  gateUp: GPUBuffer,
  out: GPUBuffer,
  n: number,
): void {
  const op = 'encodeSwigluPairs';
  checkDims(op, { n });
  checkBuffer(op, 'gateUp', gateUp, 2 * n, `gateUp (2n=${2 * n})`);
  checkBuffer(op, 'out', out, n, `out (n=${n})`);
  checkDistinct(op, ['out', out], ['gateUp', gateUp]);
  const p = getPipeline(device, 'swiglu', { WG }, 'main_pairs');
  const [gx, gy] = dispatch1d(ceilDiv(n, WG));
  const params = arena.alloc('uu', [n, gx * WG]);
  pass.setPipeline(p);
  // main_pairs uses bindings 0 (gate_up), 2 (out) and 3 (params) of the shared file.
  const group = bindEntries(
    device,
    p,
    [
      [0, gateUp],
      [2, out],
      [3, params],
    ],
    'swiglu_pairs',
  );
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(gx, gy);
}

/** Interleaves the rows of two (rows, cols) matrices: a[0], b[0], a[1], b[1], ... */
export function interleaveRows(a: Float32Array, b: Float32Array, rows: number, cols: number): Float32Array {
  if (a.length !== rows * cols || b.length !== rows * cols) throw new Error('interleaveRows: shapes differ');
  const out = new Float32Array(2 * rows * cols);
  for (let r = 0; r < rows; r++) {
    out.set(a.subarray(r * cols, (r + 1) * cols), 2 * r * cols);
    out.set(b.subarray(r * cols, (r + 1) * cols), (2 * r + 1) * cols);
  }
  return out;
}

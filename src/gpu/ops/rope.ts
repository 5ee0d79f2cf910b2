// Rotary position embedding on the GPU, in place, llama2.c convention (see reference.ts rope).
// Applied separately to q (nHeads) and k (nKvHeads).
import { bindBuffers, ceilDiv, getPipeline } from '../pipelines.js';
import type { UniformArena } from '../uniforms.js';
import { dispatch1d } from './add.js';
import { checkBuffer, checkDims } from './checks.js';

const WG = 256;

/** x: (rows, nHeads·headDim) f32, rotated in place; positions: (rows) u32. headDim must be even. */
export function encodeRope(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  arena: UniformArena,
  x: GPUBuffer,
  positions: GPUBuffer,
  rows: number,
  nHeads: number,
  headDim: number,
  theta = 10000,
  opts: { rowStride?: number } = {},
): void {
  const op = 'encodeRope';
  // Rows may be wider than the rotated heads (e.g. q and k at the start of a fused qkv row).
  const width = nHeads * headDim;
  const rowStride = opts.rowStride ?? width;
  if (!Number.isInteger(rowStride) || rowStride < width) {
    throw new Error(`${op}: rowStride must be an integer >= nHeads·headDim (${width}), got ${rowStride}`);
  }
  checkDims(op, { rows, nHeads, headDim });
  if (headDim % 2 !== 0) throw new Error(`${op}: headDim must be even, got ${headDim}`);
  if (!(theta > 1) || !Number.isFinite(theta)) throw new Error(`${op}: theta must be a finite number > 1, got ${theta}`);
  checkBuffer(op, 'x', x, (rows - 1) * rowStride + width, `x (rows=${rows}, nHeads=${nHeads}, headDim=${headDim}, rowStride=${rowStride})`);
  checkBuffer(op, 'positions', positions, rows, `positions (rows=${rows})`);
  if (positions === x) throw new Error(`${op}: x and positions must be different buffers`);
  const rowPairs = (nHeads * headDim) / 2;
  const pairs = rows * rowPairs;
  const p = getPipeline(device, 'rope', { WG });
  const [gx, gy] = dispatch1d(ceilDiv(pairs, WG));
  const params = arena.alloc('uuuufu', [pairs, rowPairs, headDim / 2, gx * WG, -Math.log2(theta) / headDim, rowStride]);
  pass.setPipeline(p);
  pass.setBindGroup(0, bindBuffers(device, p, [x, positions, params], 'rope'));
  pass.dispatchWorkgroups(gx, gy);
}

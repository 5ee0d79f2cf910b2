// Embedding lookup on the GPU: out(T, dim) = table[tokens[t]].
import { bindBuffers, ceilDiv, getPipeline } from '../pipelines.js';
import type { UniformArena } from '../uniforms.js';
import { dispatch1d } from './add.js';
import { checkBuffer, checkDims, checkDistinct } from './checks.js';

const WG = 256;

export interface EmbeddingOptions {
  /** Rows of the table; defaults to as many whole rows as the buffer holds. */
  vocab?: number;
}

/**
 * table: (vocab, dim) f32, tokens: (T) u32, out: (T, dim) f32. The token ids live on the GPU and
 * cannot be checked here: an id >= vocab yields a row of zeros. One dispatch.
 */
export function encodeEmbedding(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  arena: UniformArena,
  table: GPUBuffer,
  tokens: GPUBuffer,
  out: GPUBuffer,
  T: number,
  dim: number,
  opts: EmbeddingOptions = {},
): void {
  const op = 'encodeEmbedding';
  checkDims(op, { T, dim });
  const vocab = opts.vocab ?? Math.floor(table.size / 4 / dim);
  checkDims(op, { vocab });
  checkBuffer(op, 'table', table, vocab * dim, `table (vocab=${vocab}, dim=${dim})`);
  checkBuffer(op, 'tokens', tokens, T, `tokens (T=${T})`);
  checkBuffer(op, 'out', out, T * dim, `out (T=${T}, dim=${dim})`);
  checkDistinct(op, ['out', out], ['table', table], ['tokens', tokens]);
  const n = T * dim;
  const p = getPipeline(device, 'embedding', { WG });
  const [gx, gy] = dispatch1d(ceilDiv(n, WG));
  const params = arena.alloc('uuuu', [n, dim, vocab, gx * WG]);
  pass.setPipeline(p);
  pass.setBindGroup(0, bindBuffers(device, p, [table, tokens, out, params], 'embedding'));
  pass.dispatchWorkgroups(gx, gy);
}

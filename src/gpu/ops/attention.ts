// Paged KV cache ops on the GPU: kv_write (store a step's k, v rows), decode attention (one query
// per token) and prefill attention (causal chunks of consecutive positions), all f32, all over the
// layout of `PagedLayout` in src/ops/reference.ts:
//   kCache, vCache: (numBlocks, blockSize, nKvHeads, headDim) f32, one layer
//   blockTable:     (maxSeqs, maxBlocksPerSeq) u32, physical block of each logical block of a slot
//   tokMeta:        (T) pairs of u32 (slot, pos) — WGSL array<vec2<u32>>; build with packTokMeta
//   chunks:         (nChunks) quads of u32 (tokenStart, nTokens, slot, startPos) — WGSL
//                   array<vec4<u32>>; build with packChunks
// Tokens of a step are flattened: row t of k, v, q and out belongs to token t.
import type { PagedLayout } from '../../ops/reference.js';
import { bindBuffers, ceilDiv, getPipeline } from '../pipelines.js';
import type { UniformArena } from '../uniforms.js';
import { dispatch1d } from './add.js';
import { checkBuffer, checkDims, checkDistinct } from './checks.js';

/** One prefill chunk: rows tokenStart .. tokenStart+nTokens-1 sit at positions startPos.. of slot. */
export interface PrefillChunk {
  tokenStart: number;
  nTokens: number;
  slot: number;
  startPos: number;
}

/** tokMeta contents: (T, 2) u32, row t = (slot[t], pos[t]). */
export function packTokMeta(slots: ArrayLike<number>, positions: ArrayLike<number>): Uint32Array {
  if (slots.length !== positions.length) throw new Error('packTokMeta: slots and positions differ in length');
  const m = new Uint32Array(slots.length * 2);
  for (let t = 0; t < slots.length; t++) {
    m[2 * t] = slots[t]!;
    m[2 * t + 1] = positions[t]!;
  }
  return m;
}

/** chunks contents: (nChunks, 4) u32, row c = (tokenStart, nTokens, slot, startPos). */
export function packChunks(chunks: readonly PrefillChunk[]): Uint32Array {
  const m = new Uint32Array(chunks.length * 4);
  chunks.forEach((c, i) => m.set([c.tokenStart, c.nTokens, c.slot, c.startPos], i * 4));
  return m;
}

const KV_WRITE_WG = 256;
const PREFILL_WG = 64;
const MAX_PREFILL_TILE = 16;

/** Decode rule: WG = keys per tile = max(64, headDim rounded up to a power of two), ≤ 256. */
export function decodeWorkgroupSize(headDim: number): number {
  let wg = 64;
  while (wg < headDim) wg *= 2;
  return wg;
}

/**
 * Prefill rule: square tiles BQ = BK = the largest power of two <= 16 whose workgroup memory
 * (Q, O, K, V tiles of headDim floats, the BQ×BK score tile and three per-query floats) fits the
 * device's maxComputeWorkgroupStorageSize.
 */
export function prefillTile(device: GPUDevice, headDim: number): { BQ: number; BK: number; WG: number } {
  const limit = device.limits.maxComputeWorkgroupStorageSize;
  for (let t = MAX_PREFILL_TILE; t >= 1; t /= 2) {
    if ((4 * t * headDim + t * t + 3 * t) * 4 <= limit) return { BQ: t, BK: t, WG: PREFILL_WG };
  }
  throw new Error(`attention_prefill: headDim ${headDim} does not fit in ${limit} bytes of workgroup memory`);
}

function checkLayout(op: string, L: PagedLayout): void {
  checkDims(op, {
    nHeads: L.nHeads,
    nKvHeads: L.nKvHeads,
    headDim: L.headDim,
    blockSize: L.blockSize,
    maxBlocksPerSeq: L.maxBlocksPerSeq,
  });
  if (L.nHeads % L.nKvHeads !== 0) {
    throw new Error(`${op}: nHeads (${L.nHeads}) must be a multiple of nKvHeads (${L.nKvHeads})`);
  }
}

function checkCaches(op: string, L: PagedLayout, kCache: GPUBuffer, vCache: GPUBuffer, blockTable: GPUBuffer): void {
  const block = L.blockSize * L.nKvHeads * L.headDim;
  const shape = `a cache of (numBlocks, ${L.blockSize}, ${L.nKvHeads}, ${L.headDim}) f32 with numBlocks >= 1`;
  checkBuffer(op, 'kCache', kCache, block, shape);
  checkBuffer(op, 'vCache', vCache, block, shape);
  checkBuffer(op, 'blockTable', blockTable, L.maxBlocksPerSeq, `(maxSeqs >= 1, ${L.maxBlocksPerSeq}) u32`);
}

function checkTokens(op: string, tokenOffset: number, nTokens: number): boolean {
  if (!Number.isInteger(tokenOffset) || tokenOffset < 0) {
    throw new Error(`${op}: tokenOffset must be a non-negative integer, got ${tokenOffset}`);
  }
  if (!Number.isInteger(nTokens) || nTokens < 0) {
    throw new Error(`${op}: nTokens must be a non-negative integer, got ${nTokens}`);
  }
  return nTokens > 0;
}

/**
 * Records the kv_write dispatch: for t in [tokenOffset, tokenOffset + nTokens), writes
 * k[t], v[t] (rows of nKvHeads·headDim f32) into kCache, vCache at tokMeta[t] = (slot, pos).
 * k, v: (T, nKvHeads·headDim) f32; tokMeta: (T) (slot, pos) u32 pairs. nTokens = 0 records nothing.
 */
/**
 * Where kv_write finds k and v: by default packed (T, kvDim) buffers; rowStride and offsets let
 * both be columns of one wider row, e.g. the (T, dim + 2·kvDim) output of a fused QKV matmul
 * (then k and v may be the same buffer).
 */
export interface KvSource {
  rowStride?: number;
  kOffset?: number;
  vOffset?: number;
}

export function encodeKvWrite(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  arena: UniformArena,
  layout: PagedLayout,
  k: GPUBuffer,
  v: GPUBuffer,
  kCache: GPUBuffer,
  vCache: GPUBuffer,
  blockTable: GPUBuffer,
  tokMeta: GPUBuffer,
  nTokens: number,
  tokenOffset = 0,
  src: KvSource = {},
): void {
  const op = 'kv_write';
  checkLayout(op, layout);
  if (!checkTokens(op, tokenOffset, nTokens)) return;
  const kvDim = layout.nKvHeads * layout.headDim;
  const T = tokenOffset + nTokens;
  const stride = src.rowStride ?? kvDim;
  const kOff = src.kOffset ?? 0;
  const vOff = src.vOffset ?? 0;
  for (const [name, v] of [['rowStride', stride], ['kOffset', kOff], ['vOffset', vOff]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${op}: ${name} must be a non-negative integer, got ${v}`);
  }
  if (kOff + kvDim > stride || vOff + kvDim > stride) {
    throw new Error(`${op}: k and v rows (${kvDim} floats at offsets ${kOff}, ${vOff}) must fit in rowStride ${stride}`);
  }
  checkBuffer(op, 'k', k, (T - 1) * stride + kOff + kvDim, `(${T}, ${kvDim}) f32 rows, stride ${stride}`);
  checkBuffer(op, 'v', v, (T - 1) * stride + vOff + kvDim, `(${T}, ${kvDim}) f32 rows, stride ${stride}`);
  checkBuffer(op, 'tokMeta', tokMeta, T * 2, `(${T}) (slot, pos) u32 pairs`);
  checkCaches(op, layout, kCache, vCache, blockTable);
  checkDistinct(op, ['kCache', kCache], ['vCache', vCache], ['k', k], ['v', v], ['blockTable', blockTable], ['tokMeta', tokMeta]);
  checkDistinct(op, ['vCache', vCache], ['k', k], ['v', v], ['blockTable', blockTable], ['tokMeta', tokMeta]);

  const p = getPipeline(device, 'kv_write', { WG: KV_WRITE_WG });
  const [x, y] = dispatch1d(ceilDiv(nTokens * kvDim, KV_WRITE_WG));
  const params = arena.alloc('uuuuuuuuu', [
    tokenOffset,
    nTokens,
    kvDim,
    layout.blockSize,
    layout.maxBlocksPerSeq,
    x * KV_WRITE_WG,
    stride,
    kOff,
    vOff,
  ]);
  pass.setPipeline(p);
  pass.setBindGroup(0, bindBuffers(device, p, [k, v, kCache, vCache, blockTable, tokMeta, params], op));
  pass.dispatchWorkgroups(x, y);
}

function checkAttention(
  op: string,
  L: PagedLayout,
  q: GPUBuffer,
  kCache: GPUBuffer,
  vCache: GPUBuffer,
  blockTable: GPUBuffer,
  out: GPUBuffer,
  rows: number,
  qStride = L.nHeads * L.headDim,
): void {
  const width = L.nHeads * L.headDim;
  if (!Number.isInteger(qStride) || qStride < width) {
    throw new Error(`${op}: qStride must be an integer >= nHeads·headDim (${width}), got ${qStride}`);
  }
  checkBuffer(op, 'q', q, (rows - 1) * qStride + width, `(${rows}, ${width}) f32 rows, stride ${qStride}`);
  checkBuffer(op, 'out', out, rows * width, `(${rows}, ${width}) f32`);
  checkCaches(op, L, kCache, vCache, blockTable);
  checkDistinct(op, ['out', out], ['q', q], ['kCache', kCache], ['vCache', vCache], ['blockTable', blockTable]);
}

/** Decode attention variants: 'tiled' (a workgroup per (head, token), keys split over threads)
 * and 'serial' (a thread per (head, token), no barriers). */
export type DecodeVariant = 'tiled' | 'serial';
/** Longest context (positions) for which the serial variant is chosen. */
export const SERIAL_MAX_CONTEXT = 256;
/** The serial variant keeps a head's output in registers: headDim at most this. */
export const SERIAL_MAX_HEAD_DIM = 64;
const SERIAL_WG = 64;

/**
 * The default rule: 'serial' when every query attends to at most SERIAL_MAX_CONTEXT (256)
 * positions (maxPos known and < 256) and headDim <= 64, where one thread walking the keys is
 * cheaper than the tiled variant's reductions and barriers; 'tiled' otherwise (long contexts
 * need the keys split across threads).
 */
export function chooseDecodeVariant(headDim: number, maxPos?: number): DecodeVariant {
  return maxPos !== undefined && maxPos < SERIAL_MAX_CONTEXT && headDim <= SERIAL_MAX_HEAD_DIM ? 'serial' : 'tiled';
}

/**
 * Records decode attention for tokens t in [tokenOffset, tokenOffset + nTokens): query row t
 * (nHeads·headDim f32 of q) attends to positions 0..pos of its slot, (slot, pos) = tokMeta[t];
 * the result goes to row t of out. Those positions' K/V must already be in the caches (run
 * encodeKvWrite first). q, out: (T, nHeads·headDim) f32; tokMeta: (T) (slot, pos) u32 pairs.
 * Any context length the block table covers works (keys are walked in tiles). Dispatch:
 * (nHeads, nTokens) workgroups of decodeWorkgroupSize(headDim). nTokens = 0 records nothing.
 */
export function encodeAttentionDecode(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  arena: UniformArena,
  layout: PagedLayout,
  q: GPUBuffer,
  kCache: GPUBuffer,
  vCache: GPUBuffer,
  blockTable: GPUBuffer,
  tokMeta: GPUBuffer,
  out: GPUBuffer,
  tokenOffset: number,
  nTokens: number,
  opts: { variant?: DecodeVariant; maxPos?: number; qStride?: number } = {},
): DecodeVariant | undefined {
  const op = 'attention_decode';
  checkLayout(op, layout);
  if (!checkTokens(op, tokenOffset, nTokens)) return;
  const T = tokenOffset + nTokens;
  checkAttention(op, layout, q, kCache, vCache, blockTable, out, T, opts.qStride);
  checkBuffer(op, 'tokMeta', tokMeta, T * 2, `(${T}) (slot, pos) u32 pairs`);
  checkDistinct(op, ['out', out], ['tokMeta', tokMeta]);
  const variant = opts.variant ?? chooseDecodeVariant(layout.headDim, opts.maxPos);
  if (variant === 'serial' && layout.headDim > SERIAL_MAX_HEAD_DIM) {
    throw new Error(`${op}: the serial variant needs headDim <= ${SERIAL_MAX_HEAD_DIM}, got ${layout.headDim}`);
  }
  const WG = decodeWorkgroupSize(layout.headDim);
  if (WG > device.limits.maxComputeInvocationsPerWorkgroup || WG > 256) {
    throw new Error(`${op}: headDim ${layout.headDim} is above the supported 256`);
  }
  const maxWg = device.limits.maxComputeWorkgroupsPerDimension;
  if (layout.nHeads > maxWg || nTokens > maxWg) {
    throw new Error(`${op}: nHeads ${layout.nHeads} or nTokens ${nTokens} above ${maxWg} workgroups`);
  }

  const qStride = opts.qStride ?? layout.nHeads * layout.headDim;
  // The serial variant's named-register entry needs vec4-aligned head rows in q and the caches.
  const serialEntry = layout.headDim % 4 === 0 && qStride % 4 === 0 ? 'main_serial_vec4' : 'main_serial';
  const p =
    variant === 'serial'
      ? getPipeline(device, 'attention_decode', { SWG: SERIAL_WG, HD: layout.headDim }, serialEntry)
      : getPipeline(device, 'attention_decode', { WG, HD: layout.headDim });
  const params = arena.alloc('uuuuuufuu', [
    tokenOffset,
    layout.nHeads,
    layout.nKvHeads,
    layout.nHeads / layout.nKvHeads,
    layout.blockSize,
    layout.maxBlocksPerSeq,
    1 / Math.sqrt(layout.headDim),
    nTokens,
    qStride,
  ]);
  pass.setPipeline(p);
  pass.setBindGroup(0, bindBuffers(device, p, [q, kCache, vCache, blockTable, tokMeta, out, params], op));
  if (variant === 'serial') pass.dispatchWorkgroups(...dispatch1d(ceilDiv(nTokens * layout.nHeads, SERIAL_WG)));
  else pass.dispatchWorkgroups(layout.nHeads, nTokens);
  return variant;
}

/**
 * Records causal prefill attention for nChunks chunks: chunks[c] = (tokenStart, nTokens, slot,
 * startPos) (u32 quads, see packChunks) says rows tokenStart.. tokenStart+nTokens-1 of q are
 * positions startPos.. of slot; each attends to positions 0..its own, whose K/V must already be
 * in the caches (earlier positions from previous steps, the chunk's own from encodeKvWrite).
 * maxChunkLen must be >= every chunk's nTokens (queries beyond it are not computed). q, out:
 * (T, nHeads·headDim) f32 and must hold every chunk's rows; at least maxChunkLen rows are
 * checked here. Dispatch: (ceil(maxChunkLen / BQ), nHeads, nChunks), tiles from prefillTile.
 * nChunks = 0 records nothing.
 */
export function encodeAttentionPrefill(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  arena: UniformArena,
  layout: PagedLayout,
  q: GPUBuffer,
  kCache: GPUBuffer,
  vCache: GPUBuffer,
  blockTable: GPUBuffer,
  chunks: GPUBuffer,
  out: GPUBuffer,
  nChunks: number,
  maxChunkLen: number,
  opts: { qStride?: number } = {},
): void {
  const op = 'attention_prefill';
  checkLayout(op, layout);
  if (!checkTokens(op, 0, nChunks)) return;
  checkDims(op, { maxChunkLen });
  checkAttention(op, layout, q, kCache, vCache, blockTable, out, maxChunkLen, opts.qStride);
  checkBuffer(op, 'chunks', chunks, nChunks * 4, `(${nChunks}) (tokenStart, nTokens, slot, startPos) u32 quads`);
  checkDistinct(op, ['out', out], ['chunks', chunks]);
  const { BQ, BK, WG } = prefillTile(device, layout.headDim);
  const qTiles = ceilDiv(maxChunkLen, BQ);
  const maxWg = device.limits.maxComputeWorkgroupsPerDimension;
  if (qTiles > maxWg || layout.nHeads > maxWg || nChunks > maxWg) {
    throw new Error(`${op}: dispatch (${qTiles}, ${layout.nHeads}, ${nChunks}) above ${maxWg} workgroups`);
  }

  const p = getPipeline(device, 'attention_prefill', { WG, HD: layout.headDim, BQ, BK });
  const params = arena.alloc('uuuuufu', [
    layout.nHeads,
    layout.nKvHeads,
    layout.nHeads / layout.nKvHeads,
    layout.blockSize,
    layout.maxBlocksPerSeq,
    1 / Math.sqrt(layout.headDim),
    opts.qStride ?? layout.nHeads * layout.headDim,
  ]);
  pass.setPipeline(p);
  pass.setBindGroup(0, bindBuffers(device, p, [q, kCache, vCache, blockTable, chunks, out, params], op));
  pass.dispatchWorkgroups(qTiles, layout.nHeads, nChunks);
}

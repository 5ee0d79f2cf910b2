// Paged KV write and attention kernels against the CPU references (kvWrite, attentionPaged) on
// seeded random layouts: several sequences of different lengths, shuffled block tables, GQA
// groups 2, 1 and 8, headDim 8/16/32, block sizes 4 and 16, positions at block boundaries,
// contexts up to 4096, and prefill chunks that start mid-sequence with lengths that are not
// multiples of the query tile.
// Tolerances: kv_write is a copy, compared exactly; attention outputs (|out| <= 1, since V is
// uniform in [-1, 1)) must agree within atol 1e-5 (f32 on both sides, summation orders differ).
import { describe, expect, it } from 'vitest';
import { expectClose, gpuTest, type Resources } from '../helpers/gpu.js';
import { bufferFrom, readFloat32 } from '../../src/gpu/buffers.js';
import { UniformArena } from '../../src/gpu/uniforms.js';
import {
  encodeAttentionDecode,
  chooseDecodeVariant,
  type DecodeVariant,
  encodeAttentionPrefill,
  encodeKvWrite,
  packChunks,
  packTokMeta,
  prefillTile,
  type PrefillChunk,
} from '../../src/gpu/ops/attention.js';
import { attentionPaged, kvWrite, type PagedLayout } from '../../src/ops/reference.js';
import { Rng } from '../../src/ops/random.js';

const ATOL = 1e-5;

interface Step {
  L: PagedLayout;
  numBlocks: number;
  blockTable: Uint32Array; // (maxSeqs, maxBlocksPerSeq)
  kCache: Float32Array; // (numBlocks, blockSize, nKvHeads, headDim), random history
  vCache: Float32Array;
  tokSlot: number[]; // (T)
  tokPos: number[]; // (T)
  k: Float32Array; // (T, nKvHeads·headDim) new rows
  v: Float32Array;
  q: Float32Array; // (T, nHeads·headDim)
  nDecode: number; // tokens 0..nDecode-1 are decode tokens, the rest prefill chunks
  chunks: PrefillChunk[];
}

/**
 * A step of `decodePos.length` decode tokens (slot i at decodePos[i]) followed by prefill chunks
 * (each its own slot, [startPos, length]). Every slot's blocks are drawn from a shuffled pool.
 */
function makeStep(
  rng: Rng,
  nHeads: number,
  nKvHeads: number,
  headDim: number,
  blockSize: number,
  decodePos: number[],
  prefill: [number, number][],
): Step {
  const lens = [...decodePos.map((p) => p + 1), ...prefill.map(([s, n]) => s + n)];
  const maxBlocksPerSeq = Math.max(...lens.map((n) => Math.ceil(n / blockSize))) + 1;
  const L: PagedLayout = { nHeads, nKvHeads, headDim, blockSize, maxBlocksPerSeq };
  const needed = lens.reduce((a, n) => a + Math.ceil(n / blockSize), 0);
  const numBlocks = needed + 3; // a few spare blocks nobody owns
  const pool = Array.from({ length: numBlocks }, (_, i) => i);
  for (let i = pool.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  const maxSeqs = lens.length + 1; // one unused slot
  const blockTable = new Uint32Array(maxSeqs * maxBlocksPerSeq);
  for (let i = 0; i < blockTable.length; i++) blockTable[i] = rng.int(0, numBlocks - 1); // garbage
  // Slots in a shuffled order too, so slot != sequence index.
  const slots = Array.from({ length: maxSeqs }, (_, i) => i).sort(() => rng.next() - 0.5);
  lens.forEach((n, s) => {
    for (let b = 0; b < Math.ceil(n / blockSize); b++) blockTable[slots[s]! * maxBlocksPerSeq + b] = pool.pop()!;
  });
  const tokSlot: number[] = [];
  const tokPos: number[] = [];
  decodePos.forEach((p, s) => {
    tokSlot.push(slots[s]!);
    tokPos.push(p);
  });
  const chunks: PrefillChunk[] = [];
  prefill.forEach(([start, n], c) => {
    const slot = slots[decodePos.length + c]!;
    chunks.push({ tokenStart: tokSlot.length, nTokens: n, slot, startPos: start });
    for (let i = 0; i < n; i++) {
      tokSlot.push(slot);
      tokPos.push(start + i);
    }
  });
  const T = tokSlot.length;
  const cacheSize = numBlocks * blockSize * nKvHeads * headDim;
  return {
    L,
    numBlocks,
    blockTable,
    kCache: rng.floats(cacheSize),
    vCache: rng.floats(cacheSize),
    tokSlot,
    tokPos,
    k: rng.floats(T * nKvHeads * headDim),
    v: rng.floats(T * nKvHeads * headDim),
    q: rng.floats(T * nHeads * headDim),
    nDecode: decodePos.length,
    chunks,
  };
}

function storage(device: GPUDevice, res: Resources, floats: number): GPUBuffer {
  return res.track(
    device.createBuffer({ size: Math.max(16, floats * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }),
  );
}

/** Runs kv_write for every token, then decode and prefill attention, in one pass and submit. */
async function runStep(device: GPUDevice, res: Resources, s: Step, decodeVariant?: DecodeVariant) {
  const { L } = s;
  const T = s.tokSlot.length;
  const gk = res.track(bufferFrom(device, s.k));
  const gv = res.track(bufferFrom(device, s.v));
  const gq = res.track(bufferFrom(device, s.q));
  const gkc = res.track(bufferFrom(device, s.kCache));
  const gvc = res.track(bufferFrom(device, s.vCache));
  const gbt = res.track(bufferFrom(device, s.blockTable));
  const gmeta = res.track(bufferFrom(device, packTokMeta(s.tokSlot, s.tokPos)));
  const gchunks = res.track(bufferFrom(device, packChunks(s.chunks)));
  const gout = storage(device, res, T * L.nHeads * L.headDim);
  const arena = res.track(new UniformArena(device, 4));
  const enc = device.createCommandEncoder();
  let pass = enc.beginComputePass();
  encodeKvWrite(device, pass, arena, L, gk, gv, gkc, gvc, gbt, gmeta, T);
  pass.end();
  pass = enc.beginComputePass();
  encodeAttentionDecode(device, pass, arena, L, gq, gkc, gvc, gbt, gmeta, gout, 0, s.nDecode, { variant: decodeVariant });
  const maxChunkLen = Math.max(0, ...s.chunks.map((c) => c.nTokens));
  encodeAttentionPrefill(device, pass, arena, L, gq, gkc, gvc, gbt, gchunks, gout, s.chunks.length, maxChunkLen);
  pass.end();
  arena.flush();
  device.queue.submit([enc.finish()]);
  return {
    out: await readFloat32(device, gout, T * L.nHeads * L.headDim),
    kCache: await readFloat32(device, gkc, s.kCache.length),
    vCache: await readFloat32(device, gvc, s.vCache.length),
  };
}

/** The same step on the CPU: kvWrite, then attentionPaged over every token. */
function cpuStep(s: Step) {
  const kCache = Float32Array.from(s.kCache);
  const vCache = Float32Array.from(s.vCache);
  kvWrite(s.L, s.k, s.v, kCache, vCache, s.blockTable, s.tokSlot, s.tokPos);
  const out = attentionPaged(s.L, s.q, kCache, vCache, s.blockTable, s.tokSlot, s.tokPos);
  return { out, kCache, vCache };
}

async function checkStep(device: GPUDevice, res: Resources, s: Step, decodeVariant?: DecodeVariant): Promise<void> {
  const got = await runStep(device, res, s, decodeVariant);
  const want = cpuStep(s);
  expectClose(got.kCache, want.kCache, 0);
  expectClose(got.vCache, want.vCache, 0);
  expectClose(got.out, want.out, ATOL);
}

describe('kv_write kernel', () => {
  gpuTest('writes rows into shuffled paged blocks exactly, with and without a token offset', async ({ device }, res) => {
    const rng = new Rng(11);
    for (const [nKvHeads, headDim, blockSize] of [
      [4, 8, 4],
      [1, 32, 16],
      [2, 16, 4],
    ] as const) {
      const s = makeStep(rng, nKvHeads * 2, nKvHeads, headDim, blockSize, [0, blockSize - 1, blockSize, 3 * blockSize + 1], [[blockSize, 9]]);
      const T = s.tokSlot.length;
      const gk = res.track(bufferFrom(device, s.k));
      const gv = res.track(bufferFrom(device, s.v));
      const gkc = res.track(bufferFrom(device, s.kCache));
      const gvc = res.track(bufferFrom(device, s.vCache));
      const gbt = res.track(bufferFrom(device, s.blockTable));
      const gmeta = res.track(bufferFrom(device, packTokMeta(s.tokSlot, s.tokPos)));
      const arena = res.track(new UniformArena(device, 4));
      const off = 2; // two dispatches: tokens [0, off) and [off, T)
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      encodeKvWrite(device, pass, arena, s.L, gk, gv, gkc, gvc, gbt, gmeta, off);
      encodeKvWrite(device, pass, arena, s.L, gk, gv, gkc, gvc, gbt, gmeta, T - off, off);
      pass.end();
      arena.flush();
      device.queue.submit([enc.finish()]);
      const want = cpuStep(s);
      expectClose(await readFloat32(device, gkc, s.kCache.length), want.kCache, 0);
      expectClose(await readFloat32(device, gvc, s.vCache.length), want.vCache, 0);
    }
  });
});

describe('attention_decode kernel', () => {
  for (const variant of ['tiled', 'serial'] as const) {
  gpuTest(`${variant} variant matches attentionPaged across GQA groups, head dims and block sizes (atol ${ATOL})`, async ({ device }, res) => {
    const rng = new Rng(21);
    const configs: [number, number, number, number][] = [
      // nHeads, nKvHeads, headDim, blockSize
      [8, 4, 8, 4],
      [4, 4, 16, 16],
      [8, 1, 32, 16],
      [8, 4, 32, 4],
      [4, 4, 8, 16],
      [8, 1, 16, 4],
      // headDim 64: every named register of main_serial_vec4; 6 and 12: not multiples of 4 or
      // not of 8 (main_serial's scalar entry, and vec4 rows that are not 8-aligned).
      [4, 2, 64, 16],
      [4, 2, 6, 4],
      [6, 3, 12, 4],
    ];
    for (const [nHeads, nKvHeads, headDim, bs] of configs) {
      // Block boundaries (bs-1, bs, 2bs-1, 2bs), a single key, key-tile boundaries (63, 64, 65)
      // and a random length.
      const positions = [0, bs - 1, bs, 2 * bs - 1, 2 * bs, 63, 64, 65, rng.int(100, 300)];
      await checkStep(device, res, makeStep(rng, nHeads, nKvHeads, headDim, bs, positions, []), variant);
    }
  });
  }

  it('chooses the serial variant for short contexts and small heads, the tiled one otherwise', () => {
    expect(chooseDecodeVariant(8, 100)).toBe('serial');
    expect(chooseDecodeVariant(64, 255)).toBe('serial');
    expect(chooseDecodeVariant(64, 256)).toBe('tiled');
    expect(chooseDecodeVariant(128, 10)).toBe('tiled');
    expect(chooseDecodeVariant(8)).toBe('tiled');
  });

  gpuTest('handles long contexts (positions up to 4095) and a token offset', async ({ device }, res) => {
    const rng = new Rng(22);
    const s = makeStep(rng, 8, 4, 16, 16, [4095, 2048, 1], [[5, 3]]);
    // Decode rows after the prefill rows: move the chunk first so decode starts at an offset.
    await checkStep(device, res, s);
    // Decode for tokens [1, 3) only: compare those rows.
    const T = s.tokSlot.length;
    const width = s.L.nHeads * s.L.headDim;
    const want = cpuStep(s);
    const gq = res.track(bufferFrom(device, s.q));
    const gkc = res.track(bufferFrom(device, want.kCache));
    const gvc = res.track(bufferFrom(device, want.vCache));
    const gbt = res.track(bufferFrom(device, s.blockTable));
    const gmeta = res.track(bufferFrom(device, packTokMeta(s.tokSlot, s.tokPos)));
    const gout = storage(device, res, T * width);
    const arena = res.track(new UniformArena(device, 2));
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    encodeAttentionDecode(device, pass, arena, s.L, gq, gkc, gvc, gbt, gmeta, gout, 1, 2);
    pass.end();
    arena.flush();
    device.queue.submit([enc.finish()]);
    const got = await readFloat32(device, gout, T * width);
    expectClose(got.subarray(width, 3 * width), want.out.subarray(width, 3 * width), ATOL);
    expect(Array.from(got.subarray(0, width)).every((x) => x === 0)).toBe(true);
  });
});

describe('attention reading a fused qkv buffer', () => {
  gpuTest(`kv_write, decode and prefill take q, k, v as columns of one (T, q + 2·kv) row (atol ${ATOL})`, async ({ device }, res) => {
    const rng = new Rng(41);
    for (const variant of ['tiled', 'serial'] as const) {
      const s = makeStep(rng, 8, 4, 8, 4, [0, 5, 17], [[3, 6], [0, 9]]);
      const { L } = s;
      const T = s.tokSlot.length;
      const qW = L.nHeads * L.headDim;
      const kvW = L.nKvHeads * L.headDim;
      const stride = qW + 2 * kvW;
      const qkv = new Float32Array(T * stride);
      for (let t = 0; t < T; t++) {
        qkv.set(s.q.subarray(t * qW, (t + 1) * qW), t * stride);
        qkv.set(s.k.subarray(t * kvW, (t + 1) * kvW), t * stride + qW);
        qkv.set(s.v.subarray(t * kvW, (t + 1) * kvW), t * stride + qW + kvW);
      }
      const gqkv = res.track(bufferFrom(device, qkv));
      const gkc = res.track(bufferFrom(device, s.kCache));
      const gvc = res.track(bufferFrom(device, s.vCache));
      const gbt = res.track(bufferFrom(device, s.blockTable));
      const gmeta = res.track(bufferFrom(device, packTokMeta(s.tokSlot, s.tokPos)));
      const gchunks = res.track(bufferFrom(device, packChunks(s.chunks)));
      const gout = storage(device, res, T * qW);
      const arena = res.track(new UniformArena(device, 4));
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      encodeKvWrite(device, pass, arena, L, gqkv, gqkv, gkc, gvc, gbt, gmeta, T, 0, { rowStride: stride, kOffset: qW, vOffset: qW + kvW });
      encodeAttentionDecode(device, pass, arena, L, gqkv, gkc, gvc, gbt, gmeta, gout, 0, s.nDecode, { variant, qStride: stride });
      const maxChunkLen = Math.max(...s.chunks.map((c) => c.nTokens));
      encodeAttentionPrefill(device, pass, arena, L, gqkv, gkc, gvc, gbt, gchunks, gout, s.chunks.length, maxChunkLen, { qStride: stride });
      pass.end();
      arena.flush();
      device.queue.submit([enc.finish()]);
      const want = cpuStep(s);
      expectClose(await readFloat32(device, gkc, s.kCache.length), want.kCache, 0);
      expectClose(await readFloat32(device, gvc, s.vCache.length), want.vCache, 0);
      expectClose(await readFloat32(device, gout, T * qW), want.out, ATOL);
      res.destroyAll();
    }
  });
});

describe('attention_prefill kernel', () => {
  gpuTest(`matches attentionPaged on chunks of odd lengths and start positions (atol ${ATOL})`, async ({ device }, res) => {
    const rng = new Rng(31);
    const configs: [number, number, number, number][] = [
      [8, 4, 8, 4],
      [4, 4, 16, 16],
      [8, 1, 32, 16],
      [8, 4, 32, 4],
    ];
    for (const [nHeads, nKvHeads, headDim, bs] of configs) {
      const { BQ } = prefillTile(device, headDim);
      // [startPos, length]: from 0; mid-block start; block-boundary start; lengths 1, BQ-1,
      // BQ+1, 2BQ+3 (never a whole number of tiles except where stated).
      const prefill: [number, number][] = [
        [0, BQ + 1],
        [3, 1],
        [bs, BQ - 1],
        [2 * bs - 1, 2 * BQ + 3],
        [rng.int(20, 80), BQ],
      ];
      // Decode tokens share the step, as in the engine.
      await checkStep(device, res, makeStep(rng, nHeads, nKvHeads, headDim, bs, [bs, rng.int(0, 50)], prefill));
    }
  });

  gpuTest('matches on a long chunk late in a long sequence', async ({ device }, res) => {
    const rng = new Rng(32);
    await checkStep(device, res, makeStep(rng, 4, 2, 16, 16, [], [[1000, 77], [0, 50]]));
  });
});

describe('attention argument checks', () => {
  gpuTest('throws clear errors on bad shapes', async ({ device }, res) => {
    const L: PagedLayout = { nHeads: 6, nKvHeads: 4, headDim: 8, blockSize: 4, maxBlocksPerSeq: 2 };
    const small = storage(device, res, 4);
    const big = storage(device, res, 4096);
    const big2 = storage(device, res, 4096);
    const arena = res.track(new UniformArena(device, 4));
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    expect(() => encodeAttentionDecode(device, pass, arena, L, big, big2, big2, big, big, storage(device, res, 4096), 0, 1)).toThrow(
      /multiple of nKvHeads/,
    );
    const G: PagedLayout = { ...L, nHeads: 8 };
    expect(() => encodeAttentionDecode(device, pass, arena, G, small, big, big2, big, big, storage(device, res, 4096), 0, 1)).toThrow(
      /q is 16 bytes, too small/,
    );
    expect(() => encodeKvWrite(device, pass, arena, G, big, big, small, big2, big, big, 1)).toThrow(/kCache is 16 bytes/);
    expect(() => encodeAttentionPrefill(device, pass, arena, G, big, big2, big2, big, small, storage(device, res, 4096), 2, 4)).toThrow(
      /chunks is 16 bytes/,
    );
    pass.end();
    enc.finish();
  });
});

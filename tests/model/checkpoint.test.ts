import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_MAGIC,
  ModelFormatError,
  checkpointBytes,
  parseCheckpoint,
  writeCheckpointLegacy,
  writeCheckpointV1,
} from '../../src/model/checkpoint.js';
import type { Model } from '../../src/model/config.js';
import { SequenceKv, forward } from '../../src/model/cpu-forward.js';
import { expectSameFloats, randomModel, storiesTest } from './helpers.js';

function expectSameWeights(a: Model, b: Model): void {
  expect(b.config).toEqual(a.config);
  expectSameFloats(b.weights.tokenEmbedding, a.weights.tokenEmbedding, 'token_embedding_table');
  expectSameFloats(b.weights.rmsFinal, a.weights.rmsFinal, 'rms_final_weight');
  expectSameFloats(b.weights.wcls, a.weights.wcls, 'wcls');
  expect(b.weights.layers.length).toBe(a.weights.layers.length);
  a.weights.layers.forEach((la, l) => {
    const lb = b.weights.layers[l]!;
    for (const k of ['rmsAtt', 'wq', 'wk', 'wv', 'wo', 'rmsFfn', 'w1', 'w2', 'w3'] as const) {
      expectSameFloats(lb[k], la[k], `layer ${l} ${k}`);
    }
  });
}

/** Parses and returns the error message (fails the test if it parses). */
function parseError(buf: ArrayBuffer, source = 'bad.bin', limits?: { maxStorageBufferBindingSize?: number }): string {
  try {
    parseCheckpoint(buf, source, limits);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFormatError);
    expect((e as Error).message.startsWith(`${source}: `)).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected parseCheckpoint to throw');
}

function withInt32(buf: ArrayBuffer, byteOffset: number, value: number): ArrayBuffer {
  const copy = buf.slice(0);
  new DataView(copy).setInt32(byteOffset, value, true);
  return copy;
}

describe('stories260K checkpoint', () => {
  storiesTest('parses the legacy file with a shared classifier', ({ checkpoint: buf }) => {
    const m = parseCheckpoint(buf, 'stories260K.bin');
    expect(m.config).toEqual({
      dim: 64,
      hiddenDim: 172,
      nLayers: 5,
      nHeads: 8,
      nKvHeads: 4,
      vocabSize: 512,
      seqLen: 512,
      sharedClassifier: true,
      normEps: 1e-5,
      ropeTheta: 10000,
    });
    expect(m.source).toBe('stories260K.bin');
    expect(m.weights.wcls).toBe(m.weights.tokenEmbedding);
    expect(m.weights.layers[4]!.w2.length).toBe(64 * 172);
    expect(m.weights.layers[0]!.wk.length).toBe(32 * 64);
    expect(m.weights.tokenEmbedding.buffer).toBe(buf); // zero copy
    // Written back in the legacy format it is the same file, freq_cis aside (recomputed).
    const again = parseCheckpoint(writeCheckpointLegacy(m), 'rewritten');
    expectSameWeights(m, { ...again, source: m.source });
  });

  storiesTest('rejects a tensor above the given maxStorageBufferBindingSize', ({ checkpoint: buf }) => {
    const msg = parseError(buf, 'stories260K.bin', { maxStorageBufferBindingSize: 100_000 });
    expect(msg).toMatch(/token_embedding_table \(512, 64\) is 131072 bytes, above maxStorageBufferBindingSize 100000/);
    expect(msg).toMatch(/does not fit this GPU's limits/);
  });
});

describe('synthetic checkpoints', () => {
  const cases = [
    { name: 'shared classifier', shared: true },
    { name: 'unshared classifier', shared: false },
  ];
  for (const { name, shared } of cases) {
    it(`round-trips version 1 and legacy, ${name}`, () => {
      const m = randomModel(7, { sharedClassifier: shared });
      const v1 = writeCheckpointV1(m);
      const legacy = writeCheckpointLegacy(m);
      expect(v1.byteLength).toBe(checkpointBytes(m.config, 'v1'));
      expect(legacy.byteLength).toBe(checkpointBytes(m.config, 'legacy'));
      const a = parseCheckpoint(v1, 'synthetic');
      const b = parseCheckpoint(legacy, 'synthetic');
      expectSameWeights(m, a);
      expectSameWeights(m, b);
      expect(a.weights.wcls === a.weights.tokenEmbedding).toBe(shared);
      expect(b.weights.wcls === b.weights.tokenEmbedding).toBe(shared);
      // Header fields as export.py writes them.
      const dv1 = new DataView(v1);
      expect(dv1.getUint32(0, true)).toBe(CHECKPOINT_MAGIC);
      expect(new TextDecoder().decode(new Uint8Array(v1, 0, 4))).toBe('24ka');
      expect(dv1.getInt32(4, true)).toBe(1);
      expect(dv1.getUint8(36)).toBe(shared ? 1 : 0);
      expect(new DataView(legacy).getInt32(20, true)).toBe(shared ? 37 : -37);
    });

    it(`gives identical logits from both formats, ${name}`, () => {
      const m = randomModel(11, { sharedClassifier: shared });
      const a = parseCheckpoint(writeCheckpointV1(m), 'v1');
      const b = parseCheckpoint(writeCheckpointLegacy(m), 'legacy');
      const tokens = [1, 5, 9, 36, 0, 2];
      const la = forward(a, new SequenceKv(a.config), tokens, { allLogits: true });
      const lb = forward(b, new SequenceKv(b.config), tokens, { allLogits: true });
      const lm = forward(m, new SequenceKv(m.config), tokens, { allLogits: true });
      expectSameFloats(la, lb, 'v1 vs legacy');
      expectSameFloats(la, lm, 'v1 vs in-memory');
      expect(la.length).toBe(tokens.length * 37);
    });
  }

  it('legacy unshared classifier: wcls is read after the freq_cis arrays', () => {
    const m = randomModel(3, { sharedClassifier: false });
    const buf = writeCheckpointLegacy(m);
    const c = m.config;
    const wclsOffset = buf.byteLength - 4 * c.vocabSize * c.dim;
    const parsed = parseCheckpoint(buf, 'x');
    expect(parsed.weights.wcls.byteOffset).toBe(wclsOffset);
    // freq_cis real part at position 1, pair 0 is cos(1).
    const hd = c.dim / c.nHeads;
    const freqOffset = wclsOffset - 4 * c.seqLen * hd;
    expect(new Float32Array(buf, freqOffset + 4 * (hd / 2), 1)[0]).toBeCloseTo(Math.cos(1), 6);
  });

  it('writers refuse tensors of the wrong size', () => {
    const m = randomModel(1);
    m.weights.layers[1]!.w2 = new Float32Array(3);
    expect(() => writeCheckpointV1(m)).toThrow(/layer 1 w2 has 3 values, expected 640/);
  });
});

describe('corrupted checkpoints', () => {
  const m = randomModel(5, { sharedClassifier: false });
  const v1 = writeCheckpointV1(m);
  const legacy = writeCheckpointLegacy(m);

  it('rejects files cut inside the header', () => {
    for (const cut of [0, 3, 27]) {
      expect(parseError(legacy.slice(0, cut))).toMatch(
        new RegExp(`file too short for a llama2.c checkpoint header: ${cut} bytes, need at least 28`),
      );
    }
    for (const cut of [28, 40, 255]) {
      expect(parseError(v1.slice(0, cut))).toMatch(
        new RegExp(`too short for a versioned checkpoint header: ${cut} bytes, need 256 \\(truncated\\)`),
      );
    }
  });

  it('rejects files cut inside the weights, saying how many bytes were expected and found', () => {
    for (const buf of [v1, legacy]) {
      for (const cut of [buf.byteLength === v1.byteLength ? 256 : 28, 1000, buf.byteLength - 4, buf.byteLength - 1]) {
        const msg = parseError(buf.slice(0, cut));
        expect(msg).toMatch(/truncated/);
        expect(msg).toContain(`needs ${buf.byteLength} bytes, found ${cut}`);
      }
    }
  });

  it('rejects trailing bytes', () => {
    const longer = new Uint8Array(v1.byteLength + 8);
    longer.set(new Uint8Array(v1));
    expect(parseError(longer.buffer)).toMatch(
      new RegExp(`8 trailing bytes: .* needs ${v1.byteLength} bytes, found ${v1.byteLength + 8}`),
    );
  });

  it('rejects a wrong magic, version 2 and unknown versions', () => {
    const wrong = withInt32(v1, 0, CHECKPOINT_MAGIC + 1);
    expect(parseError(wrong)).toMatch(/wrong magic 0x616b3433 \(expected 0x616b3432\)/);
    expect(parseError(withInt32(v1, 4, 2))).toMatch(/version 2 \(int8-quantized\) checkpoints are not supported/);
    expect(parseError(withInt32(v1, 4, 7))).toMatch(/unknown checkpoint version 7/);
  });

  it('rejects impossible dimensions', () => {
    // Legacy header offsets: dim 0, hidden 4, layers 8, heads 12, kv heads 16, vocab 20, seq 24;
    // version 1 adds 8.
    expect(parseError(withInt32(legacy, 0, 0))).toMatch(/dim=0 must be positive/);
    expect(parseError(withInt32(v1, 8, 0))).toMatch(/dim=0 must be a positive integer/);
    expect(parseError(withInt32(v1, 8 + 12, 3))).toMatch(/n_heads=3 does not divide dim=16/);
    expect(parseError(withInt32(v1, 8 + 16, 3))).toMatch(/n_kv_heads=3 does not divide n_heads=4/);
    expect(parseError(withInt32(withInt32(v1, 8, 24), 8 + 12, 8))).toMatch(/head size dim\/n_heads=3 is odd/);
    expect(parseError(withInt32(v1, 8 + 24, 0))).toMatch(/seq_len=0 must be a positive integer/);
    expect(parseError(withInt32(v1, 8 + 8, -2))).toMatch(/n_layers=-2 must be a positive integer/);
    expect(parseError(withInt32(v1, 8 + 20, 1 << 30))).toMatch(/vocab_size=1073741824 is absurd/);
    expect(parseError(withInt32(legacy, 0, 1 << 20))).toMatch(/dim=1048576 is absurd/);
    expect(parseError(withInt32(v1, 8 + 20, -37))).toMatch(/vocab_size=-37 must be positive in a version-1 header/);
  });

  it('rejects a vocab_size beyond the file size', () => {
    const msg = parseError(withInt32(legacy, 20, -100_000));
    expect(msg).toMatch(/truncated: .*vocab_size=100000 .* needs \d+ bytes, found \d+/);
  });

  it('rejects a tensor above maxStorageBufferBindingSize, naming it and the limit', () => {
    // w1 (40, 16) = 2560 bytes is the largest per-layer tensor; the embedding is 37·16·4 = 2368.
    const msg = parseError(v1, 'tiny.bin', { maxStorageBufferBindingSize: 2500 });
    expect(msg).toBe(
      'tiny.bin: tensor w1 (40, 16) is 2560 bytes, above maxStorageBufferBindingSize 2500: ' +
        "the model does not fit this GPU's limits",
    );
    expect(() => parseCheckpoint(v1, 'tiny.bin', { maxStorageBufferBindingSize: 2560 })).not.toThrow();
    expect(() => parseCheckpoint(v1, 'tiny.bin', { maxBufferSize: 2000 })).toThrow(/above maxBufferSize 2000/);
  });

  it('rejects NaN or Inf in the norm weights', () => {
    const bad = writeCheckpointV1(m);
    // v1: rms_att (2·16), rms_ffn (2·16): element 3 of layer 1's ffn norm.
    new Float32Array(bad, 256)[2 * 16 + 16 + 3] = NaN;
    expect(parseError(bad)).toMatch(/rms_ffn_weight\[19\] is NaN/);
    const inf = writeCheckpointLegacy(m);
    const c = m.config;
    const kv = (c.dim * c.nKvHeads) / c.nHeads;
    const finalAt = c.vocabSize * c.dim + c.nLayers * (2 * c.dim + 2 * c.dim * c.dim + 2 * kv * c.dim + 3 * c.hiddenDim * c.dim);
    new Float32Array(inf, 28)[finalAt] = Infinity;
    expect(parseError(inf)).toMatch(/rms_final_weight\[0\] is Infinity/);
  });
});

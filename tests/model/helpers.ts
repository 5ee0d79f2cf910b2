// Shared pieces of the model tests: seeded random models and vocabularies, and the wrapper for
// tests that need stories260K (skipped with the data helper's message when it is absent).
import { readFileSync } from 'node:fs';
import { expect, it, type TestContext } from 'vitest';
import type { LayerWeights, Model, ModelConfig } from '../../src/model/config.js';
import { Rng } from '../../src/ops/random.js';
import { HAVE_STORIES, MISSING_STORIES, STORIES260K, TOK512 } from '../helpers/data.js';

/** A test that needs ../shared/data stories260K; gets the two files as ArrayBuffers. */
export function storiesTest(
  name: string,
  fn: (files: { checkpoint: ArrayBuffer; tokenizer: ArrayBuffer }, t: TestContext) => void | Promise<void>,
): void {
  it(name, async (t) => {
    if (!HAVE_STORIES) {
      t.skip(MISSING_STORIES);
      return;
    }
    const read = (p: string): ArrayBuffer => new Uint8Array(readFileSync(p)).buffer;
    await fn({ checkpoint: read(STORIES260K), tokenizer: read(TOK512) }, t);
  });
}

export function tinyConfig(over: Partial<ModelConfig> = {}): ModelConfig {
  return {
    dim: 16,
    hiddenDim: 40,
    nLayers: 2,
    nHeads: 4,
    nKvHeads: 2,
    vocabSize: 37,
    seqLen: 24,
    sharedClassifier: true,
    normEps: 1e-5,
    ropeTheta: 10000,
    ...over,
  };
}

/** Random weights: norms near 1, matrices uniform with scale 1/sqrt(fan-in). */
export function randomModel(seed: number, over: Partial<ModelConfig> = {}, source = 'synthetic'): Model {
  const c = tinyConfig(over);
  const rng = new Rng(seed);
  const kv = (c.dim * c.nKvHeads) / c.nHeads;
  const mat = (rows: number, cols: number): Float32Array => {
    const s = 1 / Math.sqrt(cols);
    return rng.floats(rows * cols, -s, s);
  };
  const norm = (): Float32Array => rng.floats(c.dim, 0.5, 1.5);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    layers.push({
      rmsAtt: norm(),
      wq: mat(c.dim, c.dim),
      wk: mat(kv, c.dim),
      wv: mat(kv, c.dim),
      wo: mat(c.dim, c.dim),
      rmsFfn: norm(),
      w1: mat(c.hiddenDim, c.dim),
      w2: mat(c.dim, c.hiddenDim),
      w3: mat(c.hiddenDim, c.dim),
    });
  }
  const tokenEmbedding = rng.floats(c.vocabSize * c.dim, -1, 1);
  const wcls = c.sharedClassifier ? tokenEmbedding : mat(c.vocabSize, c.dim);
  return { source, config: c, weights: { tokenEmbedding, layers, rmsFinal: norm(), wcls } };
}

/** The vocabulary layout of llama2.c tokenizers: <unk>, BOS, EOS, 256 byte tokens, then pieces. */
export function syntheticVocab(extra: [string, number][]): { vocab: string[]; scores: number[] } {
  const vocab = ['<unk>', '\n<s>\n', '\n</s>\n'];
  for (let b = 0; b < 256; b++) vocab.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  const scores = vocab.map(() => 0);
  for (const [p, s] of extra) {
    vocab.push(p);
    scores.push(s);
  }
  return { vocab, scores };
}

/** Exact equality of two float arrays, bit for bit (vitest's deep equal is slow on big arrays). */
export function expectSameFloats(a: Float32Array, b: Float32Array, label = ''): void {
  expect(a.length, label).toBe(b.length);
  const bytes = (x: Float32Array): Uint8Array => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  expect(Buffer.compare(bytes(a), bytes(b)), `${label}: contents differ`).toBe(0);
}

/** |actual − expected| <= atol + rtol·|expected| everywhere; the message names the worst element. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0): void {
  expect(actual.length).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!);
    const excess = err - (atol + rtol * Math.abs(expected[i]!));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    throw new Error(`mismatch at ${worst}: got ${actual[worst]}, expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`);
  }
}

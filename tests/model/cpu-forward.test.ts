import { describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../../src/model/checkpoint.js';
import type { Model } from '../../src/model/config.js';
import { CpuBackend, SequenceKv, attentionContiguous, forward } from '../../src/model/cpu-forward.js';
import { BOS, parseTokenizer } from '../../src/model/tokenizer.js';
import { attentionPaged, sample } from '../../src/ops/reference.js';
import { Rng } from '../../src/ops/random.js';
import { expectClose, randomModel, storiesTest } from './helpers.js';

const EXPECTED = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.';

/** Greedy decoding from `prompt` on a backend, `n` new tokens. */
async function greedy(backend: CpuBackend, prompt: number[], n: number): Promise<number[]> {
  const seq = backend.newSequence();
  const out = [...prompt];
  let feed = prompt;
  for (let i = 0; i < n; i++) {
    const { next } = await backend.step([{ seq, tokens: feed, temperature: 0, topP: 1, u: 0 }]);
    out.push(next[0]!);
    feed = [next[0]!];
  }
  backend.freeSequence(seq);
  return out;
}

describe('stories260K on the CPU', () => {
  storiesTest('greedy generation from BOS gives the known text', async ({ checkpoint, tokenizer }) => {
    const model = parseCheckpoint(checkpoint, 'stories260K.bin');
    const tok = parseTokenizer(tokenizer, 'tok512.bin', model.config.vocabSize);
    const backend = new CpuBackend(model);
    const tokens = await greedy(backend, [BOS], 40);
    const text = tok.decodeAll(tokens);
    expect(text.startsWith(EXPECTED), text).toBe(true);
    // Prefilling the first 20 tokens as one chunk continues the same way.
    const again = await greedy(backend, tokens.slice(0, 20), 21);
    expect(again).toEqual(tokens);
  });
});

describe('CPU forward pass on synthetic models', () => {
  const model = randomModel(21); // GQA: 4 query heads over 2 kv heads
  const tokens = [1, 7, 3, 36, 12, 12, 0, 5];

  it('contiguous attention equals the paged reference with one block', () => {
    const c = model.config;
    const rng = new Rng(4);
    const T = 3;
    const start = 5;
    const kd = (c.dim * c.nKvHeads) / c.nHeads;
    const q = rng.floats(T * c.dim);
    const k = rng.floats((start + T) * kd);
    const v = rng.floats((start + T) * kd);
    const hd = c.dim / c.nHeads;
    const layout = { nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: hd, blockSize: start + T, maxBlocksPerSeq: 1 };
    const pos = [5, 6, 7];
    const want = attentionPaged(layout, q, k, v, Uint32Array.of(0), [0, 0, 0], pos);
    expectClose(attentionContiguous(c, q, k, v, T, start), want, 1e-6);
  });

  it('a prefill chunk gives the same logits as token-by-token decoding', () => {
    const all = forward(model, new SequenceKv(model.config), tokens, { allLogits: true });
    const kv = new SequenceKv(model.config);
    const V = model.config.vocabSize;
    tokens.forEach((t, i) => {
      const logits = forward(model, kv, [t]);
      expectClose(logits, all.subarray(i * V, (i + 1) * V), 1e-5, 1e-5);
    });
    expect(kv.length).toBe(tokens.length);
    // Two chunks: 5 then 3 tokens.
    const kv2 = new SequenceKv(model.config);
    forward(model, kv2, tokens.slice(0, 5));
    expectClose(forward(model, kv2, tokens.slice(5)), all.subarray(7 * V), 1e-5, 1e-5);
  });

  it('grows the KV cache lazily up to seq_len and refuses to go beyond', () => {
    const kv = new SequenceKv(model.config);
    expect(kv.capacity).toBe(0);
    forward(model, kv, [1, 2, 3]);
    expect(kv.capacity).toBe(16);
    forward(model, kv, Array.from({ length: 21 }, (_, i) => i));
    expect(kv.capacity).toBe(24);
    expect(kv.length).toBe(24);
    expect(() => forward(model, kv, [1])).toThrow(/24 \+ 1 tokens would exceed the model's context seq_len=24/);
    expect(() => forward(model, new SequenceKv(model.config), [37])).toThrow(/token id 37 out of range \[0, 37\)/);
  });

  it('depends on the weights it is given (shared vs unshared classifier)', () => {
    const unshared: Model = randomModel(21, { sharedClassifier: false });
    const a = forward(model, new SequenceKv(model.config), tokens);
    const b = forward(unshared, new SequenceKv(unshared.config), tokens);
    expect(a).not.toEqual(b);
  });
});

describe('CpuBackend', () => {
  const model = randomModel(33);
  const V = model.config.vocabSize;

  it('advances sequences independently within one step and returns logits', async () => {
    const be = new CpuBackend(model, { maxSequences: 3 });
    const a = be.newSequence();
    const b = be.newSequence();
    const r1 = await be.step(
      [
        { seq: a, tokens: [1, 4, 9], temperature: 0, topP: 1, u: 0 },
        { seq: b, tokens: [1], temperature: 0.8, topP: 0.9, u: 0.37 },
      ],
      { wantLogits: true },
    );
    expect(be.length(a)).toBe(3);
    expect(be.length(b)).toBe(1);
    const la = forward(model, new SequenceKv(model.config), [1, 4, 9]);
    const lb = forward(model, new SequenceKv(model.config), [1]);
    expect(r1.logits!.subarray(0, V)).toEqual(la);
    expect(r1.logits!.subarray(V)).toEqual(lb);
    expect(r1.next[0]).toBe(sample(la, 0, 1, 0));
    expect(r1.next[1]).toBe(sample(lb, 0.8, 0.9, 0.37));
    // Decode one more token on a; its logits equal a single forward over all four tokens.
    const r2 = await be.step([{ seq: a, tokens: [r1.next[0]!], temperature: 0, topP: 1, u: 0 }]);
    expect(r2.logits).toBeUndefined();
    const full = forward(model, new SequenceKv(model.config), [1, 4, 9, r1.next[0]!]);
    expect(r2.next[0]).toBe(sample(full, 0, 1, 0));
    be.destroy();
  });

  it('reports bad requests clearly and leaves state unchanged', async () => {
    const be = new CpuBackend(model, { maxSequences: 2 });
    const a = be.newSequence();
    const b = be.newSequence();
    expect(() => be.newSequence()).toThrow(/all 2 sequences are in use/);
    const e = (seq: number, tokens: number[]) => ({ seq, tokens, temperature: 0, topP: 1, u: 0 });
    await be.step([e(a, [1, 2])]);
    await expect(be.step([e(b, [3]), e(a, Array(23).fill(1))])).rejects.toThrow(
      /sequence 0: 2 \+ 23 tokens would exceed the model's context seq_len=24/,
    );
    await expect(be.step([e(b, [1, 99])])).rejects.toThrow(/sequence 1: token id 99 out of range \[0, 37\)/);
    await expect(be.step([e(b, [])])).rejects.toThrow(/no tokens/);
    await expect(be.step([e(a, [1]), e(a, [2])])).rejects.toThrow(/sequence 0 appears twice/);
    await expect(be.step([e(7, [1])])).rejects.toThrow(/unknown sequence 7/);
    expect(be.length(a)).toBe(2);
    expect(be.length(b)).toBe(0);
    be.freeSequence(a);
    expect(() => be.length(a)).toThrow(/unknown sequence 0/);
    expect(() => be.freeSequence(a)).toThrow(/unknown sequence 0/);
    expect(be.newSequence()).toBe(2);
    // Filling the context exactly is allowed.
    await be.step([e(b, Array(24).fill(5))]);
    expect(be.length(b)).toBe(24);
  });
});

// The model shipped in models/mx-tiny (issue: a default model that ships with the lab): it loads,
// it is as small as promised, CPU and GPU agree token for token, and its tokenizer round-trips any
// UTF-8 text through byte fallback.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { gpuTest } from '../helpers/gpu.js';
import { loadModelFiles } from '../../src/model/load-node.js';
import { CpuBackend } from '../../src/model/cpu-forward.js';
import { GpuBackend } from '../../src/model/gpu-forward.js';
import { generateText } from '../../src/model/generate.js';
import { Rng } from '../../src/ops/random.js';

const DIR = fileURLToPath(new URL('../../models/mx-tiny/', import.meta.url));
const loaded = await loadModelFiles(`${DIR}model.bin`, `${DIR}tokenizer.bin`);
const { model, tokenizer } = loaded;

function weightBytes(): number {
  const w = model.weights;
  let n = w.tokenEmbedding.length + w.rmsFinal.length + (w.wcls === w.tokenEmbedding ? 0 : w.wcls.length);
  for (const l of w.layers) for (const a of Object.values(l)) n += (a as Float32Array).length;
  return n * 4;
}

/** Random text over several scripts, emoji, combining marks and control characters. */
function randomText(rng: Rng, length: number): string {
  const ranges: [number, number][] = [
    [0x20, 0x7e], // ASCII
    [0x00, 0x1f], // control characters
    [0xc0, 0x17f], // Latin-1 and Latin Extended-A
    [0x300, 0x36f], // combining marks
    [0x391, 0x3c9], // Greek
    [0x4e00, 0x4fff], // CJK
    [0xac00, 0xad00], // Hangul
    [0x1f600, 0x1f64f], // emoji (4 UTF-8 bytes)
  ];
  let s = '';
  for (let i = 0; i < length; i++) {
    const [lo, hi] = ranges[rng.int(0, ranges.length - 1)]!;
    s += String.fromCodePoint(rng.int(lo, hi));
  }
  return s;
}

describe('shipped model mx-tiny', () => {
  it('is a small llama2.c v1 model with a context of at least 256', () => {
    expect(weightBytes()).toBeLessThan(2 * 1024 * 1024);
    expect(model.config.seqLen).toBeGreaterThanOrEqual(256);
    expect(tokenizer.vocabSize).toBe(model.config.vocabSize);
  });

  it('tokenizer round-trips arbitrary UTF-8 text (byte fallback)', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 200; i++) {
      const text = randomText(rng, rng.int(1, 40));
      const tokens = tokenizer.encode(text, { bos: true });
      expect(tokenizer.decodeAll(tokens), JSON.stringify(text)).toBe(text);
    }
    const english = 'The people of the United States, in Congress assembled: 1,234 dollars — “quoted” text.';
    const tokens = tokenizer.encode(english, { bos: true });
    expect(tokenizer.decodeAll(tokens)).toBe(english);
    // The trained merges compress English well below one token per byte.
    expect(tokens.length).toBeLessThan(new TextEncoder().encode(english).length * 0.6);
  });

  gpuTest('CPU and GPU greedy outputs are identical for 64 tokens', async (gpu, res) => {
    const g = res.track(new GpuBackend(gpu, model, { maxSequences: 2 }));
    const c = new CpuBackend(model);
    for (const prompt of ['', 'The people of the United States']) {
      const a = await generateText(c, tokenizer, prompt, { maxTokens: 64, temperature: 0, stopAtEos: false });
      const b = await generateText(g, tokenizer, prompt, { maxTokens: 64, temperature: 0, stopAtEos: false });
      expect(b.tokens).toHaveLength(64);
      expect(b.tokens, `prompt ${JSON.stringify(prompt)}`).toEqual(a.tokens);
    }
  });
});

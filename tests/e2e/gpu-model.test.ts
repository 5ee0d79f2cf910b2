// Whole-model checks on the GPU against the CPU reference, with stories260K from ../shared/data:
// the known greedy text, logits for 64+ steps, and batched decode equal to separate runs.
import { beforeAll, describe, expect } from 'vitest';
import { gpuTest } from '../helpers/gpu.js';
import { HAVE_STORIES, MISSING_STORIES, STORIES260K, TOK512 } from '../helpers/data.js';
import { loadModelFiles } from '../../src/model/load-node.js';
import { CpuBackend } from '../../src/model/cpu-forward.js';
import { GpuBackend } from '../../src/model/gpu-forward.js';
import { generateBatch, generateText } from '../../src/model/generate.js';
import type { Model } from '../../src/model/config.js';
import type { Tokenizer } from '../../src/model/tokenizer.js';

const KNOWN = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.';
// GPU and CPU both compute in f32 but sum in different orders; logits of this model are O(10).
const LOGIT_ATOL = 2e-3;

let model: Model;
let tokenizer: Tokenizer;

describe.skipIf(!HAVE_STORIES)(`stories260K on the GPU`, () => {
  beforeAll(async () => {
    ({ model, tokenizer } = await loadModelFiles(STORIES260K, TOK512));
  });

  gpuTest('greedy generation from BOS begins with the known text', async (gpu, res) => {
    const backend = res.track(new GpuBackend(gpu, model, { maxSequences: 2 }));
    const r = await generateText(backend, tokenizer, '', { maxTokens: 40, temperature: 0 });
    expect(r.text.startsWith(KNOWN), r.text).toBe(true);
    // Every step is timed: on the GPU by timestamp queries where the device has them.
    expect(backend.lastStepMeasure?.timing).toBe(gpu.timestamps ? 'timestamp' : 'wall');
    expect(backend.lastStepMeasure!.busy).toBeGreaterThan(0);
  });

  gpuTest('logits match the CPU reference for 80 greedy steps', async (gpu, res) => {
    const gpuB = res.track(new GpuBackend(gpu, model, { maxSequences: 2 }));
    const cpuB = new CpuBackend(model);
    const sg = gpuB.newSequence();
    const sc = cpuB.newSequence();
    let token = 1;
    let worst = 0;
    for (let step = 0; step < 80; step++) {
      const e = { tokens: [token], temperature: 0, topP: 1, u: 0 };
      const rg = await gpuB.step([{ seq: sg, ...e }], { wantLogits: true });
      const rc = await cpuB.step([{ seq: sc, ...e }], { wantLogits: true });
      for (let i = 0; i < model.config.vocabSize; i++) {
        worst = Math.max(worst, Math.abs(rg.logits![i]! - rc.logits![i]!));
      }
      expect(rg.next[0], `step ${step}`).toBe(rc.next[0]);
      token = rc.next[0]!;
    }
    expect(worst, `max |logit difference| ${worst}`).toBeLessThan(LOGIT_ATOL);
  });

  gpuTest('a prompt prefilled in chunks gives the CPU logits', async (gpu, res) => {
    const gpuB = res.track(new GpuBackend(gpu, model, { maxSequences: 2, maxTokensPerStep: 32 }));
    const cpuB = new CpuBackend(model);
    const prompt = tokenizer.encode('Tom and his dog went to the big park to play with a red ball. They ran and ran.', { bos: true });
    expect(prompt.length).toBeGreaterThan(20);
    const sg = gpuB.newSequence();
    const sc = cpuB.newSequence();
    // 3 tokens, then the rest: the second chunk starts mid-block and spans several blocks.
    for (const part of [prompt.slice(0, 3), prompt.slice(3)]) {
      const e = { tokens: part, temperature: 0, topP: 1, u: 0 };
      const rg = await gpuB.step([{ seq: sg, ...e }], { wantLogits: true });
      const rc = await cpuB.step([{ seq: sc, ...e }], { wantLogits: true });
      let worst = 0;
      for (let i = 0; i < model.config.vocabSize; i++) worst = Math.max(worst, Math.abs(rg.logits![i]! - rc.logits![i]!));
      expect(worst).toBeLessThan(LOGIT_ATOL);
    }
  });

  gpuTest('8 different prompts decoded in one batch give the same tokens as 8 separate runs', async (gpu, res) => {
    const texts = [
      'Once upon a time',
      'The cat',
      'Lily and Ben went to the park',
      'One day, a little bird',
      'Tom had a big red ball. He',
      'Sue',
      'The sun was hot and the children wanted to swim in the lake',
      'Max the dog',
    ];
    const prompts = texts.map((t) => tokenizer.encode(t, { bos: true }));
    const backend = res.track(new GpuBackend(gpu, model, { maxSequences: 8 }));
    const batched = await generateBatch(backend, prompts, { maxTokens: 24, temperature: 0 });
    for (let i = 0; i < prompts.length; i++) {
      const alone = await generateBatch(backend, [prompts[i]!], { maxTokens: 24, temperature: 0 });
      expect(batched.tokens[i], `prompt ${i} "${texts[i]}"`).toEqual(alone.tokens[0]);
    }
    // Sampled (temperature 1) batched runs are also independent of the batch: each sequence has
    // its own seeded sampler.
    const sampled = await generateBatch(backend, prompts, { maxTokens: 16, temperature: 1, topP: 0.9, seed: 7 });
    const alone3 = await generateBatch(backend, [prompts[3]!], { maxTokens: 16, temperature: 1, topP: 0.9, seed: 10 });
    expect(sampled.tokens[3]).toEqual(alone3.tokens[0]);
  });
});

describe.skipIf(HAVE_STORIES)('stories260K on the GPU', () => {
  gpuTest(MISSING_STORIES, async () => {});
});

// The ORT peer's API in Node: which backends exist, MatMul timings, and decode measurement
// (tokens/s and greedy tokens equal to the CPU reference's).
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/model/cpu-forward.js';
import { available, measureOrtDecode, measureOrtMatmul, ortLogits, ortVersion } from '../../src/ort/peer.js';
import { randomModel } from '../model/helpers.js';

describe('onnxruntime-web peer in Node', () => {
  it('has the wasm backend, and says why WebGPU is not here', async () => {
    const wasm = await available('wasm');
    expect(wasm).toEqual({ backend: 'wasm', ok: true, version: ortVersion() });
    const gpu = await available('webgpu');
    expect(gpu.ok).toBe(false);
    expect(gpu.reason).toMatch(/WebGPU/);
    expect((await available()).backend).toBe('wasm'); // the default falls back to wasm
  });

  it('times MatMul shapes (median of runs, wall time on wasm)', async () => {
    const shapes = [
      { m: 1, n: 40, k: 16 },
      { m: 16, n: 16, k: 40 },
      { m: 5, n: 37, k: 16 }, // odd sizes
    ];
    const rows = await measureOrtMatmul(shapes, { runs: 5, warmup: 1 });
    expect(rows.map(({ m, n, k }) => ({ m, n, k }))).toEqual(shapes);
    for (const r of rows) {
      expect(r.backend).toBe('wasm');
      expect(r.timing).toBe('wall');
      expect(Number.isFinite(r.ort_ms) && r.ort_ms > 0).toBe(true);
      expect(r.ort_wall_ms).toBe(r.ort_ms);
    }
  });

  it('measures greedy decode: tokens/s, and the CPU reference\'s tokens', async () => {
    const model = randomModel(5, { seqLen: 40 });
    const steps = 20;
    const prompt = [1, 8, 3];
    const r = await measureOrtDecode(model, { steps, prompt });
    expect(r.backend).toBe('wasm');
    expect(r.ort_tokens_per_s).toBeGreaterThan(0);
    expect(r.ort_tokens_per_s).toBeCloseTo((steps * 1000) / r.decode_ms, 6);
    expect(r.step_ms_median).toBeGreaterThan(0);
    expect(r.logits.length).toBe((steps + 1) * model.config.vocabSize);
    const cpu = new CpuBackend(model);
    const seq = cpu.newSequence();
    const want: number[] = [];
    let tokens = prompt;
    for (let s = 0; s <= steps; s++) {
      const o = await cpu.step([{ seq, tokens, temperature: 0, topP: 1, u: 0 }]);
      want.push(o.next[0]!);
      tokens = [o.next[0]!];
    }
    expect(r.tokens).toEqual(want);
  });

  it('rejects a decode longer than the context, and token ids outside the vocabulary', async () => {
    const model = randomModel(5, { seqLen: 10 });
    await expect(measureOrtDecode(model, { steps: 10, prompt: [1] })).rejects.toThrow(/within seq_len 10/);
    await expect(ortLogits(model, [1, 37])).rejects.toThrow(/token id 37 out of range \[0, 37\)/);
  });
});

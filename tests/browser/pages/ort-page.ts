// Test page (tests/browser/ort.test.ts): the exported model in onnxruntime-web's WebGPU backend
// against our GPU engine and the CPU reference, on the same adapter, in Chromium.
// window.ortCheck(params) loads a checkpoint URL (or builds a seeded synthetic model), greedily
// decodes with each engine, and returns the largest logit differences and decode tokens/s.
import { configureOrtForVite } from '../../../src/ort/browser.js';
import { available, measureOrtDecode, measureOrtMatmul, ortLogits, type MatmulShape, type MatmulTiming } from '../../../src/ort/peer.js';
import { parseCheckpoint } from '../../../src/model/checkpoint.js';
import type { LayerWeights, Model, ModelConfig } from '../../../src/model/config.js';
import { CpuBackend, forward, SequenceKv } from '../../../src/model/cpu-forward.js';
import { GpuBackend } from '../../../src/model/gpu-forward.js';
import { acquireGpu, adapterLabel } from '../../../src/gpu/device.js';
import { registerBrowserKernelSources } from '../../../src/gpu/kernel-sources-browser.js';
import { Rng } from '../../../src/ops/random.js';

export interface OrtCheckParams {
  /** Checkpoint URL; a seeded synthetic model when absent. */
  checkpoint?: string;
  /** Decode steps after the prompt. */
  steps: number;
  /** Prompt token ids (the first is BOS). */
  prompt: number[];
}

export interface OrtCheckResult {
  model: string;
  adapter: string;
  ortBackend: string;
  ortVersion: string;
  /** max |ORT − CPU reference| over the prefill logits of every prompt token. */
  prefillVsCpu: number;
  /** max |ORT − ours (GPU)| and |ORT − CPU| over every decode step's logits. */
  decodeVsGpu: number;
  decodeVsCpu: number;
  tokensMatch: boolean;
  ortTokensPerS: number;
  oursTokensPerS: number;
}

/** Seeded random weights (the shape of tests/model/helpers.ts randomModel, with GQA). */
function syntheticModel(seed: number): Model {
  const c: ModelConfig = {
    dim: 32, hiddenDim: 80, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 64, seqLen: 64,
    sharedClassifier: true, normEps: 1e-5, ropeTheta: 10000,
  };
  const rng = new Rng(seed);
  const kv = (c.dim * c.nKvHeads) / c.nHeads;
  const mat = (r: number, k: number): Float32Array => rng.floats(r * k, -1 / Math.sqrt(k), 1 / Math.sqrt(k));
  const norm = (): Float32Array => rng.floats(c.dim, 0.5, 1.5);
  const layers: LayerWeights[] = Array.from({ length: c.nLayers }, () => ({
    rmsAtt: norm(), wq: mat(c.dim, c.dim), wk: mat(kv, c.dim), wv: mat(kv, c.dim), wo: mat(c.dim, c.dim),
    rmsFfn: norm(), w1: mat(c.hiddenDim, c.dim), w2: mat(c.dim, c.hiddenDim), w3: mat(c.hiddenDim, c.dim),
  }));
  const tokenEmbedding = rng.floats(c.vocabSize * c.dim, -1, 1);
  return { source: 'synthetic', config: c, weights: { tokenEmbedding, layers, rmsFinal: norm(), wcls: tokenEmbedding } };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function ortCheck(p: OrtCheckParams): Promise<OrtCheckResult> {
  let model: Model;
  if (p.checkpoint) {
    const res = await fetch(p.checkpoint);
    if (!res.ok) throw new Error(`${p.checkpoint}: HTTP ${res.status}`);
    model = parseCheckpoint(await res.arrayBuffer(), p.checkpoint.split('/').pop()!);
  } else {
    model = syntheticModel(11);
  }
  const V = model.config.vocabSize;
  const gpuAvail = await available('webgpu');
  if (!gpuAvail.ok) throw new Error(`ORT WebGPU unavailable: ${gpuAvail.reason}`);

  // Prefill: every prompt token's logits, ORT (no KV cache) vs the CPU reference.
  const ortPrefill = await ortLogits(model, p.prompt, { backend: 'webgpu' });
  const cpuPrefill = forward(model, new SequenceKv(model.config), p.prompt, { allLogits: true });
  const prefillVsCpu = maxDiff(ortPrefill, cpuPrefill);

  // Decode: ORT with its KV cache on the GPU (timed after a warm-up run).
  const ort = await measureOrtDecode(model, { steps: p.steps, backend: 'webgpu', prompt: p.prompt });

  // Ours on the GPU, the same greedy path: logits of the prompt's last token, then of each step.
  registerBrowserKernelSources();
  const gpu = await acquireGpu();
  const ours = new GpuBackend(gpu, model, { maxSequences: 1 });
  const cpu = new CpuBackend(model);
  let decodeVsGpu = 0;
  let decodeVsCpu = 0;
  let tokensMatch = true;
  const entry = (seq: number, tokens: number[]) => ({ seq, tokens, temperature: 0, topP: 1, u: 0 });
  {
    const sg = ours.newSequence();
    const sc = cpu.newSequence();
    let tokens = p.prompt;
    for (let s = 0; s <= p.steps; s++) {
      const rg = await ours.step([entry(sg, tokens)], { wantLogits: true });
      const rc = await cpu.step([entry(sc, tokens)], { wantLogits: true });
      const row = ort.logits.subarray(s * V, (s + 1) * V);
      decodeVsGpu = Math.max(decodeVsGpu, maxDiff(row, rg.logits!));
      decodeVsCpu = Math.max(decodeVsCpu, maxDiff(row, rc.logits!));
      if (rg.next[0] !== ort.tokens[s] || rc.next[0] !== ort.tokens[s]) tokensMatch = false;
      tokens = [ort.tokens[s]!];
    }
    ours.freeSequence(sg);
  }
  // Our decode tokens/s, measured like measureOrtDecode: warm-up run, then the timed run.
  let oursTokensPerS = 0;
  for (let rep = 0; rep < 2; rep++) {
    const sg = ours.newSequence();
    let r = await ours.step([entry(sg, p.prompt)]);
    const t0 = performance.now();
    for (let s = 0; s < p.steps; s++) r = await ours.step([entry(sg, [r.next[0]!])]);
    oursTokensPerS = (p.steps * 1000) / (performance.now() - t0);
    ours.freeSequence(sg);
  }
  ours.destroy();
  gpu.destroy();
  return {
    model: model.source,
    adapter: adapterLabel(gpu.adapter),
    ortBackend: ort.backend,
    ortVersion: ort.version,
    prefillVsCpu,
    decodeVsGpu,
    decodeVsCpu,
    tokensMatch,
    ortTokensPerS: ort.ort_tokens_per_s,
    oursTokensPerS,
  };
}

/** ORT's WebGPU MatMul timings (ort.html?profile=1 times kernels with ORT's timestamp queries). */
async function ortMatmul(shapes: MatmulShape[]): Promise<MatmulTiming[]> {
  return measureOrtMatmul(shapes, { backend: 'webgpu', runs: 5, warmup: 2 });
}

configureOrtForVite({ profileKernels: new URLSearchParams(location.search).has('profile') });
Object.assign(window, { ortCheck, ortMatmul });
document.querySelector('#status')!.textContent = 'ready';

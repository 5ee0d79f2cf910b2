// The engine worker: owns the only GPUDevice, loads models, runs generation, and streams tokens
// back to the page over comlink. With `backend: 'auto'` it falls back to the CPU reference when
// WebGPU is unavailable and reports why, so the page is never blank.
import * as Comlink from 'comlink';
import type { EngineInfo, EngineWorkerApi, LoadProgress, ModelSource } from './engine-api.js';
import { acquireGpu, adapterLabel, GpuUnavailableError, type GpuContext } from '../gpu/device.js';
import { registerBrowserKernelSources } from '../gpu/kernel-sources-browser.js';
import { loadModel } from '../model/load.js';
import { GpuBackend } from '../model/gpu-forward.js';
import { CpuBackend } from '../model/cpu-forward.js';
import type { Backend } from '../model/backend.js';
import type { Model } from '../model/config.js';
import type { Tokenizer } from '../model/tokenizer.js';
import { generate, type GenerateOptions, type GeneratedToken, type GenerationStats } from '../model/generate.js';

registerBrowserKernelSources();

let gpu: GpuContext | undefined;
let gpuError: GpuUnavailableError | undefined;
let deviceLost = '';
let backend: Backend | undefined;
let tokenizer: Tokenizer | undefined;
let abort: AbortController | undefined;

async function getGpu(): Promise<GpuContext | undefined> {
  if (gpu && !deviceLost) return gpu;
  try {
    deviceLost = '';
    gpu = await acquireGpu({
      onLost: (info) => {
        deviceLost = info.message || info.reason || 'unknown reason';
      },
      onError: (e) => console.error(`WebGPU error: ${e.message}`),
    });
    gpuError = undefined;
    return gpu;
  } catch (e) {
    if (e instanceof GpuUnavailableError) {
      gpuError = e;
      return undefined;
    }
    throw e;
  }
}

function countParameters(m: Model): number {
  const w = m.weights;
  let n = w.tokenEmbedding.length + w.rmsFinal.length + (w.wcls === w.tokenEmbedding ? 0 : w.wcls.length);
  for (const l of w.layers) for (const a of Object.values(l)) n += (a as Float32Array).length;
  return n;
}

const api: EngineWorkerApi = {
  async load(source: ModelSource, which, onProgress?: (p: LoadProgress) => void): Promise<EngineInfo> {
    abort?.abort();
    backend?.destroy();
    backend = undefined;
    const g = which === 'cpu' ? undefined : await getGpu();
    if (which === 'gpu' && !g) throw new Error(gpuError?.message ?? 'WebGPU is unavailable');
    const limits = g
      ? { maxStorageBufferBindingSize: g.device.limits.maxStorageBufferBindingSize, maxBufferSize: g.device.limits.maxBufferSize }
      : undefined;
    const loaded = await loadModel({
      checkpoint: source.checkpoint,
      tokenizer: source.tokenizer,
      limits,
      onProgress: onProgress ? (p) => onProgress({ file: p.file, loaded: p.loaded, total: p.total }) : undefined,
    });
    tokenizer = loaded.tokenizer;
    backend = g ? new GpuBackend(g, loaded.model, { maxSequences: 4 }) : new CpuBackend(loaded.model, { maxSequences: 4 });
    return {
      backend: g ? 'gpu' : 'cpu',
      adapter: g ? adapterLabel(g.adapter) : 'WebGPU unavailable',
      timing: g ? (g.timestamps ? 'timestamp' : 'wall') : 'none',
      gpuUnavailable: gpuError ? { reason: gpuError.reason, message: gpuError.message } : undefined,
      model: { name: source.name, config: loaded.model.config, parameters: countParameters(loaded.model) },
    };
  },

  async generate(
    prompt: string,
    options: Omit<GenerateOptions, 'signal'>,
    onToken: (t: GeneratedToken) => void,
  ): Promise<GenerationStats> {
    if (!backend || !tokenizer) throw new Error('No model is loaded yet.');
    if (deviceLost) throw new Error(`The GPU device was lost (${deviceLost}); reload the model to start a new one.`);
    abort = new AbortController();
    const it = generate(backend, tokenizer, prompt, { ...options, signal: abort.signal });
    for (;;) {
      const r = await it.next();
      if (r.done) return r.value;
      onToken(r.value);
    }
  },

  stop(): void {
    abort?.abort();
  },
};

Comlink.expose(api);

// The engine worker: owns the only GPUDevice, loads models, runs generation, and streams tokens
// back to the page over comlink. With `backend: 'auto'` it falls back to the CPU reference when
// WebGPU is unavailable and reports why, so the page is never blank.
//
// The lab: calibrate() measures the device, startLab() runs the live Engine (lab-run.ts) over the
// loaded backend; tenant workers send requests over MessagePorts given to connectTenant(), and
// the run streams MetricsBatches (transferred column arrays) to the page every ~250 ms.
import * as Comlink from 'comlink';
import type { CalibrationProgress, EngineInfo, EngineWorkerApi, LoadOptions, LoadProgress, ModelSource } from './engine-api.js';
import { anchoredAt, calibrate, type Calibration } from '../lab/calibrate.js';
import { LabRun, type LabEngineConfig } from '../lab/run.js';
import { batchBuffers, type MetricsBatch, type TenantRequestMessage } from '../lab/protocol.js';
import { acquireGpu, adapterLabel, GpuUnavailableError, type GpuContext } from '../gpu/device.js';
import { registerBrowserKernelSources } from '../gpu/kernel-sources-browser.js';
import { loadModel, MODEL_CACHE } from '../model/load.js';
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
let calibration: Calibration | undefined;
let lab: LabRun | undefined;
let runs = 0;
const ports = new Set<MessagePort>();

async function endLab(): Promise<void> {
  const r = lab;
  lab = undefined;
  await r?.stop();
  for (const p of ports) p.close();
  ports.clear();
}

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

function isCrossOrigin(src: string | Blob): boolean {
  if (typeof src !== 'string') return false;
  try {
    return new URL(src, self.location.href).origin !== self.location.origin;
  } catch {
    return false;
  }
}

function countParameters(m: Model): number {
  const w = m.weights;
  let n = w.tokenEmbedding.length + w.rmsFinal.length + (w.wcls === w.tokenEmbedding ? 0 : w.wcls.length);
  for (const l of w.layers) for (const a of Object.values(l)) n += (a as Float32Array).length;
  return n;
}

const api: EngineWorkerApi = {
  async load(source: ModelSource, which, onProgress?: (p: LoadProgress) => void, options: LoadOptions = {}): Promise<EngineInfo> {
    abort?.abort();
    await endLab();
    backend?.destroy();
    backend = undefined;
    calibration = undefined;
    const maxSequences = options.maxSequences ?? 4;
    const g = which === 'cpu' ? undefined : await getGpu();
    if (which === 'gpu' && !g) throw new Error(gpuError?.message ?? 'WebGPU is unavailable');
    const limits = g
      ? { maxStorageBufferBindingSize: g.device.limits.maxStorageBufferBindingSize, maxBufferSize: g.device.limits.maxBufferSize }
      : undefined;
    const files: EngineInfo['files'] = {
      checkpoint: { bytes: 0, from: typeof source.checkpoint === 'string' ? 'network' : 'file', progressEvents: 0 },
      tokenizer: { bytes: 0, from: typeof source.tokenizer === 'string' ? 'network' : 'file', progressEvents: 0 },
    };
    const loaded = await loadModel({
      checkpoint: source.checkpoint,
      tokenizer: source.tokenizer,
      limits,
      // Downloads from other origins (public checkpoints) are kept in the Cache API; the app's own
      // files are served by the app and cached by the browser as usual.
      cache: isCrossOrigin(source.checkpoint) ? MODEL_CACHE : undefined,
      onProgress: (p) => {
        const f = files[p.file];
        f.bytes = p.loaded;
        f.progressEvents++;
        if (p.cached) f.from = 'cache';
        onProgress?.({ file: p.file, loaded: p.loaded, total: p.total, cached: p.cached });
      },
    });
    tokenizer = loaded.tokenizer;
    backend = g ? new GpuBackend(g, loaded.model, { maxSequences }) : new CpuBackend(loaded.model, { maxSequences });
    return {
      backend: g ? 'gpu' : 'cpu',
      adapter: g ? adapterLabel(g.adapter) : 'WebGPU unavailable',
      timing: g ? (g.timestamps ? 'timestamp' : 'wall') : 'none',
      gpuUnavailable: gpuError ? { reason: gpuError.reason, message: gpuError.message } : undefined,
      model: { name: source.name, config: loaded.model.config, parameters: countParameters(loaded.model) },
      maxSequences,
      files,
    };
  },

  async generate(
    prompt: string,
    options: Omit<GenerateOptions, 'signal'>,
    onToken: (t: GeneratedToken) => void,
  ): Promise<GenerationStats> {
    if (!backend || !tokenizer) throw new Error('No model is loaded yet.');
    if (deviceLost) throw new Error(`The GPU device was lost (${deviceLost}); reload the model to start a new one.`);
    await endLab();
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

  async calibrate(maxBatch: number, onProgress?: (p: CalibrationProgress) => void, fresh = false, anchorBatches: number[] = []): Promise<Calibration> {
    const b = ready();
    const c = calibration;
    if (!fresh && c && c.maxBatch === maxBatch && anchorBatches.every((x) => anchoredAt(c, x))) return c;
    await endLab();
    abort?.abort();
    calibration = await calibrate(b, {
      maxBatch,
      anchorBatches,
      onProgress: onProgress ? (done, total, what) => void onProgress({ done, total, what }) : undefined,
    });
    return calibration;
  },

  async startLab(config: LabEngineConfig, onMetrics: (b: MetricsBatch) => void) {
    const b = ready();
    abort?.abort();
    await endLab();
    const run = new LabRun(b, ++runs, config, (batch) => {
      void Promise.resolve(onMetrics(Comlink.transfer(batch, batchBuffers(batch)))).catch(() => {});
    });
    lab = run;
    run.start();
    return run.info;
  },

  connectTenant(port: MessagePort): void {
    ports.add(port);
    port.onmessage = (e: MessageEvent<TenantRequestMessage>) => lab?.submit(e.data);
  },

  async pauseLab() {
    await lab?.pause();
  },

  resumeLab() {
    lab?.resume();
  },

  async stopLab() {
    await endLab();
  },
};

function ready(): Backend {
  if (!backend) throw new Error('No model is loaded yet.');
  if (deviceLost) throw new Error(`The GPU device was lost (${deviceLost}); reload the page to start a new one.`);
  return backend;
}

Comlink.expose(api);

// The kernel worker: the kernel view's own endpoint (comlink). It acquires a GPUDevice only while
// the view is open (open() .. close(); the view terminates the worker when it goes away), runs
// the kernel lab there (peaks, matmul variants and the autotuner, the other kernels, the decode
// step breakdown) and returns report rows. The autotuner's cache lives in the page's
// localStorage, reached through the TuneStorage proxy the page passes to open().
//
// onnxruntime-web is optional: src/ort/peer.ts and src/ort/browser.ts are found with
// import.meta.glob, which yields nothing where the files do not exist; then every ORT field
// stays null and the note says "onnxruntime-web peer not available". Its MatMul times come from
// ORT loaded here with kernel profiling on; its decode tokens/s from ORT in a worker of its own
// with profiling off (ort-decode-worker.ts: profiling would slow ORT's decode).
import { deviceProfile } from '../gpu/profile.js';
import * as Comlink from 'comlink';
import type {
  DecodeRunOptions,
  KernelDeviceInfo,
  KernelModelSource,
  KernelProgress,
  KernelWorkerApi,
  MatmulRunOptions,
  MatmulRunResult,
} from './kernel-api.js';
import { acquireGpu, adapterLabel, type GpuContext } from '../gpu/device.js';
import { registerBrowserKernelSources } from '../gpu/kernel-sources-browser.js';
import { measurePeak, type PeakResult } from '../gpu/peak.js';
import { benchMatmulShapes, benchOtherKernels, modelMatmulShapes, type ModelDims } from '../gpu/kernel-bench.js';
import { chooseMatmulVariant, MATMUL_VARIANTS, type MatmulVariant } from '../gpu/ops/matmul.js';
import { MatmulAutotuner, type TuneStorage } from '../gpu/autotune.js';
import { loadModel } from '../model/load.js';
import type { Model } from '../model/config.js';
import { measureDecodeRates, measureStepBreakdown, type DecodeRate } from './kernel-step.js';
import type { OrtDecodeRate, OrtDecodeWorkerApi } from './ort-decode-worker.js';
import {
  asOrtPeer,
  decodeReport,
  kernelRow,
  matmulRow,
  mergeOrtMatmul,
  ORT_MATMUL_BATCHES,
  ORT_UNAVAILABLE,
  peakRow,
  type DecodeReport,
  type KernelReport,
  type OrtPeerHooks,
} from './kernel-report.js';

registerBrowserKernelSources();

const ortModules = import.meta.glob(['../ort/peer.ts', '../ort/browser.ts']);

let gpu: GpuContext | undefined;
let lost = '';
let model: Model | undefined;
let tuner: MatmulAutotuner | undefined;
let peak: PeakResult | undefined;
let ortPeer: Promise<{ peer?: OrtPeerHooks; info: KernelReport['ort'] }> | undefined;

function ready(): { gpu: GpuContext; model: Model } {
  if (lost) throw new Error(`The GPU device was lost (${lost}); reopen the kernel view.`);
  if (!gpu || !model) throw new Error('The kernel worker is not open yet.');
  return { gpu, model };
}

function dims(m: Model): ModelDims {
  const c = m.config;
  return { dim: c.dim, hiddenDim: c.hiddenDim, nHeads: c.nHeads, nKvHeads: c.nKvHeads, vocabSize: c.vocabSize, seqLen: c.seqLen };
}

/** Loads the ORT peer once: WebGPU kernels timed with ORT's own timestamp queries. */
function loadOrt(): Promise<{ peer?: OrtPeerHooks; info: KernelReport['ort'] }> {
  ortPeer ??= (async () => {
    const none = (note: string) => ({ info: { available: false, note, backend: null, version: null } });
    const peerLoader = ortModules['../ort/peer.ts'];
    if (!peerLoader) return none(`${ORT_UNAVAILABLE}: src/ort/peer.ts is not part of this build`);
    try {
      const browser = ortModules['../ort/browser.ts'];
      if (browser) {
        const b = (await browser()) as { configureOrtForVite?: (s: { profileKernels?: boolean }) => void };
        b.configureOrtForVite?.({ profileKernels: true });
      }
      const peer = asOrtPeer(await peerLoader());
      if (typeof peer === 'string') return none(peer);
      const a = await peer.available?.();
      if (a && !a.ok) return none(`${ORT_UNAVAILABLE}: ${a.reason ?? 'no backend'}`);
      return {
        peer,
        info: {
          available: true,
          note: `onnxruntime-web ${a?.version ?? ''} on its ${a?.backend ?? ''} backend`,
          backend: a?.backend ?? null,
          version: a?.version ?? null,
        },
      };
    } catch (e) {
      return none(`${ORT_UNAVAILABLE}: ${(e as Error).message.split('\n')[0]}`);
    }
  })();
  return ortPeer;
}

/** ORT's decode tokens/s at batch 1, measured in a fresh worker (terminated afterwards). */
async function ortDecodeInWorker(m: Model, steps: number): Promise<OrtDecodeRate> {
  const worker = new Worker(new URL('./ort-decode-worker.ts', import.meta.url), { type: 'module' });
  const remote = Comlink.wrap<OrtDecodeWorkerApi>(worker);
  try {
    // A worker that fails to load or throws outside a call would otherwise leave the call pending.
    const failed = new Promise<never>((_, reject) =>
      worker.addEventListener('error', (e) => reject(new Error(`the onnxruntime-web decode worker failed: ${e.message || 'it did not load'}`))),
    );
    return await Promise.race([remote.measure(m, steps), failed]);
  } finally {
    remote[Comlink.releaseProxy]();
    worker.terminate();
  }
}

async function getPeak(fresh = false): Promise<PeakResult> {
  const { gpu } = ready();
  if (!peak || fresh) peak = await measurePeak(gpu);
  return peak;
}

const api: KernelWorkerApi = {
  async open(source: KernelModelSource, tuneStorage: TuneStorage): Promise<KernelDeviceInfo> {
    api.close();
    lost = '';
    gpu = await acquireGpu({
      onLost: (info) => {
        lost = info.message || info.reason || 'unknown reason';
      },
      onError: (e) => console.error(`WebGPU error: ${e.message}`),
    });
    const limits = { maxStorageBufferBindingSize: gpu.device.limits.maxStorageBufferBindingSize, maxBufferSize: gpu.device.limits.maxBufferSize };
    model = (await loadModel({ checkpoint: source.checkpoint, tokenizer: source.tokenizer, limits })).model;
    tuner = await MatmulAutotuner.open(tuneStorage, gpu.adapter);
    return {
      adapter: `${adapterLabel(gpu.adapter)}${gpu.adapter.software ? ' (software)' : ''}`,
      adapterKey: tuner.key,
      software: gpu.adapter.software,
      timing: gpu.timestamps ? 'timestamp' : 'wall',
      subgroups: gpu.subgroups,
      model: { name: source.name, dims: dims(model) },
      tunedShapes: Object.keys(tuner.shapes).length,
    };
  },

  async peak(fresh = false) {
    return peakRow(await getPeak(fresh));
  },

  async runMatmul(options: MatmulRunOptions, onProgress?: (p: KernelProgress) => void): Promise<MatmulRunResult> {
    const { gpu, model } = ready();
    const p = await getPeak();
    const shapes = modelMatmulShapes(dims(model), options.batches);
    const variants: readonly MatmulVariant[] =
      options.variants === 'all' ? MATMUL_VARIANTS : [...new Set(shapes.map((s) => chooseMatmulVariant(s.m, s.n, s.k, deviceProfile(gpu.device))))];
    const results = await benchMatmulShapes(gpu, shapes, p, {
      variants,
      timing: { targetMs: options.targetMs ?? 40 },
      onShape: (r, i) => void onProgress?.({ done: i + 1, total: shapes.length, what: `matmul M=${r.m} N=${r.n} K=${r.k}` }),
    });
    const source = gpu.timestamps ? 'timestamp' : 'wall';
    const rows = results.map((r) => matmulRow(r, source));
    for (const r of results) tuner!.record(r.m, r.n, r.k, r.variants.map((v) => ({ variant: v.variant, ms: v.ms, correct: v.correct })));
    await tuner!.save();

    let ort: KernelReport['ort'] = { available: false, note: `${ORT_UNAVAILABLE}: not requested`, backend: null, version: null };
    if (options.ort !== false) {
      const o = await loadOrt();
      ort = { ...o.info };
      if (o.peer?.measureOrtMatmul) {
        const ortShapes = rows.filter((r) => (ORT_MATMUL_BATCHES as readonly number[]).includes(r.m)).map(({ m, n, k }) => ({ m, n, k }));
        if (ortShapes.length > 0) {
          onProgress?.({ done: shapes.length, total: shapes.length, what: `onnxruntime-web matmul (${ortShapes.length} shapes)` });
          try {
            mergeOrtMatmul(rows, await o.peer.measureOrtMatmul(ortShapes, { runs: 7, warmup: 2 }));
          } catch (e) {
            ort.note += `; its matmul run failed: ${(e as Error).message.split('\n')[0]}`;
          }
        } else ort.note += ` (it is compared at M = ${ORT_MATMUL_BATCHES.join(', ')})`;
      }
    }
    return {
      rows,
      ort,
      autotune: {
        storage: 'localStorage',
        shapes: Object.keys(tuner!.shapes).length,
        differ_from_default: results.filter((r) => r.best && r.best.variant !== r.defaultVariant).length,
      },
    };
  },

  async runKernels(batches: number[], onProgress?: (p: KernelProgress) => void) {
    const { gpu, model } = ready();
    const p = await getPeak();
    let done = 0;
    const total = batches.length * 7;
    const rows = await benchOtherKernels(gpu, dims(model), batches, p, {
      timing: { targetMs: 30 },
      onResult: (r) => void onProgress?.({ done: ++done, total, what: `${r.kernel} ${r.shape}` }),
    });
    return rows.map(kernelRow);
  },

  async runDecode(batches: number[], onProgress?: (p: KernelProgress) => void, options: DecodeRunOptions = {}): Promise<DecodeReport> {
    const { gpu, model } = ready();
    const withOrt = options.ort !== false;
    const total = batches.length + 2 + (withOrt ? 1 : 0);
    let done = 0;
    const steps = await measureStepBreakdown(gpu, model, batches, { onProgress: (what) => void onProgress?.({ done: done++, total, what }) });
    onProgress?.({ done: done++, total, what: 'decode tokens/s, batch 1 and 16 in turn' });
    const [b1, b16] = (await measureDecodeRates(gpu, model, [1, 16])) as [DecodeRate, DecodeRate];
    done++;
    let ort: OrtDecodeRate | undefined;
    let ortNote = `${ORT_UNAVAILABLE}: not requested`;
    if (withOrt) {
      onProgress?.({ done: done++, total, what: 'onnxruntime-web decode tokens/s, batch 1' });
      try {
        ort = await ortDecodeInWorker(model, Math.min(32, model.config.seqLen - 2));
      } catch (e) {
        const msg = (e as Error).message.split('\n')[0]!;
        ortNote = msg.startsWith(ORT_UNAVAILABLE) ? msg : `onnxruntime-web decode failed: ${msg}`;
      }
    }
    return decodeReport(b1.tokensPerS, b16.tokensPerS, ort, ortNote, false, steps);
  },

  close(): void {
    gpu?.destroy();
    gpu = undefined;
    model = undefined;
    tuner = undefined;
    peak = undefined;
  },
};

Comlink.expose(api);

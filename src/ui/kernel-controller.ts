// The kernel view's ReactiveController: starts the kernel worker when the view connects (the
// worker acquires its own GPUDevice), terminates it when the view goes, runs one task at a time
// and keeps its results for rendering. Settings come from the URL:
//   ?view=kernels&batches=1,4,16,64,256&variants=all|default&decode=1,16,64&target=40
//   [&checkpoint=URL&tokenizer=URL] (default: the shipped model) [&run=matmul] (run on open)
//   [&ort=0] (no onnxruntime-web comparison)
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { Comlink, localTuneStorage, startKernelWorker, type KernelWorkerHandle } from './kernel-client.js';
import { SHIPPED_MODEL } from './lab-model.js';
import type {
  DecodeReport,
  KernelDeviceInfo,
  KernelModelSource,
  KernelProgress,
  KernelReport,
  KernelRow,
  MatmulRunResult,
} from '../workers/kernel-api.js';

export interface KernelViewSettings {
  batches: number[];
  variants: 'all' | 'default';
  decodeBatches: number[];
  targetMs: number;
  model: KernelModelSource;
  /** Compare with onnxruntime-web (matmul shapes, decode at batch 1) where its peer loads. */
  ort: boolean;
  run?: 'matmul';
}

export const DEFAULT_KERNEL_SETTINGS: Omit<KernelViewSettings, 'model'> = {
  batches: [1, 4, 16, 64, 256],
  variants: 'all',
  decodeBatches: [1, 16, 64],
  targetMs: 40,
  ort: true,
};

/** Reads the view's settings from a query string; bad values are reported and replaced by defaults. */
export function parseKernelSettings(search: string): { settings: KernelViewSettings; errors: string[] } {
  const q = new URLSearchParams(search);
  const errors: string[] = [];
  const ints = (key: string, def: number[]): number[] => {
    const raw = q.get(key);
    if (raw === null) return def;
    const xs = raw.split(',').map((s) => Number(s.trim()));
    if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 1 || x > 1024)) {
      errors.push(`URL parameter "${key}=${raw}" is invalid: expected integers from 1 to 1024, comma-separated; using ${def.join(',')}.`);
      return def;
    }
    return [...new Set(xs)];
  };
  const variants = q.get('variants') ?? DEFAULT_KERNEL_SETTINGS.variants;
  if (variants !== 'all' && variants !== 'default') errors.push(`URL parameter "variants=${variants}" is invalid: expected all or default.`);
  const targetRaw = q.get('target');
  let targetMs = DEFAULT_KERNEL_SETTINGS.targetMs;
  if (targetRaw !== null) {
    const t = Number(targetRaw);
    if (Number.isFinite(t) && t >= 1 && t <= 10_000) targetMs = t;
    else errors.push(`URL parameter "target=${targetRaw}" is invalid: expected milliseconds from 1 to 10000.`);
  }
  const ortRaw = q.get('ort');
  if (ortRaw !== null && ortRaw !== '0' && ortRaw !== '1') errors.push(`URL parameter "ort=${ortRaw}" is invalid: expected 0 or 1.`);
  const ck = q.get('checkpoint');
  const tk = q.get('tokenizer');
  let model: KernelModelSource = SHIPPED_MODEL;
  if ((ck === null) !== (tk === null)) errors.push('URL parameters "checkpoint" and "tokenizer" must be given together; using the shipped model.');
  else if (ck !== null && tk !== null) model = { name: ck.split('/').pop() ?? 'model', checkpoint: ck, tokenizer: tk };
  return {
    settings: {
      batches: ints('batches', DEFAULT_KERNEL_SETTINGS.batches),
      variants: variants === 'default' ? 'default' : 'all',
      decodeBatches: ints('decode', DEFAULT_KERNEL_SETTINGS.decodeBatches),
      targetMs,
      model,
      ort: ortRaw !== '0',
      run: q.get('run') === 'matmul' ? 'matmul' : undefined,
    },
    errors,
  };
}

export type KernelTask = 'open' | 'peak' | 'matmul' | 'kernels' | 'decode';

export class KernelController implements ReactiveController {
  info?: KernelDeviceInfo;
  peak?: NonNullable<KernelReport['peak']>;
  matmul?: MatmulRunResult;
  kernels?: KernelRow[];
  decode?: DecodeReport;
  /** The task running now, and its progress. */
  task?: KernelTask;
  progress?: KernelProgress;
  error = '';
  private worker?: KernelWorkerHandle;

  constructor(
    private readonly host: ReactiveControllerHost,
    readonly settings: KernelViewSettings,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.worker = startKernelWorker();
    void this.start();
  }

  hostDisconnected(): void {
    this.worker?.terminate();
    this.worker = undefined;
  }

  private async start(): Promise<void> {
    const ok = await this.runTask('open', async (api) => {
      this.info = await api.open(this.settings.model, Comlink.proxy(localTuneStorage()));
    });
    if (!ok) return;
    const measured = await this.measurePeak();
    if (measured && this.settings.run === 'matmul') await this.runMatmul();
  }

  get busy(): boolean {
    return this.task !== undefined;
  }

  measurePeak(fresh = false): Promise<boolean> {
    return this.runTask('peak', async (api) => {
      this.peak = await api.peak(fresh);
    });
  }

  runMatmul(): Promise<boolean> {
    const s = this.settings;
    return this.runTask('matmul', async (api, onProgress) => {
      this.peak ??= await api.peak();
      this.matmul = await api.runMatmul({ batches: s.batches, variants: s.variants, targetMs: s.targetMs, ort: s.ort }, onProgress);
    });
  }

  runKernels(): Promise<boolean> {
    return this.runTask('kernels', async (api, onProgress) => {
      this.peak ??= await api.peak();
      this.kernels = await api.runKernels(this.settings.batches, onProgress);
    });
  }

  runDecode(): Promise<boolean> {
    return this.runTask('decode', async (api, onProgress) => {
      this.decode = await api.runDecode(this.settings.decodeBatches, onProgress, { ort: this.settings.ort });
    });
  }

  private async runTask(
    task: KernelTask,
    f: (api: KernelWorkerHandle['api'], onProgress: (p: KernelProgress) => void) => Promise<void>,
  ): Promise<boolean> {
    const w = this.worker;
    if (!w || this.task) return false;
    this.task = task;
    this.progress = undefined;
    this.error = '';
    this.host.requestUpdate();
    try {
      await f(
        w.api,
        Comlink.proxy((p: KernelProgress) => {
          this.progress = p;
          this.host.requestUpdate();
        }),
      );
      return true;
    } catch (e) {
      this.error = (e as Error).message;
      return false;
    } finally {
      this.task = undefined;
      this.progress = undefined;
      this.host.requestUpdate();
    }
  }
}

// The kernel worker's typed interface (comlink). The kernel view's worker acquires its own
// GPUDevice while the view is open (the engine worker keeps the engine's), runs the kernel lab
// there and sends back rows of the report (kernel-report.ts); the page never touches WebGPU.
import type { ModelDims } from '../gpu/kernel-bench.js';
import type { TuneStorage } from '../gpu/autotune.js';
import type { DecodeReport, KernelReport, KernelRow, MatmulRow } from './kernel-report.js';

export type { DecodeReport, KernelReport, KernelRow, MatmulRow, VariantRow } from './kernel-report.js';
export type { StepBreakdown, KernelShare } from './kernel-step.js';
export type { TuneStorage } from '../gpu/autotune.js';

export interface KernelModelSource {
  name: string;
  /** URLs relative to the page, or files. */
  checkpoint: string | Blob;
  tokenizer: string | Blob;
}

export interface KernelDeviceInfo {
  adapter: string;
  adapterKey: string;
  software: boolean;
  /** 'timestamp' when kernels are timed with timestamp queries, else 'wall'. */
  timing: 'timestamp' | 'wall';
  subgroups: boolean;
  model: { name: string; dims: ModelDims };
  /** Shapes the autotuner already holds for this adapter (from an earlier run). */
  tunedShapes: number;
}

export interface KernelProgress {
  done: number;
  total: number;
  what: string;
}

export interface MatmulRunOptions {
  /** Batch sizes M (tokens per step) of the model's shapes. */
  batches: number[];
  /** 'all': every variant valid for each shape; 'default': only the default rule's. */
  variants: 'all' | 'default';
  /** Timing budget per configuration, ms. */
  targetMs?: number;
  /** Compare with onnxruntime-web on the same shapes where its peer loads (default true). */
  ort?: boolean;
}

export interface DecodeRunOptions {
  /** Also time onnxruntime-web's decode at batch 1, in a worker of its own (default true). */
  ort?: boolean;
}

export interface MatmulRunResult {
  rows: MatmulRow[];
  ort: KernelReport['ort'];
  autotune: NonNullable<KernelReport['autotune']>;
}

export interface KernelWorkerApi {
  /** Acquires the device, loads the model's config (and weights, for decode), opens the tuner. */
  open(model: KernelModelSource, tuneStorage: TuneStorage): Promise<KernelDeviceInfo>;
  /** The measured peaks (cached after the first call unless fresh). */
  peak(fresh?: boolean): Promise<NonNullable<KernelReport['peak']>>;
  runMatmul(options: MatmulRunOptions, onProgress?: (p: KernelProgress) => void): Promise<MatmulRunResult>;
  runKernels(batches: number[], onProgress?: (p: KernelProgress) => void): Promise<KernelRow[]>;
  /**
   * Per-kernel step breakdown at these batch sizes, decode tokens/s at batch 1 and 16, and
   * onnxruntime-web's decode tokens/s at batch 1 where its peer loads.
   */
  runDecode(batches: number[], onProgress?: (p: KernelProgress) => void, options?: DecodeRunOptions): Promise<DecodeReport>;
  /** Releases the device. */
  close(): void;
}

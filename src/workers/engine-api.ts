// The engine worker's typed interface (comlink). The worker owns the only GPUDevice; the page
// talks to it through this API and never touches WebGPU itself.
import type { ModelConfig } from '../model/config.js';
import type { GenerateOptions, GeneratedToken, GenerationStats } from '../model/generate.js';
import type { Calibration } from '../lab/calibrate.js';
import type { MetricsBatch } from '../lab/protocol.js';
import type { LabEngineConfig, LabRunInfo } from '../lab/run.js';

export type { Calibration, CalibrationPoint } from '../lab/calibrate.js';
export type { MetricsBatch } from '../lab/protocol.js';
export type { LabEngineConfig, LabRunInfo } from '../lab/run.js';

export interface ModelSource {
  /** Display name. */
  name: string;
  /** URL (relative to the page) or a File chosen by the user. */
  checkpoint: string | Blob;
  tokenizer: string | Blob;
}

export interface LoadProgress {
  file: 'checkpoint' | 'tokenizer';
  loaded: number;
  total?: number;
  /** Read from the browser's model cache instead of the network. */
  cached?: boolean;
}

/** Where a model file's bytes came from. */
export interface FileReport {
  bytes: number;
  from: 'network' | 'cache' | 'file';
  /** Progress events seen while loading it. */
  progressEvents: number;
}

export interface LoadOptions {
  /** Sequences the backend can hold at once (default 4; the lab asks for its largest max batch). */
  maxSequences?: number;
}

export interface EngineInfo {
  backend: 'gpu' | 'cpu';
  /** Adapter description, or why the GPU could not be used. */
  adapter: string;
  /** 'timestamp' when per-pass GPU times come from timestamp queries, else 'wall'. */
  timing: 'timestamp' | 'wall' | 'none';
  /** Set when WebGPU is unavailable: the reason's message (insecure origin, no WebGPU, no adapter). */
  gpuUnavailable?: { reason: string; message: string };
  model: { name: string; config: ModelConfig; parameters: number };
  /** Sequences the backend holds at once. */
  maxSequences: number;
  files: { checkpoint: FileReport; tokenizer: FileReport };
}

export interface CalibrationProgress {
  done: number;
  total: number;
  what: string;
}

export interface EngineWorkerApi {
  /** Loads a model; `backend: 'auto'` uses the GPU when it can and the CPU reference otherwise. */
  load(source: ModelSource, backend: 'auto' | 'gpu' | 'cpu', onProgress?: (p: LoadProgress) => void, options?: LoadOptions): Promise<EngineInfo>;
  generate(
    prompt: string,
    options: Omit<GenerateOptions, 'signal'>,
    onToken: (t: GeneratedToken) => void,
  ): Promise<GenerationStats>;
  /** Stops the running generation after its current step. */
  stop(): void;

  // --- The lab -------------------------------------------------------------------------------
  /**
   * Measures decode tokens/s at batch sizes up to maxBatch and the prefill cost (see
   * calibrate.ts). Cached per loaded model: when the stored calibration already measured
   * maxBatch (it went up to it or beyond) it is returned as is, unless `fresh`.
   */
  calibrate(maxBatch: number, onProgress?: (p: CalibrationProgress) => void, fresh?: boolean, anchorBatches?: number[]): Promise<Calibration>;
  /** Starts a run (ending any previous one); batches stream to onMetrics every ~250 ms. */
  startLab(config: LabEngineConfig, onMetrics: (b: MetricsBatch) => void): Promise<LabRunInfo>;
  /** A tenant's request port (transfer it): requests arriving on it go to the current run. */
  connectTenant(port: MessagePort): void;
  pauseLab(): Promise<void>;
  resumeLab(): void;
  /** Ends the current run; resolves after its last batch was sent. */
  stopLab(): Promise<void>;
}

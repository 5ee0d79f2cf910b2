// The engine worker's typed interface (comlink). The worker owns the only GPUDevice; the page
// talks to it through this API and never touches WebGPU itself.
import type { ModelConfig } from '../model/config.js';
import type { GenerateOptions, GeneratedToken, GenerationStats } from '../model/generate.js';

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
}

export interface EngineWorkerApi {
  /** Loads a model; `backend: 'auto'` uses the GPU when it can and the CPU reference otherwise. */
  load(source: ModelSource, backend: 'auto' | 'gpu' | 'cpu', onProgress?: (p: LoadProgress) => void): Promise<EngineInfo>;
  generate(
    prompt: string,
    options: Omit<GenerateOptions, 'signal'>,
    onToken: (t: GeneratedToken) => void,
  ): Promise<GenerationStats>;
  /** Stops the running generation after its current step. */
  stop(): void;
}
